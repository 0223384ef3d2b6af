"""S1.1-S1.5: fully-connected networks from scratch (gradient checks, the Solver, depth, update
rules, learning rate x weight scale), on the scratch engine and CIFAR-10.

Experiments (shared/STUDIES.md):

- ``layer-checks`` (S1.1): the gradient-check table of every layer, loss and model, with the
  course's printed errors beside ours.
- ``two-layer-solver`` (S1.2): TwoLayerNet + Solver on CIFAR-10 (49,000 / 1,000), the learning
  rate x epochs grid against the course's grid.
- ``depth-overfit`` (S1.3): three- and five-layer nets overfitting 50 images over a learning
  rate x weight scale grid; the sensitivity to the weight scale is measured.
- ``update-rules`` (S1.4): SGD, SGD+momentum, RMSProp and Adam on a six-layer net over seeds;
  the reference ordering is judged against the seed-to-seed spread.
- ``lr-weight-scale`` (S1.5): the study's six (learning rate, weight scale) configs.

Pixel scale. The course material behind these studies comes in two versions: one feeds raw
pixels minus the mean image (values about -130..130; CS231n's ``get_CIFAR10_data``), the other
divides by 255 first (EECS 498-007). Learning rates and weight scales only transfer between
them with the pixel scale. `pixel_scale` multiplies our [0, 1]-scaled, mean-subtracted inputs:
1 gives [0, 1] pixels, 255 gives the raw-pixel scale exactly (mean subtraction commutes with
scaling). Each experiment states which one its references were produced with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from layerlab import references
from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.scratch.models import FullyConnectedNet, TwoLayerNet
from layerlab.scratch.solver import Solver
from layerlab.trainers.solver_cell import downsample, mean_std, train_solver

JPEG_NOTE = ("The CIFAR-10 used here is the lossy JPEG copy of the image-folder archive "
             "(see Data below), not the original pixels, so accuracies can differ slightly "
             "from runs on the original binary release.")

# S1.4 variant (not a study figure, a setting): the learning rates of the [0, 1]-pixel version of
# the course (EECS 498-007 A3 trains SGD and SGD+momentum at 5e-2 on the same six-layer net,
# weight scale 5e-2; RMSProp 1e-4 and Adam 1e-3 as in CS231n).
REFERENCE_S1_4_UNIT_PIXEL_RATES = (("sgd", 5e-2), ("sgd_momentum", 5e-2), ("rmsprop", 1e-4),
                                   ("adam", 1e-3))


# --- shared helpers -------------------------------------------------------------------------


def cifar_data(run, dataset, *, val, num_train=None, seed=0, pixel_scale=1.0):
    """The Solver dict of `dataset` ('cifar10' or 'builtin'): [0, 1] pixels minus the training
    mean image, times `pixel_scale`; `val` held out of the training split at random, then
    `num_train` random training images (None: all). Records the data in the run."""
    train = load(dataset, "train")
    run.dataset(train)
    data = transforms.solver_data(train, None, val=val, num_train=num_train, seed=seed)
    if pixel_scale != 1.0:
        for key in ("X_train", "X_val"):
            data[key] = data[key] * np.float32(pixel_scale)
    return data


def fit(run, cell_name, model, data, **solver_kwargs):
    """Train with a Solver (no checkpoints: for cells of a few seconds, which the grid keeps
    whole) and log one metrics line per epoch. Returns a JSON-able summary."""

    def on_epoch(solver):
        run.log(cell_name, "epoch", epoch=solver.epoch, train_acc=solver.train_acc_history[-1],
                val_acc=solver.val_acc_history[-1])

    solver_kwargs.setdefault("verbose", False)
    solver_kwargs.setdefault("print_every", 0)
    solver = Solver(model, data, epoch_callback=on_epoch, **solver_kwargs)
    solver.train()
    per_epoch = solver.iterations_per_epoch
    losses = solver.loss_history
    return {
        "loss_history": [float(x) for x in losses],
        "epoch_loss": [float(np.mean(losses[i:i + per_epoch]))
                       for i in range(0, len(losses), per_epoch)],
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "epochs": solver.epoch,
        "stopped_early": solver.stopped_early,
        "train_time": solver.train_time,
    }


def mean_curve(curves):
    """Pointwise mean of curves that may differ in length (a run stopped early is shorter):
    NaN-padded, averaged over the curves that reach each point."""
    n = max(len(c) for c in curves)
    padded = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        padded[i, :len(c)] = c
    with np.errstate(all="ignore"):
        return np.nanmean(padded, axis=0).tolist()


def epoch_series(results, key):
    """[epochs, mean over runs of results[i][key]] for a per-epoch history (epoch 0 first)."""
    ys = mean_curve([r[key] for r in results])
    return [list(range(len(ys))), ys]


def iteration_series(results, key="loss_history"):
    """[iterations, mean loss] over runs, downsampled to at most 500 points."""
    xs, ys = downsample(mean_curve([r[key] for r in results]))
    return [list(xs), ys]


def fmt_slope(slope):
    """A slope for a note ('n/a' when there is none)."""
    return "n/a" if slope is None else f"{slope:.2f}"


def pm(mean, std):
    """'0.512 ± 0.013'."""
    return f"{mean:.3f} ± {std:.3f}"


def seeds_of(cfg):
    """The seeds of the repeats: seed, seed + 1, ..., seed + repeats - 1."""
    return [cfg.seed + i for i in range(cfg.repeats)]


def compare_pair(a, b, relation, z=2.0):
    """Judge 'a relation b' ('>' or '>=') from repeated measurements (lists over seeds).

    The gap is the difference of the means; its standard error is Welch's
    sqrt(var_a / n_a + var_b / n_b) (sample variances). '>' holds when the gap exceeds z
    standard errors; '>=' holds unless a is below b by more than z standard errors.
    Returns a dict: gap, se, verdict in ('holds', 'not resolved', 'contradicted').
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    gap = float(a.mean() - b.mean())
    var_a = a.var(ddof=1) / len(a) if len(a) > 1 else 0.0
    var_b = b.var(ddof=1) / len(b) if len(b) > 1 else 0.0
    se = float(math.sqrt(var_a + var_b))
    if gap < -z * se or (se == 0 and gap < 0):
        verdict = "contradicted"
    elif relation == ">=" or gap > z * se:
        verdict = "holds"
    else:
        verdict = "not resolved"
    if relation not in (">", ">="):
        raise ValueError(f"relation must be '>' or '>=', got {relation!r}")
    return {"gap": gap, "se": se, "verdict": verdict}


