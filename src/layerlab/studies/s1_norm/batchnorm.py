"""S1.6 `batchnorm`: (a) convergence of a six-layer net with and without batchnorm over seeds;
(b) sensitivity to 20 weight scales from 1e-4 to 1; (c) batch sizes 5, 10, 50: does the gain
over the baseline grow with the batch; (d) the two backward passes (step by step, closed form):
agreement, speed timed in the run, and two training runs that differ only in the backward."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from layerlab.analysis import count, divergence, first_epoch_reaching, mean_std, pm, verdict
from layerlab.analysis.curves import accuracy_panels, loss_series
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell
from layerlab.references import S1_6_BACKWARD_AGREEMENT, S1_6_CLAIMS
from layerlab.scratch.gradcheck import norm_error
from layerlab.scratch.norm import BatchNorm
from layerlab.studies.s1_fc.common import record_data
from layerlab.studies.s1_norm import common
from layerlab.timing import time_interleaved

SOURCE = common.SOURCE["batchnorm"]


def _convergence(cfg, run):
    """(a) baseline vs batchnorm over seeds: per-seed table, plots, and the claims on the loss
    area and the epochs to reach the baseline's final train accuracy; returns the lost."""
    seeds, norms = range(cfg.seed, cfg.seed + cfg.seeds), ("none", "batchnorm")
    by, lost = common.train(cfg, run, "a_convergence", [{"norm": n, "seed": s} for n in norms
                                                        for s in seeds],
                            cfg.hidden_dims, cfg.learning_rate, weight_scale=cfg.weight_scale,
                            batch_size=cfg.batch_size, view=lambda c: c["seed"] == cfg.seed)
    rows, area, reach = [], {n: [] for n in norms}, {n: [] for n in norms}
    for s in seeds:
        target = by[("none", s)]["train_acc_history"][-1]
        for n in norms:
            r = by[(n, s)]
            area[n].append(float(np.mean(r["loss_history"])))
            reach[n].append(first_epoch_reaching(r["train_acc_history"], target))
            reached = "never" if reach[n][-1] is None else reach[n][-1]
            if divergence.of(by[("none", s)]) and n != "none":
                reached = "no target: the baseline diverged"
            rows.append([s, common.LABELS[n], *(divergence.value_or_label(r, x) for x in (
                r["final_train_acc"], r["best_val_acc"], area[n][-1], reached))])
    run.table("a_convergence", ["seed", "net", "final train acc", "best val acc",
                                "mean training loss (area / iterations)",
                                "epochs to reach the baseline's final train acc"], rows,
              title=f"(a) Convergence per seed, {len(cfg.hidden_dims) + 1}-layer net",
              note="Target of the last column: the baseline's train accuracy after the last "
                   "epoch, same seed.")
    runs = {common.LABELS[n]: [by[(n, s)] for s in seeds] for n in norms if (n,) not in lost}
    run.plot("a_loss", "curves", title="(a) Training loss (mean over seeds)",
             xlabel="iteration", ylabel="loss", series=loss_series(runs))
    run.plot("a_accuracy", "curves", title="(a) Accuracy per epoch (mean over seeds)",
             xlabel="epoch", panels=accuracy_panels(runs))
    common.activation_plot(run, "a_activations", f"(a) Activations per layer, with and without "
                           f"batchnorm (probes, seed {cfg.seed})",
                           {common.LABELS[n]: by[(n, cfg.seed)] for n in norms})
    dead = common.behind(lost)  # no claim is judged when a cell diverged
    never = cfg.epochs + 1  # "never reached" counts as one epoch past the last
    epochs = {n: [never if e is None else e for e in reach[n]] for n in reach}
    for what, values in (("a smaller area under the training-loss curve", area),
                         ("fewer epochs to reach the baseline's final train accuracy", epochs)):
        run.judge(f"(a) batchnorm converges faster than the baseline: {what}", "comparison",
                  None if dead else verdict.from_pairs(values["batchnorm"], values["none"]),
                  better="lower", key=values is area, source=SOURCE, diverged=dead,
                  note=f"{S1_6_CLAIMS['a']}. Batchnorm minus baseline, paired by seed; per "
                       f"seed {values['batchnorm']} vs {values['none']}")
    run.judge("(a) area under the training-loss curve, batchnorm / baseline", "measured",
              None if dead else verdict.from_seeds([b / n for b, n in zip(
                  area["batchnorm"], area["none"], strict=True)]), diverged=dead, source=SOURCE,
              note=f"baseline {pm(*mean_std(area['none']))}, batchnorm "
                   f"{pm(*mean_std(area['batchnorm']))} (mean ± std over seeds)")
    run.judge("(a) epochs batchnorm needs to reach the baseline's final train accuracy",
              "measured", None if dead else verdict.from_seeds(epochs["batchnorm"]),
              diverged=dead, unit=f"of {cfg.epochs}", source=SOURCE,
              note=f"per seed {epochs['batchnorm']} (baseline: {epochs['none']}; {never} = "
                   "never reached)")
    return lost


