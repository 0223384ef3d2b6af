"""S1.6 batch normalisation and S1.7 layer normalisation (scratch engine, CIFAR-10).

Two experiments:

- `batchnorm` (S1.6): (a) a six-layer net (five hidden layers of 100) with and without
  batchnorm, Adam, 1,000 training images, over several seeds: loss and accuracy curves and a
  measured convergence speed (area under the training-loss curve; epochs the batchnorm net
  needs to reach the train accuracy the baseline has after the last epoch). (b) 20 weight
  scales log-spaced from 1e-4 to 1, with and without batchnorm: best train and val accuracy
  and final loss per scale, and measured sensitivity (how many scales come within a tolerance
  of the best, the range of best val accuracy over scales). (c) batch sizes 5, 10, 50 with
  and without batchnorm: curves, and whether batchnorm's advantage over the baseline grows
  with the batch size. (d) the two backward passes of batchnorm (step by step through the
  graph, and the closed form): the largest gradient difference and the speed ratio timed in
  the run on several shapes, and two training runs that differ only in the backward used.
- `layernorm` (S1.7): (b) and (c) with layernorm; the batch-size grid also trains batchnorm,
  so that the batch-size dependence of the two can be compared, and a direct check that a
  sample's layernorm output does not depend on the batch it is in.

Settings follow the course notebook the studies come from where the study is silent: (a)
weight scale 2e-2, learning rate 1e-3, 10 epochs, batch 50; (b) an eight-layer net (seven
hidden layers of 50), learning rate 1e-3, 10 epochs, batch 50; (c) the six-layer net, weight
scale 2e-2, learning rate 10**-3.5, 10 epochs. Every report states these in its notes. The
training set is a seeded random draw of `num_train` images (fixed by `seed`); the seed
repeats change the initial weights and the minibatch order.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.references import S1_6_CLAIMS, S1_7_CLAIMS
from layerlab.scratch.gradcheck import norm_error
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.sandwich import Sandwich, Stage
from layerlab.timing import time_interleaved
from layerlab.trainers.solver_cell import downsample, mean_std, paired_difference, train_solver

SOURCE = "shared/STUDIES.md S1.6 (course notebook BatchNormalization)"
SOURCE_LN = "shared/STUDIES.md S1.7 (course notebook BatchNormalization, layernorm part)"
LABELS = {"none": "baseline", "batchnorm": "batchnorm", "layernorm": "layernorm"}
CHANCE = 0.1  # ten classes


# --- measurements (pure functions, tested) ------------------------------------------------


def weight_scales(low, high, count, digits=4):
    """`count` scales log-spaced from `low` to `high`, rounded to `digits` significant digits
    (so that they print and name grid cells cleanly)."""
    return [float(f"{s:.{digits}g}") for s in np.logspace(np.log10(low), np.log10(high), count)]


def first_epoch_reaching(history, target):
    """First epoch (index into a per-epoch history, 0 = before training) whose value is at
    least `target`, or None when it never gets there."""
    for epoch, value in enumerate(history):
        if value >= target:
            return epoch
    return None


def count_within(values, tolerance):
    """How many values are within `tolerance` of the largest (NaN counts as not within)."""
    values = np.asarray(values, dtype=float)
    return int(np.sum(values >= np.nanmax(values) - tolerance))


def final_loss(loss_history, iterations_per_epoch):
    """Mean training loss over the last epoch's iterations (inf if training diverged)."""
    tail = np.asarray(loss_history[-iterations_per_epoch:], dtype=float)
    return float(tail.mean()) if len(tail) and np.all(np.isfinite(tail)) else float("inf")


def batch_dependence(layer, x, batch_sizes):
    """Largest change of any sample's train-mode output when the same samples are normalised
    in batches of each size instead of all at once.

    x: (N, D) with N divisible by every batch size. Returns {batch size: max abs difference}.
    """
    D = x.shape[1]
    gamma, beta = np.ones(D, x.dtype), np.zeros(D, x.dtype)
    whole, _ = layer.forward(x, gamma, beta, {"mode": "train"})
    out = {}
    for b in batch_sizes:
        parts = [layer.forward(x[i:i + b], gamma, beta, {"mode": "train"})[0]
                 for i in range(0, len(x), b)]
        out[b] = float(np.max(np.abs(np.concatenate(parts) - whole)))
    return out


class ClosedFormBatchNorm(BatchNorm):
    """BatchNorm whose `backward` is the closed form `BatchNorm.backward_alt` (to train with
    it and compare with the step-by-step backward)."""

    backward = staticmethod(BatchNorm.backward_alt)


def use_closed_form_backward(model):
    """Make a FullyConnectedNet's batchnorm layers use the closed-form backward."""
    model.hidden = Sandwich([Stage(ClosedFormBatchNorm, s.params, s.option)
                             if s.layer is BatchNorm else s for s in model.hidden.stages])
    return model


