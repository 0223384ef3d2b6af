"""dying-relu: 1,000 circle points, SGD through every negative before any positive (sorted, the
same order every epoch) vs shuffled every epoch, over seeds and learning rates: dead ReLU
units (zero on every training point) over training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import mean_curve, mean_std, paired_difference, pm, verdict
from layerlab.data import load
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.references import S7_DYING_CLAIM, S7_DYING_POINTS
from layerlab.studies.s7_playground import measure as pg

ORDERS = ("sorted", "shuffled")
WHY_SORTED_KILLS = (
    "Why sorted SGD kills units: each block of a sorted epoch is one class, so for many steps "
    "every gradient pushes the same way; when a block begins the net still answers the previous "
    "class with confidence, the loss and steps are large, and a hidden unit can be pushed until "
    "it is zero on every point. The negatives (the ring) surround the positives, so a "
    "first-layer unit zero on the whole ring is zero on the disc too: dead for good. Shuffled "
    "minibatches mix the classes, so the pushes largely cancel. The curves show when units die: "
    "in the sorted runs at the switches between blocks (the count right after the first block "
    "of negatives is still small).")


@dataclass
class DyingConfig:
    """1,000 circle points, all for training (500 +1, 500 -1). The playground's random init
    and batch 10; 10 epochs; the study gives no learning rate, so four are run, the
    playground's default 0.03 up to 1.0. record_every: minibatch steps between dead-unit
    counts. boundary_rate: the learning rate whose seed-0 runs are drawn."""

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


def _dying_cell(cfg, rate, order, seed):
    data = _toy(cfg, sort=order == "sorted")
    model = pg.playground_net(cfg.hidden, "relu", "random", seed)
    history = pg.train(model, data.X, data.y, epochs=cfg.epochs, learning_rate=rate,
                       batch_size=cfg.batch_size, order="fixed" if order == "sorted" else
                       "shuffled", seed=seed, record_every=cfg.record_every,
                       probe=lambda m: {"dead": pg.dead_units(m, data.X)})
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
    results = grid(run, "dying", cells, lambda c: _dying_cell(cfg, **c))
    by = {(r["rate"], r["order"], r["seed"]): r for r in results}
    units, negatives = sum(cfg.hidden), data["negatives"]
    steps_per_epoch = -(-cfg.n // cfg.batch_size)
    rows, panels, rates, final = [], [], {True: [], False: []}, {o: [] for o in ORDERS}
    for rate in map(float, cfg.learning_rates):
        runs = {o: [by[(rate, o, s)] for s in cfg.seeds] for o in ORDERS}
        dead = {o: [r["final_dead"] for r in rs] for o, rs in runs.items()}
        diff, se = paired_difference(dead["sorted"], dead["shuffled"])
        shown = verdict.comparison(verdict.from_pairs(dead["sorted"], dead["shuffled"]))
        rates[shown["verdict"] == "holds"].append(rate)  # more when sorted, judged over seeds
        for o, rs in runs.items():
            final[o] += dead[o]
            rows.append([rate, o, " ".join(map(str, dead[o]))]
                        + [mean_std([r[k] for r in rs])[0] for k in
                           ("final_dead", "dead_after_negatives", "max_dead", "train_error")]
                        + [pm(diff, se, digits=2, sign=True) if o == "sorted" else ""])
        panels.append({"series": {o: [[s / steps_per_epoch for s in rs[0]["step"]],
                                      mean_curve([r["dead"] for r in rs], pad=False)]
                                  for o, rs in runs.items()},
                       "ylabel": f"dead units (of {units})", "title": f"learning rate {rate:g}"})
    run.table("dead_units", ["learning rate", "order", "dead units at the end, per seed",
                             "mean", f"mean after the first {negatives} points",
                             "mean of the most at any count", "final train error (mean)",
                             "sorted - shuffled (paired mean ± s.e.)"], rows,
              title=f"Dead ReLU units (of {units}: hidden layers "
              f"{'/'.join(map(str, cfg.hidden))}) after {cfg.epochs} epochs, "
              f"{len(cfg.seeds)} seeds",
              note="A unit is dead when it outputs 0 for every one of the training points: it "
              "then gets no gradient from them (a first-layer unit stays dead for good; a "
              "second-layer one could come back if the first layer moves). 'After the first "
              f"{negatives} points': the count at the step where the sorted order has just "
              "finished the negatives. Seeds pair the two orders: the same initial weights.")
    measurable, quiet = rates[True], rates[False]
    most_quiet = max((r["final_dead"] for r in results if r["rate"] in quiet), default=0)
    run.note("what the runs show", "Sorted SGD leaves more dead units (the comparison over "
             "seeds holds) at learning rate(s) "
             f"{', '.join(f'{r:g}' for r in measurable) or 'none'}; at "
             f"{', '.join(f'{r:g}' for r in quiet) or 'no other rate'} it is not shown "
             f"(no run there ends with more than {most_quiet} dead "
             "unit(s)), and sorting costs accuracy instead (the final train error column). "
             "The pooled claim averages each seed's runs over every learning rate.")
    per_seed = {o: [float(np.mean([by[(float(r), o, s)]["final_dead"]
                                   for r in cfg.learning_rates])) for s in cfg.seeds]
                for o in ORDERS}
    run.judge("sorted SGD leaves more dead units than shuffled (each seed's mean over the "
              "learning rates, paired by seed)", "comparison",
              verdict.from_pairs(per_seed["sorted"], per_seed["shuffled"]), source=pg.SOURCE,
              note=f"{S7_DYING_CLAIM}; dead units at the end summed over every run: sorted "
              f"{sum(final['sorted'])}, shuffled {sum(final['shuffled'])}")
    for rate in map(float, cfg.learning_rates):
        s_dead, h_dead = ([by[(rate, o, s)]["final_dead"] for s in cfg.seeds] for o in ORDERS)
        run.judge(f"learning rate {rate:g}: sorted SGD leaves more dead units than shuffled",
                  "comparison", verdict.from_pairs(s_dead, h_dead), source=pg.SOURCE,
                  note=f"paired by seed (same initial weights); mean sorted "
                  f"{np.mean(s_dead):.2f}, shuffled {np.mean(h_dead):.2f} of {units}")
    _plots(cfg, run, by, data, panels)


def _plots(cfg, run, by, data, panels):
    """Mean dead units over training per learning rate; the boundaries of one pair of runs."""
    negatives = data["negatives"]
    run.plot("dead_units", "curves", title=f"Dead units over training, mean over "
             f"{len(cfg.seeds)} seeds", panels=panels, xlabel="epoch",
             ncols=min(2, len(panels)),
             note=f"Sorted: every epoch visits the {negatives} negatives, then the "
             f"{cfg.n - negatives} positives.")
    drawn = [by[key] for key in ((float(cfg.boundary_rate), o, cfg.seeds[0]) for o in ORDERS)
             if key in by]
    if drawn:
        run.plot("dying_boundaries", "boundary", title=f"Decision boundaries, learning rate "
                 f"{cfg.boundary_rate:g}, seed {cfg.seeds[0]}",
                 panels=[{"title": f"{r['order']}: {r['final_dead']} dead, train error "
                          f"{r['train_error']:.3f}", "values": r["grid"], "extent": pg.EXTENT,
                          "points": data["points"], "labels": data["labels"]} for r in drawn])
    run.note("settings", f"Net 2 - {' - '.join(map(str, cfg.hidden))} - 2, ReLU, the "
             "playground's random init (weights uniform in [-0.5, 0.5], biases 0.1), "
             f"minibatch SGD with batch {cfg.batch_size} for {cfg.epochs} epochs, learning "
             f"rates {list(cfg.learning_rates)}; toy2d:{cfg.dataset}, {cfg.n} points, noise "
             f"{cfg.noise}, all used for training. Sorted: every negative before any "
             "positive, in the same order every epoch; shuffled: a new order every epoch. "
             + WHY_SORTED_KILLS)
