"""playground-init: zero vs random initial weights on the playground's circle, ReLU and
sigmoid: curves, final error, how alike the units of each layer stay, decision boundaries."""

from __future__ import annotations

from dataclasses import dataclass

from layerlab.analysis import first_epoch_reaching, group_by, mean_curve, mean_std, verdict
from layerlab.data import load
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.references import (
    S7_RELU_ITERATIONS,
    S7_RELU_RANDOM_ERROR,
    S7_SIGMOID_ITERATIONS,
    S7_ZERO_INIT_CLAIM,
)
from layerlab.studies.s7_playground import measure as pg

ACTIVATIONS = ("relu", "sigmoid")
ITERATION = "iteration (pass over the training set)"
WHY_ZERO_FAILS = (
    "Why zero fails: with ReLU every hidden pre-activation is 0 and ReLU's gradient there is 0, "
    "so no hidden weight ever changes and only the output bias learns (the class share). With "
    "sigmoid every unit of a layer gets the same gradient, so the units stay identical and the "
    "net decides by a threshold on one w.x: a straight line at best. That w starts at 0 and its "
    "gradient, a sum of the points weighted by their errors, cancels only as far as the sample "
    "is symmetric about the centre; it grows slowly from the rest until the line cuts off part "
    "of the ring and the error falls below chance (never below the best line's). So "
    "'chance-level error' holds for ReLU at any length, and for sigmoid only until that slow "
    "growth shows (the claims give the iteration).")


@dataclass
class InitConfig:
    """The playground's defaults where the study is silent; the study's iterations (passes over
    the training set). records: points per curve. chance_tolerance: how far from the chance
    error (the class share) still counts as chance, a few points of the 250 either way."""

    dataset: str = "circle"
    n: int = 500
    noise: float = 0.0
    test_fraction: float = 0.5
    hidden: tuple = (4, 2)
    learning_rate: float = 0.03
    batch_size: int = 10
    relu_iterations: int = S7_RELU_ITERATIONS
    sigmoid_iterations: int = S7_SIGMOID_ITERATIONS
    inits: tuple = ("zero", "random")
    seeds: tuple = (0, 1, 2, 3, 4)
    records: int = 125
    chance_tolerance: float = 0.02
    grid_steps: int = 61
    seed: int = 0


def _toy(cfg, split):
    return load(f"toy2d:{cfg.dataset}", split, n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                test_fraction=cfg.test_fraction)


def _data_cell(cfg):
    """The training points and the errors the runs are judged against (a chance answer, the
    best straight line over 3,600 directions)."""
    data = _toy(cfg, "train")
    return {**pg.points(data), "chance": pg.chance_error(data.y),
            "best_line": pg.best_line_error(data.X, data.y)}