def judge_order(values, chain, z=2.0):
    """Check a chain like [('adam', '>'), ('rmsprop', '>='), ('sgd_momentum', '>'), ('sgd',
    None)] pair by pair on {name: [value per seed]}. Returns a list of
    (a, relation, b, compare_pair result)."""
    out = []
    for (a, relation), (b, _) in zip(chain[:-1], chain[1:], strict=True):
        out.append((a, relation, b, compare_pair(values[a], values[b], relation, z)))
    return out


def measured_order(values, z=2.0):
    """{name: [value per seed]} -> 'a > b ≈ c > d': names by mean, best first; '>' where the
    neighbours differ by more than z standard errors, '≈' where they do not."""
    names = sorted(values, key=lambda k: -float(np.mean(values[k])))
    text = names[0]
    for a, b in zip(names[:-1], names[1:], strict=True):
        resolved = compare_pair(values[a], values[b], ">", z)["verdict"] == "holds"
        text += (" > " if resolved else " ≈ ") + b
    return text


# --- S1.1 layer checks ----------------------------------------------------------------------


def course_formula_forward_errors():
    """The two forward checks against the course's printed outputs, with the course's error
    formula max|a - b| / max(|a| + |b|) (EECS 498-007's rel_error; ours, CS231n's, is the
    elementwise max of |a - b| / (|a| + |b|)): {'Linear.forward', 'ReLU.forward',
    'Linear.forward float32'}."""
    from layerlab.scratch.layers import Linear, ReLU

    def course_error(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.abs(a - b).max() / max(float((np.abs(a) + np.abs(b)).max()), 1e-10))

    x = np.linspace(-0.1, 0.5, 240).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, 360).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, 3)
    linear = np.asarray(references.S1_1_LINEAR_FORWARD_EXPECTED)
    out64, _ = Linear.forward(x, w, b)
    out32, _ = Linear.forward(*(v.astype(np.float32) for v in (x, w, b)))
    relu, _ = ReLU.forward(np.linspace(-0.5, 0.5, 12).reshape(3, 4))
    return {"Linear.forward": course_error(out64, linear),
            "ReLU.forward": course_error(relu, references.S1_1_RELU_FORWARD_EXPECTED),
            "Linear.forward float32": course_error(out32, linear)}


@dataclass
class LayerChecksConfig:
    """S1.1. groups: which groups of the gradient-check table to run (empty: all)."""

    groups: tuple = ()
    limit: float = 1e-7  # the course's limit for the referenced rows
    seed: int = 0  # unused: every check has its own fixed seed; kept for `--seed`


@experiment("layer-checks", study="S1.1", title="gradient checks of every layer, loss and model",
            estimate="10 s", config=LayerChecksConfig,
            quick={"groups": ("layers", "losses")})
def layer_checks(cfg, run):
    """The gradient-check table (float64, random upstream gradients) with verdicts."""
    from layerlab.scratch.checks import run_checks

    def compute():
        rows = run_checks(set(cfg.groups) if cfg.groups else None)
        return {"rows": [asdict(r) | {"passed": r.passed} for r in rows],
                "course_formula": course_formula_forward_errors()}

    result = cell(run, "checks", compute)
    rows, course = result["rows"], result["course_formula"]
    passed = sum(r["passed"] for r in rows)
    run.claim("gradient-check rows that pass their limit", passed, len(rows), better="equal",
              source="the study: every layer, loss and model passes",
              note=f"{len(rows) - passed} failed")
    # The course's printed figures. Verdict: ours below the limit (the course's own criterion).
    referenced = [r for r in rows if r["reference"] is not None]
    for r in referenced:
        name = f"{r['what']} {r['parameter']} relative error"
        if r["what"] in course:  # forward against printed values: the course's formula
            ours = course[r["what"]]
            note = (f"max|a-b| / max(|a|+|b|), the course's formula, in float64; elementwise "
                    f"(the table's) {r['rel_error']:.2e}. The expected values are printed to 8 "
                    "digits, which sets this error")
            if r["what"] == "Linear.forward":
                note += (f"; computed in float32 it is {course['Linear.forward float32']:.2e}, "
                         "close to the course's figure, which looks like a float32 run")
        else:
            ours = r["rel_error"]
            note = ("elementwise maximum relative error, an upper bound of the course's "
                    "max-normalised formula; inputs and upstream gradients are random on both "
                    "sides, so only 'below the limit' compares, not the digits")
        note = ("below" if ours < cfg.limit else "ABOVE") + f" the limit; {note}"
        run.claim(name, ours, r["reference"], better="lower",
                  tolerance=max(cfg.limit - r["reference"], 0.0),
                  source=f"the course's printed error; reproduced = ours < {cfg.limit:g}",
                  note=note)
    run.table("checks", ["group", "what", "parameter", "rel error", "norm error", "pass if",
                         "course's figure", "result"],
              [[r["group"], r["what"], r["parameter"], r["rel_error"], r["norm_error"],
                f"{r['criterion']} < {r['threshold']:.0e}",
                "" if r["reference"] is None else r["reference"],
                "pass" if r["passed"] else "FAIL"] for r in rows],
              title=f"Every gradient check ({passed}/{len(rows)} pass)",
              note="float64, centred differences, random upstream gradients. Layers and losses "
                   "are judged by the elementwise relative error (< 1e-7; < 1e-6 for the input "
                   "gradient of normalisation layers); whole models by the normwise error "
                   "(< 1e-7), because near-zero entries and ReLU kinks set their elementwise "
                   "maximum (docs/scratch.md).")


# --- S1.2 two-layer net and the Solver ------------------------------------------------------


