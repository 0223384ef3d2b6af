"""S7 playground studies on the 2-D toy sets, with the scratch engine.

Three experiments:

- `playground-init`: the playground's small net (two hidden layers of 4 and 2 units) on the
  circle set, initial weights all zero vs random, with ReLU for 250 iterations and sigmoid for
  4,000: loss and error curves, final error, and how alike the units of each layer are over
  training (the symmetry that zero initialisation never breaks).
- `dying-relu`: 1,000 circle points (500 +1, 500 -1), SGD through every negative before any
  positive (the same order every epoch) vs shuffled every epoch, over seeds and learning
  rates: the number of dead units (zero on every training point) over training.
- `or-xor`: OR and XOR with ReLU units set by hand and checked on the four inputs; exact
  proofs (Fourier-Motzkin, layerlab.theory.logic) that no network without a hidden layer
  computes XOR, or outputs OR exactly; nets trained on the four XOR points, over seeds and
  hidden widths.

Every training run draws its decision boundary: the net's P(+1) - P(-1) over the plane, with
the points, as the playground does.

Readings of the study (written into each report): an "iteration" is the playground's, one
pass over the training set in minibatches of 10 (the playground's default batch size and its
learning rate 0.03); "random" initial weights are the playground's, uniform in [-0.5, 0.5]
with biases 0.1; the output is a two-class softmax (the engine's loss) rather than the
playground's tanh unit with squared error; the circle set has no noise and a 50% test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.data import load
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.references import (
    S7_DYING_CLAIM,
    S7_DYING_POINTS,
    S7_RELU_ITERATIONS,
    S7_RELU_RANDOM_ERROR,
    S7_SIGMOID_ITERATIONS,
    S7_XOR_LAYERS,
    S7_ZERO_INIT_CLAIM,
)
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.optim import sgd
from layerlab.trainers.solver_cell import mean_std, paired_difference

SOURCE = "shared/STUDIES.md S7 (playground studies)"
EXTENT = (-6.0, 6.0, -6.0, 6.0)  # the playground's canvas


# --- the net, its training and what is measured (pure functions, tested) ------------------


def playground_net(hidden, activation, init, seed):
    """A FullyConnectedNet 2 -> hidden -> 2 classes in float64.

    init: 'zero' (every weight and bias 0) or 'random' (the playground's: weights uniform in
    [-0.5, 0.5], biases 0.1), drawn from `seed`.
    """
    model = FullyConnectedNet(list(hidden), input_dim=2, num_classes=2, activation=activation,
                              init="zeros", dtype=np.float64, seed=seed)
    if init == "random":
        rng = np.random.default_rng(seed)
        for name, value in model.params.items():
            model.params[name] = rng.uniform(-0.5, 0.5, value.shape) if name.startswith("W") \
                else np.full(value.shape, 0.1)
    elif init != "zero":
        raise ValueError(f"init must be 'zero' or 'random', got {init!r}")
    return model


def hidden_activations(model, X):
    """The output of every hidden layer, [(N, units), ...] (test mode)."""
    out, acts = np.asarray(X, dtype=model.dtype), []
    for i in range(1, model.num_layers):
        out, _ = model.hidden.forward(out, {"W": model.params[f"W{i}"],
                                            "b": model.params[f"b{i}"]})
        acts.append(out)
    return acts


def dead_units(model, X):
    """Per hidden layer, how many units output 0 for every row of X (a ReLU unit dead on the
    training set gets no gradient from it; in the first layer it stays dead for good)."""
    return [int(np.sum(np.all(a <= 0, axis=0))) for a in hidden_activations(model, X)]


def unit_spread(model):
    """Per hidden layer, how far its units are from being identical: the largest difference
    between any unit's parameters (incoming weights, bias, outgoing weights) and the first
    unit's, over the largest parameter of the layer; 0 when all units are the same."""
    spreads = []
    for i in range(1, model.num_layers):
        units = np.concatenate([model.params[f"W{i}"], model.params[f"b{i}"][None, :],
                                model.params[f"W{i + 1}"].T], axis=0)  # one column per unit
        scale = np.max(np.abs(units))
        spreads.append(float(np.max(np.abs(units - units[:, :1])) / scale) if scale else 0.0)
    return spreads


def distinct_units(model, tolerance=1e-9):
    """Per hidden layer, how many different units it has (columns of parameters that differ by
    more than `tolerance` times the layer's largest parameter)."""
    counts = []
    for i in range(1, model.num_layers):
        units = np.concatenate([model.params[f"W{i}"], model.params[f"b{i}"][None, :],
                                model.params[f"W{i + 1}"].T], axis=0).T
        scale = max(float(np.max(np.abs(units))), 1e-300)
        kept = []
        for u in units:
            if not any(np.max(np.abs(u - k)) <= tolerance * scale for k in kept):
                kept.append(u)
        counts.append(len(kept))
    return counts


