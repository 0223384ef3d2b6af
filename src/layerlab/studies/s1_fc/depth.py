"""S1.3 `depth-overfit`: three- and five-layer nets overfitting 50 images over a learning rate
x weight scale grid; the sensitivity to the weight scale is measured."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerlab import references
from layerlab.analysis import count, divergence, first_epoch_reaching, log_grid, slope, verdict
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.studies.s1_fc.common import JPEG_NOTE, cell_name, cifar_data, fit_net, record_data


def success_windows(success, step, exclude_edges=True):
    """How wide a range of weight scales reaches 100% at each fixed learning rate. success:
    (n_weight_scales, n_learning_rates) fraction of seeds at 100%, weight scales increasing; a
    cell counts at 0.5 or more. Returns [count * step decades] per learning rate with a success,
    leaving out those touching the first or last row if exclude_edges (the grid cuts them)."""
    ok = np.asarray(success, float) >= 0.5
    return [float(ok[:, j].sum() * step) for j in range(ok.shape[1]) if ok[:, j].any()
            and not (exclude_edges and (ok[0, j] or ok[-1, j]))]


def ridge_slope(success, log_ws, log_lrs):
    """Slope d log10(lr) / d log10(ws) of the band of successes (success as in
    success_windows; log_ws, log_lrs: the grid's log10 values): a least-squares line through
    the mean log10 lr of each weight scale's successes. None when fewer than two succeed."""
    ok = np.asarray(success, float) >= 0.5
    rows = [i for i in range(ok.shape[0]) if ok[i].any()]
    if len(rows) < 2:
        return None
    ys = [float(np.mean(np.asarray(log_lrs)[ok[i]])) for i in rows]
    return float(np.polyfit([log_ws[i] for i in rows], ys, 1)[0])


@dataclass
class DepthOverfitConfig:
    """S1.3. The course's overfitting exercise (raw pixels, as in the course version it comes
    from); lr in half decades, weight scale in quarter decades."""

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
    repeats: int = 5
    seed: int = 0


@experiment("depth-overfit", study="S1.3",
            title="three- vs five-layer nets overfitting 50 images: lr x weight scale",
            estimate="2 min", config=DepthOverfitConfig,
            quick={"dataset": "builtin", "val": 200, "val_eval": 50, "repeats": 1,
                   "learning_rates": (1e-4, 1e-3), "weight_scales": (3e-2, 1e-1)})
def depth_overfit(cfg, run):
    """Which (learning rate, weight scale) reach 100% training accuracy, per depth."""
    split = dict(val=cfg.val, num_train=cfg.num_train, seed=cfg.seed, pixel_scale=cfg.pixel_scale)
    record_data(run, cfg.dataset, **split)
    seeds = range(cfg.seed, cfg.seed + cfg.repeats)

    def one(c):  # one grid point, every seed (hundreds of sub-second runs: fewer trials)
        data = cifar_data(cfg.dataset, **split)
        data = data | {"X_val": data["X_val"][:cfg.val_eval], "y_val": data["y_val"][:cfg.val_eval]}
        out = {}
        for seed in seeds:
            s = fit_net(run, c | {"seed": seed}, data,
                        [cfg.hidden] * (c["depth"] - 1), c["weight_scale"], "sgd",
                        batch_size=cfg.batch_size, num_epochs=cfg.epochs, num_train_samples=None)
            hist = s["train_acc_history"]
            out[str(seed)] = {
                "final_train_acc": hist[-1], "best_train_acc": max(hist),
                "first_epoch_100": first_epoch_reaching(hist, 1.0),
                "final_loss": s["epoch_loss"][-1] if s["epoch_loss"] else None,
                "diverged": s["diverged"]}
        out["mean_final_train_acc"] = float(np.mean([out[str(sd)]["final_train_acc"]
                                                     for sd in seeds]))
        return out

    cells = [{"depth": d, "weight_scale": ws, "learning_rate": lr} for d in cfg.depths
             for ws in cfg.weight_scales for lr in cfg.learning_rates]
    results = grid(run, "grid", cells, one, objective="mean_final_train_acc")
    # each seed of each grid point (depth, weight scale, lr): a point with a diverged seed
    # (in `lost`, {point: {cell: record}}) has no mean, and that seed did not reach 100%
    per_seed = [((c["depth"], c["weight_scale"], c["learning_rate"]), cell_name(c | {"seed": sd}),
                 r[str(sd)]) for c, r in zip(cells, results, strict=True) for sd in seeds]
    lost = divergence.groups(
        run, [k for k, _, _ in per_seed], [n for _, n, _ in per_seed],
        [x for _, _, x in per_seed], "a grid point with one has no mean and is out of the "
        "best-cell pick; a diverged seed counts as not reaching 100% in the success windows")
    finals, reached = {}, {}
    for k, _, x in per_seed:
        finals.setdefault(k, []).append(x["final_train_acc"])
        reached.setdefault(k, []).append(x["final_train_acc"] >= 1.0 and not divergence.of(x))
    log_ws = [math.log10(w) for w in cfg.weight_scales]
    step = (log_ws[-1] - log_ws[0]) / (len(log_ws) - 1) if len(log_ws) > 1 else 1.0
    rows = []
    summary = {d: _depth(cfg, run, d, finals, lost, reached, rows, step) for d in cfg.depths}
    run.table("successes", ["depth", "weight scale", "learning rates reaching 100%",
                            "count", "best final train acc"], rows,
              title="Where 100% training accuracy is reached (at least half the seeds)")
    _report(cfg, run, summary, step, len(seeds))


def _depth(cfg, run, d, finals, lost, reached, rows, step):
    """One depth: its heat map and rows of the successes table (appended to `rows`); returns
    its summary (success fraction, windows, the best cell's accuracies, band slope)."""
    def matrix(f):  # (n_weight_scales, n_learning_rates) of f(ws, lr)
        return np.array([[f(ws, lr) for lr in cfg.learning_rates] for ws in cfg.weight_scales],
                        float)

    def mean(windows):
        return float(np.mean(windows)) if windows else 0.0

    acc = matrix(lambda ws, lr: np.nan if (d, ws, lr) in lost else np.mean(finals[d, ws, lr]))
    success = matrix(lambda ws, lr: np.mean(reached[d, ws, lr]))
    windows = success_windows(success, step)
    best_cell = []  # the largest mean final accuracy, the first in grid order on a tie
    if np.isfinite(acc).any():
        i, j = np.unravel_index(np.nanargmax(acc), acc.shape)
        best_cell = [float(x) for x in finals[d, cfg.weight_scales[i], cfg.learning_rates[j]]]
    run.plot(f"heatmap_depth{d}", "heatmap",
             title=f"{d}-layer net: final train accuracy (mean over seeds)",
             values=acc.tolist(), row_labels=[f"{w:.3g}" for w in cfg.weight_scales],
             col_labels=[f"{lr:.0e}" for lr in cfg.learning_rates],
             xlabel="learning rate", ylabel="weight scale")
    for i, ws in enumerate(cfg.weight_scales):  # a row without a number: every lr diverged
        ok = [lr for j, lr in enumerate(cfg.learning_rates) if success[i, j] >= 0.5]
        rows.append([d, ws, f"{min(ok):.0e} .. {max(ok):.0e}" if ok else "none", len(ok),
                     float(np.nanmax(acc[i])) if np.isfinite(acc[i]).any()
                     else divergence.label(lost[d, ws, cfg.learning_rates[0]])])
    return {"fraction": float(success.mean()), "mean_window": mean(windows),
            "max_window": max(windows) if windows else 0.0, "best_cell": best_cell,
            "seed_windows": [mean(success_windows(matrix(
                lambda ws, lr, k=k: reached[d, ws, lr][k]), step)) for k in range(cfg.repeats)],
            "lost": [n for k, g in lost.items() if k[0] == d for n in g],
            "slope": ridge_slope(success, [math.log10(w) for w in cfg.weight_scales],
                                 [math.log10(lr) for lr in cfg.learning_rates])}


def _report(cfg, run, summary, step, n_seeds):
    """The sensitivity table, the claims and the notes, from the per-depth summary."""
    run.table("sensitivity", ["depth", "grid cells reaching 100%",
                              "weight-scale window at a fixed lr (mean, decades)",
                              "widest window (decades)", "slope d log lr / d log ws"],
              [[d, f"{s['fraction']:.1%}", s["mean_window"], s["max_window"],
                "" if s["slope"] is None else s["slope"]] for d, s in summary.items()],
              title="Sensitivity to the weight scale, measured",
              note="Window: at each learning rate where some weight scale reaches 100%, the "
                   f"span of those that do (count x {step:.3g} decades), leaving out windows cut "
                   "by the grid's edge. Slope: successes lie along lr ∝ ws^slope; scaling "
                   "predicts -(L-2) for L layers (output ∝ ws^L, a weight's gradient ∝ "
                   "ws^(L-1), relative step lr·grad/w ∝ lr·ws^(L-2)), so a factor k in the "
                   "weight scale is a factor k^(L-2) in the effective learning rate.")
    for d, s in summary.items():
        run.judge(f"{d}-layer net reaches 100% training accuracy in {cfg.epochs} epochs",
                  "figure", verdict.from_seeds(s["best_cell"]) if s["best_cell"] else None,
                  references.S1_3_TARGET_TRAIN_ACC, source="the study",
                  diverged=False if s["best_cell"] else s["lost"],
                  note=f"the best grid cell's final train accuracy on all {cfg.num_train} "
                       f"images over {count(n_seeds, 'seed')}, per seed {s['best_cell']}; "
                       f"{s['fraction']:.1%} of the grid reaches it in half the seeds or more")
    if 3 in summary and 5 in summary:
        _compare_depths(run, summary[3], summary[5])
    run.note("settings", (
        f"{cfg.num_train} training images (a seeded draw from {cfg.dataset}'s training set), "
        f"pixels in [0, 1] times {cfg.pixel_scale:g} minus their mean image, SGD, batch "
        f"{cfg.batch_size}, {cfg.epochs} epochs, no decay, {cfg.hidden} units per hidden layer, "
        f"Gaussian init, {count(n_seeds, 'seed')} per cell (weights and shuffling). Success = "
        "training accuracy 1.0 after the last epoch. " + JPEG_NOTE))


def _compare_depths(run, s3, s5):
    """Is the five-layer net more sensitive to the weight scale than the three-layer one?"""
    ratio = (s3["mean_window"] / s5["mean_window"] if s5["mean_window"]
             else float("inf") if s3["mean_window"] else float("nan"))
    run.judge("five-layer net is more sensitive to the weight scale", "comparison",
              verdict.from_pairs(s3["seed_windows"], s5["seed_windows"]), better="higher", key=True,
              source="the study ('far more sensitive')",
              note="3-layer minus 5-layer weight-scale window at a fixed learning rate "
                   "(decades; each seed's own successes, windows cut by the grid's edge left "
                   f"out, 0 when none), paired by seed: {_decades(s3['seed_windows'])} vs "
                   f"{_decades(s5['seed_windows'])}; the windows pooled over seeds are in the "
                   "reading")
    run.judge("weight-scale window ratio, 3-layer / 5-layer", "measured", verdict.exact(ratio),
              note="of the windows pooled over seeds (a cell counts when half the seeds or "
                   "more succeed): one number, no interval (the comparison above carries the "
                   "noise); > 1 means the five-layer net tolerates a narrower range")
    run.note("reading", _reading(s3, s5, ratio))


def _decades(windows):
    """'0.88, 1.00, 0.94': each seed's window in decades, for a note."""
    return ", ".join(f"{w:.2f}" for w in windows)


def _reading(s3, s5, ratio):
    """The reading note, worded from the measured windows, slopes and success fractions."""
    text = (f"At a fixed learning rate the five-layer net reaches 100% over "
            f"{s5['mean_window']:.2f} decades of weight scale, the three-layer net over "
            f"{s3['mean_window']:.2f}")
    if math.isfinite(ratio) and ratio > 0:
        text += f" ({ratio:.1f}x {'wider' if ratio >= 1 else 'narrower'})"
    if s3["slope"] is not None and s5["slope"] is not None:
        text += (f"; along the bands lr ∝ ws^{slope(s5['slope'])} against "
                 f"ws^{slope(s3['slope'])}: a weight scale off by k shifts the learning rate "
                 f"the five-layer net needs by about k^{-s5['slope']:.2f}, the three-layer "
                 f"net's by about k^{-s3['slope']:.2f}")
    text += (". That is the sense in which it is 'far more sensitive'. " if ratio > 1 else
             ". This run does not show it as more sensitive. ")
    return text + (f"Overall {s5['fraction']:.0%} of the five-layer net's cells succeed, "
                   f"against {s3['fraction']:.0%} of the three-layer net's" + (
                       ": its band is narrower, so it needs a weight scale matched to the "
                       "learning rate." if ratio > 1 else "."))