@dataclass
class TwoLayerSolverConfig:
    """S1.2. The course's TwoLayerNet defaults (hidden 100, weight scale 1e-3, reg 0) and the
    Solver's (batch 100, train accuracy on 1,000 sampled training images) with lr_decay 0.95;
    [0, 1] pixels minus the mean image (pixel_scale 1), on which the reference's lr 1e-1 works.
    One run of `max(epochs)` epochs per (learning rate, seed) gives every epoch count: the
    Solver's schedule does not depend on the total, so epoch 10 of a 30-epoch run is a 10-epoch
    run."""

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int | None = None  # None: the other 49,000
    learning_rates: tuple = (1e-1, 1e-2, 1e-3)
    epochs: tuple = (10, 20, 30)
    hidden_dim: int = 100
    weight_scale: float = 1e-3
    reg: float = 0.0
    batch_size: int = 100
    lr_decay: float = 0.95
    pixel_scale: float = 1.0
    repeats: int = 3
    seed: int = 0


def accuracy_tolerance(p, n):
    """Two standard errors of the difference of two independent accuracies p, each measured on
    n images: 2 * sqrt(2 p (1 - p) / n)."""
    return 2 * math.sqrt(2 * p * (1 - p) / n)


@experiment("two-layer-solver", study="S1.2",
            title="TwoLayerNet + Solver on CIFAR-10: learning rate x epochs",
            estimate="3 min", config=TwoLayerSolverConfig,
            quick={"dataset": "builtin", "val": 200, "epochs": (3, 6), "repeats": 1,
                   "learning_rates": (1e-1, 1e-2)})
def two_layer_solver(cfg, run):
    """The learning rate x epochs grid of TwoLayerNet, ours beside the course's."""
    data = cifar_data(run, cfg.dataset, val=cfg.val, num_train=cfg.num_train, seed=cfg.seed,
                      pixel_scale=cfg.pixel_scale)
    n_val, n_train = len(data["y_val"]), len(data["y_train"])
    last = max(cfg.epochs)

    def one(c):
        model = TwoLayerNet(input_dim=data["X_train"][0].size, hidden_dim=cfg.hidden_dim,
                            weight_scale=cfg.weight_scale, reg=cfg.reg, seed=c["seed"])
        summary, _ = train_solver(
            run, f"lr={c['learning_rate']:g},seed={c['seed']}", model, data,
            update_rule="sgd", optim_config={"learning_rate": c["learning_rate"]},
            lr_decay=cfg.lr_decay, batch_size=cfg.batch_size, num_epochs=last,
            num_train_samples=1000, print_every=0, seed=c["seed"])
        summary["loss_curve"] = downsample(summary.pop("loss_history"))
        return summary

    cells = [{"learning_rate": lr, "seed": s} for lr in cfg.learning_rates
             for s in seeds_of(cfg)]
    results = grid(run, "runs", cells, one, objective="best_val_acc")
    by_lr = {lr: [r for c, r in zip(cells, results, strict=True) if c["learning_rate"] == lr]
             for lr in cfg.learning_rates}

    def at(lr, epoch, key):
        return [r[key][epoch] if epoch < len(r[key]) else float("nan") for r in by_lr[lr]]

    rows, train_grid, val_grid, diff_grid, within = [], [], [], [], {"train": [], "val": []}
    for lr in cfg.learning_rates:
        train_row, val_row, diff_row = [], [], []
        for ep in cfg.epochs:
            tr, tr_sd = mean_std(at(lr, ep, "train_acc_history"))
            va, va_sd = mean_std(at(lr, ep, "val_acc_history"))
            ref = references.S1_2_TWO_LAYER_GRID.get((lr, ep))
            row = [lr, ep, pm(tr, tr_sd), ref[0] if ref else "", pm(va, va_sd),
                   ref[1] if ref else "", va - ref[1] if ref else ""]
            if ref:
                label = f"lr {lr:g}/{ep} ep"
                within["train"].append((label, abs(tr - ref[0])
                                        <= accuracy_tolerance(ref[0], 1000)))
                within["val"].append((label, abs(va - ref[1])
                                      <= accuracy_tolerance(ref[1], n_val)))
            rows.append(row)
            train_row.append(tr)
            val_row.append(va)
            diff_row.append(va - ref[1] if ref else float("nan"))
        train_grid.append(train_row)
        val_grid.append(val_row)
        diff_grid.append(diff_row)
    seeds_text = f"mean ± std over {cfg.repeats} seed(s)"
    run.table("grid", ["learning rate", "epochs", f"train acc ({seeds_text})", "reference train",
                       f"val acc ({seeds_text})", "reference val", "val - reference"], rows,
              title="Learning rate x epochs: train / val accuracy, ours and the course's",
              note=f"One run of {last} epochs per (learning rate, seed), read at epochs "
                   f"{', '.join(map(str, cfg.epochs))}: a shorter run with the same seed is "
                   "exactly the first part of it (the Solver decays the learning rate after "
                   "every epoch whatever the total). Train accuracy is measured on 1,000 "
                   f"sampled training images (the Solver's default), val on {n_val} images.")
    row_labels = [f"lr {lr:g}" for lr in cfg.learning_rates]
    col_labels = [f"{ep} ep" for ep in cfg.epochs]
    run.plot("heatmap_train", "heatmap", title="Train accuracy (ours, mean over seeds)",
             values=train_grid, row_labels=row_labels, col_labels=col_labels,
             xlabel="epochs", ylabel="learning rate")
    run.plot("heatmap_val", "heatmap", title="Validation accuracy (ours, mean over seeds)",
             values=val_grid, row_labels=row_labels, col_labels=col_labels,
             xlabel="epochs", ylabel="learning rate")
    if any(k in references.S1_2_TWO_LAYER_GRID for k in
           [(lr, ep) for lr in cfg.learning_rates for ep in cfg.epochs]):
        run.plot("heatmap_val_minus_reference", "heatmap",
                 title="Validation accuracy: ours minus the course's", values=diff_grid,
                 row_labels=row_labels, col_labels=col_labels, xlabel="epochs",
                 ylabel="learning rate")

    # Curves: loss per iteration and accuracy per epoch, mean over seeds, reference dashed.
    loss_series = {}
    for lr in cfg.learning_rates:
        xs = by_lr[lr][0]["loss_curve"][0]
        ys = mean_curve([r["loss_curve"][1] for r in by_lr[lr]])
        loss_series[f"lr {lr:g}"] = [xs[:len(ys)], ys]
    run.plot("loss", "curves", title="Training loss per iteration (mean over seeds)",
             xlabel="iteration", ylabel="loss", series=loss_series)
    train_series, val_series = {}, {}
    for lr in cfg.learning_rates:
        train_series[f"lr {lr:g}"] = epoch_series(by_lr[lr], "train_acc_history")
        val_series[f"lr {lr:g}"] = epoch_series(by_lr[lr], "val_acc_history")
        ref_eps = [ep for ep in cfg.epochs if (lr, ep) in references.S1_2_TWO_LAYER_GRID]
        if ref_eps:
            train_series[f"reference lr {lr:g}"] = [
                ref_eps, [references.S1_2_TWO_LAYER_GRID[(lr, ep)][0] for ep in ref_eps]]
            val_series[f"reference lr {lr:g}"] = [
                ref_eps, [references.S1_2_TWO_LAYER_GRID[(lr, ep)][1] for ep in ref_eps]]
    run.plot("accuracy", "curves", title="Accuracy per epoch (ours: mean over seeds; the "
             "course's grid dashed)", xlabel="epoch", panels=[
                 {"ylabel": "train accuracy", "series": train_series},
                 {"ylabel": "val accuracy", "series": val_series}])

    # Claims.
    best_i, best_j = np.unravel_index(np.nanargmax(val_grid), np.shape(val_grid))
    best_val = float(val_grid[best_i][best_j])
    best_lr, best_ep = cfg.learning_rates[best_i], cfg.epochs[best_j]
    ref_best = max(v for _, v in references.S1_2_TWO_LAYER_GRID.values())
    seed_vals = at(best_lr, best_ep, "val_acc_history")
    run.claim("reaches the 50% validation target", best_val, references.S1_2_TARGET_VAL_ACC,
              better="higher", source="the study's goal",
              note=f"best grid cell lr {best_lr:g}, {best_ep} epochs; per seed "
                   f"{', '.join(f'{v:.3f}' for v in seed_vals)}")
    tol = accuracy_tolerance(ref_best, n_val)
    run.claim("best validation accuracy of the grid", best_val, ref_best, better="higher",
              tolerance=tol, source="the course's grid (lr 1e-1, 30 epochs)",
              note=f"ours at lr {best_lr:g}, {best_ep} epochs, mean over {cfg.repeats} seeds; "
                   f"tolerance = 2 standard errors of the difference of two accuracies measured "
                   f"on {n_val} images each ({tol:.3f})")
    for key, extra in (("val", ""), ("train", "; train accuracy is measured on 1,000 sampled "
                                             "training images, as in the course")):
        if not within[key]:
            continue
        outside = [label for label, ok in within[key] if not ok]
        run.claim(f"grid cells within noise of the reference ({key})",
                  sum(ok for _, ok in within[key]), len(within[key]), better="equal",
                  source="the course's grid",
                  note="a cell is within noise when |ours - reference| <= 2 standard errors of "
                       "the difference of two accuracies on 1,000 images (0.03 to 0.045); "
                       + (f"outside: {', '.join(outside)}" if outside else "none outside")
                       + extra)
    if len(cfg.learning_rates) > 1:
        ordered = sorted(cfg.learning_rates, reverse=True)
        holds = all(val_grid[cfg.learning_rates.index(a)][j]
                    > val_grid[cfg.learning_rates.index(b)][j]
                    for a, b in zip(ordered[:-1], ordered[1:], strict=True)
                    for j in range(len(cfg.epochs)))
        run.claim("larger learning rate, higher val accuracy at every epoch count", holds, True,
                  better="equal", source="the course's grid (1e-1 > 1e-2 > 1e-3 in every column)")
    run.note("settings", (
        f"TwoLayerNet (affine-ReLU-affine-softmax), hidden {cfg.hidden_dim}, Gaussian init "
        f"std {cfg.weight_scale:g}, L2 reg {cfg.reg:g}; SGD, batch {cfg.batch_size}, learning "
        f"rate x {cfg.lr_decay:g} after every epoch; {n_train} training and {n_val} validation "
        f"images (a seeded random split of the training set); pixels scaled to [0, 1] times "
        f"{cfg.pixel_scale:g}, minus the training mean image. The course's grid was produced "
        "with this setting as far as it can be read back: batch 100 (the Solver's default) "
        "matches its lr 1e-2 and 1e-3 rows, including the lr 1e-3 accuracies that fall between "
        "10 and 30 epochs, whereas batch 200 learns visibly slower at lr 1e-2. " + JPEG_NOTE))


