"""playground-init: zero vs random initial weights on the playground's circle, ReLU and
sigmoid: curves, final error, how alike the units of each layer stay, decision boundaries."""

from __future__ import annotations

from dataclasses import dataclass

from layerlab import references as ref
from layerlab.analysis import count, first_epoch_reaching, group_by, mean_curve, mean_std, verdict
from layerlab.data import load
from layerlab.lab.config import words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.probing import scratch as scratch_probe
from layerlab.studies.s7_playground import measure as pg

ACTIVATIONS = ("relu", "sigmoid")
ITERATION = "iteration (pass over the training set)"
WHY_ZERO_FAILS = (
    "with ReLU every hidden pre-activation and its gradient are 0, so only the output bias "
    "learns. With sigmoid the units of a layer get the same gradient and stay identical: the "
    "net decides by a threshold on one w.x, a straight line at best, and w grows from 0 only as "
    "far as the sample is not symmetric about the centre")


@dataclass
class InitConfig:
    """The playground's defaults where the study is silent; iterations are passes over the
    training set. records: points per curve. chance_tolerance: how far from the chance error
    still counts as chance."""

    checks = {"inits": words(("zero", "random"))}

    dataset: str = "circle"
    n: int = 500
    noise: float = 0.0
    test_fraction: float = 0.5
    hidden: tuple = (4, 2)
    learning_rate: float = 0.03
    batch_size: int = 10
    relu_iterations: int = ref.S7_RELU_ITERATIONS
    sigmoid_iterations: int = ref.S7_SIGMOID_ITERATIONS
    inits: tuple = ("zero", "random")
    seeds: tuple = (0, 1, 2, 3, 4)
    records: int = 125
    chance_tolerance: float = 0.02
    grid_steps: int = 61
    seed: int = 0


def _toy(cfg, split):
    return load(f"toy2d:{cfg.dataset}", split, n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                test_fraction=cfg.test_fraction)


