"""S1.8 dropout (scratch engine): statistics, gradient checks, vanilla vs inverted, and
regularisation on CIFAR-10.

One experiment, `dropout`:

- (a) statistics on a 500x500 array of `randn + 10` for p = 0.25, 0.4, 0.7 (p is the
  probability of DROPPING a unit): train- and test-time mean and the fraction of zeros, beside
  the reference fractions, with tolerances from the binomial sampling error.
- (b) gradient check of a three-layer net (hidden 20, 30) with dropout 0, 0.25, 0.5 over
  several seeds (data, initial weights and mask): the initial loss, the course's error (the
  largest element-wise relative error) and the normwise error. The reference reads a fall of
  the error with dropout as "dropout regularises"; the run measures what sets the error
  instead: the largest absolute difference (a rounding floor of about eps * loss / h, the same
  for every p), the error over entries that are not tiny, and how many gradient entries are
  non-zero (dropout zeroes many, which removes candidates for the maximum).
- (c) vanilla vs inverted dropout: train- and test-time means and where the 1 / (1 - p) or
  (1 - p) scaling happens.
- (d) regularisation: a two-layer net (hidden 500) on 500 training images with dropout 0 and
  0.75 (the course's keep ratio 1.0 and 0.25), train and val accuracy per epoch over several
  seeds; and a hidden size x dropout grid with the train-val gap as a heat map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.references import (
    S1_8_DROPOUT_ZERO_FRACTION,
    S1_8_GRADCHECK_ERROR,
    S1_8_INITIAL_LOSS,
    S1_8_MEAN,
    S1_8_TEST_ZERO_FRACTION,
)
from layerlab.scratch.dropout import Dropout
from layerlab.scratch.gradcheck import norm_error, numerical_gradient, rel_error
from layerlab.scratch.models import FullyConnectedNet
from layerlab.trainers.solver_cell import mean_std, paired_difference, train_solver

SOURCE = "shared/STUDIES.md S1.8 (course notebook Dropout)"
# S1.8 (a): what the course printed for the test-time output (dropout is off at test time).
SIGMAS = 4  # tolerance of a sampled statistic, in standard errors


# --- (a) and (c): statistics --------------------------------------------------------------


def dropout_statistics(x, p, inverted, seed):
    """Train- and test-time statistics of Dropout on x for drop probability p.

    Returns a dict: train_mean, test_mean, train_zero_fraction, test_zero_fraction,
    train_scale (median out / x over kept units at train time) and test_scale (median out / x
    at test time).
    """
    param = {"p": p, "inverted": inverted, "seed": seed}
    train, _ = Dropout.forward(x, {**param, "mode": "train"})
    test, _ = Dropout.forward(x, {**param, "mode": "test"})
    kept = train != 0
    return {"train_mean": float(train.mean()), "test_mean": float(test.mean()),
            "train_zero_fraction": float(np.mean(train == 0)),
            "test_zero_fraction": float(np.mean(test == 0)),
            "train_scale": float(np.median(train[kept] / x[kept])),
            "test_scale": float(np.median(test / x))}


def zero_fraction_std(p, n):
    """Standard error of the fraction of n independent units dropped with probability p."""
    return float(np.sqrt(p * (1 - p) / n))


def train_mean_std(mu, p, n, inverted=True):
    """Standard error of the train-time mean of dropout on n iid N(mu, 1) inputs.

    Each output is x * m * s with m ~ Bernoulli(1 - p) and s = 1 / (1 - p) (inverted) or 1:
    E = (1 - p) s mu, E[out^2] = (1 - p) s^2 (mu^2 + 1).
    """
    s = 1 / (1 - p) if inverted else 1.0
    var = (1 - p) * s * s * (mu * mu + 1) - ((1 - p) * s * mu) ** 2
    return float(np.sqrt(var / n))


def _statistics(cfg, run):
    rng = np.random.default_rng(cfg.seed)
    x = rng.standard_normal(tuple(cfg.stats_shape)) + cfg.stats_mean
    n = x.size
    rows, stats = [], {}
    for inverted in (True, False):
        for p in cfg.stats_ps:
            s = dropout_statistics(x, p, inverted, cfg.seed)
            stats[(inverted, p)] = s
            rows.append(["inverted" if inverted else "vanilla", p, s["train_mean"],
                         s["test_mean"], s["train_zero_fraction"], s["test_zero_fraction"],
                         s["train_scale"], s["test_scale"]])
    run.table("a_statistics", ["variant", "p (drop)", "train mean", "test mean",
                               "fraction zero (train)", "fraction zero (test)",
                               "train: kept unit x", "test: unit x"], rows,
              title=f"(a, c) Dropout on {cfg.stats_shape[0]}x{cfg.stats_shape[1]} of randn + "
                    f"{cfg.stats_mean:g}",
              note="The last two columns are where the scaling happens: the factor a kept "
                   "unit is multiplied by at train time, and every unit at test time. Inverted "
                   "dropout scales by 1/(1-p) while training and does nothing at test time; "
                   "vanilla dropout only masks while training and scales by (1-p) at test "
                   "time. Either way the train-time mean (over masks) equals the test-time "
                   "output.")
    # (a) the course's figures (inverted dropout, the default)
    for p in cfg.stats_ps:
        s = stats[(True, p)]
        ref = S1_8_DROPOUT_ZERO_FRACTION.get(p, p)
        tol = SIGMAS * zero_fraction_std(p, n)
        run.claim(f"(a) fraction zeroed at train time, p={p:g}", s["train_zero_fraction"],
                  ref, better="equal", tolerance=tol, source=SOURCE,
                  note=f"tolerance {SIGMAS} binomial standard errors of {n} units; the course's "
                       f"own figure is {abs(ref - p) / zero_fraction_std(p, n):.1f} standard "
                       f"errors from p")
    test_zero = max(stats[(True, p)]["test_zero_fraction"] for p in cfg.stats_ps)
    run.claim("(a) fraction zeroed at test time (largest over p)", test_zero,
              S1_8_TEST_ZERO_FRACTION, better="equal", source=SOURCE)
    worst = max(cfg.stats_ps)
    for when in ("train", "test"):
        devs = [abs(stats[(True, p)][f"{when}_mean"] - S1_8_MEAN) for p in cfg.stats_ps]
        p_far = cfg.stats_ps[int(np.argmax(devs))]
        ours = stats[(True, p_far)][f"{when}_mean"]
        se = (train_mean_std(cfg.stats_mean, worst, n) if when == "train"
              else 1 / np.sqrt(n))
        run.claim(f"(a) {when}-time mean, farthest from 10 over p", ours, S1_8_MEAN,
                  better="equal", tolerance=SIGMAS * se, source=SOURCE,
                  note=f"at p={p_far:g}; per p: " + ", ".join(
                      f"{p:g}: {stats[(True, p)][f'{when}_mean']:.4f}" for p in cfg.stats_ps)
                  + f"; tolerance {SIGMAS} standard errors")
    # (c) vanilla vs inverted: the same expected activation at train and test time
    for inverted in (True, False):
        name = "inverted" if inverted else "vanilla"
        gaps = [stats[(inverted, p)]["train_mean"] - stats[(inverted, p)]["test_mean"]
                for p in cfg.stats_ps]
        tol = SIGMAS * train_mean_std(cfg.stats_mean, worst, n, inverted)
        i = int(np.argmax(np.abs(gaps)))
        run.claim(f"(c) {name}: train-time mean minus test-time mean (largest over p)",
                  float(gaps[i]), 0.0, better="equal", tolerance=tol, source=SOURCE,
                  note=f"at p={cfg.stats_ps[i]:g}; means " + ", ".join(
                      f"p={p:g}: {stats[(inverted, p)]['train_mean']:.3f} / "
                      f"{stats[(inverted, p)]['test_mean']:.3f}" for p in cfg.stats_ps)
                  + f" (train / test); tolerance {SIGMAS} standard errors")
    where = all(abs(stats[(True, p)]["train_scale"] - 1 / (1 - p)) < 1e-6
                and abs(stats[(True, p)]["test_scale"] - 1) < 1e-6
                and abs(stats[(False, p)]["train_scale"] - 1) < 1e-6
                and abs(stats[(False, p)]["test_scale"] - (1 - p)) < 1e-6
                for p in cfg.stats_ps)
    run.claim("(c) inverted scales kept units by 1/(1-p) at train time, vanilla scales by (1-p) "
              "at test time", where, True, better="equal", source=SOURCE,
              note="read off the outputs (last two columns of the statistics table)")


# --- (b): gradient checks -----------------------------------------------------------------


def gradient_check(p, seed, dims=(2, 15, 20, 30, 10), weight_scale=5e-2, h=1e-5, floor=1e-3):
    """Check a FullyConnectedNet with dropout p in float64 (the mask fixed by `seed`).

    dims: (N, D, H1, H2, C). Returns a dict: loss (initial), rel_error (the course's figure:
    per parameter the largest element-wise relative error; here the largest over the
    parameters), rel_errors (per parameter), norm_error (largest over parameters),
    max_abs_diff (largest |analytic - numerical| over every entry), worst_entry (|analytic|
    at the entry with the largest relative error), largest_entry (the largest |analytic|),
    floored_rel_error (the largest relative
    error over entries whose |gradient| is at least `floor` times the largest one), nonzero
    (entries where either gradient is non-zero) and entries (all entries).
    """
    N, D, H1, H2, C = dims
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=weight_scale,
                              dtype=np.float64, seed=seed, dropout=p)
    model.dropout_param["seed"] = seed  # the same mask on every call
    loss, grads = model.loss(X, y)
    analytic, numeric, per = [], [], {}
    norm = 0.0
    for name in sorted(model.params):
        num = numerical_gradient(lambda: model.loss(X, y)[0], model.params[name], h=h)
        per[name] = rel_error(num, grads[name])
        norm = max(norm, norm_error(num, grads[name]))
        analytic.append(grads[name].ravel())
        numeric.append(num.ravel())
    a, n = np.concatenate(analytic), np.concatenate(numeric)
    big = np.abs(a) >= floor * np.abs(a).max()
    worst = np.argmax(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n)))
    return {"loss": float(loss), "rel_error": max(per.values()), "rel_errors": per,
            "norm_error": norm, "max_abs_diff": float(np.max(np.abs(a - n))),
            "worst_entry": float(abs(a[worst])), "largest_entry": float(np.abs(a).max()),
            "floored_rel_error": rel_error(a[big], n[big]),
            "nonzero": int(np.sum((a != 0) | (n != 0))), "entries": int(a.size)}


def log_gap(a, b):
    """(mean, standard error) of log10(a) - log10(b) for two independent samples."""
    la, lb = np.log10(np.asarray(a, float)), np.log10(np.asarray(b, float))
    se = np.sqrt(la.var(ddof=1) / len(la) + lb.var(ddof=1) / len(lb)) if min(
        len(la), len(lb)) > 1 else 0.0
    return float(la.mean() - lb.mean()), float(se)


def _gradient_checks(cfg, run):
    seeds = [cfg.seed + i for i in range(cfg.check_seeds)]
    cells = [{"p": p, "seed": s} for p in cfg.check_ps for s in seeds]
    results = grid(run, "b_gradcheck", cells,
                   lambda c: gradient_check(c["p"], c["seed"], tuple(cfg.check_dims),
                                            cfg.check_weight_scale))
    by = {(c["p"], c["seed"]): r for c, r in zip(cells, results, strict=True)}
    eps_floor = np.finfo(np.float64).eps * S1_8_INITIAL_LOSS / 1e-5
    rows, med = [], {}
    for p in cfg.check_ps:
        rs = [by[(p, s)] for s in seeds]

        def col(key, rs=rs):
            return [r[key] for r in rs]

        med[p] = {k: float(np.median(col(k))) for k in (
            "rel_error", "norm_error", "max_abs_diff", "worst_entry", "largest_entry",
            "floored_rel_error", "nonzero", "loss")}
        rows.append([p, f"{np.mean(col('loss')):.4f} ± {np.std(col('loss'), ddof=1):.4f}"
                     if len(rs) > 1 else rs[0]["loss"],
                     med[p]["rel_error"], f"{min(col('rel_error')):.1e} - "
                     f"{max(col('rel_error')):.1e}", med[p]["norm_error"],
                     med[p]["max_abs_diff"], med[p]["worst_entry"],
                     med[p]["floored_rel_error"],
                     f"{med[p]['nonzero']:.0f} of {rs[0]['entries']}"])
    run.table("b_gradcheck", ["p (drop)", "initial loss (mean ± std)",
                              "course error: max rel error (median)", "range over seeds",
                              "normwise error (median)", "max abs(analytic - numerical) (median)",
                              "abs(gradient) at the worst entry (median)",
                              "rel error, entries >= 1e-3 x max (median)",
                              "non-zero gradient entries (median)"], rows,
              title=f"(b) Gradient check of a three-layer net with dropout, {len(seeds)} seeds "
                    "per p (float64, h = 1e-5)",
              note="Each seed draws the data (N=2), the initial weights (scale "
                   f"{cfg.check_weight_scale:g}) and the dropout mask. The course's figure is "
                   "the largest element-wise relative error. Compare the largest absolute "
                   "difference with the rounding floor of a centred difference, eps x loss / h "
                   f"~ {eps_floor:.1e}, and the size of the gradient entry where the relative "
                   "error is largest with the largest entry (median over every check: "
                   f"{np.median([r['largest_entry'] for r in results]):.2f}).")
    run.plot("b_gradcheck", "curves", title="(b) Gradient-check errors by seed and dropout",
             xlabel="seed", panels=[
                 {"ylabel": "course error (max rel error)", "logy": True,
                  "series": {f"p={p:g}": [seeds, [by[(p, s)]["rel_error"] for s in seeds]]
                             for p in cfg.check_ps}},
                 {"ylabel": "max abs(analytic - numerical)", "logy": True,
                  "series": {f"p={p:g}": [seeds, [by[(p, s)]["max_abs_diff"] for s in seeds]]
                             for p in cfg.check_ps}}])
    for p in cfg.check_ps:
        run.claim(f"(b) initial loss, p={p:g} (mean over seeds)",
                  float(np.mean([by[(p, s)]["loss"] for s in seeds])), S1_8_INITIAL_LOSS,
                  better="equal", tolerance=0.05, source=SOURCE,
                  note="about ln 10 = 2.3026 for small weights")
    for p in cfg.check_ps:
        errs = [by[(p, s)]["rel_error"] for s in seeds]
        run.claim(f"(b) course error (largest element-wise relative error), p={p:g}, median "
                  "over seeds", med[p]["rel_error"], S1_8_GRADCHECK_ERROR, better="lower",
                  source=SOURCE,
                  note=f"range {min(errs):.1e} to {max(errs):.1e}; "
                       f"{sum(e <= S1_8_GRADCHECK_ERROR for e in errs)} of {len(errs)} seeds at "
                       f"or below {S1_8_GRADCHECK_ERROR:g}; normwise error (median) "
                       f"{med[p]['norm_error']:.1e}")
    run.claim("(b) normwise error, largest over every p and seed",
              max(r["norm_error"] for r in results), S1_8_GRADCHECK_ERROR, better="lower",
              source=SOURCE, note="the criterion layerlab's own model checks use")
    lo, hi = min(cfg.check_ps), max(cfg.check_ps)
    gap, se = log_gap([by[(lo, s)]["rel_error"] for s in seeds],
                      [by[(hi, s)]["rel_error"] for s in seeds])
    falls = gap > 2 * se
    run.claim(f"(b) the course error falls from p={lo:g} to p={hi:g}", falls, True,
              better="equal", source=SOURCE,
              note=f"mean log10 error drops by {gap:.2f} ± {se:.2f} decades (standard error "
                   "over seeds); criterion: more than 2 standard errors")
    abs_ratio = med[hi]["max_abs_diff"] / med[lo]["max_abs_diff"]
    floor_ratio = med[hi]["floored_rel_error"] / med[lo]["floored_rel_error"]
    seed_sd = float(np.std(np.log10([by[(lo, s)]["rel_error"] for s in seeds]), ddof=1)) \
        if len(seeds) > 1 else 0.0
    # If dropout made the derivative genuinely more precise, the error would fall on the
    # entries that matter too, and so would the absolute difference.
    regularises = bool(floor_ratio < 0.5 and abs_ratio < 0.5)
    run.claim("(b) the error falls because dropout makes the check more precise "
              "('because dropout regularises')", regularises, True, better="equal",
              source=SOURCE,
              note="a gradient check compares two computations of the derivative of one fixed "
                   "function (the mask is frozen); generalisation does not enter it. Criterion "
                   "for a real improvement: the absolute difference AND the relative error over "
                   "entries >= 1e-3 x the largest both fall by more than 2x from "
                   f"p={lo:g} to p={hi:g}. Measured (medians over seeds): largest absolute "
                   f"difference {med[lo]['max_abs_diff']:.1e} -> {med[hi]['max_abs_diff']:.1e} "
                   f"(rounding floor eps x loss / h ~ {eps_floor:.1e}); relative error over "
                   f"those entries {med[lo]['floored_rel_error']:.1e} -> "
                   f"{med[hi]['floored_rel_error']:.1e}; abs(gradient) where the relative error "
                   f"peaks {med[lo]['worst_entry']:.1e} -> {med[hi]['worst_entry']:.1e}; "
                   f"non-zero gradient entries {med[lo]['nonzero']:.0f} -> "
                   f"{med[hi]['nonzero']:.0f} (dropped units zero whole rows and columns of "
                   f"the gradient, removing candidates for the maximum); change of the mean "
                   f"log10 course error {-gap:+.2f} decades against a seed-to-seed std of "
                   f"{seed_sd:.2f} decades at p={lo:g}")


# --- (d): regularisation ------------------------------------------------------------------


def tail_mean(history, epochs):
    """Mean of the last `epochs` entries of a per-epoch history."""
    return float(np.mean(history[-epochs:]))


def spearman(x, y):
    """Spearman rank correlation of two equally long sequences (ties get average ranks)."""
    def ranks(v):
        v = np.asarray(v, dtype=float)
        order = v.argsort(kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for value in np.unique(v):  # average ranks of ties
            tie = v == value
            r[tie] = r[tie].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom else 0.0


def _regularisation(cfg, run):
    train = load(cfg.dataset, "train")
    run.dataset(train)
    data = transforms.solver_data(train, None, val=cfg.val, num_train=cfg.num_train,
                                  seed=cfg.seed)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    grid_seeds = seeds[:cfg.grid_seeds]
    main = [{"hidden": cfg.hidden, "p": p, "seed": s} for p in cfg.ps for s in seeds]
    heat = [{"hidden": h, "p": p, "seed": s} for h in cfg.grid_hidden for p in cfg.grid_ps
            for s in grid_seeds]
    cells = main + [c for c in heat if c not in main]  # shared cells are trained once

    def one(c):
        model = FullyConnectedNet([c["hidden"]], input_dim=data["X_train"][0].size,
                                  num_classes=10, dropout=c["p"],
                                  weight_scale=cfg.weight_scale, seed=c["seed"])
        summary, _ = train_solver(
            run, cell_key("d_regularisation", c), model, data, update_rule="adam",
            optim_config={"learning_rate": cfg.learning_rate}, num_epochs=cfg.epochs,
            batch_size=cfg.batch_size, num_train_samples=None, print_every=0, verbose=False,
            seed=c["seed"])
        return {k: summary[k] for k in ("train_acc_history", "val_acc_history",
                                        "best_val_acc", "train_time")}

    results = grid(run, "d_regularisation", cells, one, objective="best_val_acc")
    by = {(c["hidden"], c["p"], c["seed"]): r for c, r in zip(cells, results, strict=True)}
    k = cfg.tail_epochs

    def tails(h, p, ss, key):
        return [tail_mean(by[(h, p, s)][key], k) for s in ss]

    epochs = list(range(cfg.epochs + 1))

    def curve(p, key):
        return [epochs, np.mean([by[(cfg.hidden, p, s)][key] for s in seeds], axis=0).tolist()]

    run.plot("d_curves", "curves", title=f"(d) Two-layer net, hidden {cfg.hidden}, "
                                         f"{cfg.num_train} training images (mean over "
                                         f"{len(seeds)} seeds)", xlabel="epoch", panels=[
        {"ylabel": "train accuracy",
         "series": {f"p={p:g}": curve(p, "train_acc_history") for p in cfg.ps}},
        {"ylabel": "val accuracy",
         "series": {f"p={p:g}": curve(p, "val_acc_history") for p in cfg.ps}}])
    rows = []
    for p in cfg.ps:
        for s in seeds:
            r = by[(cfg.hidden, p, s)]
            rows.append([p, s, tail_mean(r["train_acc_history"], k),
                         tail_mean(r["val_acc_history"], k), r["best_val_acc"]])
    run.table("d_seeds", ["p (drop)", "seed", f"train acc (last {k} epochs)",
                          f"val acc (last {k} epochs)", "best val acc"], rows,
              title=f"(d) Dropout p={' vs '.join(f'{p:g}' for p in cfg.ps)} per seed")
    p0, p1 = min(cfg.ps), max(cfg.ps)
    tr0, tr1 = (tails(cfg.hidden, p, seeds, "train_acc_history") for p in (p0, p1))
    va0, va1 = (tails(cfg.hidden, p, seeds, "val_acc_history") for p in (p0, p1))
    best0 = [by[(cfg.hidden, p0, s)]["best_val_acc"] for s in seeds]
    best1 = [by[(cfg.hidden, p1, s)]["best_val_acc"] for s in seeds]
    m, sd = mean_std(tr0)
    run.claim(f"(d) train accuracy without dropout (last {k} epochs, mean over seeds)", m, 1.0,
              better="higher", tolerance=0.05, source=SOURCE,
              note=f"std over seeds {sd:.3f}; 'near 1.0' read as within 0.05")
    for what, a, b, ref_text in (
            ("train accuracy is lower with dropout", tr0, tr1, "lower train accuracy"),
            ("val accuracy is higher with dropout", va1, va0, "higher val accuracy"),
            ("best val accuracy is higher with dropout", best1, best0, "higher val accuracy")):
        d, se = paired_difference(a, b)
        run.claim(f"(d) {what} (p={p1:g} vs p={p0:g})", d > 2 * se, True, better="equal",
                  source=SOURCE,
                  note=f"course: with dropout, {ref_text}. Measured difference {d:+.4f} ± "
                       f"{se:.4f} (paired by seed, standard error; {len(seeds)} seeds); "
                       "criterion: above 0 by more than 2 standard errors")

    # the hidden size x dropout grid
    gap = [[float(np.mean(tails(h, p, grid_seeds, "train_acc_history"))
                  - np.mean(tails(h, p, grid_seeds, "val_acc_history")))
            for p in cfg.grid_ps] for h in cfg.grid_hidden]
    val = [[float(np.mean(tails(h, p, grid_seeds, "val_acc_history"))) for p in cfg.grid_ps]
           for h in cfg.grid_hidden]
    train_acc = [[float(np.mean(tails(h, p, grid_seeds, "train_acc_history")))
                  for p in cfg.grid_ps] for h in cfg.grid_hidden]
    labels = {"row_labels": list(cfg.grid_hidden), "col_labels": list(cfg.grid_ps),
              "xlabel": "dropout p (drop probability)", "ylabel": "hidden units"}
    run.plot("d_gap", "heatmap", values=gap, **labels,
             title=f"(d) Train - val accuracy gap (last {k} epochs, mean over "
                   f"{len(grid_seeds)} seeds)")
    run.plot("d_val", "heatmap", values=val, **labels,
             title=f"(d) Val accuracy (last {k} epochs, mean over {len(grid_seeds)} seeds)")
    run.table("d_grid", ["hidden", "p (drop)", "train acc", "val acc", "gap"],
              [[h, p, train_acc[i][j], val[i][j], gap[i][j]]
               for i, h in enumerate(cfg.grid_hidden) for j, p in enumerate(cfg.grid_ps)],
              title=f"(d) Hidden size x dropout (last {k} epochs, mean over {len(grid_seeds)} "
                    "seeds)")
    rhos = [spearman(cfg.grid_ps, row) for row in gap]
    shrinks = all(row[-1] < row[0] for row in gap) and float(np.mean(rhos)) <= -0.8
    run.claim("(d) the train-val gap shrinks as dropout grows, at every hidden size", shrinks,
              True, better="equal", source=SOURCE,
              note="Spearman correlation of gap with p per hidden size: " + ", ".join(
                  f"{h}: {r:+.2f}" for h, r in zip(cfg.grid_hidden, rhos, strict=True))
                   + "; gap at p=0 -> p=max: " + ", ".join(
                  f"{row[0]:.3f} -> {row[-1]:.3f}" for row in gap)
                   + "; criterion: smaller at the largest p than at p=0 for every hidden size "
                     "and mean correlation <= -0.8")
    train_drop = [row[0] - row[-1] for row in train_acc]
    val_change = [row[-1] - row[0] for row in val]
    run.claim(f"(d) how the gap shrinks from p=0 to p={max(cfg.grid_ps):g}: change of val "
              "accuracy, largest over hidden sizes", max(val_change, key=abs), None,
              source=SOURCE,
              note="val change per hidden size: " + ", ".join(
                  f"{h}: {v:+.3f}" for h, v in zip(cfg.grid_hidden, val_change, strict=True))
                   + "; train accuracy falls by " + ", ".join(
                  f"{t:.3f}" for t in train_drop)
                   + f"; range of val accuracy over the whole grid "
                     f"{np.min(val):.3f}-{np.max(val):.3f}")


@dataclass
class DropoutConfig:
    """S1.8. Defaults: the study's settings, and the course notebook's where it is silent."""

    seed: int = 0
    # (a), (c)
    stats_shape: tuple = (500, 500)
    stats_mean: float = 10.0
    stats_ps: tuple = (0.25, 0.4, 0.7)
    # (b)
    check_ps: tuple = (0.0, 0.25, 0.5)
    check_seeds: int = 10
    check_dims: tuple = (2, 15, 20, 30, 10)  # N, D, H1, H2, C
    check_weight_scale: float = 5e-2
    # (d): the course's setting (keep ratio 1.0 vs 0.25 = drop p 0 vs 0.75)
    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 500
    hidden: int = 500
    ps: tuple = (0.0, 0.75)
    seeds: int = 5
    epochs: int = 25
    batch_size: int = 100
    learning_rate: float = 5e-4
    weight_scale: float = 1e-2
    tail_epochs: int = 5  # accuracies are the mean over the last epochs (less noise)
    grid_hidden: tuple = (100, 250, 500, 1000)
    grid_ps: tuple = (0.0, 0.25, 0.5, 0.75, 0.9)
    grid_seeds: int = 2


@experiment("dropout", study="S1.8", title="dropout: statistics, gradient checks, vanilla vs "
            "inverted, regularisation", estimate="4 min", config=DropoutConfig,
            quick={"stats_shape": (100, 100), "check_seeds": 2,
                   "dataset": "builtin", "val": 100, "num_train": 100, "hidden": 50,
                   "seeds": 2, "epochs": 3, "tail_epochs": 2, "grid_hidden": (20, 50),
                   "grid_ps": (0.0, 0.75), "grid_seeds": 1})
def dropout(cfg, run):
    """S1.8 (a)-(d); see the module docstring."""
    _statistics(cfg, run)
    _gradient_checks(cfg, run)
    _regularisation(cfg, run)
    run.note("Settings and choices", "\n".join([
        "- p is the probability of DROPPING a unit (PyTorch's convention); the course's keep "
        "ratios 1.0, 0.75, 0.5, 0.25 are p = 0, 0.25, 0.5, 0.75. Dropout is inverted unless "
        "the table says vanilla.",
        f"- (b): FullyConnectedNet hidden {list(cfg.check_dims[2:4])}, N={cfg.check_dims[0]}, "
        f"D={cfg.check_dims[1]}, C={cfg.check_dims[4]}, float64, centred differences with "
        f"h=1e-5, {cfg.check_seeds} seeds per p.",
        f"- (d): two-layer net (FullyConnectedNet with one hidden layer of {cfg.hidden}), "
        f"{cfg.num_train} CIFAR-10 training images (a seeded random draw; the CIFAR-10 here is "
        f"a lossy JPEG copy, see Data), {cfg.val} validation images, mean image subtracted, "
        f"Adam lr {cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.epochs} epochs, weight "
        f"scale {cfg.weight_scale:g} (the course notebook's settings), {cfg.seeds} seeds "
        "(initial weights, minibatch order and masks; the images are fixed). Accuracies are "
        f"the mean over the last {cfg.tail_epochs} epochs, which is less noisy than the last "
        f"epoch alone. The grid: hidden {list(cfg.grid_hidden)} x p {list(cfg.grid_ps)}, "
        f"{cfg.grid_seeds} seeds per cell."]))