# --- S1.3 depth: overfitting 50 images ------------------------------------------------------


def success_windows(success, step, exclude_edges=True):
    """Weight-scale windows per learning rate.

    success: (n_weight_scales, n_learning_rates) fraction of seeds that reached 100%, rows in
    increasing weight scale. A weight scale counts when at least half the seeds succeed.
    Returns the window (count * step decades) of every learning rate with a success, i.e. how
    wide a range of weight scales works at a fixed learning rate. With exclude_edges, columns
    whose successes touch the first or last row are left out: the grid cuts their window.
    """
    ok = np.asarray(success, float) >= 0.5
    return [float(ok[:, j].sum() * step) for j in range(ok.shape[1]) if ok[:, j].any()
            and not (exclude_edges and (ok[0, j] or ok[-1, j]))]


def ridge_slope(success, log_ws, log_lrs):
    """Slope d log10(lr) / d log10(weight scale) of the band of successful cells: for every
    weight scale with a success, the mean log10 learning rate of its successful cells, then a
    least-squares line. None when fewer than two weight scales succeed."""
    ok = np.asarray(success, float) >= 0.5
    xs, ys = [], []
    for i in range(ok.shape[0]):
        if ok[i].any():
            xs.append(log_ws[i])
            ys.append(float(np.mean(np.asarray(log_lrs)[ok[i]])))
    if len(xs) < 2:
        return None
    return float(np.polyfit(xs, ys, 1)[0])


def log_grid(low, high, step):
    """10**e for e from log10(low) to log10(high) in `step` decades (rounded to 3 digits)."""
    exps = np.arange(math.log10(low), math.log10(high) + step / 2, step)
    return tuple(float(f"{10 ** e:.3g}") for e in exps)