# --- training ----------------------------------------------------------------------------


def _data(cfg, run):
    train = load(cfg.dataset, "train")
    run.dataset(train)
    return transforms.solver_data(train, None, val=cfg.val, num_train=cfg.num_train,
                                  seed=cfg.seed)


def _trainer(run, grid_name, data, *, hidden_dims, epochs, learning_rate, weight_scale=None,
             batch_size=None, dtype=np.float32):
    """fn(cell) training a FullyConnectedNet for one cell of `grid_name`.

    The cell gives 'norm' ('none', 'batchnorm', 'layernorm') and 'seed', and may override
    'weight_scale', 'batch_size' and 'backward' ('graph' or 'closed').
    """

    def one(c):
        name = cell_key(grid_name, c)
        bs = c.get("batch_size", batch_size)
        model = FullyConnectedNet(list(hidden_dims), input_dim=data["X_train"][0].size,
                                  num_classes=10, weight_scale=c.get("weight_scale",
                                                                     weight_scale),
                                  normalization=None if c["norm"] == "none" else c["norm"],
                                  dtype=dtype, seed=c["seed"])
        if c.get("backward") == "closed":
            use_closed_form_backward(model)
        summary, solver = train_solver(
            run, name, model, data, update_rule="adam",
            optim_config={"learning_rate": learning_rate}, num_epochs=epochs, batch_size=bs,
            num_train_samples=None, print_every=0, verbose=False, seed=c["seed"])
        summary["final_loss"] = final_loss(summary["loss_history"], solver.iterations_per_epoch)
        summary["best_train_acc"] = max(summary["train_acc_history"])
        summary["final_train_acc"] = summary["train_acc_history"][-1]
        summary["iterations_per_epoch"] = solver.iterations_per_epoch
        if c.get("backward"):
            summary["params"] = {k: v.ravel()[:2000].tolist() for k, v in model.params.items()}
        return summary

    return one


def _layers(hidden_dims):
    """'six-layer' for five hidden layers (the output layer counts)."""
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    n = len(hidden_dims) + 1
    return f"{words.get(n, n)}-layer"


def _fmt(mean, std):
    return f"{mean:.3f} ± {std:.3f}"


def _mean_curve(histories):
    """Mean over seeds of equally long curves (shorter ones, from diverged runs, padded with
    NaN)."""
    n = max(len(h) for h in histories)
    rows = [list(h) + [float("nan")] * (n - len(h)) for h in histories]
    return np.nanmean(np.asarray(rows, dtype=float), axis=0).tolist()


# --- (a) convergence ---------------------------------------------------------------------


