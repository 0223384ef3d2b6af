"""S1.6 batch normalisation and S1.7 layer normalisation (scratch engine, CIFAR-10, Adam).

`batchnorm` (S1.6): (a) convergence of a six-layer net with and without batchnorm over seeds;
(b) sensitivity to 20 weight scales from 1e-4 to 1; (c) batch sizes 5, 10, 50: does the gain
over the baseline grow with the batch; (d) the two backward passes (step by step, closed form):
agreement, speed timed in the run, and two training runs that differ only in the backward.
`layernorm` (S1.7): (b) and (c) with layernorm (the batch grid trains batchnorm too), and a
direct check that a sample's layernorm output does not depend on its batch. Settings follow
the course notebook where the study is silent (each report's notes list them).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from layerlab.analysis import (
    downsample,
    epoch_series,
    first_epoch_reaching,
    log_grid,
    mean_curve,
    mean_std,
    paired_difference,
    pm,
)
from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.references import S1_6_BACKWARD_AGREEMENT, S1_6_CLAIMS, S1_7_CLAIMS
from layerlab.scratch.gradcheck import norm_error
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.sandwich import Sandwich, Stage
from layerlab.timing import time_interleaved
from layerlab.trainers.solver_cell import train_solver

SOURCE = {"batchnorm": "shared/STUDIES.md S1.6 (course notebook BatchNormalization)",
          "layernorm": "shared/STUDIES.md S1.7 (course notebook BatchNormalization, layernorm "
                       "part)"}
CLAIMS = {"batchnorm": S1_6_CLAIMS, "layernorm": S1_7_CLAIMS}
LABELS = {"none": "baseline", "batchnorm": "batchnorm", "layernorm": "layernorm"}
ACCS = (("final_train_acc", "final train acc"), ("best_val_acc", "best val acc"))
CHANCE = 0.1  # ten classes


# --- measurements (pure functions, tested) ------------------------------------------------


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
    gamma, beta = np.ones(x.shape[1], x.dtype), np.zeros(x.shape[1], x.dtype)
    whole, _ = layer.forward(x, gamma, beta, {"mode": "train"})
    return {b: float(np.max(np.abs(np.concatenate(
        [layer.forward(x[i:i + b], gamma, beta, {"mode": "train"})[0]
         for i in range(0, len(x), b)]) - whole))) for b in batch_sizes}


class ClosedFormBatchNorm(BatchNorm):
    """BatchNorm whose `backward` is the closed form `BatchNorm.backward_alt`."""

    backward = staticmethod(BatchNorm.backward_alt)


def use_closed_form_backward(model):
    """Make a FullyConnectedNet's batchnorm layers use the closed-form backward."""
    model.hidden = Sandwich([Stage(ClosedFormBatchNorm, s.params, s.option)
                             if s.layer is BatchNorm else s for s in model.hidden.stages])
    return model


# --- training ----------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _load(dataset, val, num_train, seed):
    train = load(dataset, "train")
    return train, transforms.solver_data(train, None, val=val, num_train=num_train, seed=seed)


def solver_data(run, cfg):
    """The Solver dict of cfg.dataset: X_train (cfg.num_train, 3, 32, 32) float32 minus the
    mean image, y_train, X_val, y_val (cfg.val held out at random; the draws seeded by
    cfg.seed). Called inside cells, so that a rebuild from cells.json never loads the dataset;
    cached per process, and recorded in `run` on every call since the cache outlives a run."""
    train, data = _load(cfg.dataset, cfg.val, cfg.num_train, cfg.seed)
    run.dataset(train)
    return data