@dataclass
class DepthOverfitConfig:
    """S1.3. The course's overfitting exercise: 50 training images, SGD, batch 25, 20 epochs,
    100 units per hidden layer; three-layer = 2 hidden layers, five-layer = 4. Raw-pixel scale
    (pixel_scale 255), the scale of the course version these exercises come from (its starting
    points: three-layer lr 1e-2 / weight scale 1e-2, five-layer lr 2e-3 / 1e-5). Grid: learning
    rate in half decades, weight scale in quarter decades; a grid cell runs every seed (the
    runs take well under a second, so one trial per run would mostly time the database)."""

    dataset: str = "cifar10"
    val: int = 1000
    val_eval: int = 200  # held-out images evaluated per epoch (a by-product here)
    num_train: int = 50
    depths: tuple = (3, 5)
    hidden: int = 100
    learning_rates: tuple = log_grid(1e-7, 1e-1, 0.5)
    weight_scales: tuple = log_grid(10 ** -2.5, 1.0, 0.25)
    epochs: int = 20
    batch_size: int = 25
    pixel_scale: float = 255.0
    repeats: int = 4
    seed: int = 0


@experiment("depth-overfit", study="S1.3",
            title="three- vs five-layer nets overfitting 50 images: lr x weight scale",
            estimate="2 min", config=DepthOverfitConfig,
            quick={"dataset": "builtin", "val": 200, "val_eval": 50, "repeats": 1,
                   "learning_rates": (1e-4, 1e-3), "weight_scales": (3e-2, 1e-1)})
def depth_overfit(cfg, run):
    """Which (learning rate, weight scale) reach 100% training accuracy, per depth."""
    data = cifar_data(run, cfg.dataset, val=cfg.val, num_train=cfg.num_train, seed=cfg.seed,
                      pixel_scale=cfg.pixel_scale)
    data["X_val"], data["y_val"] = data["X_val"][:cfg.val_eval], data["y_val"][:cfg.val_eval]

    seeds = seeds_of(cfg)

    def one(c):  # one grid point, every seed (hundreds of sub-second runs: fewer trials)
        out = {}
        for seed in seeds:
            model = FullyConnectedNet([cfg.hidden] * (c["depth"] - 1),
                                      input_dim=data["X_train"][0].size,
                                      weight_scale=c["weight_scale"], seed=seed)
            s = fit(run, f"depth={c['depth']},lr={c['learning_rate']:g},"
                         f"ws={c['weight_scale']:g},seed={seed}", model, data,
                    update_rule="sgd", optim_config={"learning_rate": c["learning_rate"]},
                    batch_size=cfg.batch_size, num_epochs=cfg.epochs, num_train_samples=None,
                    seed=seed)
            hist = s["train_acc_history"]
            out[str(seed)] = {
                "final_train_acc": hist[-1], "best_train_acc": max(hist),
                "first_epoch_100": next((e for e, a in enumerate(hist) if a >= 1.0), None),
                "final_loss": s["epoch_loss"][-1] if s["epoch_loss"] else None,
                "diverged": s["stopped_early"] == "diverged"}
        out["mean_final_train_acc"] = float(np.mean([out[str(sd)]["final_train_acc"]
                                                     for sd in seeds]))
        return out

    cells = [{"depth": d, "weight_scale": ws, "learning_rate": lr}
             for d in cfg.depths for ws in cfg.weight_scales for lr in cfg.learning_rates]
    results = grid(run, "grid", cells, one, objective="mean_final_train_acc")
    res = {(c["depth"], c["weight_scale"], c["learning_rate"], sd): r[str(sd)]
           for c, r in zip(cells, results, strict=True) for sd in seeds}

    log_ws = [math.log10(w) for w in cfg.weight_scales]
    log_lrs = [math.log10(lr) for lr in cfg.learning_rates]
    step = (log_ws[-1] - log_ws[0]) / (len(log_ws) - 1) if len(log_ws) > 1 else 1.0
    summary, rows = {}, []
    for d in cfg.depths:
        acc = np.array([[np.mean([res[(d, ws, lr, s)]["final_train_acc"] for s in seeds])
                         for lr in cfg.learning_rates] for ws in cfg.weight_scales])
        success = np.array([[np.mean([res[(d, ws, lr, s)]["final_train_acc"] >= 1.0
                                      for s in seeds])
                             for lr in cfg.learning_rates] for ws in cfg.weight_scales])
        windows = success_windows(success, step)
        summary[d] = {"acc": acc, "success": success, "fraction": float(success.mean()),
                      "windows": windows,
                      "mean_window": float(np.mean(windows)) if windows else 0.0,
                      "max_window": max(windows) if windows else 0.0,
                      "slope": ridge_slope(success, log_ws, log_lrs),
                      "best": float(acc.max())}
        run.plot(f"heatmap_depth{d}", "heatmap",
                 title=f"{d}-layer net: final train accuracy after {cfg.epochs} epochs "
                       f"(mean over {len(seeds)} seeds)",
                 values=acc.tolist(), row_labels=[f"{w:.3g}" for w in cfg.weight_scales],
                 col_labels=[f"{lr:.0e}" for lr in cfg.learning_rates],
                 xlabel="learning rate", ylabel="weight scale")
        for i, ws in enumerate(cfg.weight_scales):
            ok = [cfg.learning_rates[j] for j in range(len(cfg.learning_rates))
                  if success[i, j] >= 0.5]
            rows.append([d, ws, f"{min(ok):.0e} .. {max(ok):.0e}" if ok else "none",
                         len(ok), float(acc[i].max())])
    run.table("successes", ["depth", "weight scale", "learning rates reaching 100%",
                            "count", "best final train acc"], rows,
              title="Where 100% training accuracy is reached (at least half the seeds)")
    s3, s5 = (summary.get(3), summary.get(5))
    run.table("sensitivity", ["depth", "grid cells reaching 100%",
                              "weight-scale window at a fixed lr (mean, decades)",
                              "widest window (decades)", "slope d log lr / d log ws"],
              [[d, f"{summary[d]['fraction']:.1%}", summary[d]["mean_window"],
                summary[d]["max_window"], "" if summary[d]["slope"] is None
                else summary[d]["slope"]] for d in cfg.depths],
              title="Sensitivity to the weight scale, measured",
              note="Window: for every learning rate at which some weight scale reaches 100% "
                   "training accuracy, the span of weight scales that do (count x "
                   f"{step:.3g} decades), leaving out learning rates whose successes touch the "
                   "smallest or largest weight scale of the grid (their window is cut). "
                   "Slope: the band of successful cells runs along "
                   "lr ∝ ws^slope. A scaling argument predicts slope -(L-2) for L layers "
                   "(output ∝ ws^L, a weight's gradient ∝ ws^(L-1), so the relative step "
                   "lr·grad/w ∝ lr·ws^(L-2)); a factor k of error in the weight scale is then a "
                   "factor k^(L-2) of error in the effective learning rate.")
    for d in cfg.depths:
        run.claim(f"{d}-layer net reaches 100% training accuracy in {cfg.epochs} epochs",
                  summary[d]["best"], references.S1_3_TARGET_TRAIN_ACC, better="higher",
                  source="the study", note=f"best cell, mean over {len(seeds)} seeds; "
                  f"{summary[d]['fraction']:.1%} of the grid reaches it")
    if s3 and s5:
        more = s5["mean_window"] < s3["mean_window"]
        ratio = s3["mean_window"] / s5["mean_window"] if s5["mean_window"] else float("inf")
        run.claim("five-layer net is more sensitive to the weight scale", more, True,
                  better="equal", source="the study ('far more sensitive')",
                  note=f"weight-scale window at a fixed learning rate: {s3['mean_window']:.2f} "
                       f"decades (3 layers) vs {s5['mean_window']:.2f} (5 layers), ratio "
                       f"{ratio:.2f}; band slopes {fmt_slope(s3['slope'])} vs "
                       f"{fmt_slope(s5['slope'])}; grid cells "
                       f"reaching 100%: {s3['fraction']:.1%} vs {s5['fraction']:.1%}")
        run.claim("weight-scale window ratio, 3-layer / 5-layer", ratio, None,
                  note="the study quotes no number; > 1 means the five-layer net tolerates a "
                       "narrower range of weight scales")
        run.note("reading", (
            f"At a fixed learning rate the five-layer net reaches 100% over a "
            f"{s5['mean_window']:.2f}-decade range of weight scales, the three-layer net over "
            f"{s3['mean_window']:.2f} decades ({ratio:.1f}x wider). The band of successes is "
            f"steeper for the deeper net (lr ∝ ws^{fmt_slope(s5['slope'])} against "
            f"ws^{fmt_slope(s3['slope'])}, near the -(L-2) of the scaling argument): a "
            "weight scale off by a factor k shifts the learning rate it needs by about k^3 "
            "instead of k. That is the sense in which the five-layer net is 'far more "
            "sensitive' to the weight scale. It is not harder to fit overall: on this "
            f"log-log grid {s5['fraction']:.0%} of the cells succeed against "
            f"{s3['fraction']:.0%}, because its band, though narrower across, is longer; "
            "what it needs is a weight scale matched to the learning rate."))
    run.note("settings", (
        f"{cfg.num_train} training images (a seeded random draw from CIFAR-10's training "
        f"set; {cfg.dataset}), pixels in [0, 1] times {cfg.pixel_scale:g} minus the mean "
        f"image of these images, SGD, batch {cfg.batch_size}, {cfg.epochs} epochs, no decay, "
        f"{cfg.hidden} units per hidden layer, Gaussian init with the given std, {len(seeds)} "
        "seeds per cell (initial weights and shuffling; the 50 images stay the same). Success = "
        "training accuracy 1.0 on all 50 images after the last epoch. " + JPEG_NOTE))