def _convergence(cfg, run, data):
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    cells = [{"norm": n, "seed": s} for n in ("none", "batchnorm") for s in seeds]
    results = grid(run, "a_convergence", cells,
                   _trainer(run, "a_convergence", data, hidden_dims=cfg.hidden_dims,
                            epochs=cfg.epochs, learning_rate=cfg.learning_rate,
                            weight_scale=cfg.weight_scale, batch_size=cfg.batch_size),
                   objective="best_val_acc")
    by = {(c["norm"], c["seed"]): r for c, r in zip(cells, results, strict=True)}
    rows, faster, areas, reach = [], [], {"none": [], "batchnorm": []}, []
    for s in seeds:
        base, bn = by[("none", s)], by[("batchnorm", s)]
        target = base["train_acc_history"][-1]
        e_base = first_epoch_reaching(base["train_acc_history"], target)
        e_bn = first_epoch_reaching(bn["train_acc_history"], target)
        a_base, a_bn = float(np.mean(base["loss_history"])), float(np.mean(bn["loss_history"]))
        areas["none"].append(a_base)
        areas["batchnorm"].append(a_bn)
        reach.append((e_base, e_bn))
        faster.append(a_bn < a_base and e_bn is not None and e_bn < e_base)
        for norm, r, e, a in (("none", base, e_base, a_base), ("batchnorm", bn, e_bn, a_bn)):
            rows.append([s, LABELS[norm], r["final_train_acc"], r["best_val_acc"], a,
                         "never" if e is None else e])
    run.table("a_convergence", ["seed", "net", "final train acc", "best val acc",
                                "mean training loss (area / iterations)",
                                "epochs to reach the baseline's final train acc"], rows,
              title=f"(a) Convergence per seed, {_layers(cfg.hidden_dims)} net",
              note="The target of the last column is the train accuracy the baseline of the "
                   "same seed has after the last epoch; the baseline's own entry is the first "
                   "epoch it got there.")
    bn_epochs = [e for _, e in reach if e is not None]
    run.claim("(a) batchnorm converges faster than the baseline in every seed",
              all(faster), True, better="equal", source=SOURCE,
              note=f"{S1_6_CLAIMS['a']}. Criterion: a smaller area under the training-loss "
                   "curve AND fewer epochs to reach the baseline's final train accuracy, in "
                   f"each of {len(seeds)} seeds; held in {sum(faster)} of {len(seeds)}")
    ratio = [b / n for b, n in zip(areas["batchnorm"], areas["none"], strict=True)]
    m, s = mean_std(ratio)
    run.claim("(a) area under the training-loss curve, batchnorm / baseline", m, None,
              source=SOURCE, note=f"mean ± std over seeds {m:.3f} ± {s:.3f} "
                                  f"(baseline {_fmt(*mean_std(areas['none']))}, batchnorm "
                                  f"{_fmt(*mean_std(areas['batchnorm']))})")
    if bn_epochs:
        base_epochs = [e for e, _ in reach]
        run.claim("(a) epochs batchnorm needs to reach the baseline's final train accuracy",
                  float(np.mean(bn_epochs)), None, unit=f"of {cfg.epochs}", source=SOURCE,
                  note=f"per seed {[e for _, e in reach]} (baseline: {base_epochs})")
    labels = {"none": "baseline", "batchnorm": "batchnorm"}
    per_norm = {n: [by[(n, s)] for s in seeds] for n in labels}
    epochs = list(range(cfg.epochs + 1))
    run.plot("a_loss", "curves", title="(a) Training loss per iteration (mean over seeds)",
             xlabel="iteration", ylabel="loss",
             series={labels[n]: downsample(_mean_curve([r["loss_history"] for r in rs]))
                     for n, rs in per_norm.items()})
    run.plot("a_accuracy", "curves", title="(a) Accuracy per epoch (mean over seeds)",
             xlabel="epoch", panels=[
                 {"ylabel": "train accuracy", "series": {
                     labels[n]: [epochs, _mean_curve([r["train_acc_history"] for r in rs])]
                     for n, rs in per_norm.items()}},
                 {"ylabel": "val accuracy", "series": {
                     labels[n]: [epochs, _mean_curve([r["val_acc_history"] for r in rs])]
                     for n, rs in per_norm.items()}}])


# --- (b) weight-scale sensitivity ---------------------------------------------------------