def _init_cell(cfg, run, activation, init, seed):
    train_set, test_set = _toy(cfg, "train"), _toy(cfg, "test")
    epochs = cfg.relu_iterations if activation == "relu" else cfg.sigmoid_iterations
    steps = epochs * -(-len(train_set) // cfg.batch_size)
    model = pg.playground_net(cfg.hidden, activation, init, seed)
    key = cell_key("init", {"activation": activation, "init": init, "seed": seed})
    history = pg.train(model, train_set.X, train_set.y, epochs=epochs,
                       learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                       order="shuffled", seed=seed, record_every=max(1, steps // cfg.records),
                       probe=lambda m: {"spread": pg.unit_spread(m),
                                        "test_error": pg.error(m, test_set.X, test_set.y)},
                       layer_probe=scratch_probe.for_run(run, key, model))
    result = {"activation": activation, "init": init, "seed": seed, "iterations": epochs,
              "history": history, "train_error": history["train_error"][-1],
              "test_error": history["test_error"][-1],
              "max_spread": [max(layer) for layer in zip(*history["spread"], strict=True)],
              "distinct_units": pg.distinct_units(model),
              "below_1pct": _first_below(history, ref.S7_RELU_RANDOM_ERROR)}
    if seed == cfg.seeds[0]:
        result["grid"] = pg.decision_grid(model, steps=cfg.grid_steps)
    return result


def _first_below(history, target):
    return first_epoch_reaching(history["train_error"], target, above=False,
                                epochs=history["epoch"])


def _never(x):
    return "never" if x is None else str(x)


@experiment("playground-init", study="S7", title="zero vs random initialisation, ReLU and "
            "sigmoid, on the playground's circle", estimate="6 min", config=InitConfig,
            quick={"n": 100, "relu_iterations": 30, "sigmoid_iterations": 60, "seeds": (0,),
                   "records": 15, "grid_steps": 21})
def playground_init(cfg, run):
    """Zero vs random initial weights: curves, final error, symmetry, decision boundaries."""
    toy = _toy(cfg, "train")
    run.dataset(toy)
    data = cell(run, "data", lambda: {**pg.points(toy), "chance": pg.chance_error(toy.y),
                                      "best_line": pg.best_line_error(toy.X, toy.y)})
    cells = [{"activation": a, "init": i, "seed": int(s)} for a in ACTIVATIONS
             for i in cfg.inits for s in cfg.seeds]
    by = group_by(grid(run, "init", cells, lambda c: _init_cell(cfg, run, **c)),
                  "activation", "init")
    run.table("init", ["activation", "init", "iterations", "final train error (mean)",
                       "std", "worst seed", "final test error (mean)",
                       "first iteration < 1% train error, per seed",
                       "distinct units per layer at the end, per seed",
                       "largest unit spread during training"],
              [[act, init, rs[0]["iterations"], *mean_std([r["train_error"] for r in rs]),
                max(r["train_error"] for r in rs), mean_std([r["test_error"] for r in rs])[0],
                ", ".join(_never(r["below_1pct"]) for r in rs),
                "; ".join("/".join(map(str, r["distinct_units"])) for r in rs),
                max(max(r["max_spread"]) for r in rs)] for (act, init), rs in by.items()],
              title=f"Zero vs random initialisation, {count(len(cfg.seeds), 'seed')} each",
              note=f"Chance error (always the larger class): {data['chance']:.3f}; the best "
              f"straight line (the limit of a net whose units are alike) errs on "
              f"{data['best_line']:.3f}. Unit spread 0: the units of a layer are identical.")
    _claims(cfg, run, by, data)
    _plots(cfg, run, by, data)
    run.note("settings", f"Net {pg.net_text(cfg.hidden)} (softmax), SGD shuffled every "
             "iteration; random init: weights uniform in [-0.5, 0.5], biases 0.1."
             + zero_reading(by, data, cfg.chance_tolerance))


def zero_reading(by, data, tol):
    """Why zero init fails, worded from its runs: 'fails' only when none does better than the
    best straight line at any record; the sigmoid line cutting off part of the ring only in
    the seeds whose error leaves chance (by more than tol)."""
    zero = [r for (_, init), rs in by.items() if init == "zero" for r in rs]
    if not zero:
        return ""
    beaten = any(min(r["history"]["train_error"]) < data["best_line"] for r in zero)
    text = (" Why zero fails: " if not beaten else " Zero init should fail (yet a run here does "
            "better than the best straight line: see the claims): ") + WHY_ZERO_FAILS
    if sig := by.get(("sigmoid", "zero")):
        left = sum(_first_below(r["history"], data["chance"] - tol) is not None for r in sig)
        text += (f"; here it grew until the line cut off part of the ring in {left} of "
                 f"{len(sig)} seeds (the claims give the iteration)" if left else "; here no "
                 f"seed's error left chance in {sig[0]['iterations']} iterations")
    return text + "."


def _claims(cfg, run, by, data):
    """Random ReLU reaches < 1%; zero init stays at chance; sigmoid is slower than ReLU (paired
    by seed: a sigmoid run that never gets there counts its length, a lower bound; a ReLU run
    that never gets there leaves nothing to judge)."""
    relu_random, sig_random = by.get(("relu", "random"), []), by.get(("sigmoid", "random"), [])
    n_train = len(data["labels"])
    if relu_random:
        errors = [r["train_error"] for r in relu_random]
        run.judge(f"ReLU, random init: training error after {cfg.relu_iterations} iterations "
                  "(mean over seeds)", "goal", verdict.from_seeds_and_images(errors, n_train),
                  ref.S7_RELU_RANDOM_ERROR, better="lower", key=True, source="layerlab's goal: "
                  f"the study's 'random reaches under 1%' ({pg.SOURCE})",
                  note=f"per seed {', '.join(f'{e:.3f}' for e in errors)}, each on the same "
                       f"{n_train} points")
    for act in ACTIVATIONS:
        if by.get((act, "zero")):
            _zero_claims(cfg, run, act, by[(act, "zero")], data)
    if relu_random and sig_random:
        relu = [r["below_1pct"] for r in relu_random]
        sig = [r["below_1pct"] if r["below_1pct"] is not None else r["iterations"]
               for r in sig_random]
        run.judge("sigmoid, random init, learns more slowly than ReLU (iterations to < 1% "
                  "training error, sigmoid minus ReLU)", "comparison",
                  None if None in relu else verdict.from_pairs(sig, relu), unit="iterations",
                  source=pg.SOURCE, note="paired by seed; ReLU " + ", ".join(map(_never, relu))
                  + "; sigmoid " + ", ".join(_never(r["below_1pct"]) for r in sig_random)
                  + f" (never: counted as the run's {sig_random[0]['iterations']})")


def _zero_claims(cfg, run, act, zero, data):
    """Zero init: at chance, below no straight line, leaving chance when, its units alike."""
    chance, best_line, tol = data["chance"], data["best_line"], cfg.chance_tolerance
    errors, iterations = [r["train_error"] for r in zero], zero[0]["iterations"]
    run.judge(f"{act}, zero init: training error after {iterations} iterations equals the "
              "chance error", "no-effect", verdict.from_pairs(errors, [chance] * len(zero)),
              margin=tol, source=pg.SOURCE, note=f"the study: '{ref.S7_ZERO_INIT_CLAIM}'; chance "
              f"error {chance:.3f}; per seed " + ", ".join(f"{e:.3f}" for e in errors)
              + f"; margin ±{tol:g}: {tol * len(data['labels']):.0f} of the "
              f"{len(data['labels'])} points")
    lowest = [min(r["history"]["train_error"]) for r in zero]
    run.judge(f"{act}, zero init: runs doing better than the best straight line at any "
              f"record (of {len(zero)}; never learns the circle)", "figure",
              verdict.exact(sum(e < best_line for e in lowest)), 0, better="equal",
              unit="runs", source=pg.SOURCE, note=f"lowest training error of any zero-init "
              f"run at any record {min(lowest):.3f}; best straight line {best_line:.3f}; chance "
              f"{chance:.3f}")
    left = [_first_below(r["history"], chance - tol) for r in zero]
    run.judge(f"{act}, zero init: seeds whose error leaves chance (of {len(zero)})",
              "measured", verdict.exact(sum(e is not None for e in left)), unit="seeds",
              source=pg.SOURCE, note=f"first record with training error below chance - {tol:g}, "
              f"per seed: {', '.join(map(_never, left))} (of {iterations} iterations)")
    run.judge(f"{act}, zero init: largest unit spread of any hidden layer during training",
              "figure", verdict.exact(max(max(r["max_spread"]) for r in zero), 1e-9), 0.0,
              better="equal", source=pg.SOURCE, note="the study: 'every unit in a layer stays "
              "identical'; ±1e-9: float64 round-off")


def _plots(cfg, run, by, data):
    """Mean loss, error and unit spread over training per activation; the seed-0 boundaries."""
    def mean_series(act, init, values):  # [iterations, mean over seeds] of one group's runs
        rs = by[(act, init)]
        return [rs[0]["history"]["epoch"], mean_curve([values(r["history"]) for r in rs],
                                                       pad=False)]

    means = f"Means over {count(len(cfg.seeds), 'seed')}."
    for name, key, ylabel in (("loss", "loss", "training loss"),
                              ("error", "train_error", "training error")):
        panels = []
        for act in ACTIVATIONS:
            series = {f"{init} init": mean_series(act, init, lambda h, key=key: h[key])
                      for init in cfg.inits}
            if key == "train_error":  # chance, over the whole run
                series["chance"] = [[0, series[f"{cfg.inits[-1]} init"][0][-1]],
                                    [data["chance"]] * 2]
            panels.append({"series": series, "ylabel": ylabel, "title": act, "xlabel": ITERATION})
        run.plot(f"init_{name}", "curves", title=ylabel.capitalize(), panels=panels,
                 xlabel=ITERATION, note=means)
    run.plot("init_symmetry", "curves", title="How different the units of a layer are",
             panels=[{"series": {f"{init} init, layer {k + 1}": mean_series(
                 act, init, lambda h, k=k: [s[k] for s in h["spread"]])
                 for init in cfg.inits for k in range(len(cfg.hidden))},
                 "ylabel": "unit spread (0: all units identical)", "title": act}
                 for act in ACTIVATIONS], xlabel=ITERATION, note=means)
    run.plot("init_boundaries", "boundary", ncols=len(cfg.inits),
             title="Decision boundaries after training",
             panels=[pg.panel(f"{r['activation']}, {r['init']} init, {r['iterations']} it.: "
                              f"train error {r['train_error']:.3f}", r["grid"], data)
                     for r in (rs[0] for rs in by.values())],
             note=f"Seed {cfg.seeds[0]}. Colour: the net's P(+1) - P(-1), blue for +1 (the "
             "disc), orange for -1 (the ring); points: the training set.")