def _train(cfg, run, grid_name, cells, hidden_dims, learning_rate, **fixed):
    """Train a FullyConnectedNet per cell of `grid_name`; returns {cell values: summary}.

    A cell holds 'norm' ('none', 'batchnorm', 'layernorm') and 'seed', and whichever of
    'weight_scale' and 'batch_size' `fixed` does not; 'backward' ('graph' or 'closed') trains
    in float64 and keeps the first 2,000 entries of every parameter.
    """

    def one(c):
        s, data = {**fixed, **c}, solver_data(run, cfg)
        model = FullyConnectedNet(
            list(hidden_dims), input_dim=data["X_train"][0].size, num_classes=10,
            weight_scale=s["weight_scale"], seed=s["seed"],
            dtype=np.float64 if "backward" in s else np.float32,
            normalization=None if s["norm"] == "none" else s["norm"])
        if s.get("backward") == "closed":
            use_closed_form_backward(model)
        summary, solver = train_solver(
            run, cell_key(grid_name, c), model, data, update_rule="adam",
            optim_config={"learning_rate": learning_rate}, num_epochs=cfg.epochs,
            batch_size=s["batch_size"], num_train_samples=None, print_every=0, verbose=False,
            seed=s["seed"])
        per_epoch = solver.iterations_per_epoch
        summary.update(final_loss=final_loss(summary["loss_history"], per_epoch),
                       best_train_acc=max(summary["train_acc_history"]),
                       final_train_acc=summary["train_acc_history"][-1],
                       iterations_per_epoch=per_epoch)
        if "backward" in s:
            summary["params"] = {k: v.ravel()[:2000].tolist() for k, v in model.params.items()}
        return summary

    results = grid(run, grid_name, cells, one, objective="best_val_acc")
    return {tuple(c.values()): r for c, r in zip(cells, results, strict=True)}


def _acc_panels(series_of):
    """Train and val accuracy panels; series_of(history key) -> {label: [x, y]}."""
    return [{"ylabel": f"{what} accuracy", "series": series_of(f"{what}_acc_history")}
            for what in ("train", "val")]


# --- (a) convergence ---------------------------------------------------------------------


def _convergence(cfg, run):
    seeds, norms = [cfg.seed + i for i in range(cfg.seeds)], ("none", "batchnorm")
    by = _train(cfg, run, "a_convergence", [{"norm": n, "seed": s} for n in norms for s in seeds],
                cfg.hidden_dims, cfg.learning_rate, weight_scale=cfg.weight_scale,
                batch_size=cfg.batch_size)
    rows, faster, area, reach = [], [], {n: [] for n in norms}, {n: [] for n in norms}
    for s in seeds:
        target = by[("none", s)]["train_acc_history"][-1]
        for n in norms:
            r = by[(n, s)]
            area[n].append(float(np.mean(r["loss_history"])))
            reach[n].append(first_epoch_reaching(r["train_acc_history"], target))
            rows.append([s, LABELS[n], r["final_train_acc"], r["best_val_acc"], area[n][-1],
                         "never" if reach[n][-1] is None else reach[n][-1]])
        e_bn = reach["batchnorm"][-1]
        faster.append(area["batchnorm"][-1] < area["none"][-1] and e_bn is not None
                      and e_bn < reach["none"][-1])
    run.table("a_convergence", ["seed", "net", "final train acc", "best val acc",
                                "mean training loss (area / iterations)",
                                "epochs to reach the baseline's final train acc"], rows,
              title=f"(a) Convergence per seed, {len(cfg.hidden_dims) + 1}-layer net",
              note="Target of the last column: the baseline's train accuracy after the last "
                   "epoch, same seed (the baseline's own entry: when it first got there).")
    src = SOURCE["batchnorm"]
    run.claim("(a) batchnorm converges faster than the baseline in every seed",
              all(faster), True, better="equal", source=src,
              note=f"{S1_6_CLAIMS['a']}. Criterion: a smaller area under the training-loss "
                   "curve AND fewer epochs to reach the baseline's final train accuracy, in "
                   f"each of {len(seeds)} seeds; held in {sum(faster)} of {len(seeds)}")
    m, sd = mean_std([b / n for b, n in zip(area["batchnorm"], area["none"], strict=True)])
    run.claim("(a) area under the training-loss curve, batchnorm / baseline", m, None,
              source=src, note=f"mean ± std over seeds {pm(m, sd)} (baseline "
              f"{pm(*mean_std(area['none']))}, batchnorm {pm(*mean_std(area['batchnorm']))})")
    if any(e is not None for e in reach["batchnorm"]):
        run.claim("(a) epochs batchnorm needs to reach the baseline's final train accuracy",
                  float(np.mean([e for e in reach["batchnorm"] if e is not None])), None,
                  unit=f"of {cfg.epochs}", source=src,
                  note=f"per seed {reach['batchnorm']} (baseline: {reach['none']})")
    runs = {LABELS[n]: [by[(n, s)] for s in seeds] for n in norms}
    run.plot("a_loss", "curves", title="(a) Training loss per iteration (mean over seeds)",
             xlabel="iteration", ylabel="loss", series={
                 k: downsample(mean_curve([r["loss_history"] for r in rs]))
                 for k, rs in runs.items()})
    run.plot("a_accuracy", "curves", title="(a) Accuracy per epoch (mean over seeds)",
             xlabel="epoch", panels=_acc_panels(lambda key: {
                 k: epoch_series([r[key] for r in rs]) for k, rs in runs.items()}))