def _weight_scale_sweep(cfg, run, data, norm, source, claim_text):
    """Grid of weight scale x {baseline, norm} x seeds; plots, table and sensitivity claims."""
    seeds = [cfg.seed + i for i in range(cfg.scale_seeds)]
    scales = weight_scales(cfg.scale_low, cfg.scale_high, cfg.num_scales)
    norms = ("none", norm)
    cells = [{"norm": n, "weight_scale": w, "seed": s}
             for n in norms for w in scales for s in seeds]
    results = grid(run, "b_weight_scale", cells,
                   _trainer(run, "b_weight_scale", data, hidden_dims=cfg.scale_hidden_dims,
                            epochs=cfg.epochs, learning_rate=cfg.learning_rate,
                            batch_size=cfg.batch_size), objective="best_val_acc")
    by = {(c["norm"], c["weight_scale"], c["seed"]): r
          for c, r in zip(cells, results, strict=True)}

    def stat(n, w, key):
        return [by[(n, w, s)][key] for s in seeds]

    mean = {(n, key): [float(np.mean(stat(n, w, key))) for w in scales]
            for n in norms for key in ("best_train_acc", "best_val_acc", "final_loss")}
    rows = []
    for i, w in enumerate(scales):
        row = [w]
        for n in norms:
            row += [_fmt(*mean_std(stat(n, w, "best_train_acc"))),
                    _fmt(*mean_std(stat(n, w, "best_val_acc"))),
                    mean[(n, "final_loss")][i]]
        rows.append(row)
    header = ["weight scale"] + [f"{LABELS[n]} {what}" for n in norms
                                 for what in ("best train acc", "best val acc", "final loss")]
    run.table("b_weight_scale", header, rows,
              title=f"(b) Weight-scale sweep, with and without {norm} (mean ± std over "
                    f"{len(seeds)} seeds)",
              note="Final loss: mean training loss over the last epoch, mean over seeds "
                   "(inf: training diverged).")
    run.plot("b_weight_scale", "curves", title=f"(b) Weight scale, with and without {norm} "
                                               "(mean over seeds)",
             xlabel="weight scale", logx=True, panels=[
                 {"ylabel": "best train accuracy",
                  "series": {LABELS[n]: [scales, mean[(n, "best_train_acc")]] for n in norms}},
                 {"ylabel": "best val accuracy",
                  "series": {LABELS[n]: [scales, mean[(n, "best_val_acc")]] for n in norms}},
                 {"ylabel": "final training loss", "logy": True,
                  "series": {LABELS[n]: [scales, [v if np.isfinite(v) else float("nan")
                                                  for v in mean[(n, "final_loss")]]]
                             for n in norms}}])
    tol = cfg.scale_tolerance
    good = {n: count_within(mean[(n, "best_val_acc")], tol) for n in norms}
    span = {n: float(np.max(mean[(n, "best_val_acc")]) - np.min(mean[(n, "best_val_acc")]))
            for n in norms}
    peak = {n: float(np.max(mean[(n, "best_val_acc")])) for n in norms}
    decades = np.log10(cfg.scale_high / cfg.scale_low) / max(cfg.num_scales - 1, 1)
    for n in norms:
        run.claim(f"(b) {LABELS[n]}: weight scales (of {len(scales)}) whose best val acc is "
                  f"within {tol:g} of its best", good[n], None, source=source,
                  note=f"best {peak[n]:.3f}; about {good[n] * decades:.1f} decades of scale; "
                       f"range of best val acc over scales {span[n]:.3f}")
    run.claim(f"(b) {norm} is much less sensitive: at least twice as many scales within "
              f"{tol:g} of its own best as the baseline", good[norm] >= 2 * good["none"], True,
              better="equal", source=source,
              note=f"{claim_text}. {good[norm]} vs {good['none']} of {len(scales)} scales")
    run.claim(f"(b) {norm} is much less sensitive: at most half the baseline's range of best "
              "val acc over scales", span[norm] <= span["none"] / 2, True, better="equal",
              source=source,
              note=f"{claim_text}. Range (best minus worst scale) {span[norm]:.3f} vs "
                   f"{span['none']:.3f}; worst scale {np.min(mean[(norm, 'best_val_acc')]):.3f} "
                   f"vs {np.min(mean[('none', 'best_val_acc')]):.3f}. The baseline's range is "
                   "bounded by chance (0.1) below")
    learns = {n: int(np.sum(np.asarray(mean[(n, "best_val_acc")]) >= CHANCE + tol))
              for n in norms}
    run.claim(f"(b) scales (of {len(scales)}) where the net learns at all (best val acc >= "
              f"{CHANCE + tol:g}), {norm} vs baseline", learns[norm], None, source=source,
              note=f"baseline {learns['none']}")
    x2 = float(np.mean(np.sum(np.asarray(data["X_train"], np.float64).reshape(
        len(data["X_train"]), -1) ** 2, axis=1)))
    width = cfg.scale_hidden_dims[0]
    run.note(f"(b) {norm} at small weight scales",
             "The normalisation divides by sqrt(var + eps) with eps = 1e-5, so it undoes the "
             "weight scale only while a layer's pre-activation variance is well above 1e-5. "
             f"On this data the first layer's variance is about scale^2 x E[|x|^2] = scale^2 x "
             f"{x2:.0f}, which reaches 1e-5 at scale {np.sqrt(1e-5 / x2):.1e}; a later layer "
             f"fed by {width} unit-variance ReLU outputs has about scale^2 x {width} / 2, which "
             f"reaches 1e-5 at scale {np.sqrt(1e-5 / (width / 2)):.1e}. Below these scales the "
             "normalised outputs shrink with the scale, as they would without normalisation.")
    return mean


# --- (c) batch size ----------------------------------------------------------------------


def _batch_size_sweep(cfg, run, data, norms, source):
    """Grid of batch size x norms x seeds; curves, table; returns per-cell results."""
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    cells = [{"norm": n, "batch_size": b, "seed": s}
             for n in norms for b in cfg.batch_sizes for s in seeds]
    results = grid(run, "c_batch_size", cells,
                   _trainer(run, "c_batch_size", data, hidden_dims=cfg.hidden_dims,
                            epochs=cfg.epochs, learning_rate=cfg.batch_learning_rate,
                            weight_scale=cfg.weight_scale), objective="best_val_acc")
    by = {(c["norm"], c["batch_size"], c["seed"]): r for c, r in zip(cells, results,
                                                                      strict=True)}
    epochs = list(range(cfg.epochs + 1))
    series = {key: {f"{LABELS[n]} batch {b}": [epochs, _mean_curve(
        [by[(n, b, s)][key] for s in seeds])] for n in norms for b in cfg.batch_sizes}
        for key in ("train_acc_history", "val_acc_history")}
    run.plot("c_batch_size", "curves", title="(c) Accuracy per epoch by batch size (mean over "
                                             "seeds)", xlabel="epoch", panels=[
        {"ylabel": "train accuracy", "series": series["train_acc_history"]},
        {"ylabel": "val accuracy", "series": series["val_acc_history"]}])
    rows = []
    for b in cfg.batch_sizes:
        for n in norms:
            row = [b, LABELS[n]]
            for key in ("final_train_acc", "best_val_acc"):
                vals = [by[(n, b, s)][key] for s in seeds]
                row.append(_fmt(*mean_std(vals)))
                if n != "none":
                    base = [by[("none", b, s)][key] for s in seeds]
                    m, se = paired_difference(vals, base)
                    row.append(f"{m:+.3f} ± {se:.3f}")
                else:
                    row.append("")
            rows.append(row)
    run.table("c_batch_size", ["batch size", "net", "final train acc", "gain over baseline",
                               "best val acc", "gain over baseline"], rows,
              title=f"(c) Batch size (mean ± std over {len(seeds)} seeds; gains are paired by "
                    "seed, mean ± standard error)",
              note="With a fixed number of epochs a smaller batch makes more updates, which "
                   "changes every net, normalised or not; the gain over the baseline at the "
                   "same batch size isolates what the normalisation adds.")
    return by, seeds