# --- S1.4 update rules ----------------------------------------------------------------------

RULE_RELATIONS = {("adam", "rmsprop"): ">", ("rmsprop", "sgd_momentum"): ">=",
                  ("sgd_momentum", "sgd"): ">"}  # from S1_4_RULE_ORDER's wording


def reference_chain():
    """[('adam', '>'), ('rmsprop', '>='), ('sgd_momentum', '>'), ('sgd', None)]: the reference
    ordering with its relations (Adam > RMSProp ≥ SGD+momentum > SGD)."""
    order = references.S1_4_RULE_ORDER
    return [(a, RULE_RELATIONS.get((a, b))) for a, b in zip(order, order[1:] + (None,),
                                                             strict=True)]


@dataclass
class UpdateRulesConfig:
    """S1.4. The course's setting: six-layer net (five hidden of 100), weight scale 5e-2,
    4,000 training images, 5 epochs, batch 100, learning rates SGD and SGD+momentum 1e-2,
    RMSProp 1e-4, Adam 1e-3 (CS231n's notebook), on raw-pixel inputs (pixel_scale 255) as in
    that notebook. `variant_rules` repeats the comparison on [0, 1] pixels with the rates of the
    [0, 1]-pixel version of the course (empty: skip)."""

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 4000
    hidden: tuple = (100, 100, 100, 100, 100)
    weight_scale: float = 5e-2
    rules: tuple = (("sgd", 1e-2), ("sgd_momentum", 1e-2), ("rmsprop", 1e-4), ("adam", 1e-3))
    epochs: int = 5
    batch_size: int = 100
    pixel_scale: float = 255.0
    variant_rules: tuple = REFERENCE_S1_4_UNIT_PIXEL_RATES
    variant_pixel_scale: float = 1.0
    repeats: int = 10
    seed: int = 0
    z: float = 2.0  # standard errors a gap needs to count as resolved


@experiment("update-rules", study="S1.4",
            title="SGD, momentum, RMSProp, Adam on a six-layer net, over seeds",
            estimate="1 min", config=UpdateRulesConfig,
            quick={"dataset": "builtin", "val": 200, "num_train": 500, "epochs": 2,
                   "repeats": 2, "variant_rules": ()})