# --- (b) weight-scale sensitivity ---------------------------------------------------------


def _input_power(cfg, run):
    """E[|x|^2] over the training images, which sets the first layer's variance."""
    x = np.asarray(solver_data(run, cfg)["X_train"], np.float64)
    return {"x2": float(np.mean(np.sum(x.reshape(len(x), -1) ** 2, axis=1)))}


def _weight_scale_sweep(cfg, run, norm):
    """Grid of weight scale x {baseline, norm} x seeds: table, plot, sensitivity claims."""
    seeds, norms = [cfg.seed + i for i in range(cfg.scale_seeds)], ("none", norm)
    scales = list(log_grid(cfg.scale_low, cfg.scale_high, count=cfg.num_scales))
    by = _train(cfg, run, "b_weight_scale", [{"norm": n, "weight_scale": w, "seed": s}
                                             for n in norms for w in scales for s in seeds],
                cfg.scale_hidden_dims, cfg.learning_rate, batch_size=cfg.batch_size)
    keys = ("best_train_acc", "best_val_acc", "final_loss")
    per = {(n, k): [[by[(n, w, s)][k] for s in seeds] for w in scales] for n in norms
           for k in keys}
    mean = {nk: [float(np.mean(v)) for v in vs] for nk, vs in per.items()}

    def summary(n, i):
        return [pm(*mean_std(per[(n, "best_train_acc")][i])),
                pm(*mean_std(per[(n, "best_val_acc")][i])), mean[(n, "final_loss")][i]]

    def series(k):  # a diverged net's inf loss is left out of the plot
        return {LABELS[n]: [scales, [v if np.isfinite(v) else float("nan") for v in mean[(n, k)]]]
                for n in norms}

    run.table("b_weight_scale", ["weight scale"] + [f"{LABELS[n]} {k.replace('_', ' ')}"
                                                    for n in norms for k in keys],
              [[w] + [x for n in norms for x in summary(n, i)] for i, w in enumerate(scales)],
              title=f"(b) Weight-scale sweep, with and without {norm} (mean ± std over "
                    f"{len(seeds)} seeds)", note="Final loss: mean training loss over the "
              "last epoch, mean over seeds (inf: training diverged).")
    run.plot("b_weight_scale", "curves", title=f"(b) Weight scale, with and without {norm} "
             "(mean over seeds)", xlabel="weight scale", logx=True, panels=[
                 {"ylabel": "best train accuracy", "series": series("best_train_acc")},
                 {"ylabel": "best val accuracy", "series": series("best_val_acc")},
                 {"ylabel": "final training loss", "logy": True, "series": series(keys[2])}])
    tol, src, text = cfg.scale_tolerance, SOURCE[norm], CLAIMS[norm]["b"]
    val = {n: np.asarray(mean[(n, "best_val_acc")]) for n in norms}
    good = {n: count_within(val[n], tol) for n in norms}
    span = {n: float(np.max(val[n]) - np.min(val[n])) for n in norms}
    decades = np.log10(cfg.scale_high / cfg.scale_low) / max(cfg.num_scales - 1, 1)
    for n in norms:
        run.claim(f"(b) {LABELS[n]}: weight scales (of {len(scales)}) whose best val acc is "
                  f"within {tol:g} of its best", good[n], None, source=src,
                  note=f"best {float(np.max(val[n])):.3f}; about {good[n] * decades:.1f} "
                       f"decades of scale; range of best val acc over scales {span[n]:.3f}")
    run.claim(f"(b) {norm} is much less sensitive: at least twice as many scales within "
              f"{tol:g} of its own best as the baseline", good[norm] >= 2 * good["none"], True,
              better="equal", source=src,
              note=f"{text}. {good[norm]} vs {good['none']} of {len(scales)} scales")
    run.claim(f"(b) {norm} is much less sensitive: at most half the baseline's range of best "
              "val acc over scales", span[norm] <= span["none"] / 2, True, better="equal",
              source=src, note=f"{text}. Range (best minus worst scale) {span[norm]:.3f} vs "
              f"{span['none']:.3f}; worst scale {np.min(val[norm]):.3f} vs "
              f"{np.min(val['none']):.3f}. The baseline's range is bounded by chance "
              f"({CHANCE:g}) below")
    learns = {n: int(np.sum(val[n] >= CHANCE + tol)) for n in norms}
    run.claim(f"(b) scales (of {len(scales)}) where the net learns at all (best val acc >= "
              f"{CHANCE + tol:g}), {norm} vs baseline", learns[norm], None, source=src,
              note=f"baseline {learns['none']}")
    x2 = cell(run, "b_input_power", lambda: _input_power(cfg, run))["x2"]
    width = cfg.scale_hidden_dims[0]
    run.note(f"(b) {norm} at small weight scales",
             "The normalisation divides by sqrt(var + eps), eps = 1e-5, so it undoes the "
             "weight scale only while a layer's pre-activation variance is well above 1e-5. "
             f"The first layer's variance is about scale^2 x E[|x|^2] = scale^2 x {x2:.0f} "
             f"here, 1e-5 at scale {np.sqrt(1e-5 / x2):.1e}; a later layer fed by {width} "
             f"unit-variance ReLU outputs has about scale^2 x {width} / 2, 1e-5 at scale "
             f"{np.sqrt(1e-5 / (width / 2)):.1e}. Below these scales the normalised outputs "
             "shrink with the scale, as they would without normalisation.")