def _gains(by, seeds, norm, batch_sizes, key):
    """{batch size: per-seed (norm - baseline) of `key`}."""
    return {b: [by[(norm, b, s)][key] - by[("none", b, s)][key] for s in seeds]
            for b in batch_sizes}


def _gain_growth(gains, batch_sizes):
    """(mean, standard error) of gain(largest batch) - gain(smallest batch), paired by seed."""
    return paired_difference(gains[max(batch_sizes)], gains[min(batch_sizes)])


def _plot_gains(run, by, seeds, norms, batch_sizes, title):
    panels = []
    for key, label in (("final_train_acc", "final train acc"), ("best_val_acc", "best val acc")):
        series = {}
        for n in norms:
            if n == "none":
                continue
            g = _gains(by, seeds, n, batch_sizes, key)
            series[LABELS[n]] = [list(batch_sizes), [float(np.mean(g[b])) for b in batch_sizes]]
        panels.append({"ylabel": f"gain over baseline, {label}", "series": series})
    run.plot("c_gain", "curves", title=title, xlabel="batch size", logx=True, panels=panels)


# --- (d) the two backward passes ---------------------------------------------------------


def _backward_speed(cfg):
    """Gradient agreement and timing of BatchNorm.backward vs backward_alt on cfg.bn_shapes."""
    rng = np.random.default_rng(cfg.seed)
    rows = []
    for dtype in (np.float64, np.float32):
        for N, D in cfg.bn_shapes:
            x = (rng.standard_normal((N, D)) * 3 + 1).astype(dtype)
            gamma = rng.standard_normal(D).astype(dtype)
            beta = rng.standard_normal(D).astype(dtype)
            _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
            dout = rng.standard_normal((N, D)).astype(dtype)
            graph = BatchNorm.backward(dout, cache)
            closed = BatchNorm.backward_alt(dout, cache)
            diff = [float(np.max(np.abs(g.astype(np.float64) - c.astype(np.float64))))
                    for g, c in zip(graph, closed, strict=True)]
            stats, ratios = time_interleaved(
                [lambda d=dout, c=cache: BatchNorm.backward(d, c),
                 lambda d=dout, c=cache: BatchNorm.backward_alt(d, c)],
                repeats=cfg.timing_repeats, min_time=cfg.timing_min_time)
            q = statistics.quantiles(ratios[0], n=4) if len(ratios[0]) > 1 else ratios[0] * 3
            rows.append({"shape": [N, D], "dtype": np.dtype(dtype).name, "max_abs_diff": diff,
                         "norm_error_dx": norm_error(graph[0], closed[0]),
                         "graph_ms": stats[0]["median"] * 1e3,
                         "closed_ms": stats[1]["median"] * 1e3,
                         "speedup": stats[0]["median"] / stats[1]["median"],
                         "speedup_q1": q[0], "speedup_q3": q[2], "n": stats[0]["n"],
                         "speedup_median_round": statistics.median(ratios[0]),
                         "closed_faster_rounds": float(np.mean(np.asarray(ratios[0]) > 1)),
                         "spread": max(stats[0]["spread"], stats[1]["spread"])})
    return {"rows": rows}