def update_rules(cfg, run):
    """The four update rules over seeds; the reference ordering judged against the spread."""
    settings = {"main": (cfg.pixel_scale, cfg.rules)}
    if cfg.variant_rules:
        settings["variant"] = (cfg.variant_pixel_scale, cfg.variant_rules)
    datas = {name: cifar_data(run, cfg.dataset, val=cfg.val, num_train=cfg.num_train,
                              seed=cfg.seed, pixel_scale=scale)
             for name, (scale, _) in settings.items()}
    seeds = seeds_of(cfg)

    def one(c):
        data = datas[c["setting"]]
        model = FullyConnectedNet(list(cfg.hidden), input_dim=data["X_train"][0].size,
                                  weight_scale=cfg.weight_scale, seed=c["seed"])
        return fit(run, f"{c['setting']},{c['rule']},lr={c['learning_rate']:g},"
                        f"seed={c['seed']}", model, data, update_rule=c["rule"],
                   optim_config={"learning_rate": c["learning_rate"]},
                   batch_size=cfg.batch_size, num_epochs=cfg.epochs, seed=c["seed"])

    cells = [{"setting": name, "rule": rule, "learning_rate": lr, "seed": s}
             for name, (_, rules) in settings.items() for rule, lr in rules for s in seeds]
    results = grid(run, "rules", cells, one, objective=None)
    runs = {}
    for c, r in zip(cells, results, strict=True):
        runs.setdefault((c["setting"], c["rule"]), []).append(r)

    rows, order_text = [], {}
    for name, (scale, rules) in settings.items():
        finals = {key: {rule: [r[key][-1] for r in runs[(name, rule)]] for rule, _ in rules}
                  for key in ("train_acc_history", "val_acc_history", "epoch_loss")}
        for rule, lr in rules:
            tr, va, lo = (finals[k][rule] for k in ("train_acc_history", "val_acc_history",
                                                    "epoch_loss"))
            rows.append([name, f"{scale:g}", rule, lr, pm(*mean_std(tr)), pm(*mean_std(va)),
                         pm(*mean_std(lo))])
        for key, label in (("train_acc_history", "train"), ("val_acc_history", "val")):
            values = finals[key]
            order_text[(name, label)] = measured_order(values, cfg.z)
            chain = reference_chain()
            if not all(rule in values for rule, _ in chain):
                continue
            judged = judge_order(values, chain, cfg.z)
            holds = all(j[3]["verdict"] == "holds" for j in judged)
            detail = "; ".join(f"{a} {rel} {b}: {j['verdict']} (gap {j['gap']:+.3f}, se "
                               f"{j['se']:.3f})" for a, rel, b, j in judged)
            which = "" if name == "main" else " ([0, 1]-pixel variant)"
            run.claim(f"reference ordering of final {label} accuracy{which}", holds, True,
                      better="equal",
                      source="the study: Adam > RMSProp ≥ SGD+momentum > SGD",
                      note=f"measured: {order_text[(name, label)]}; {detail}")
    run.table("rules", ["setting", "pixel scale", "rule", "learning rate",
                        f"final train acc (mean ± std, {len(seeds)} seeds)",
                        "final val acc", "last-epoch mean loss"], rows,
              title="Final accuracy per update rule",
              note="'main' is the course's setting (raw-pixel inputs)"
                   + ("; 'variant' the same net on [0, 1] pixels with the [0, 1]-pixel course's "
                      "learning rates" if cfg.variant_rules else "")
                   + ". Train accuracy on 1,000 sampled training images. Orderings: "
                   + "; ".join(f"{n} {lab}: {t}" for (n, lab), t in order_text.items())
                   + f" ('>' = gap above {cfg.z:g} standard errors, '≈' = not resolved).")
    for name, (_, rules) in settings.items():
        panels = [{"ylabel": "training loss", "title": "loss per iteration (mean over seeds)",
                   "xlabel": "iteration",
                   "series": {rule: iteration_series(runs[(name, rule)]) for rule, _ in rules}},
                  {"ylabel": "train accuracy", "title": "train accuracy per epoch",
                   "series": {rule: epoch_series(runs[(name, rule)], "train_acc_history")
                              for rule, _ in rules}},
                  {"ylabel": "val accuracy", "title": "val accuracy per epoch",
                   "series": {rule: epoch_series(runs[(name, rule)], "val_acc_history")
                              for rule, _ in rules}}]
        title = ("Update rules (course setting, raw-pixel inputs)" if name == "main" else
                 "Update rules, variant: [0, 1] pixels with the [0, 1]-pixel course's rates")
        run.plot("rules" if name == "main" else "rules_variant", "curves", title=title,
                 xlabel="epoch", panels=panels)
    run.note("settings", (
        f"Six-layer net (hidden {list(cfg.hidden)}), Gaussian init std {cfg.weight_scale:g}, "
        f"{cfg.num_train} training images (a seeded random draw), {cfg.val} validation images, "
        f"{cfg.epochs} epochs, batch {cfg.batch_size}, no learning-rate decay, "
        f"{len(seeds)} seeds (initial weights and shuffling). Learning rates checked against "
        "the course notebook: SGD and SGD+momentum 1e-2 (later editions use 5e-3), RMSProp "
        "1e-4, Adam 1e-3, weight scale 5e-2, on inputs that are raw pixels minus the mean "
        "image, hence pixel_scale 255 here. On [0, 1] pixels the same weight scale leaves the "
        "six-layer net's output about 255 times smaller at the start, and SGD at 1e-2 does not "
        "move in 5 epochs; the variant shows the comparison there with the [0, 1]-pixel "
        "course's rates. A relation '>' of the reference is judged to hold when our gap "
        f"exceeds {cfg.z:g} standard errors (Welch, over seeds), '≥' unless ours is lower by "
        "that much. " + JPEG_NOTE))


# --- S1.5 learning rate x weight scale ------------------------------------------------------


@dataclass
class LrWeightScaleConfig:
    """S1.5. The study's six (learning rate, weight scale) configs, in two settings, since the
    study does not name one. 'overfit': the course's five-layer overfitting exercise (4 hidden
    layers of 100, 50 images, SGD, batch 25, 20 epochs, raw pixels), whose starting learning
    rate is 2e-3, the largest of the six. 'six-layer': S1.4's net and data (4,000 images, 5
    epochs, batch 100) with Adam, the rule for which a learning rate of 1e-5 is a sensible
    candidate (with SGD it changes nothing in 200 steps)."""

    dataset: str = "cifar10"
    val: int = 1000
    configs: tuple = references.S1_5_CONFIGS
    settings: tuple = ("overfit", "six-layer")
    overfit_num_train: int = 50
    overfit_hidden: tuple = (100, 100, 100, 100)
    overfit_epochs: int = 20
    overfit_batch: int = 25
    six_num_train: int = 4000
    six_hidden: tuple = (100, 100, 100, 100, 100)
    six_epochs: int = 5
    six_batch: int = 100
    six_rule: str = "adam"
    pixel_scale: float = 255.0
    repeats: int = 5
    seed: int = 0