# --- (c) batch size ----------------------------------------------------------------------


def _batch_size_sweep(cfg, run, norms, gain_title):
    """Grid of batch size x norms x seeds: curves, table and the gain plot. Returns vals(norm,
    batch, key) -> per-seed values and gains(norm, key) -> {batch: per-seed norm - baseline}."""
    seeds, sizes = [cfg.seed + i for i in range(cfg.seeds)], cfg.batch_sizes
    by = _train(cfg, run, "c_batch_size", [{"norm": n, "batch_size": b, "seed": s}
                                           for n in norms for b in sizes for s in seeds],
                cfg.hidden_dims, cfg.batch_learning_rate, weight_scale=cfg.weight_scale)

    def vals(n, b, key):
        return [by[(n, b, s)][key] for s in seeds]

    def gains(n, key):
        return {b: [x - y for x, y in zip(vals(n, b, key), vals("none", b, key), strict=True)]
                for b in sizes}

    run.plot("c_batch_size", "curves", title="(c) Accuracy per epoch by batch size (mean over "
             "seeds)", xlabel="epoch", panels=_acc_panels(lambda key: {
                 f"{LABELS[n]} batch {b}": epoch_series(vals(n, b, key))
                 for n in norms for b in sizes}))
    run.table("c_batch_size", ["batch size", "net", "final train acc", "gain over baseline",
                               "best val acc", "gain over baseline"],
              [[b, LABELS[n]] + [x for key, _ in ACCS for x in (
                  pm(*mean_std(vals(n, b, key))), "" if n == "none" else pm(*paired_difference(
                      vals(n, b, key), vals("none", b, key)), sign=True))]
               for b in sizes for n in norms],
              title=f"(c) Batch size (mean ± std over {len(seeds)} seeds; gains are paired by "
                    "seed, mean ± standard error)",
              note="With a fixed number of epochs a smaller batch makes more updates, which "
                   "changes every net; the gain over the baseline at the same batch size "
                   "isolates what the normalisation adds.")
    run.plot("c_gain", "curves", title=gain_title, xlabel="batch size", logx=True, panels=[
        {"ylabel": f"gain over baseline, {label}", "series": {LABELS[n]: [list(sizes), [
            float(np.mean(g)) for g in gains(n, key).values()]] for n in norms[1:]}}
        for key, label in ACCS])
    return vals, gains


def _growth(gains, sizes):
    """(mean, standard error) of gain(largest batch) - gain(smallest batch), paired by seed."""
    return paired_difference(gains[max(sizes)], gains[min(sizes)])


def _batch_claims_bn(cfg, run, gains):
    for key, label in ACCS:
        g = gains("batchnorm", key)
        m, se = _growth(g, cfg.batch_sizes)
        run.claim(f"(c) larger batches help batchnorm: gain over the baseline ({label}) at "
                  f"batch {max(cfg.batch_sizes)} minus at batch {min(cfg.batch_sizes)}",
                  m > 2 * se, True, better="equal", source=SOURCE["batchnorm"],
                  note=f"{S1_6_CLAIMS['c']}. Measured {pm(m, se, sign=True)} (paired by seed, "
                       "standard error); criterion: above 0 by more than 2 standard errors. "
                       "Gains per batch size: "
                       + ", ".join(f"{b}: {np.mean(v):+.3f}" for b, v in g.items()))