def error(model, X, y):
    """Fraction of points the model classifies wrongly."""
    return float(np.mean(model.loss(X).argmax(axis=1) != y))


def chance_error(y):
    """Error of always answering the more common class."""
    share = float(np.mean(y))
    return min(share, 1 - share)


def best_line_error(X, y, directions=3600):
    """The smallest training error of any straight-line classifier found by trying
    `directions` normal directions (each with its best threshold and side): what a net whose
    units in each layer are identical can reach at best (its decision is a threshold on one
    w.x). X: (N, 2); y: (N,) in {0, 1}."""
    angles = np.linspace(0, np.pi, directions, endpoint=False)
    proj = X @ np.stack([np.cos(angles), np.sin(angles)])  # (N, directions)
    order = np.argsort(proj, axis=0)
    labels = np.asarray(y)[order]  # labels sorted along each direction
    N, positives = len(y), int(np.sum(y))
    # answering 1 above the k-th sorted point: errors = positives below + negatives above
    pos_below = np.vstack([np.zeros((1, directions)), np.cumsum(labels, axis=0)])
    below = np.arange(N + 1)[:, None]
    errors = pos_below + (N - below) - (positives - pos_below)
    errors = np.minimum(errors, N - errors)  # or answering 1 below
    return float(errors.min() / N)


def decision_grid(model, extent=EXTENT, steps=61):
    """P(+1) - P(-1) of the model on a steps x steps grid over the extent, (steps, steps),
    row 0 at the bottom (y = extent[2]); rounded to 3 decimals for the results file."""
    xs = np.linspace(extent[0], extent[1], steps)
    ys = np.linspace(extent[2], extent[3], steps)
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    scores = model.loss(points)
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return np.round(2 * p[:, 1] - 1, 3).reshape(steps, steps).tolist()


