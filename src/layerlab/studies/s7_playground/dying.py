"""dying-relu: SGD through every negative before any positive (sorted, the same order every
epoch) vs shuffled every epoch, over seeds and learning rates: dead ReLU units (zero on every
training point) over training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import count, mean_curve, mean_std, paired_difference, pm, verdict
from layerlab.data import load
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.probing import scratch as scratch_probe
from layerlab.probing import views
from layerlab.references import S7_DYING_CLAIM, S7_DYING_POINTS
from layerlab.studies.s7_playground import measure as pg

ORDERS = ("sorted", "shuffled")
WHY_SORTED_KILLS = (
    "Why sorted SGD kills units: each block of a sorted epoch is one class, so for many steps "
    "every gradient pushes the same way, and when a block begins the net still answers the "
    "previous class with confidence: large losses and steps can push a hidden unit to zero on "
    "every point. The ring surrounds the disc, so a first-layer unit zero on the ring is zero "
    "on the disc too: dead for good. Shuffled minibatches mix the classes and the pushes "
    "largely cancel.")


@dataclass
class DyingConfig:
    """The study gives no learning rate: four are run, the playground's 0.03 up to 1.0.
    record_every: steps between dead-unit counts; boundary_rate: the rate drawn (seed 0)."""

    dataset: str = "circle"
    n: int = S7_DYING_POINTS
    noise: float = 0.0
    hidden: tuple = (8, 8)
    learning_rates: tuple = (0.03, 0.1, 0.3, 1.0)
    batch_size: int = 10
    epochs: int = 10
    seeds: tuple = tuple(range(10))
    record_every: int = 10
    boundary_rate: float = 1.0
    grid_steps: int = 61
    seed: int = 0


def _toy(cfg, sort=False):
    return load(f"toy2d:{cfg.dataset}", "train", n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                test_fraction=0.0, order_by_label=sort)


def _data_cell(cfg):
    data = _toy(cfg)
    return {**pg.points(data), "negatives": int(np.sum(data.y == 0))}


def _dying_cell(cfg, rate, order, seed, run=None):
    data = _toy(cfg, sort=order == "sorted")
    model = pg.playground_net(cfg.hidden, "relu", "random", seed)
    key = cell_key("dying", {"rate": rate, "order": order, "seed": seed})  # the grid's name
    history = pg.train(model, data.X, data.y, epochs=cfg.epochs, learning_rate=rate,
                       batch_size=cfg.batch_size, order="fixed" if order == "sorted" else
                       "shuffled", seed=seed, record_every=cfg.record_every,
                       probe=lambda m: {"dead": pg.dead_units(m, data.X)},
                       layer_probe=scratch_probe.for_run(run, key, model) if run else None)
    dead = [sum(d) for d in history["dead"]]
    final = history["dead"][-1]
    negatives_done = int(np.sum(data.y == 0)) // cfg.batch_size  # sorted: end of the negatives
    at = min(range(len(history["step"])), key=lambda k: abs(history["step"][k] - negatives_done))
    result = {"rate": rate, "order": order, "seed": seed, "step": history["step"],
              "dead": dead, "final_dead": int(sum(final)), "final_dead_layers": final,
              "max_dead": int(max(dead)), "dead_after_negatives": int(dead[at]),
              "train_error": history["train_error"][-1]}
    if seed == cfg.seeds[0] and rate == cfg.boundary_rate:
        result["grid"] = pg.decision_grid(model, steps=cfg.grid_steps)
    # probes on: the hidden layers' dead fraction per probed batch, kept small for cells.json
    if run and (view := views.summary(run, key, stats=("dead",),
                                      layers=lambda row: row["activation"] == "relu")):
        result["probe_view"] = view
    return result


@experiment("dying-relu", study="S7", title="dying ReLU: sorted (all negatives first) vs "
            "shuffled SGD, dead units over training", estimate="1 min", config=DyingConfig,
            quick={"n": 200, "learning_rates": (1.0,), "epochs": 2, "seeds": (0, 1),
                   "grid_steps": 21})
def dying_relu(cfg, run):
    """Dead ReLU units after sorted vs shuffled SGD, over seeds and learning rates."""
    run.dataset(_toy(cfg))
    data = cell(run, "data", lambda: _data_cell(cfg))
    cells = [{"rate": float(r), "order": o, "seed": int(s)} for r in cfg.learning_rates
             for o in ORDERS for s in cfg.seeds]
    results = grid(run, "dying", cells, lambda c: _dying_cell(cfg, **c, run=run))
    by = {(r["rate"], r["order"], r["seed"]): r for r in results}
    units, rates = sum(cfg.hidden), list(map(float, cfg.learning_rates))
    final = {(rate, o): [by[(rate, o, s)]["final_dead"] for s in cfg.seeds]
             for rate in rates for o in ORDERS}
    rows, panels, shown = [], [], []
    for rate in rates:
        runs = {o: [by[(rate, o, s)] for s in cfg.seeds] for o in ORDERS}
        diff = verdict.from_pairs(final[(rate, "sorted")], final[(rate, "shuffled")])
        shown += [rate] if verdict.comparison(diff)["verdict"] == "holds" else []
        for o, rs in runs.items():
            rows.append([rate, o, " ".join(map(str, final[(rate, o)]))]
                        + [mean_std([r[k] for r in rs])[0] for k in
                           ("final_dead", "dead_after_negatives", "max_dead", "train_error")]
                        + [pm(*paired_difference(final[(rate, "sorted")],
                                                 final[(rate, "shuffled")]), digits=2,
                              sign=True) if o == "sorted" else ""])
        panels.append({"series": {o: [[s / -(-cfg.n // cfg.batch_size) for s in rs[0]["step"]],
                                      mean_curve([r["dead"] for r in rs], pad=False)]
                                  for o, rs in runs.items()},
                       "ylabel": f"dead units (of {units})", "title": f"learning rate {rate:g}"})
    run.table("dead_units", ["learning rate", "order", "dead units at the end, per seed",
                             "mean", f"mean after the first {data['negatives']} points",
                             "mean of the most at any count", "final train error (mean)",
                             "sorted - shuffled (paired mean ± s.e.)"], rows,
              title=f"Dead ReLU units of {units} after {cfg.epochs} epochs",
              note=f"Hidden layers {'/'.join(map(str, cfg.hidden))}; "
                   f"{count(len(cfg.seeds), 'seed')}, paired by initial weights. A unit is dead "
                   "when it outputs 0 on "
                   "every training point: it gets no gradient from them. 'After the first "
                   f"{data['negatives']} points': the count when the sorted order has just "
                   "finished the negatives.")
    _claims(cfg, run, by, final, shown)
    _plots(cfg, run, by, data, panels)


def _claims(cfg, run, by, final, shown):
    """The pooled comparison (each seed's mean over the rates) and one per learning rate."""
    quiet = [r for r in map(float, cfg.learning_rates) if r not in shown]
    most = max((d for (r, _), ds in final.items() if r in quiet for d in ds), default=0)
    run.note("what the runs show", "Sorted SGD leaves more dead units (the comparison over "
             "seeds holds) at learning rates " + (", ".join(f"{r:g}" for r in shown) or "none")
             + "; at " + (", ".join(f"{r:g}" for r in quiet) or "no other rate") + " it is "
             f"not shown (no run there ends with more than {count(most, 'dead unit')}), and "
             "sorting costs accuracy instead (the final train error column).")
    per_seed = {o: [float(np.mean([by[(float(r), o, s)]["final_dead"]
                                   for r in cfg.learning_rates])) for s in cfg.seeds]
                for o in ORDERS}
    every = {o: sum(d for (_, oo), ds in final.items() if oo == o for d in ds) for o in ORDERS}
    run.judge("sorted SGD leaves more dead units than shuffled (each seed's mean over the "
              "learning rates, paired by seed)", "comparison",
              verdict.from_pairs(per_seed["sorted"], per_seed["shuffled"]), key=True,
              source=pg.SOURCE,
              note=f"{S7_DYING_CLAIM}; dead units at the end summed over every run: sorted "
              f"{every['sorted']}, shuffled {every['shuffled']}")
    for rate in map(float, cfg.learning_rates):
        s_dead, h_dead = final[(rate, "sorted")], final[(rate, "shuffled")]
        run.judge(f"learning rate {rate:g}: sorted SGD leaves more dead units than shuffled",
                  "comparison", verdict.from_pairs(s_dead, h_dead), source=pg.SOURCE,
                  note=f"paired by seed; mean sorted {np.mean(s_dead):.2f}, shuffled "
                  f"{np.mean(h_dead):.2f} of {sum(cfg.hidden)}")


def _plots(cfg, run, by, data, panels):
    """Mean dead units over training per learning rate; the boundaries of one pair of runs."""
    negatives = data["negatives"]
    run.plot("dead_units", "curves", title="Dead units over training", panels=panels,
             xlabel="epoch", ncols=min(2, len(panels)),
             note=f"Means over {count(len(cfg.seeds), 'seed')}. Sorted: every epoch visits the "
             f"{negatives} negatives, then the {cfg.n - negatives} positives.")
    _dead_fraction_plot(cfg, run, by)
    drawn = [by[key] for key in ((float(cfg.boundary_rate), o, cfg.seeds[0]) for o in ORDERS)
             if key in by]
    if drawn:
        run.plot("dying_boundaries", "boundary", title=f"Decision boundaries, learning rate "
                 f"{cfg.boundary_rate:g}", note=f"Seed {cfg.seeds[0]}.",
                 panels=[pg.panel(f"{r['order']}: {r['final_dead']} dead, train error "
                                  f"{r['train_error']:.3f}", r["grid"], data) for r in drawn])
    run.note("settings", f"Net {pg.net_text(cfg.hidden)}, ReLU, the playground's random init "
             "(weights uniform in [-0.5, 0.5], biases 0.1), minibatch SGD; every point is for "
             "training. Sorted: every negative before any positive, in the same order every "
             "epoch; shuffled: a new order every epoch. " + WHY_SORTED_KILLS)


def _dead_fraction_plot(cfg, run, by):
    """With probes on: each hidden layer's dead fraction per batch over training, from the
    cells' probe summaries, mean over seeds (the whole-set counts stay the claims' source)."""
    if not views.of(run, list(by.values())):
        return
    per_epoch, panels = -(-cfg.n // cfg.batch_size), []
    for rate in map(float, cfg.learning_rates):
        series = {}
        for o in ORDERS:
            cells = [by[(rate, o, s)]["probe_view"] for s in cfg.seeds]
            for label, (steps, means) in views.mean_series(cells, "dead", f"{o}, ").items():
                series[label] = [[s / per_epoch for s in steps], means]
        panels.append({"series": series, "title": f"learning rate {rate:g}",
                       "ylabel": "dead fraction of the layer's units (per batch)"})
    view = next(iter(by.values()))["probe_view"]
    run.plot("dead_fraction", "curves", title="Dead fraction per layer over training (probes)",
             panels=panels, xlabel="epoch", ncols=min(2, len(panels)),
             note=f"{views.window_text(view)}: the share of a hidden layer's units "
             f"that output 0 on every point of that step's batch of {cfg.batch_size}, mean over "
             f"{count(len(cfg.seeds), 'seed')}; a unit dead on the whole training set is dead "
             "on every batch too, so at the same weights a layer's share here is at least its "
             "share of the whole-set dead units above (which stay the claims' source); a line "
             "that climbs and stays up is units that stopped learning (dying ReLU).")