def _batch_claims_ln(cfg, run, vals, gains):
    sizes, src = cfg.batch_sizes, SOURCE["layernorm"]
    lo, hi, rows = min(sizes), max(sizes), []
    for key, label in ACCS:
        means = {n: [float(np.mean(vals(n, b, key))) for b in sizes] for n in LABELS}
        spread = {n: max(m) - min(m) for n, m in means.items()}
        growth = {n: _growth(gains(n, key), sizes) for n in ("batchnorm", "layernorm")}
        rows += [[label, LABELS[n], spread[n], pm(*growth[n], sign=True) if n in growth else ""]
                 for n in LABELS]
        m_ln, se_ln = growth["layernorm"]
        run.claim(f"(c) layernorm's gain over the baseline ({label}) does not depend on the "
                  "batch size", abs(m_ln) <= 2 * se_ln or abs(m_ln) <= 0.01, True,
                  better="equal", source=src,
                  note=f"{S1_7_CLAIMS['c']}. Change of the gain from batch {lo} to {hi}: "
                       f"layernorm {pm(m_ln, se_ln, sign=True)}, batchnorm "
                       f"{pm(*growth['batchnorm'], sign=True)} (paired by seed, standard "
                       "error); criterion: within 2 standard errors of 0, or under 0.01. "
                       "Range over batch sizes: layernorm "
                       f"{spread['layernorm']:.3f}, batchnorm {spread['batchnorm']:.3f}, "
                       f"baseline {spread['none']:.3f}")
    run.table("c_dependence", ["accuracy", "net", "range over batch sizes",
                               f"gain over baseline, batch {hi} minus batch {lo}"], rows,
              title="(c) Batch-size dependence",
              note="The range includes what the batch size does to any net (more updates with "
                   "small batches); the change of the gain over the baseline removes that "
                   "part as far as the baseline shows it.")
    x = np.random.default_rng(cfg.seed).standard_normal((100, 64)) * 2 + 1
    dep = {n: batch_dependence(layer, x, (5, 10, 50))
           for n, layer in (("layernorm", LayerNorm), ("batchnorm", BatchNorm))}
    run.table("c_forward", ["layer", *[f"batch {b}" for b in (5, 10, 50)]],
              [[n, *d.values()] for n, d in dep.items()],
              title="(c) Largest change of a sample's train-mode output when 100 samples are "
                    "normalised in batches of 5, 10 or 50 instead of all at once (float64)")
    run.claim("(c) a sample's layernorm output is the same in any batch (largest change)",
              max(dep["layernorm"].values()), 0.0, better="equal", tolerance=1e-12,
              source=src, note=f"batchnorm: up to {max(dep['batchnorm'].values()):.3f}")


# --- (d) the two backward passes ---------------------------------------------------------


def _backward_speed(cfg):
    """Gradient agreement and timing of BatchNorm.backward vs backward_alt on cfg.bn_shapes."""
    rng, rows = np.random.default_rng(cfg.seed), []
    for dtype in (np.float64, np.float32):
        for N, D in cfg.bn_shapes:
            x = (rng.standard_normal((N, D)) * 3 + 1).astype(dtype)
            gamma, beta = (rng.standard_normal(D).astype(dtype) for _ in range(2))
            _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
            dout = rng.standard_normal((N, D)).astype(dtype)
            graph, closed = BatchNorm.backward(dout, cache), BatchNorm.backward_alt(dout, cache)
            (t_graph, t_closed), (ratios,) = time_interleaved(
                [lambda d=dout, c=cache: BatchNorm.backward(d, c),
                 lambda d=dout, c=cache: BatchNorm.backward_alt(d, c)],
                repeats=cfg.timing_repeats, min_time=cfg.timing_min_time)
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            rows.append({"shape": [N, D], "dtype": np.dtype(dtype).name, "max_abs_diff": [
                float(np.max(np.abs(g.astype(np.float64) - c.astype(np.float64))))
                for g, c in zip(graph, closed, strict=True)],
                         "norm_error_dx": norm_error(graph[0], closed[0]),
                         "graph_ms": t_graph["median"] * 1e3, "closed_ms": t_closed["median"] * 1e3,
                         "speedup": t_graph["median"] / t_closed["median"],
                         "speedup_q1": q[0], "speedup_q3": q[2], "n": t_graph["n"],
                         "speedup_median_round": statistics.median(ratios),
                         "closed_faster_rounds": float(np.mean(np.asarray(ratios) > 1)),
                         "spread": max(t_graph["spread"], t_closed["spread"])})
    return {"rows": rows}