def _backward_passes(cfg, run, data):
    speed = cell(run, "d_backward_speed", lambda: _backward_speed(cfg))["rows"]
    run.table("d_backward", ["shape (N, D)", "dtype", "max abs diff dx", "max abs diff dgamma",
                             "max abs diff dbeta", "normwise error dx", "backward ms",
                             "backward_alt ms", "closed-form speed-up", "per-round ratio IQR",
                             "rounds closed form faster", "timing spread"],
              [[f"{r['shape'][0]}x{r['shape'][1]}", r["dtype"], *r["max_abs_diff"],
                r["norm_error_dx"], r["graph_ms"], r["closed_ms"], r["speedup"],
                f"{r['speedup_q1']:.2f}-{r['speedup_q3']:.2f}",
                f"{r['closed_faster_rounds']:.0%}", f"{r['spread']:.0%}"]
               for r in speed],
              title="(d) BatchNorm.backward (step by step) vs backward_alt (closed form)",
              note="Timed in this run, calls interleaved round by round (warm-up, then at "
                   f"least {cfg.timing_repeats} calls each and {cfg.timing_min_time:g} s), "
                   "single-threaded NumPy element-wise code; speed-up = median time of "
                   "backward / median time of backward_alt; IQR of the per-round ratio. The "
                   "machine may be shared, so absolute times vary; the ratio is measured side "
                   "by side. Timing spread (IQR / median of either function's times) above "
                   "~20% marks a shape whose timing was disturbed (memory-bound shapes, other "
                   "processes); its ratio is less trustworthy than the tight ones.")
    ratios = [r["speedup"] for r in speed]
    geo = float(np.exp(np.mean(np.log(ratios))))
    run.claim("(d) closed-form backward speed-up (geometric mean over shapes and dtypes)", geo,
              None, unit="x", source=SOURCE,
              note="per shape " + ", ".join(
                  f"{r['shape'][0]}x{r['shape'][1]} {r['dtype']}: {r['speedup']:.2f}x"
                  for r in speed))
    faster = all(r["speedup_median_round"] > 1 for r in speed)
    run.claim("(d) the closed form is faster on every shape (faster in most timing rounds)",
              faster, True, better="equal", source=SOURCE,
              note=f"{S1_6_CLAIMS['d']}; median per-round ratio per shape: " + ", ".join(
                  f"{r['speedup_median_round']:.2f}" for r in speed)
                   + "; share of rounds the closed form was faster: " + ", ".join(
                  f"{r['closed_faster_rounds']:.0%}" for r in speed))
    worst64 = max(max(r["max_abs_diff"]) for r in speed if r["dtype"] == "float64")
    run.claim("(d) largest gradient difference between the two backward passes (float64)",
              worst64, 1e-10, better="lower", source="tested bound in "
              "benchmarks/batchnorm_backward.py",
              note="the two are the same function in exact arithmetic; float32: "
                   f"{max(max(r['max_abs_diff']) for r in speed if r['dtype'] == 'float32'):.2e}")

    # Training with either backward: same seed, same data, same everything else.
    seeds = [cfg.seed]
    cells = [{"norm": "batchnorm", "backward": b, "seed": s} for b in ("graph", "closed")
             for s in seeds]
    results = grid(run, "d_training", cells,
                   _trainer(run, "d_training", data, hidden_dims=cfg.hidden_dims,
                            epochs=cfg.epochs, learning_rate=cfg.learning_rate,
                            weight_scale=cfg.weight_scale, batch_size=cfg.batch_size,
                            dtype=np.float64), objective="best_val_acc")
    graph, closed = results
    acc_diff = max(abs(a - b) for key in ("train_acc_history", "val_acc_history")
                   for a, b in zip(graph[key], closed[key], strict=True))
    param_diff = max(float(np.max(np.abs(np.asarray(graph["params"][k]) -
                                          np.asarray(closed["params"][k]))))
                     for k in graph["params"])
    run.table("d_training", ["backward", "final train acc", "best val acc", "final loss"],
              [[c["backward"], r["final_train_acc"], r["best_val_acc"], r["final_loss"]]
               for c, r in zip(cells, results, strict=True)],
              title=f"(d) The {_layers(cfg.hidden_dims)} batchnorm net of (a) trained with "
                    "either backward "
                    "(float64, same seed)")
    run.claim("(d) largest accuracy difference over all epochs, trained with either backward",
              acc_diff, 0.0, better="equal", tolerance=0.0, source=SOURCE,
              note=f"largest parameter difference after training {param_diff:.2e} (first "
                   "2,000 entries of every parameter): the backward choice changes rounding "
                   "only, so it cannot change what the net learns")


# --- experiments -------------------------------------------------------------------------


@dataclass
class NormStudyConfig:
    """What S1.6 and S1.7 share. Defaults: the study's settings, and the course notebook's
    where it is silent."""

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 1000
    seed: int = 0
    seeds: int = 3  # seed repeats for (a) and (c)
    epochs: int = 10
    batch_size: int = 50
    learning_rate: float = 1e-3
    # (a), (c), (d): the six-layer net
    hidden_dims: tuple = (100, 100, 100, 100, 100)
    weight_scale: float = 2e-2
    # (b): the course's eight-layer net, 20 scales from 1e-4 to 1
    scale_hidden_dims: tuple = (50, 50, 50, 50, 50, 50, 50)
    scale_low: float = 1e-4
    scale_high: float = 1.0
    num_scales: int = 20
    scale_seeds: int = 3
    scale_tolerance: float = 0.05  # "within this of the best" counts as a good scale
    # (c)
    batch_sizes: tuple = (5, 10, 50)
    batch_learning_rate: float = 10 ** -3.5