def _init_cell(cfg, activation, init, seed):
    train_set, test_set = _toy(cfg, "train"), _toy(cfg, "test")
    epochs = cfg.relu_iterations if activation == "relu" else cfg.sigmoid_iterations
    steps = epochs * -(-len(train_set) // cfg.batch_size)
    model = pg.playground_net(cfg.hidden, activation, init, seed)
    history = pg.train(model, train_set.X, train_set.y, epochs=epochs,
                    learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                    order="shuffled", seed=seed, record_every=max(1, steps // cfg.records),
                    probe=lambda m: {"spread": pg.unit_spread(m),
                                     "test_error": pg.error(m, test_set.X, test_set.y)})
    result = {"activation": activation, "init": init, "seed": seed, "iterations": epochs,
              "history": history, "train_error": history["train_error"][-1],
              "test_error": history["test_error"][-1],
              "max_spread": [max(s[k] for s in history["spread"])
                             for k in range(len(cfg.hidden))],
              "distinct_units": pg.distinct_units(model),
              "below_1pct": _first_below(history, S7_RELU_RANDOM_ERROR)}
    if seed == cfg.seeds[0]:
        result["grid"] = pg.decision_grid(model, steps=cfg.grid_steps)
    return result


def _first_below(history, target):
    return first_epoch_reaching(history["train_error"], target, above=False,
                                epochs=history["epoch"])


@experiment("playground-init", study="S7", title="zero vs random initialisation, ReLU and "
            "sigmoid, on the playground's circle", estimate="6 min", config=InitConfig,
            quick={"n": 100, "relu_iterations": 30, "sigmoid_iterations": 60, "seeds": (0,),
                   "records": 15, "grid_steps": 21})
def playground_init(cfg, run):
    """Zero vs random initial weights: curves, final error, symmetry, decision boundaries."""
    run.dataset(_toy(cfg, "train"))
    data = cell(run, "data", lambda: _data_cell(cfg))
    cells = [{"activation": a, "init": i, "seed": int(s)} for a in ACTIVATIONS
             for i in cfg.inits for s in cfg.seeds]
    results = grid(run, "init", cells, lambda c: _init_cell(cfg, **c))
    by = group_by(results, "activation", "init")
    run.table("init", ["activation", "init", "iterations", "final train error (mean)",
                       "std", "worst seed", "final test error (mean)",
                       "first iteration < 1% train error, per seed",
                       "distinct units per layer at the end, per seed",
                       "largest unit spread during training"],
              [[act, init, rs[0]["iterations"], *mean_std([r["train_error"] for r in rs]),
                max(r["train_error"] for r in rs), mean_std([r["test_error"] for r in rs])[0],
                ", ".join(str(r["below_1pct"]) for r in rs),
                "; ".join("/".join(map(str, r["distinct_units"])) for r in rs),
                max(max(r["max_spread"]) for r in rs)] for (act, init), rs in by.items()],
              title=f"Zero vs random initialisation ({len(cfg.seeds)} seed(s) each)",
              note=f"Chance error (always answering the larger class of the training set): "
              f"{data['chance']:.3f}; the best straight line errs on {data['best_line']:.3f} "
              "of it (a sweep of 3,600 directions), the limit of a net whose units in a layer "
              "are all alike. Unit spread 0 means every unit of a layer has the same incoming "
              "weights, bias and outgoing weights; distinct units counts the different units "
              f"of each hidden layer (of {'/'.join(map(str, cfg.hidden))}).")
    _claims(cfg, run, by, data)
    _plots(cfg, run, by, data)
    run.note("settings", f"Net 2 - {' - '.join(map(str, cfg.hidden))} - 2 (softmax), "
             f"learning rate {cfg.learning_rate}, batch {cfg.batch_size}, SGD, shuffled "
             f"every iteration; toy2d:{cfg.dataset} with {cfg.n} points, noise {cfg.noise}, "
             f"test fraction {cfg.test_fraction}; seeds {list(cfg.seeds)} (initial weights "
             "and minibatch order). An iteration is the playground's: one pass over the "
             "training set. Random init is the playground's (weights uniform in [-0.5, 0.5], "
             "biases 0.1); zero init sets every weight and bias to 0. " + WHY_ZERO_FAILS)


def _claims(cfg, run, by, data):
    """Random ReLU reaches < 1%; zero init stays at chance, below no line, its units alike;
    sigmoid is slower than ReLU."""
    chance, best_line = data["chance"], data["best_line"]
    relu_random, sig_random = by.get(("relu", "random"), []), by.get(("sigmoid", "random"), [])
    n_train = len(data["labels"])
    if relu_random:
        errors = [r["train_error"] for r in relu_random]
        run.judge(f"ReLU, random init: training error after {cfg.relu_iterations} iterations "
                  "(mean over seeds)", "goal", verdict.from_seeds_and_images(errors, n_train),
                  S7_RELU_RANDOM_ERROR, better="lower", source="layerlab's goal: the study's "
                  f"'random reaches under 1%' ({pg.SOURCE})", note="per seed " + ", ".join(
                      f"{e:.3f}" for e in errors) + f", each on the same {n_train} points")
    for act in ACTIVATIONS:
        zero = by.get((act, "zero"), [])
        if not zero:
            continue
        errors, iterations = [r["train_error"] for r in zero], zero[0]["iterations"]
        run.judge(f"{act}, zero init: training error after {iterations} iterations equals the "
                  "chance error", "no-effect", verdict.from_pairs(errors, [chance] * len(zero)),
                  margin=cfg.chance_tolerance, source=pg.SOURCE,
                  note=f"{S7_ZERO_INIT_CLAIM}; chance error {chance:.3f}; per seed "
                  + ", ".join(f"{e:.3f}" for e in errors) + f"; margin ±{cfg.chance_tolerance:g}"
                  f": a few points of the {n_train}, what 'chance-level' allows")
        lowest = [min(r["history"]["train_error"]) for r in zero]
        run.judge(f"{act}, zero init: runs doing better than the best straight line at any "
                  f"record (of {len(zero)}; never learns the circle)", "figure",
                  verdict.exact(sum(e < best_line for e in lowest)), 0, better="equal",
                  unit="runs", source=pg.SOURCE, note=f"lowest training error of any "
                  f"zero-init run at any record {min(lowest):.3f}; best straight line "
                  f"{best_line:.3f}; chance {chance:.3f}. With identical units the decision "
                  "is a threshold on one w.x: a line at best")
        left = [_first_below(r["history"], chance - cfg.chance_tolerance) for r in zero]
        run.judge(f"{act}, zero init: seeds whose error leaves chance (of {len(zero)})",
                  "measured", verdict.exact(sum(e is not None for e in left)), unit="seeds",
                  source=pg.SOURCE, note="first record with training error below chance - "
                  f"{cfg.chance_tolerance:g}, per seed: " + ", ".join(
                      "never" if e is None else f"{e:g}" for e in left)
                  + f" (of {iterations} iterations)")
        run.judge(f"{act}, zero init: largest unit spread of any hidden layer during training",
                  "figure", verdict.exact(max(max(r["max_spread"]) for r in zero), 1e-9), 0.0,
                  better="equal", source=pg.SOURCE, note="the study: 'every unit in a layer "
                  "stays identical'; ±1e-9: float64 round-off")
    if relu_random and sig_random:
        _slower_claim(run, relu_random, sig_random)


def _slower_claim(run, relu_random, sig_random):
    """Sigmoid needs more iterations than ReLU to < 1% training error, paired by seed. A
    sigmoid run that never got there counts its length (a lower bound: the difference is
    understated); a ReLU run that never got there leaves nothing to judge."""
    relu = [r["below_1pct"] for r in relu_random]
    sig = [r["below_1pct"] if r["below_1pct"] is not None else r["iterations"]
           for r in sig_random]
    est = None if None in relu else verdict.from_pairs(sig, relu)
    run.judge("sigmoid, random init, learns more slowly than ReLU (iterations to < 1% training "
              "error, sigmoid minus ReLU)", "comparison", est, unit="iterations",
              source=pg.SOURCE, note="paired by seed; ReLU " + ", ".join(map(str, relu))
              + "; sigmoid " + ", ".join(str(r["below_1pct"]) for r in sig_random)
              + f" (None: not within the run, counted as its {sig_random[0]['iterations']})")


def _plots(cfg, run, by, data):
    """Mean loss, error and unit spread over training per activation; the seed-0 boundaries."""
    def mean_series(rs, values):  # [iterations, mean over seeds] of one group's runs
        return [rs[0]["history"]["epoch"], mean_curve([values(r) for r in rs], pad=False)]

    for name, key, ylabel in (("loss", "loss", "training loss"),
                              ("error", "train_error", "training error")):
        panels = []
        for act in ACTIVATIONS:
            series = {f"{init} init": mean_series(by[(act, init)],
                                                  lambda r, key=key: r["history"][key])
                      for init in cfg.inits}
            if key == "train_error":
                last = series[f"{cfg.inits[-1]} init"][0][-1]
                series["chance"] = [[0, last], [data["chance"]] * 2]
            panels.append({"series": series, "ylabel": ylabel, "title": act, "xlabel": ITERATION})
        run.plot(f"init_{name}", "curves", title=f"{ylabel.capitalize()}, mean over "
                 f"{len(cfg.seeds)} seed(s)", panels=panels, xlabel=ITERATION)
    run.plot("init_symmetry", "curves", title="How different the units of a layer are",
             panels=[{"series": {f"{init} init, layer {k + 1}": mean_series(
                 by[(act, init)], lambda r, k=k: [s[k] for s in r["history"]["spread"]])
                 for init in cfg.inits for k in range(len(cfg.hidden))},
                 "ylabel": "unit spread (0: all units identical)", "title": act}
                 for act in ACTIVATIONS], xlabel=ITERATION,
             note="Zero initialisation: the spread stays 0, every unit of a layer computes "
             "the same function.")
    first = [rs[0] for rs in by.values()]  # the first seed of each group
    run.plot("init_boundaries", "boundary", ncols=len(cfg.inits),
             title=f"Decision boundaries after training (seed {cfg.seeds[0]}, training points)",
             panels=[{"title": f"{r['activation']}, {r['init']} init, {r['iterations']} it.: "
                      f"train error {r['train_error']:.3f}", "values": r["grid"],
                      "extent": pg.EXTENT, "points": data["points"], "labels": data["labels"]}
                     for r in first],
             note="Colour: the net's P(+1) - P(-1), blue for +1 (the disc), orange for -1 "
             "(the ring); points: the training set.")