def _backward_passes(cfg, run):
    speed, src = cell(run, "d_backward_speed", lambda: _backward_speed(cfg))["rows"], \
        SOURCE["batchnorm"]
    run.table("d_backward", ["shape (N, D)", "dtype", "max abs diff dx", "max abs diff dgamma",
                             "max abs diff dbeta", "normwise error dx", "backward ms",
                             "backward_alt ms", "closed-form speed-up", "per-round ratio IQR",
                             "rounds closed form faster", "timing spread"],
              [[f"{r['shape'][0]}x{r['shape'][1]}", r["dtype"], *r["max_abs_diff"],
                r["norm_error_dx"], r["graph_ms"], r["closed_ms"], r["speedup"],
                f"{r['speedup_q1']:.2f}-{r['speedup_q3']:.2f}",
                f"{r['closed_faster_rounds']:.0%}", f"{r['spread']:.0%}"] for r in speed],
              title="(d) BatchNorm.backward (step by step) vs backward_alt (closed form)",
              note=f"Timed in this run, interleaved round by round (at least {cfg.timing_repeats} "
                   f"calls each and {cfg.timing_min_time:g} s after a warm-up); speed-up: ratio "
                   "of the median times. A timing spread (IQR / median) above ~20% marks a "
                   "shape disturbed by other processes.")
    run.claim("(d) closed-form backward speed-up (geometric mean over shapes and dtypes)",
              float(np.exp(np.mean(np.log([r["speedup"] for r in speed])))), None, unit="x",
              source=src, note="per shape " + ", ".join(
                  f"{r['shape'][0]}x{r['shape'][1]} {r['dtype']}: {r['speedup']:.2f}x"
                  for r in speed))
    run.claim("(d) the closed form is faster on every shape (faster in most timing rounds)",
              all(r["speedup_median_round"] > 1 for r in speed), True, better="equal",
              source=src, note=f"{S1_6_CLAIMS['d']}; median per-round ratio per shape: "
              + ", ".join(f"{r['speedup_median_round']:.2f}" for r in speed)
              + "; share of rounds the closed form was faster: "
              + ", ".join(f"{r['closed_faster_rounds']:.0%}" for r in speed))
    worst = {t: max(max(r["max_abs_diff"]) for r in speed if r["dtype"] == t)
             for t in ("float64", "float32")}
    run.claim("(d) largest gradient difference between the two backward passes (float64)",
              worst["float64"], S1_6_BACKWARD_AGREEMENT, better="lower",
              source="tested bound in benchmarks/batchnorm_backward.py",
              note=f"the same function in exact arithmetic; float32: {worst['float32']:.2e}")
    # Training with either backward: same seed, same data, same everything else.
    by = _train(cfg, run, "d_training", [{"norm": "batchnorm", "backward": b, "seed": cfg.seed}
                                         for b in ("graph", "closed")], cfg.hidden_dims,
                cfg.learning_rate, weight_scale=cfg.weight_scale, batch_size=cfg.batch_size)
    graph, closed = by.values()
    acc_diff = max(abs(a - b) for key in ("train_acc_history", "val_acc_history")
                   for a, b in zip(graph[key], closed[key], strict=True))
    param_diff = max(float(np.max(np.abs(np.asarray(graph["params"][k])
                                         - np.asarray(closed["params"][k]))))
                     for k in graph["params"])
    run.table("d_training", ["backward", "final train acc", "best val acc", "final loss"],
              [[c[1], r["final_train_acc"], r["best_val_acc"], r["final_loss"]]
               for c, r in by.items()],
              title=f"(d) The {len(cfg.hidden_dims) + 1}-layer batchnorm net of (a) trained "
                    "with either backward (float64, same seed)")
    run.claim("(d) largest accuracy difference over all epochs, trained with either backward",
              acc_diff, 0.0, better="equal", tolerance=0.0, source=src,
              note=f"largest parameter difference after training {param_diff:.2e} (first "
                   "2,000 entries of every parameter): the backward choice changes rounding "
                   "only, so it cannot change what the net learns")