@dataclass
class BatchnormConfig(NormStudyConfig):
    """S1.6: the shared settings, plus (d)'s timing of the two backward passes."""

    # (d)
    bn_shapes: tuple = ((64, 100), (256, 512), (1024, 1024), (4096, 256))
    timing_repeats: int = 20
    timing_min_time: float = 0.5


QUICK = {"dataset": "builtin", "val": 100, "num_train": 100, "seeds": 2, "epochs": 2,
         "num_scales": 3, "scale_seeds": 1, "scale_hidden_dims": (20, 20, 20),
         "hidden_dims": (20, 20, 20), "batch_sizes": (10, 50),
         "bn_shapes": ((16, 10), (64, 32)), "timing_repeats": 5, "timing_min_time": 0.0}


def _settings_note(cfg, run, parts):
    run.note("Settings and choices", "\n".join([
        f"- Data: {cfg.num_train} CIFAR-10 training images (a seeded random draw; the "
        f"CIFAR-10 here is a lossy JPEG copy, see Data) and {cfg.val} validation images, mean "
        "image subtracted. Adam throughout.",
        f"- Seeds: the training images are fixed by seed {cfg.seed}; the seed repeats "
        "change the initial weights and the minibatch order.",
        *parts]))


@experiment("batchnorm", study="S1.6", title="batch normalisation: convergence, weight scale, "
            "batch size, the two backward passes", estimate="3 min",
            config=BatchnormConfig, quick=QUICK)
def batchnorm(cfg, run):
    """S1.6 (a)-(d); see the module docstring."""
    data = _data(cfg, run)
    _convergence(cfg, run, data)
    _weight_scale_sweep(cfg, run, data, "batchnorm", SOURCE, S1_6_CLAIMS["b"])
    by, seeds = _batch_size_sweep(cfg, run, data, ("none", "batchnorm"), SOURCE)
    _plot_gains(run, by, seeds, ("none", "batchnorm"), cfg.batch_sizes,
                "(c) What batchnorm adds over the baseline, by batch size (mean over seeds)")
    for key, label in (("final_train_acc", "final train acc"), ("best_val_acc", "best val acc")):
        gains = _gains(by, seeds, "batchnorm", cfg.batch_sizes, key)
        m, se = _gain_growth(gains, cfg.batch_sizes)
        run.claim(f"(c) larger batches help batchnorm: gain over the baseline ({label}) at "
                  f"batch {max(cfg.batch_sizes)} minus at batch {min(cfg.batch_sizes)}",
                  m > 2 * se, True, better="equal", source=SOURCE,
                  note=f"{S1_6_CLAIMS['c']}. Measured {m:+.3f} ± {se:.3f} (paired by seed, "
                       "standard error); criterion: above 0 by more than 2 standard errors. "
                       "Gains per batch size: " + ", ".join(
                           f"{b}: {np.mean(gains[b]):+.3f}" for b in cfg.batch_sizes))
    _backward_passes(cfg, run, data)
    _settings_note(cfg, run, [
        f"- (a), (c), (d): {_layers(cfg.hidden_dims)} net, hidden {list(cfg.hidden_dims)}, "
        f"weight scale "
        f"{cfg.weight_scale:g}, {cfg.epochs} epochs; learning rate {cfg.learning_rate:g} and "
        f"batch {cfg.batch_size} in (a) and (d), {cfg.batch_learning_rate:.3g} (the course's "
        f"10^-3.5) and batches {list(cfg.batch_sizes)} in (c), with the baseline trained at "
        "every batch size too (the course trained it at one).",
        f"- (b): the course's {_layers(cfg.scale_hidden_dims)} net (hidden "
        f"{list(cfg.scale_hidden_dims)}; the study "
        f"names no net for (b)), {cfg.num_scales} scales from {cfg.scale_low:g} to "
        f"{cfg.scale_high:g}, learning rate {cfg.learning_rate:g}, batch {cfg.batch_size}, "
        f"{cfg.scale_seeds} seeds. Best accuracies are the best over epochs 0..{cfg.epochs}.",
        "- (d): the speed of the backward pass cannot change accuracy: both passes compute "
        "the same gradient (differences at rounding level, table above), and two training "
        "runs that differ only in the backward used are compared directly. Timing figures "
        "are the one part of a run that a repeat does not reproduce exactly."])


@dataclass
class LayernormConfig(NormStudyConfig):
    """S1.7: S1.6 (b) and (c) with layernorm."""