def train(model, X, y, *, epochs, learning_rate, batch_size, order, seed, record_every,
          probe=None):
    """Minibatch SGD (the engine's `sgd`) on (X, y); returns the history of the run.

    Args:
        X: (N, 2); y: (N,) in {0, 1}.
        order: 'shuffled' (a new permutation every epoch, drawn from `seed`) or 'fixed' (the
            order of X every epoch, e.g. every negative before any positive).
        record_every: record every this many minibatch steps (and at step 0 and the end).
        probe: fn(model) -> dict of extra values to record.
    Returns:
        {'step': [...], 'epoch': [...], 'loss': [...] (mean minibatch loss since the last
        record; at step 0 the loss on all of X), 'train_error': [...], plus the probe's keys}.
    """
    if order not in ("shuffled", "fixed"):
        raise ValueError(f"order must be 'shuffled' or 'fixed', got {order!r}")
    rng = np.random.default_rng(seed + 1_000_003)  # the order's own stream, apart from init
    N = len(y)
    history = {"step": [], "epoch": [], "loss": [], "train_error": []}

    def record(step, losses):
        history["step"].append(step)
        history["epoch"].append(step / -(-N // batch_size))
        history["loss"].append(float(np.mean(losses)) if losses else model.loss(X, y)[0])
        history["train_error"].append(error(model, X, y))
        for key, value in (probe(model) if probe else {}).items():
            history.setdefault(key, []).append(value)

    record(0, [])
    step, losses = 0, []
    for _ in range(epochs):
        idx = rng.permutation(N) if order == "shuffled" else np.arange(N)
        for start in range(0, N, batch_size):
            batch = idx[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            for name, g in grads.items():
                model.params[name], _ = sgd(model.params[name], g,
                                            {"learning_rate": learning_rate})
            losses.append(loss)
            step += 1
            if step % record_every == 0:
                record(step, losses)
                losses = []
    if history["step"][-1] != step:
        record(step, losses)
    return history


def first_epoch_below(history, target):
    """First recorded epoch whose training error is below `target`, or None."""
    for epoch, err in zip(history["epoch"], history["train_error"], strict=True):
        if err < target:
            return epoch
    return None


def _points(data):
    return {"points": np.round(data.X, 3).tolist(), "labels": data.y.tolist()}


# --- playground-init ---------------------------------------------------------------------


@dataclass
class InitConfig:
    """The playground's defaults where the study is silent: circle, no noise, 500 points with
    a 50% test split, hidden layers (4, 2), learning rate 0.03, batch 10. relu_iterations and
    sigmoid_iterations are the study's (one iteration = one pass over the training set).
    records: points per curve. chance_tolerance: how far from the chance error still counts
    as chance (the error of a net that answers one class is the class share; a few points of
    the 250 either way)."""

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
    seeds: tuple = (0, 1, 2)
    records: int = 125
    chance_tolerance: float = 0.02
    grid_steps: int = 61
    seed: int = 0


def _toy(cfg, split, **extra):
    return load(f"toy2d:{cfg.dataset}", split, n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                **extra)


def _init_cell(cfg, activation, init, seed):
    train_set = _toy(cfg, "train", test_fraction=cfg.test_fraction)
    test_set = _toy(cfg, "test", test_fraction=cfg.test_fraction)
    epochs = cfg.relu_iterations if activation == "relu" else cfg.sigmoid_iterations
    steps = epochs * -(-len(train_set) // cfg.batch_size)
    model = playground_net(cfg.hidden, activation, init, seed)

    def probe(m):
        return {"spread": unit_spread(m), "test_error": error(m, test_set.X, test_set.y)}

    history = train(model, train_set.X, train_set.y, epochs=epochs,
                    learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                    order="shuffled", seed=seed, record_every=max(1, steps // cfg.records),
                    probe=probe)
    result = {"activation": activation, "init": init, "seed": seed, "iterations": epochs,
              "history": history, "train_error": history["train_error"][-1],
              "test_error": history["test_error"][-1],
              "max_spread": [max(s[k] for s in history["spread"])
                             for k in range(len(cfg.hidden))],
              "distinct_units": distinct_units(model),
              "below_1pct": first_epoch_below(history, S7_RELU_RANDOM_ERROR),
              "chance": chance_error(train_set.y)}
    if seed == cfg.seeds[0]:
        result["grid"] = decision_grid(model, steps=cfg.grid_steps)
    return result


@experiment("playground-init", study="S7", title="zero vs random initialisation, ReLU and "
            "sigmoid, on the playground's circle", estimate="4 min", config=InitConfig,
            quick={"n": 100, "relu_iterations": 30, "sigmoid_iterations": 60, "seeds": (0,),
                   "records": 15, "grid_steps": 21})
def playground_init(cfg, run):
    """Zero vs random initial weights: curves, final error, symmetry, decision boundaries."""
    train_set = _toy(cfg, "train", test_fraction=cfg.test_fraction)
    run.dataset(train_set)
    cells = [{"activation": a, "init": i, "seed": int(s)} for a in ("relu", "sigmoid")
             for i in cfg.inits for s in cfg.seeds]
    results = grid(run, "init", cells,
                   lambda c: _init_cell(cfg, c["activation"], c["init"], c["seed"]))
    by = {}
    for r in results:
        by.setdefault((r["activation"], r["init"]), []).append(r)
    chance = results[0]["chance"]
    seeds = len(cfg.seeds)
    best_line = best_line_error(train_set.X, train_set.y)

    rows = []
    for (act, init), rs in by.items():
        err_mean, err_std = mean_std([r["train_error"] for r in rs])
        rows.append([act, init, rs[0]["iterations"], err_mean, err_std,
                     max(r["train_error"] for r in rs), mean_std([r["test_error"]
                                                                  for r in rs])[0],
                     ", ".join(str(r["below_1pct"]) for r in rs),
                     "; ".join("/".join(map(str, r["distinct_units"])) for r in rs),
                     max(max(r["max_spread"]) for r in rs)])
    run.table("init", ["activation", "init", "iterations", "final train error (mean)",
                       "std", "worst seed", "final test error (mean)",
                       "first iteration < 1% train error, per seed",
                       "distinct units per layer at the end, per seed",
                       "largest unit spread during training"], rows,
              title=f"Zero vs random initialisation ({seeds} seed(s) each)",
              note=f"Chance error (always answering the larger class of the training set): "
              f"{chance:.3f}; the best straight line errs on {best_line:.3f} of it (a sweep of "
              "3,600 directions), the limit of a net whose units in a layer are all alike. "
              "Unit spread 0 means every unit of a layer has the same incoming "
              "weights, bias and outgoing weights; distinct units counts the different units "
              f"of each hidden layer (of {'/'.join(map(str, cfg.hidden))}).")

    relu_random = by.get(("relu", "random"), [])
    if relu_random:
        worst = max(r["train_error"] for r in relu_random)
        run.claim(f"ReLU, random init: training error after {cfg.relu_iterations} iterations "
                  "(worst seed)", worst, S7_RELU_RANDOM_ERROR, better="lower", unit="",
                  source=SOURCE, note="the study: 'random reaches under 1%'; a worst seed at "
                  "or below 0.01 reproduces it")
    for act in ("relu", "sigmoid"):
        zero = by.get((act, "zero"), [])
        if not zero:
            continue
        gap = max((r["train_error"] - chance for r in zero), key=abs)
        iterations = zero[0]["iterations"]
        run.claim(f"{act}, zero init: training error after {iterations} iterations minus the "
                  "chance error (largest gap over seeds)", round(gap, 4), 0.0, better="equal",
                  tolerance=cfg.chance_tolerance, source=SOURCE,
                  note=f"{S7_ZERO_INIT_CLAIM}; chance error {chance:.3f}")
        lowest = min(min(r["history"]["train_error"]) for r in zero)
        run.claim(f"{act}, zero init never does better than the best straight line (never "
                  "learns the circle)", bool(lowest >= best_line), True, source=SOURCE,
                  note=f"lowest training error of any zero-init run at any record {lowest:.3f}; "
                  f"best straight line {best_line:.3f}; chance {chance:.3f}. With identical "
                  "units the decision is a threshold on one w.x: a line at best")
        left = [first_epoch_below(r["history"], chance - cfg.chance_tolerance) for r in zero]
        run.claim(f"{act}, zero init: iteration at which the error leaves chance, per seed",
                  ", ".join("never" if e is None else f"{e:g}" for e in left), None,
                  source=SOURCE, note=f"first record with training error below chance - "
                  f"{cfg.chance_tolerance:g}, of {iterations} iterations")
        run.claim(f"{act}, zero init: largest unit spread of any hidden layer during training",
                  max(max(r["max_spread"]) for r in zero), 0.0, better="equal",
                  tolerance=1e-9, source=SOURCE,
                  note="the study: 'every unit in a layer stays identical'")
    sig_random = by.get(("sigmoid", "random"), [])
    if relu_random and sig_random:
        def worst_first(rs):
            firsts = [r["below_1pct"] for r in rs]
            return None if None in firsts else max(firsts)
        relu_first, sig_first = worst_first(relu_random), worst_first(sig_random)
        # None when even ReLU did not get there: then the run cannot tell which is slower
        slower = None if relu_first is None else sig_first is None or sig_first > relu_first
        run.claim("sigmoid, random init, learns more slowly than ReLU (iterations to < 1% "
                  "training error, worst seed)", slower, True, source=SOURCE,
                  note=f"ReLU: {relu_first}, sigmoid: {sig_first} (None: not within the "
                  f"run); sigmoid final error, worst seed: "
                  f"{max(r['train_error'] for r in sig_random):.3f}")

    for what, key, ylabel in (("loss", "loss", "training loss"),
                              ("error", "train_error", "training error")):
        panels = []
        for act in ("relu", "sigmoid"):
            series = {}
            for init in cfg.inits:
                rs = by[(act, init)]
                xs = rs[0]["history"]["epoch"]
                ys = np.mean([r["history"][key] for r in rs], axis=0)
                series[f"{init} init"] = [xs, ys.tolist()]
            if key == "train_error":
                series["chance"] = [[0, xs[-1]], [chance, chance]]
            panels.append({"series": series, "ylabel": ylabel, "title": act,
                           "xlabel": "iteration (pass over the training set)"})
        run.plot(f"init_{what}", "curves", title=f"{ylabel.capitalize()}, mean over "
                 f"{seeds} seed(s)", panels=panels,
                 xlabel="iteration (pass over the training set)")
    panels = []
    for act in ("relu", "sigmoid"):
        series = {}
        for init in cfg.inits:
            rs = by[(act, init)]
            for k in range(len(cfg.hidden)):
                ys = np.mean([[s[k] for s in r["history"]["spread"]] for r in rs], axis=0)
                series[f"{init} init, layer {k + 1}"] = [rs[0]["history"]["epoch"], ys.tolist()]
        panels.append({"series": series, "ylabel": "unit spread (0: all units identical)",
                       "title": act})
    run.plot("init_symmetry", "curves", title="How different the units of a layer are",
             panels=panels, xlabel="iteration (pass over the training set)",
             note="Zero initialisation: the spread stays 0, every unit of a layer computes "
             "the same function.")
    first = [r for r in results if r["seed"] == cfg.seeds[0]]
    run.plot("init_boundaries", "boundary", ncols=len(cfg.inits),
             title=f"Decision boundaries after training (seed {cfg.seeds[0]}, training points)",
             panels=[{"title": f"{r['activation']}, {r['init']} init, {r['iterations']} it.: "
                      f"train error {r['train_error']:.3f}", "values": r["grid"],
                      "extent": EXTENT, **_points(train_set)} for r in first],
             note="Colour: the net's P(+1) - P(-1), blue for +1 (the disc), orange for -1 "
             "(the ring); points: the training set.")
    run.note("settings", f"Net 2 - {' - '.join(map(str, cfg.hidden))} - 2 (softmax), "
             f"learning rate {cfg.learning_rate}, batch {cfg.batch_size}, SGD, shuffled "
             f"every iteration; toy2d:{cfg.dataset} with {cfg.n} points, noise {cfg.noise}, "
             f"test fraction {cfg.test_fraction}; seeds {list(cfg.seeds)} (initial weights "
             "and minibatch order). An iteration is the playground's: one pass over the "
             "training set. Random init is the playground's (weights uniform in [-0.5, 0.5], "
             "biases 0.1); zero init sets every weight and bias to 0. Why zero fails: with "
             "ReLU every hidden pre-activation is 0, ReLU's gradient at 0 is 0, so no hidden "
             "weight ever changes and only the output bias learns (the class share); with "
             "sigmoid every unit of a layer gets the same gradient, so the units stay "
             "identical and the net is as good as one unit per layer, whose decision is a "
             "threshold on a single w.x: a straight line at best. That single w starts at "
             "0 and its gradient is a sum of the points weighted by their errors, which "
             "cancels only as far as the sample is symmetric about the centre; it grows "
             "slowly from what does not cancel, and once it is large enough the line cuts "
             "off part of the ring and the error falls below chance (never below the best "
             "line's). So 'chance-level error' holds for ReLU at any length, and for sigmoid "
             "only until that slow growth shows (the claims give the iteration).")


# --- dying-relu --------------------------------------------------------------------------


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


def _dying_cell(cfg, rate, order, seed):
    data = load(f"toy2d:{cfg.dataset}", "train", n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                test_fraction=0.0, order_by_label=order == "sorted")
    model = playground_net(cfg.hidden, "relu", "random", seed)
    history = train(model, data.X, data.y, epochs=cfg.epochs, learning_rate=rate,
                    batch_size=cfg.batch_size, order="fixed" if order == "sorted" else
                    "shuffled", seed=seed, record_every=cfg.record_every,
                    probe=lambda m: {"dead": dead_units(m, data.X)})
    dead = [sum(d) for d in history["dead"]]
    # units dead at the end that were dead at every record since some step: "never again"
    final = history["dead"][-1]
    negatives_done = int(np.sum(data.y == 0)) // cfg.batch_size  # sorted: end of the negatives
    at = min(range(len(history["step"])), key=lambda k: abs(history["step"][k] - negatives_done))
    result = {"rate": rate, "order": order, "seed": seed, "step": history["step"],
              "dead": dead, "final_dead": int(sum(final)), "final_dead_layers": final,
              "max_dead": int(max(dead)), "dead_after_negatives": int(dead[at]),
              "train_error": history["train_error"][-1]}
    if seed == cfg.seeds[0] and rate == cfg.boundary_rate:
        result["grid"] = decision_grid(model, steps=cfg.grid_steps)
    return result


@experiment("dying-relu", study="S7", title="dying ReLU: sorted (all negatives first) vs "
            "shuffled SGD, dead units over training", estimate="1 min", config=DyingConfig,
            quick={"n": 200, "learning_rates": (1.0,), "epochs": 2, "seeds": (0, 1),
                   "grid_steps": 21})
def dying_relu(cfg, run):
    """Dead ReLU units after sorted vs shuffled SGD, over seeds and learning rates."""
    data = load(f"toy2d:{cfg.dataset}", "train", n=cfg.n, noise=cfg.noise, seed=cfg.seed,
                test_fraction=0.0)
    run.dataset(data)
    cells = [{"rate": float(r), "order": o, "seed": int(s)} for r in cfg.learning_rates
             for o in ("sorted", "shuffled") for s in cfg.seeds]
    results = grid(run, "dying", cells, lambda c: _dying_cell(cfg, c["rate"], c["order"],
                                                              c["seed"]))
    by = {(r["rate"], r["order"], r["seed"]): r for r in results}
    units = sum(cfg.hidden)
    rows, diffs, panels = [], [], []
    for rate in cfg.learning_rates:
        rate = float(rate)
        sorted_dead = [by[(rate, "sorted", s)]["final_dead"] for s in cfg.seeds]
        shuffled_dead = [by[(rate, "shuffled", s)]["final_dead"] for s in cfg.seeds]
        diff, se = paired_difference(sorted_dead, shuffled_dead)
        diffs += list(np.subtract(sorted_dead, shuffled_dead))
        for order, counts in (("sorted", sorted_dead), ("shuffled", shuffled_dead)):
            rs = [by[(rate, order, s)] for s in cfg.seeds]
            rows.append([rate, order, " ".join(map(str, counts)), mean_std(counts)[0],
                         mean_std([r["dead_after_negatives"] for r in rs])[0],
                         mean_std([r["max_dead"] for r in rs])[0],
                         mean_std([r["train_error"] for r in rs])[0],
                         f"{diff:+.2f} ± {se:.2f}" if order == "sorted" else ""])
        series = {}
        for order in ("sorted", "shuffled"):
            rs = [by[(rate, order, s)] for s in cfg.seeds]
            steps_per_epoch = -(-cfg.n // cfg.batch_size)
            series[order] = [[s / steps_per_epoch for s in rs[0]["step"]],
                             np.mean([r["dead"] for r in rs], axis=0).tolist()]
        panels.append({"series": series, "ylabel": f"dead units (of {units})",
                       "title": f"learning rate {rate:g}"})
    negatives = int(np.sum(data.y == 0))
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
    measurable, quiet = [], []
    for rate in cfg.learning_rates:
        rate = float(rate)
        d, e = paired_difference([by[(rate, "sorted", s)]["final_dead"] for s in cfg.seeds],
                                 [by[(rate, "shuffled", s)]["final_dead"] for s in cfg.seeds])
        (measurable if d > 2 * e and d > 0 else quiet).append(rate)
    most_quiet = max((r["final_dead"] for r in results if r["rate"] in quiet), default=0)
    run.note("what the runs show", "Sorted SGD leaves measurably more dead units (paired mean "
             "difference above two standard errors) at learning rate(s) "
             f"{', '.join(f'{r:g}' for r in measurable) or 'none'}; at "
             f"{', '.join(f'{r:g}' for r in quiet) or 'no other rate'} the two orders do not "
             f"differ measurably (no run there ends with more than {most_quiet} dead "
             "unit(s)), and sorting costs accuracy instead (the final train error column). "
             "The pooled claim above averages over every learning rate.")
    total_sorted = int(sum(r["final_dead"] for r in results if r["order"] == "sorted"))
    total_shuffled = int(sum(r["final_dead"] for r in results if r["order"] == "shuffled"))
    mean_diff, se = paired_difference(diffs, np.zeros(len(diffs)))
    run.claim("sorted SGD leaves measurably more dead units than shuffled (paired over seeds "
              "and learning rates: mean difference above two standard errors)",
              bool(mean_diff > 2 * se and mean_diff > 0), True, source=SOURCE,
              note=f"{S7_DYING_CLAIM}; dead units at the end summed over every run: sorted "
              f"{total_sorted}, shuffled {total_shuffled}; mean paired difference "
              f"{mean_diff:+.2f} ± {se:.2f} units per run")
    for rate in cfg.learning_rates:
        rate = float(rate)
        s_mean = mean_std([by[(rate, "sorted", s)]["final_dead"] for s in cfg.seeds])[0]
        h_mean = mean_std([by[(rate, "shuffled", s)]["final_dead"] for s in cfg.seeds])[0]
        run.claim(f"learning rate {rate:g}: mean dead units at the end, sorted minus "
                  "shuffled", round(s_mean - h_mean, 3), None, source=SOURCE,
                  note=f"sorted {s_mean:.2f}, shuffled {h_mean:.2f} of {units}")
    run.plot("dead_units", "curves", title=f"Dead units over training, mean over "
             f"{len(cfg.seeds)} seeds", panels=panels, xlabel="epoch",
             ncols=min(2, len(panels)),
             note=f"Sorted: every epoch visits the {negatives} negatives, then the "
             f"{cfg.n - negatives} positives.")
    drawn = [by[(float(cfg.boundary_rate), o, cfg.seeds[0])] for o in ("sorted", "shuffled")
             if (float(cfg.boundary_rate), o, cfg.seeds[0]) in by]
    if drawn:
        run.plot("dying_boundaries", "boundary", title=f"Decision boundaries, learning rate "
                 f"{cfg.boundary_rate:g}, seed {cfg.seeds[0]}",
                 panels=[{"title": f"{r['order']}: {r['final_dead']} dead, train error "
                          f"{r['train_error']:.3f}", "values": r["grid"], "extent": EXTENT,
                          **_points(data)} for r in drawn])
    run.note("settings", f"Net 2 - {' - '.join(map(str, cfg.hidden))} - 2, ReLU, the "
             "playground's random init (weights uniform in [-0.5, 0.5], biases 0.1), "
             f"minibatch SGD with batch {cfg.batch_size} for {cfg.epochs} epochs, learning "
             f"rates {list(cfg.learning_rates)}; toy2d:{cfg.dataset}, {cfg.n} points, noise "
             f"{cfg.noise}, all used for training. Sorted: every negative before any "
             "positive, in the same order every epoch; shuffled: a new order every epoch. "
             "Why sorted SGD kills units: in sorted order each block of the epoch "
             "is one class, so for many steps in a row every gradient pushes the same way; "
             "when a block begins the net still answers the previous block's class with "
             "confidence, the loss and the steps are large, and a hidden unit can be pushed "
             "so far that it is zero on every point. On the circle the negatives (the ring) "
             "surround the positives, so a first-layer ReLU unit that is zero on the whole "
             "ring is zero on the disc too, and it is dead for good. Shuffled SGD mixes the "
             "two classes in every minibatch, so the pushes largely cancel. The curves show "
             "when units die: in the sorted runs, at the switches between the blocks (the "
             "count right after the first block of negatives is still small).")


# --- or-xor ------------------------------------------------------------------------------


@dataclass
class LogicConfig:
    """hidden: widths of the trained XOR nets (2 is the fewest that can work); seeds per
    width; full-batch gradient descent on the four points with the engine's softmax loss;
    init_scale: std of the Gaussian initial weights."""

    hidden: tuple = (2, 3, 4, 8)
    seeds: tuple = tuple(range(10))
    iterations: int = 2000
    learning_rate: float = 0.1
    init_scale: float = 1.0
    grid_steps: int = 61
    seed: int = 0


def hand_grid(net, extent, steps):
    """2 * clip(output, 0, 1) - 1 of a hand-set network over the plane, (steps, steps)."""
    from layerlab.theory.logic import evaluate

    xs = np.linspace(extent[0], extent[1], steps)
    ys = np.linspace(extent[2], extent[3], steps)
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return np.round(2 * np.clip(evaluate(net, points), 0, 1) - 1, 3).reshape(steps,
                                                                          steps).tolist()


def _hand_checks():
    from layerlab.theory import feasibility, logic

    def outputs(net):
        return [float(v) for v in logic.evaluate(net, logic.INPUTS)]

    sep = {op: logic.separable(logic.INPUTS, y) for op, y in
           (("OR", logic.OR), ("AND", logic.AND), ("XOR", logic.XOR))}
    exact = {out: logic.fit_without_hidden(logic.INPUTS, logic.OR, out)
             for out in ("relu", "linear")}

    def text(result):
        values = result.point if result.feasible else result.certificate
        return ", ".join(str(v) for v in values)

    return {"or_no_hidden": outputs(logic.OR_NO_HIDDEN),
            "or_one_hidden": outputs(logic.OR_ONE_HIDDEN),
            "xor_two_layers": outputs(logic.XOR_TWO_LAYERS),
            "or_hidden_units": [logic.hidden_units(logic.OR_NO_HIDDEN),
                                logic.hidden_units(logic.OR_ONE_HIDDEN)],
            "xor_layers": len(logic.XOR_TWO_LAYERS),
            "separable": {op: {"feasible": r.feasible, "evidence": text(r)}
                          for op, r in sep.items()},
            "or_exact_without_hidden": {out: {"feasible": r.feasible, "evidence": text(r)}
                                        for out, r in exact.items()},
            "certificates_check": all(
                feasibility.check(*_separable_system(y), sep[op])
                for op, y in (("OR", logic.OR), ("AND", logic.AND), ("XOR", logic.XOR)))}


def _separable_system(y):
    """The rows of `logic.separable`'s system, rebuilt here to check its evidence."""
    from layerlab.theory.logic import INPUTS

    A, b = [], []
    for (x1, x2), label in zip(INPUTS, y, strict=True):
        A.append([-x1, -x2, -1.0] if label else [x1, x2, 1.0])
        b.append(-1 if label else 0)
    return A, b


def _xor_cell(cfg, hidden, seed):
    from layerlab.theory.logic import INPUTS, train_xor

    r = train_xor(hidden, seed, cfg.iterations, cfg.learning_rate, cfg.init_scale)
    return {"hidden": hidden, "seed": seed, "solved": r["solved"], "loss": r["loss"],
            "dead": dead_units(r["model"], INPUTS)[0],
            "predictions": r["predictions"].tolist(),
            "grid": decision_grid(r["model"], (-0.5, 1.5, -0.5, 1.5), cfg.grid_steps)}


@experiment("or-xor", study="S7", title="OR and XOR with ReLU units: by hand, proofs of what "
            "one layer cannot do, and trained nets", estimate="30 s", config=LogicConfig,
            quick={"hidden": (2, 4), "seeds": (0, 1), "iterations": 300, "grid_steps": 21})
def or_xor(cfg, run):
    """Hand-set OR/XOR nets, exact infeasibility of XOR without a hidden layer, trained nets."""
    from layerlab.theory import logic

    hand = cell(run, "hand", _hand_checks)
    inputs = [f"({int(a)}, {int(b)})" for a, b in logic.INPUTS]
    run.table("truth", ["input", "OR", "relu(x1 + x2)  [no hidden unit]",
                        "1 - relu(1 - x1 - x2)  [one hidden unit]", "XOR",
                        "relu(x1 + x2) - 2 relu(x1 + x2 - 1)  [two layers]"],
              [[inputs[k], int(logic.OR[k]), hand["or_no_hidden"][k], hand["or_one_hidden"][k],
                int(logic.XOR[k]), hand["xor_two_layers"][k]] for k in range(4)],
              title="The hand-set networks on all four inputs",
              note="relu(x1 + x2) is OR as a classifier (output > 0 means true); with exact "
              "outputs 0 and 1, OR needs one hidden unit (proof below).")
    or_right = sum(int((v > 0) == bool(t)) for v, t in zip(hand["or_no_hidden"], logic.OR,
                                                           strict=True))
    run.claim("OR as a classifier with no hidden unit: inputs right (of 4)", or_right, 4,
              better="equal", source=SOURCE, note="relu(x1 + x2) > 0")
    run.claim("OR with exact 0/1 outputs and one hidden ReLU unit: inputs right (of 4)",
              sum(int(v == t) for v, t in zip(hand["or_one_hidden"], logic.OR, strict=True)),
              4, better="equal", source=SOURCE)
    run.claim("exact OR without a hidden layer (ReLU or linear output) is infeasible",
              not any(r["feasible"] for r in hand["or_exact_without_hidden"].values()), True,
              source=SOURCE, note="so one hidden unit is the fewest for exact outputs; "
              "Farkas certificates in the table below")
    run.claim("XOR with two layers (hand-set): inputs right (of 4)",
              sum(int(v == t) for v, t in zip(hand["xor_two_layers"], logic.XOR, strict=True)),
              4, better="equal", source=SOURCE)
    run.claim("fewest layers of weights that compute XOR", hand["xor_layers"]
              if not hand["separable"]["XOR"]["feasible"] else 1, S7_XOR_LAYERS,
              better="equal", source=SOURCE,
              note="one layer is ruled out by the infeasibility proof below; two suffice")
    run.claim("XOR is linearly separable (so a net without a hidden layer could compute it)",
              hand["separable"]["XOR"]["feasible"], False, source=SOURCE,
              note="exact Fourier-Motzkin elimination; its certificate checked independently: "
              + str(hand["certificates_check"]))
    rows = [[f"{op} linearly separable", r["feasible"],
             "(w1, w2, b) = " + r["evidence"] if r["feasible"] else
             "Farkas multipliers of the four points: " + r["evidence"]]
            for op, r in hand["separable"].items()]
    rows += [[f"exact OR by {out}(w.x + b)", r["feasible"],
              ("(w1, w2, b) = " if r["feasible"] else "Farkas multipliers: ") + r["evidence"]]
             for out, r in hand["or_exact_without_hidden"].items()]
    run.table("feasibility", ["question", "feasible", "evidence"], rows,
              title="What a network without a hidden layer can do (exact)",
              note="Separable: is there (w1, w2, b) with w.x + b >= 1 on the 1s and <= 0 on "
              "the 0s? Infeasible systems come with multipliers y >= 0 whose combination of "
              "the rows reads 0 <= -1 or less: for XOR, adding the four constraints gives "
              "0 <= -2. Any net without a hidden layer decides by a threshold on one w.x + b "
              "(its activation is monotone), so infeasible here means no such net computes it.")

    cells = [{"hidden": int(h), "seed": int(s)} for h in cfg.hidden for s in cfg.seeds]
    trained = grid(run, "xor", cells, lambda c: _xor_cell(cfg, c["hidden"], c["seed"]))
    rows = []
    for h in cfg.hidden:
        rs = [r for r in trained if r["hidden"] == h]
        failed = [r for r in rs if not r["solved"]]
        rows.append([h, sum(r["solved"] for r in rs), len(rs),
                     " ".join(str(r["seed"]) for r in rs if r["solved"]),
                     mean_std([r["loss"] for r in rs if r["solved"]] or [float("nan")])[0],
                     " ".join(str(r["dead"]) for r in failed),
                     " ".join(f"{r['loss']:.3f}" for r in failed)])
    failed = [r for r in trained if not r["solved"]]
    with_dead = sum(r["dead"] > 0 for r in failed)
    run.table("trained", ["hidden ReLU units", "seeds solving XOR", "seeds", "which",
                          "mean final loss of those", "failed runs: dead hidden units",
                          "failed runs: final loss"], rows,
              title=f"Trained 2 - h - 2 ReLU nets on the four XOR points ({cfg.iterations} "
              f"full-batch steps, learning rate {cfg.learning_rate})",
              note=f"Of the {len(failed)} failed runs, {with_dead} have at least one hidden "
              "unit that is zero on all four inputs (dead: it never learns again). Every failed "
              "run stops on a plateau of the loss, where the live units fit only some of the "
              "points (the last column; log 2 = 0.693 is the net answering 1/2 on every "
              "input). Wider nets have spare units, so more seeds succeed.")
    run.claim("a trained net finds an XOR solution (seeds solving it, all widths)",
              sum(r["solved"] for r in trained), None, source=SOURCE,
              note=f"of {len(trained)} runs; the study: 'a trained net confirms'")
    extent = (-0.5, 1.5, -0.5, 1.5)
    four = {"points": logic.INPUTS.tolist(), "labels": logic.XOR.tolist()}
    panels = [{"title": "hand-set XOR (2 layers)", "extent": extent,
               "values": hand_grid(logic.XOR_TWO_LAYERS, extent, cfg.grid_steps), **four},
              {"title": "hand-set exact OR (1 hidden unit)", "extent": extent,
               "values": hand_grid(logic.OR_ONE_HIDDEN, extent, cfg.grid_steps),
               "points": logic.INPUTS.tolist(), "labels": logic.OR.tolist()}]
    narrow = [r for r in trained if r["hidden"] == min(cfg.hidden)]
    for r in ([next((r for r in narrow if r["solved"]), None),
               next((r for r in narrow if not r["solved"]), None)]
              + [next((r for r in trained if r["hidden"] == max(cfg.hidden)), None)]):
        if r is not None:
            panels.append({"title": f"trained, {r['hidden']} hidden, seed {r['seed']}: "
                           f"{'solved' if r['solved'] else 'failed'}", "extent": extent,
                           "values": r["grid"], **four})
    run.plot("xor_boundaries", "boundary", title="OR and XOR over the plane (points: the four "
             "inputs, blue = 1)", panels=panels, ncols=min(3, len(panels)))