# --- experiments -------------------------------------------------------------------------


@dataclass
class NormStudyConfig:
    """What S1.6 and S1.7 share: the study's settings, the course notebook's where it is
    silent."""

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

    bn_shapes: tuple = ((64, 100), (256, 512), (1024, 1024), (4096, 256))
    timing_repeats: int = 20
    timing_min_time: float = 0.5


@dataclass
class LayernormConfig(NormStudyConfig):
    """S1.7: S1.6 (b) and (c) with layernorm."""


QUICK = {"dataset": "builtin", "val": 100, "num_train": 100, "seeds": 2, "epochs": 2,
         "num_scales": 3, "scale_seeds": 1, "scale_hidden_dims": (20, 20, 20),
         "hidden_dims": (20, 20, 20), "batch_sizes": (10, 50)}


def _settings_note(cfg, run, *parts):
    run.note("Settings and choices", "\n".join([
        f"- Data: {cfg.num_train} CIFAR-10 training images (a seeded random draw; the "
        f"CIFAR-10 here is a lossy JPEG copy, see Data) and {cfg.val} validation images, mean "
        "image subtracted. Adam throughout. The training images are fixed by seed "
        f"{cfg.seed}; the seed repeats change the initial weights and the minibatch order.",
        f"- (b): the course's {len(cfg.scale_hidden_dims) + 1}-layer net (hidden "
        f"{list(cfg.scale_hidden_dims)}; the study names no net), {cfg.num_scales} scales "
        f"from {cfg.scale_low:g} to {cfg.scale_high:g}, learning rate {cfg.learning_rate:g}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs, {cfg.scale_seeds} seeds. Best "
        f"accuracies are the best over epochs 0..{cfg.epochs}.", *parts]))


@experiment("batchnorm", study="S1.6", title="batch normalisation: convergence, weight scale, "
            "batch size, the two backward passes", estimate="3 min", config=BatchnormConfig,
            quick={**QUICK, "bn_shapes": ((16, 10), (64, 32)), "timing_repeats": 5,
                   "timing_min_time": 0.0})
def batchnorm(cfg, run):
    """S1.6 (a)-(d); see the module docstring."""
    _convergence(cfg, run)
    _weight_scale_sweep(cfg, run, "batchnorm")
    _batch_claims_bn(cfg, run, _batch_size_sweep(
        cfg, run, ("none", "batchnorm"),
        "(c) What batchnorm adds over the baseline, by batch size (mean over seeds)")[1])
    _backward_passes(cfg, run)
    _settings_note(
        cfg, run, f"- (a), (c), (d): {len(cfg.hidden_dims) + 1}-layer net, hidden "
        f"{list(cfg.hidden_dims)}, weight scale {cfg.weight_scale:g}, {cfg.epochs} epochs; "
        f"learning rate {cfg.learning_rate:g} and batch {cfg.batch_size} in (a) and (d), "
        f"{cfg.batch_learning_rate:.3g} (the course's 10^-3.5) and batches "
        f"{list(cfg.batch_sizes)} in (c), the baseline trained at every batch size too (the "
        "course trained it at one).",
        "- (d): both backward passes compute the same gradient (differences at rounding "
        "level), so their speed cannot change accuracy; two training runs that differ only in "
        "the backward used are compared directly. Timings are the one part of a run that a "
        "repeat does not reproduce exactly.")


@experiment("layernorm", study="S1.7", title="layer normalisation: weight scale and batch size",
            estimate="3 min", config=LayernormConfig, quick=QUICK)
def layernorm(cfg, run):
    """S1.7: (b) and (c) of S1.6 with layernorm; see the module docstring."""
    _weight_scale_sweep(cfg, run, "layernorm")
    _batch_claims_ln(cfg, run, *_batch_size_sweep(
        cfg, run, ("none", "batchnorm", "layernorm"),
        "(c) What each normalisation adds over the baseline, by batch size (mean over seeds)"))
    _settings_note(
        cfg, run, f"- (c): {len(cfg.hidden_dims) + 1}-layer net (hidden "
        f"{list(cfg.hidden_dims)}), weight scale {cfg.weight_scale:g}, learning rate "
        f"{cfg.batch_learning_rate:.3g}, {cfg.epochs} epochs, batches {list(cfg.batch_sizes)}, "
        "baseline, batchnorm and layernorm at every batch size; the batchnorm weight-scale "
        "sweep is in the batchnorm report (S1.6).")