@experiment("layernorm", study="S1.7", title="layer normalisation: weight scale and batch size",
            estimate="3 min", config=LayernormConfig,
            quick={k: v for k, v in QUICK.items() if not k.startswith(("bn_", "timing_"))})
def layernorm(cfg, run):
    """S1.7: (b) and (c) of S1.6 with layernorm; see the module docstring."""
    data = _data(cfg, run)
    _weight_scale_sweep(cfg, run, data, "layernorm", SOURCE_LN,
                        "course: layernorm, like batchnorm, makes the net much less sensitive "
                        "to the weight scale")
    norms = ("none", "batchnorm", "layernorm")
    by, seeds = _batch_size_sweep(cfg, run, data, norms, SOURCE_LN)
    _plot_gains(run, by, seeds, norms, cfg.batch_sizes,
                "(c) What each normalisation adds over the baseline, by batch size (mean over "
                "seeds)")
    lo, hi = min(cfg.batch_sizes), max(cfg.batch_sizes)
    rows = []
    for key, label in (("final_train_acc", "final train acc"), ("best_val_acc", "best val acc")):
        spread = {}
        for n in norms:
            per_b = [float(np.mean([by[(n, b, s)][key] for s in seeds]))
                     for b in cfg.batch_sizes]
            spread[n] = max(per_b) - min(per_b)
        growth = {n: _gain_growth(_gains(by, seeds, n, cfg.batch_sizes, key), cfg.batch_sizes)
                  for n in ("batchnorm", "layernorm")}
        rows += [[label, LABELS[n], spread[n]]
                 + ([f"{growth[n][0]:+.3f} ± {growth[n][1]:.3f}"] if n in growth else [""])
                 for n in norms]
        m_ln, se_ln = growth["layernorm"]
        m_bn, se_bn = growth["batchnorm"]
        independent = abs(m_ln) <= 2 * se_ln or abs(m_ln) <= 0.01
        run.claim(f"(c) layernorm's gain over the baseline ({label}) does not depend on the "
                  "batch size", independent, True, better="equal", source=SOURCE_LN,
                  note=f"{S1_7_CLAIMS['c']}. Change of the gain from batch {lo} to {hi}: "
                       f"layernorm {m_ln:+.3f} ± {se_ln:.3f}, batchnorm {m_bn:+.3f} ± "
                       f"{se_bn:.3f} (paired by seed, standard error); criterion: within 2 "
                       "standard errors of 0, or under 0.01. Range over batch sizes: "
                       f"layernorm {spread['layernorm']:.3f}, batchnorm "
                       f"{spread['batchnorm']:.3f}, baseline {spread['none']:.3f}")
    run.table("c_dependence", ["accuracy", "net", "range over batch sizes",
                               f"gain over baseline, batch {hi} minus batch {lo}"], rows,
              title="(c) Batch-size dependence",
              note="The range includes what the batch size does to any net (more updates with "
                   "small batches); the change of the gain over the baseline removes that "
                   "part as far as the baseline shows it (a baseline that barely trains shows "
                   "little of it).")
    x = np.random.default_rng(cfg.seed).standard_normal((100, 64)) * 2 + 1
    dep = {"layernorm": batch_dependence(LayerNorm, x, (5, 10, 50)),
           "batchnorm": batch_dependence(BatchNorm, x, (5, 10, 50))}
    run.table("c_forward", ["layer", *[f"batch {b}" for b in (5, 10, 50)]],
              [[n, *dep[n].values()] for n in dep],
              title="(c) Largest change of a sample's train-mode output when 100 samples are "
                    "normalised in batches of 5, 10 or 50 instead of all at once (float64)")
    run.claim("(c) a sample's layernorm output is the same in any batch (largest change)",
              max(dep["layernorm"].values()), 0.0, better="equal", tolerance=1e-12,
              source=SOURCE_LN, note=f"batchnorm: up to {max(dep['batchnorm'].values()):.3f}")
    _settings_note(cfg, run, [
        f"- (b): the course's {_layers(cfg.scale_hidden_dims)} net (hidden "
        f"{list(cfg.scale_hidden_dims)}), "
        f"{cfg.num_scales} scales from {cfg.scale_low:g} to {cfg.scale_high:g}, learning rate "
        f"{cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.epochs} epochs, "
        f"{cfg.scale_seeds} seeds; the batchnorm sweep is in the batchnorm report (S1.6).",
        f"- (c): {_layers(cfg.hidden_dims)} net (hidden {list(cfg.hidden_dims)}), weight scale "
        f"{cfg.weight_scale:g}, learning rate {cfg.batch_learning_rate:.3g}, {cfg.epochs} "
        f"epochs, batches {list(cfg.batch_sizes)}, baseline, batchnorm and layernorm at every "
        "batch size."])
