"""dying-relu: SGD through every negative before any positive (sorted, the same order every
epoch) vs shuffled every epoch, over seeds and learning rates: dead ReLU units (zero on every
training point) over training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import count, group_by, mean_curve, mean_std, paired_difference, pm, verdict
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


def _dying_cell(cfg, run, rate, order, seed):
    data = _toy(cfg, sort=order == "sorted")
    model = pg.playground_net(cfg.hidden, "relu", "random", seed)
    key = cell_key("dying", {"rate": rate, "order": order, "seed": seed})  # the grid's name
    history = pg.train(model, data.X, data.y, epochs=cfg.epochs, learning_rate=rate,
                       batch_size=cfg.batch_size, order="fixed" if order == "sorted" else
                       "shuffled", seed=seed, record_every=cfg.record_every,
                       probe=lambda m: {"dead": pg.dead_units(m, data.X)},
                       layer_probe=scratch_probe.for_run(run, key, model))
    dead, final = [sum(d) for d in history["dead"]], history["dead"][-1]
    # the count nearest the step where the sorted order has just finished the negatives
    at = np.argmin(np.abs(np.array(history["step"]) - np.sum(data.y == 0) // cfg.batch_size))
    result = {"rate": rate, "order": order, "seed": seed, "step": history["step"],
              "dead": dead, "final_dead": int(sum(final)), "final_dead_layers": final,
              "max_dead": int(max(dead)), "dead_after_negatives": int(dead[at]),
              "train_error": history["train_error"][-1]}
    if seed == cfg.seeds[0] and rate == cfg.boundary_rate:
        result["grid"] = pg.decision_grid(model, steps=cfg.grid_steps)
    # probes on: the hidden layers' dead fraction per probed batch, kept small for cells.json
    if view := views.summary(run, key, stats=("dead",),
                             layers=lambda row: row["activation"] == "relu"):
        result["probe_view"] = view
    return result


@experiment("dying-relu", study="S7", title="dying ReLU: sorted (all negatives first) vs "
            "shuffled SGD, dead units over training", estimate="1 min", config=DyingConfig,
            quick={"n": 200, "learning_rates": (1.0,), "epochs": 2, "seeds": (0, 1),
                   "grid_steps": 21})
def dying_relu(cfg, run):
    """Dead ReLU units after sorted vs shuffled SGD, over seeds and learning rates."""
    toy = _toy(cfg)
    run.dataset(toy)
    data = cell(run, "data", lambda: {**pg.points(toy), "negatives": int(np.sum(toy.y == 0))})
    cells = [{"rate": float(r), "order": o, "seed": int(s)} for r in cfg.learning_rates
             for o in ORDERS for s in cfg.seeds]
    groups = group_by(grid(run, "dying", cells, lambda c: _dying_cell(cfg, run, **c)),
                      "rate", "order")
    final = {k: [r["final_dead"] for r in rs] for k, rs in groups.items()}
    rows = []
    for (rate, o), rs in groups.items():
        rows.append([rate, o, " ".join(map(str, final[(rate, o)]))]
                    + [mean_std([r[k] for r in rs])[0] for k in
                       ("final_dead", "dead_after_negatives", "max_dead", "train_error")]
                    + [pm(*paired_difference(final[(rate, o)], final[(rate, "shuffled")]),
                          digits=2, sign=True) if o == "sorted" else ""])
    run.table("dead_units", ["learning rate", "order", "dead units at the end, per seed",
                             "mean", f"mean after the first {data['negatives']} points",
                             "mean of the most at any count", "final train error (mean)",
                             "sorted - shuffled (paired mean ± s.e.)"], rows,
              title=f"Dead ReLU units of {sum(cfg.hidden)} after {cfg.epochs} epochs",
              note=f"Hidden layers {'/'.join(map(str, cfg.hidden))}; "
                   f"{count(len(cfg.seeds), 'seed')}, paired by initial weights. A unit is dead "
                   "when it outputs 0 on every training point: it gets no gradient from them. "
                   f"'After the first {data['negatives']} points': the count when the sorted "
                   "order has just finished the negatives.")
    _claims(cfg, run, final, {k: float(np.mean([r["train_error"] for r in rs]))
                              for k, rs in groups.items()})
    _plots(cfg, run, groups, data)


def _claims(cfg, run, final, error):
    """The pooled comparison (each seed's mean over the rates) and one per learning rate; the
    note reading them (error: the mean final train error per (rate, order))."""
    rates = list(map(float, cfg.learning_rates))
    diffs = {r: verdict.from_pairs(final[(r, "sorted")], final[(r, "shuffled")]) for r in rates}
    shown = [r for r in rates if verdict.comparison(diffs[r])["verdict"] == "holds"]
    run.note("what the runs show", runs_show(final, error, shown,
                                             [r for r in rates if r not in shown]))
    per_seed = {o: np.mean([final[(r, o)] for r in rates], axis=0).tolist() for o in ORDERS}
    every = {o: sum(sum(final[(r, o)]) for r in rates) for o in ORDERS}
    run.judge("sorted SGD leaves more dead units than shuffled (each seed's mean over the "
              "learning rates, paired by seed)", "comparison",
              verdict.from_pairs(per_seed["sorted"], per_seed["shuffled"]), key=True,
              source=pg.SOURCE, note=f"the study: '{S7_DYING_CLAIM}'; dead units at the end "
              f"summed over every run: sorted {every['sorted']}, shuffled {every['shuffled']}")
    for rate in rates:
        run.judge(f"learning rate {rate:g}: sorted SGD leaves more dead units than shuffled",
                  "comparison", diffs[rate], source=pg.SOURCE, note="paired by seed; mean "
                  f"sorted {np.mean(final[(rate, 'sorted')]):.2f}, shuffled "
                  f"{np.mean(final[(rate, 'shuffled')]):.2f} of {sum(cfg.hidden)}")


def runs_show(final, error, shown, quiet):
    """The note reading the per-rate comparisons (shown: the rates where sorted SGD leaves more
    dead units; quiet: the others): 'costs accuracy' only at a quiet rate where sorted SGD's
    mean final train error is the higher; why sorted SGD kills units only when it does."""
    most = max((d for r in quiet for o in ORDERS for d in final[(r, o)]), default=0)
    costly = [r for r in quiet if error[(r, "sorted")] > error[(r, "shuffled")]]
    text = ("Sorted SGD leaves more dead units (the comparison over seeds holds) at learning "
            f"rates {', '.join(f'{r:g}' for r in shown) or 'none'}")
    if quiet:
        text += (f"; at {', '.join(f'{r:g}' for r in quiet)} it is not shown (no run there ends "
                 f"with more than {count(most, 'dead unit')})")
    if costly:
        pairs = [(r, error[(r, "sorted")], error[(r, "shuffled")]) for r in costly]
        text += (", and sorting costs accuracy instead (mean final train error, sorted against "
                 "shuffled: " + "; ".join(f"{a:.3f} against {b:.3f} at {r:g}" for r, a, b in pairs)
                 + ")")
    return text + "." + (" " + WHY_SORTED_KILLS if shown else "")


def _plots(cfg, run, groups, data):
    """Dead units (and with probes, each layer's dead fraction) over training per learning
    rate, mean over seeds; the boundaries of one pair of runs."""
    def panels(series, ylabel):  # series(runs, order) -> {label: [steps, means]}
        per_epoch = -(-cfg.n // cfg.batch_size)
        return [{"series": {label: [[s / per_epoch for s in steps], means] for o in ORDERS
                            for label, (steps, means) in series(groups[(rate, o)], o).items()},
                 "ylabel": ylabel, "title": f"learning rate {rate:g}"}
                for rate in map(float, cfg.learning_rates)]

    seeds, negatives = count(len(cfg.seeds), "seed"), data["negatives"]
    run.plot("dead_units", "curves", title="Dead units over training", xlabel="epoch",
             panels=panels(lambda rs, o: {o: [rs[0]["step"], mean_curve(
                 [r["dead"] for r in rs], pad=False)]}, f"dead units (of {sum(cfg.hidden)})"),
             ncols=min(2, len(cfg.learning_rates)),
             note=f"Means over {seeds}. Sorted: every epoch visits the {negatives} negatives, "
             f"then the {cfg.n - negatives} positives.")
    if view := views.of(run, [r for rs in groups.values() for r in rs]):
        run.plot("dead_fraction", "curves", title="Dead fraction per layer over training "
                 "(probes)", xlabel="epoch", ncols=min(2, len(cfg.learning_rates)),
                 panels=panels(lambda rs, o: views.mean_series(
                     [r["probe_view"] for r in rs], "dead", f"{o}, "),
                     "dead fraction of the layer's units (per batch)"),
                 note=f"{views.window_text(view[0])}: the share of a hidden layer's units that "
                 f"output 0 on every point of that step's batch of {cfg.batch_size}, mean over "
                 f"{seeds}; a unit dead on the whole training set is dead on every batch too, "
                 "so at the same weights a layer's share here is at least its whole-set share "
                 "above (the claims' source); a line that climbs and stays up is units that "
                 "stopped learning (dying ReLU).")
    drawn = [rs[0] for (rate, _), rs in groups.items()
             if rate == cfg.boundary_rate and rs[0]["seed"] == cfg.seeds[0]]
    if drawn:
        run.plot("dying_boundaries", "boundary", title=f"Decision boundaries, learning rate "
                 f"{cfg.boundary_rate:g}", note=f"Seed {cfg.seeds[0]}.",
                 panels=[pg.panel(f"{r['order']}: {r['final_dead']} dead, train error "
                                  f"{r['train_error']:.3f}", r["grid"], data) for r in drawn])
    run.note("settings", f"Net {pg.net_text(cfg.hidden)}, ReLU, the playground's random init "
             "(weights uniform in [-0.5, 0.5], biases 0.1), minibatch SGD; every point is for "
             "training. Sorted: every negative before any positive, in the same order every "
             "epoch; shuffled: a new order every epoch.")