def _backward_speed(cfg):
    """Gradient agreement and interleaved timing of BatchNorm.backward and backward_alt for
    each dtype and shape of cfg.bn_shapes."""
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
            rows.append({
                "shape": [N, D], "dtype": np.dtype(dtype).name,
                "max_abs_diff": [float(np.max(np.abs(g.astype(np.float64) - c.astype(np.float64))))
                                 for g, c in zip(graph, closed, strict=True)],
                "norm_error_dx": norm_error(graph[0], closed[0]),
                "graph_ms": t_graph["median"] * 1e3, "closed_ms": t_closed["median"] * 1e3,
                "speedup": t_graph["median"] / t_closed["median"], "speedup_q1": q[0],
                "speedup_q3": q[2], "closed_faster_rounds": float(np.mean(np.asarray(ratios) > 1)),
                "log_ratios": [float(np.log(r)) for r in ratios],
                "spread": max(t_graph["spread"], t_closed["spread"])})
    return {"rows": rows}


def _backward_passes(cfg, run):
    """(d) agreement and speed of the two backward passes."""
    speed = cell(run, "d_backward_speed", lambda: _backward_speed(cfg))["rows"]
    shapes = [f"{r['shape'][0]}x{r['shape'][1]}" for r in speed]
    run.table("d_backward", ["shape (N, D)", "dtype", "max abs diff dx", "max abs diff dgamma",
                             "max abs diff dbeta", "normwise error dx", "backward ms",
                             "backward_alt ms", "closed-form speed-up", "per-round ratio IQR",
                             "rounds closed form faster", "timing spread"],
              [[shape, r["dtype"], *r["max_abs_diff"], r["norm_error_dx"], r["graph_ms"],
                r["closed_ms"], r["speedup"], f"{r['speedup_q1']:.2f}-{r['speedup_q3']:.2f}",
                f"{r['closed_faster_rounds']:.0%}", f"{r['spread']:.0%}"]
               for shape, r in zip(shapes, speed, strict=True)],
              title="(d) BatchNorm.backward (step by step) vs backward_alt (closed form)",
              note=f"Timed in this run, interleaved round by round (at least {cfg.timing_repeats} "
                   f"calls each and {cfg.timing_min_time:g} s after a warm-up); speed-up: ratio "
                   "of the median times. A timing spread (IQR / median) above ~20% marks a "
                   "shape disturbed by other processes.")
    logs = verdict.from_seeds([float(np.log(r["speedup"])) for r in speed])
    run.judge("(d) closed-form backward speed-up (geometric mean over shapes and dtypes)",
              "measured", verdict.Estimate(*(float(np.exp(x)) for x in (
                  logs.value, logs.low, logs.high)), "seeds", logs.n), unit="x", source=SOURCE,
              note="the interval is over the shapes (n counts shapes x dtypes, not seeds): "
                   "their spread, not timing noise; per shape " + ", ".join(
                       f"{shape} {r['dtype']}: {r['speedup']:.2f}x"
                       for shape, r in zip(shapes, speed, strict=True)))
    per_round = [verdict.from_seeds(r["log_ratios"]) for r in speed]
    weakest = min(range(len(speed)), key=lambda i: per_round[i].low)
    run.judge("(d) the closed form is faster on every shape (log time ratio per timing round, "
              "weakest shape)", "comparison", per_round[weakest], better="higher",
              source=SOURCE, note=f"{S1_6_CLAIMS['d']}. Judged on the shape whose interval "
              f"reaches lowest ({shapes[weakest]} {speed[weakest]['dtype']}). log(step-by-step "
              "time / closed-form time) per interleaved round; n counts timing rounds, which on "
              "a shared machine are not fully independent. Rounds the closed form was faster: "
              + ", ".join(f"{r['closed_faster_rounds']:.0%}" for r in speed))
    worst = {t: max(max(r["max_abs_diff"]) for r in speed if r["dtype"] == t)
             for t in ("float64", "float32")}
    run.judge("(d) largest gradient difference between the two backward passes (float64)",
              "goal", verdict.exact(worst["float64"]), S1_6_BACKWARD_AGREEMENT, better="lower",
              source="layerlab's goal: the bound tested in benchmarks/batchnorm_backward.py",
              note=f"the same function in exact arithmetic; float32: {worst['float32']:.2e}")