@experiment("lr-weight-scale", study="S1.5",
            title="six (learning rate, weight scale) configs: train/val accuracy and curves",
            estimate="30 s", config=LrWeightScaleConfig,
            quick={"dataset": "builtin", "val": 200, "repeats": 1, "six_num_train": 500,
                   "six_epochs": 2, "overfit_epochs": 5})
def lr_weight_scale(cfg, run):
    """Train/val accuracy and curves of the six configs, per setting."""
    spec = {
        "overfit": dict(num_train=cfg.overfit_num_train, hidden=cfg.overfit_hidden,
                        epochs=cfg.overfit_epochs, batch=cfg.overfit_batch, rule="sgd"),
        "six-layer": dict(num_train=cfg.six_num_train, hidden=cfg.six_hidden,
                          epochs=cfg.six_epochs, batch=cfg.six_batch, rule=cfg.six_rule),
    }
    unknown = set(cfg.settings) - set(spec)
    if unknown:
        raise ValueError(f"settings must be among {sorted(spec)}, not {sorted(unknown)}")
    datas = {name: cifar_data(run, cfg.dataset, val=cfg.val, num_train=spec[name]["num_train"],
                              seed=cfg.seed, pixel_scale=cfg.pixel_scale)
             for name in cfg.settings}
    seeds = seeds_of(cfg)

    def one(c):
        s, data = spec[c["setting"]], datas[c["setting"]]
        model = FullyConnectedNet(list(s["hidden"]), input_dim=data["X_train"][0].size,
                                  weight_scale=c["weight_scale"], seed=c["seed"])
        return fit(run, f"{c['setting']},lr={c['learning_rate']:g},ws={c['weight_scale']:g},"
                        f"seed={c['seed']}", model, data, update_rule=s["rule"],
                   optim_config={"learning_rate": c["learning_rate"]}, batch_size=s["batch"],
                   num_epochs=s["epochs"], num_train_samples=1000, seed=c["seed"])

    cells = [{"setting": name, "learning_rate": lr, "weight_scale": ws, "seed": sd}
             for name in cfg.settings for lr, ws in cfg.configs for sd in seeds]
    results = grid(run, "configs", cells, one, objective=None)
    runs = {}
    for c, r in zip(cells, results, strict=True):
        runs.setdefault((c["setting"], c["learning_rate"], c["weight_scale"]), []).append(r)

    rows = []
    for name in cfg.settings:
        s = spec[name]
        metric = "train" if name == "overfit" else "val"  # overfitting is about training
        scored = []
        for lr, ws in cfg.configs:
            rs = runs[(name, lr, ws)]
            tr = [r["train_acc_history"][-1] for r in rs]
            va = [r["val_acc_history"][-1] for r in rs]
            hit = sum(t >= 1.0 for t in tr)
            rows.append([name, lr, ws, pm(*mean_std(tr)), pm(*mean_std(va)),
                         f"{hit}/{len(rs)}", sum(r["stopped_early"] == "diverged" for r in rs)])
            scored.append((float(np.mean(tr if metric == "train" else va)), lr, ws,
                           float(np.mean(tr)), float(np.mean(va))))
        best = max(scored)
        if name == "overfit":
            reached = [f"({lr:g}, {ws:g})" for lr, ws in cfg.configs
                       if sum(r["train_acc_history"][-1] >= 1.0 for r in runs[(name, lr, ws)])
                       * 2 >= len(seeds)]
            run.claim("configs reaching 100% training accuracy (overfit, half the seeds or "
                      "more)", len(reached), None,
                      note=(", ".join(reached) if reached else "none")
                      + "; (lr, weight scale); compare the five-layer heat map of depth-overfit")
        run.claim(f"best config ({name}, by final {metric} accuracy)", best[0], None,
                  note=f"lr {best[1]:g}, weight scale {best[2]:g}: train {best[3]:.3f}, "
                       f"val {best[4]:.3f}")
        labels = {(lr, ws): f"lr {lr:g}, ws {ws:g}" for lr, ws in cfg.configs}
        run.plot(f"curves_{name}", "curves",
                 title=f"{name}: {len(s['hidden']) + 1}-layer net, {s['rule']}, "
                       f"{s['num_train']} images, {s['epochs']} epochs (mean over seeds)",
                 xlabel="epoch", panels=[
                     {"ylabel": "training loss", "xlabel": "iteration", "logy": True,
                      "title": "loss per iteration",
                      "series": {labels[k]: iteration_series(runs[(name, *k)]) for k in labels}},
                     {"ylabel": "train accuracy", "title": "train accuracy per epoch",
                      "series": {labels[k]: epoch_series(runs[(name, *k)], "train_acc_history")
                                 for k in labels}},
                     {"ylabel": "val accuracy", "title": "val accuracy per epoch",
                      "series": {labels[k]: epoch_series(runs[(name, *k)], "val_acc_history")
                                 for k in labels}}])
    run.table("configs", ["setting", "learning rate", "weight scale",
                          f"final train acc (mean ± std, {len(seeds)} seeds)", "final val acc",
                          "seeds at 100% train", "seeds diverged"], rows,
              title="Train / val accuracy per config",
              note="Train accuracy on up to 1,000 sampled training images (all 50 in "
                   "'overfit').")
    run.note("settings", (
        "The study lists six (learning rate, weight scale) pairs without their setting. "
        f"'overfit': {len(cfg.overfit_hidden) + 1}-layer net (hidden "
        f"{list(cfg.overfit_hidden)}), {cfg.overfit_num_train} images, SGD, batch "
        f"{cfg.overfit_batch}, {cfg.overfit_epochs} epochs: the course's five-layer "
        "overfitting exercise, which starts from learning rate 2e-3 (and weight scale 1e-5) "
        "and asks for a search of both. 'six-layer': S1.4's net and data "
        f"({cfg.six_num_train} images, {cfg.six_epochs} epochs, batch {cfg.six_batch}) with "
        f"{cfg.six_rule}. Both on raw-pixel inputs (pixel_scale {cfg.pixel_scale:g}), "
        f"{len(seeds)} seeds. " + JPEG_NOTE))