def _backward_training(cfg, run):
    """(d) the net of (a) trained with either backward, all else the same (not judged when
    either diverged); returns the grid's lost."""
    cells = [{"norm": "batchnorm", "backward": b, "seed": cfg.seed} for b in ("graph", "closed")]
    by, lost = common.train(cfg, run, "d_training", cells, cfg.hidden_dims, cfg.learning_rate,
                            weight_scale=cfg.weight_scale, batch_size=cfg.batch_size)
    run.table("d_training", ["backward", "final train acc", "best val acc", "final loss"],
              [[c[1], *(divergence.value_or_label(r, r[k]) for k in (
                  "final_train_acc", "best_val_acc", "final_loss"))] for c, r in by.items()],
              title=f"(d) The {len(cfg.hidden_dims) + 1}-layer batchnorm net of (a) trained "
                    "with either backward (float64, same seed)")
    claim = "(d) largest accuracy difference over all epochs, trained with either backward"
    if lost:  # a diverged net's histories stop at its step: nothing to compare
        run.judge(claim, "figure", None, 0.0, better="equal", source=SOURCE,
                  diverged=common.behind(lost))
        return lost
    graph, closed = by.values()
    acc_diff = max(abs(a - b) for key in ("train_acc_history", "val_acc_history")
                   for a, b in zip(graph[key], closed[key], strict=True))
    param_diff = max(float(np.max(np.abs(np.asarray(graph["params"][k])
                                         - np.asarray(closed["params"][k]))))
                     for k in graph["params"])
    run.judge(claim, "figure", verdict.exact(acc_diff), 0.0, better="equal", source=SOURCE,
              note=training_note(acc_diff, param_diff))
    return lost


def training_note(acc_diff, param_diff):
    """(d)'s note on the two trainings, worded from their largest accuracy and parameter
    differences: the backward passes differ in rounding only, which may or may not grow."""
    return (f"largest parameter difference after training {param_diff:.2e} (first 2,000 entries "
            "of every parameter); the two backward passes differ in rounding only, which "
            + ("changed no accuracy here" if acc_diff == 0 else
               f"training amplified here into accuracies up to {acc_diff:.3g} apart"))


@dataclass
class BatchnormConfig(common.NormStudyConfig):
    """S1.6: the shared settings, plus (d)'s timing of the two backward passes."""

    bn_shapes: tuple = ((64, 100), (256, 512), (1024, 1024), (4096, 256))
    timing_repeats: int = 20
    timing_min_time: float = 0.5


@experiment("batchnorm", study="S1.6", title="batch normalisation: convergence, weight scale, "
            "batch size, the two backward passes", estimate="3 min", config=BatchnormConfig,
            quick={**common.QUICK, "bn_shapes": ((16, 10), (64, 32)), "timing_repeats": 5,
                   "timing_min_time": 0.0})
def batchnorm(cfg, run):
    """S1.6 (a)-(d); see the module docstring."""
    record_data(run, cfg.dataset, **common.split(cfg))
    lost_a, lost_b = _convergence(cfg, run), common.weight_scale_sweep(cfg, run, "batchnorm")
    _, gains, lost_c = common.batch_size_sweep(cfg, run, ("none", "batchnorm"), "(c) What "
                                               "batchnorm adds over the baseline, by batch size "
                                               "(mean over seeds)")
    lo, hi, dead = min(cfg.batch_sizes), max(cfg.batch_sizes), common.behind(lost_c)
    for key, label in common.ACCS:  # (c) does the gain grow from the smallest batch?
        g = gains("batchnorm", key)
        run.judge(f"(c) larger batches help batchnorm: gain over the baseline ({label}) at "
                  f"batch {hi} minus at batch {lo}", "comparison",
                  None if dead else common.growth(g, cfg.batch_sizes), better="higher",
                  diverged=dead, source=SOURCE,
                  note=f"{S1_6_CLAIMS['c']}. Paired by seed ({count(len(g[lo]), 'seed')}); "
                       "gains per batch size (mean over seeds): "
                       + ", ".join(f"{b}: {np.mean(v):+.3f}" for b, v in g.items()))
    _backward_passes(cfg, run)
    common.note_diverged(run, lost_a, lost_b, lost_c, _backward_training(cfg, run))
    common.settings_note(
        cfg, run, f"- (a), (c), (d): the {len(cfg.hidden_dims) + 1}-layer net; (c) at learning "
        f"rate 10^{np.log10(cfg.batch_learning_rate):.3g}, the baseline at every batch size too "
        "(the course trained it at one).",
        "- (d): both backward passes compute the same gradient, so their speed cannot change "
        "accuracy; two training runs that differ only in the backward are compared directly. "
        "Timings are the one part of a run that a repeat does not reproduce exactly.")
