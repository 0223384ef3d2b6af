"""S1.8 `dropout` (scratch engine; p is the probability of DROPPING a unit): (a) train/test
statistics on randn + 10 against the course's figures; (b) gradient checks over seeds, and what
makes the course's error fall with p; (c) vanilla vs inverted: where the scaling happens; (d)
regularisation of a two-layer net on 500 CIFAR-10 images, and a hidden size x p grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import count, mean_std, pm, spearman, tail_mean, verdict
from layerlab.analysis.curves import accuracy_panels
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.scratch.dropout import Dropout
from layerlab.scratch.gradcheck import norm_error, numerical_gradient, rel_error
from layerlab.scratch.models import FullyConnectedNet
from layerlab.studies.s1_fc.common import cifar_data, record_data
from layerlab.trainers.solver_cell import train_solver

SOURCE = "S1.8 (course notebook Dropout)"
MEDIANS = ("rel_error", "norm_error", "max_abs_diff", "worst_entry", "floored_rel_error",
           "nonzero")  # the gradient-check figures reported as medians over seeds


def dropout_statistics(x, p, inverted, seed):
    """Mean and fraction zero of Dropout(p) on x at train and at test time, and its scale (the
    median out / x: over the kept units at train time, over every unit at test time)."""
    param = {"p": p, "inverted": inverted, "seed": seed}
    train, _ = Dropout.forward(x, {**param, "mode": "train"})
    test, _ = Dropout.forward(x, {**param, "mode": "test"})
    kept = train != 0
    return {"train_mean": float(train.mean()), "test_mean": float(test.mean()),
            "train_zero_fraction": float(np.mean(train == 0)),
            "test_zero_fraction": float(np.mean(test == 0)),
            "train_scale": float(np.median(train[kept] / x[kept])),
            "test_scale": float(np.median(test / x))}


def _statistics(cfg, run):
    """(a) and (c): dropout on randn + stats_mean, a fresh input and mask per seed."""
    seeds, ps = range(cfg.seed, cfg.seed + cfg.stats_seeds), cfg.stats_ps
    xs = [np.random.default_rng(s).standard_normal(tuple(cfg.stats_shape)) + cfg.stats_mean
          for s in seeds]
    per = {(inv, p): [dropout_statistics(x, p, inv, s) for x, s in zip(xs, seeds, strict=True)]
           for inv in (True, False) for p in ps}
    n = count(len(seeds), "seed")

    def col(inv, p, key):
        return [r[key] for r in per[(inv, p)]]

    run.table("a_statistics", ["variant", "p (drop)", "train mean", "test mean",
                               "fraction zero (train)", "fraction zero (test)",
                               "train: kept unit x", "test: unit x"],
              [["inverted" if inv else "vanilla", p, *(float(np.mean(col(inv, p, k)))
                                                       for k in rs[0])]
               for (inv, p), rs in per.items()],
              title=f"(a, c) Dropout on {cfg.stats_shape[0]}x{cfg.stats_shape[1]} of randn + "
                    f"{cfg.stats_mean:g} (mean over {n})",
              note="The last two columns are where the scaling happens: inverted dropout "
                   "scales kept units by 1/(1-p) while training, vanilla every unit by (1-p) at "
                   "test time; either way the expected train-time output is the test-time one.")
    for p in ps:  # the course's figures are inverted dropout, on its own 250,000 units
        run.judge(f"(a) fraction zeroed at train time, p={p:g}", "figure",
                  verdict.from_seeds(col(True, p, "train_zero_fraction")),
                  ref.S1_8_DROPOUT_ZERO_FRACTION.get(p, p), better="equal",
                  figure_n=ref.S1_8_STATS_UNITS, source=SOURCE,
                  note=f"over {n} of {xs[0].size} units; the course's one draw of "
                       f"{ref.S1_8_STATS_UNITS} units adds its binomial noise")
    run.judge("(a) fraction zeroed at test time (largest over p)", "figure", verdict.exact(
        max(max(col(True, p, "test_zero_fraction")) for p in ps)),
        ref.S1_8_TEST_ZERO_FRACTION, better="equal", source=SOURCE)
    for when in ("train", "test"):
        est = {p: verdict.from_seeds(col(True, p, f"{when}_mean")) for p in ps}
        p = max(ps, key=lambda q: abs(est[q].value - ref.S1_8_MEAN))
        run.judge(f"(a) {when}-time mean, farthest from {ref.S1_8_MEAN:g} over p", "figure",
                  est[p], ref.S1_8_MEAN, better="equal", source=SOURCE,
                  note=f"at p={p:g}, over {n}; per p: " + ", ".join(
                      f"{q:g}: {e.value:.4f}" for q, e in est.items()))
    margin = cfg.stats_mean / 100
    for inv in (True, False):  # (c) the same expected activation at train and test time
        gaps = {p: verdict.from_pairs(col(inv, p, "train_mean"), col(inv, p, "test_mean"))
                for p in ps}
        p = max(ps, key=lambda q: max(abs(gaps[q].low), abs(gaps[q].high)))
        run.judge(f"(c) {'inverted' if inv else 'vanilla'}: train-time mean minus test-time "
                  "mean (largest over p)", "no-effect", gaps[p], margin=margin, source=SOURCE,
                  note=f"at p={p:g} (the widest interval), paired by seed; margin ±{margin:g}, "
                       f"1% of the mean, invisible in the course's '≈ {cfg.stats_mean:g}'. "
                       "Per p: " + ", ".join(f"{q:g}: {g.value:+.4f}" for q, g in gaps.items()))
    run.judge("(c) inverted scales kept units by 1/(1-p) at train time, vanilla scales by (1-p) "
              "at test time", "figure", verdict.exact(max(
                  max(abs(r["train_scale"] - (1 / (1 - p) if inv else 1)),
                      abs(r["test_scale"] - (1 if inv else 1 - p)))
                  for (inv, p), rs in per.items() for r in rs), 1e-6), 0.0, better="equal",
              source=SOURCE, note="largest deviation of the table's scales from the formula, "
                                  "every p, variant and seed; exact up to rounding (±1e-6)")


def gradient_check(p, seed, dims=(2, 15, 20, 30, 10), weight_scale=5e-2, h=1e-5, floor=1e-3):
    """Gradient check of a float64 FullyConnectedNet (dims: N, D, H1, H2, C) with dropout p, its
    mask frozen by `seed`: the initial loss, rel_error (the course's figure, the largest of
    rel_errors), norm_error, and over all entries (a analytic, n numerical) max_abs_diff,
    worst_entry (|a| where the relative error peaks), largest_entry, floored_rel_error (over
    |a| >= floor x max |a|), nonzero (a or n non-zero) and entries."""
    N, D, H1, H2, C = dims
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((N, D)), rng.integers(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=weight_scale,
                              dtype=np.float64, seed=seed, dropout=p)
    model.dropout_param["seed"] = seed  # the same mask on every call
    loss, grads = model.loss(X, y)
    nums = {k: numerical_gradient(lambda: model.loss(X, y)[0], model.params[k], h=h)
            for k in sorted(model.params)}
    per = {k: rel_error(num, grads[k]) for k, num in nums.items()}
    a = np.concatenate([grads[k].ravel() for k in nums])
    n = np.concatenate([num.ravel() for num in nums.values()])
    big = np.abs(a) >= floor * np.abs(a).max()
    worst = np.argmax(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n)))
    return {"loss": float(loss), "rel_error": max(per.values()), "rel_errors": per,
            "norm_error": max(norm_error(num, grads[k]) for k, num in nums.items()),
            "max_abs_diff": float(np.max(np.abs(a - n))),
            "worst_entry": float(abs(a[worst])), "largest_entry": float(np.abs(a).max()),
            "floored_rel_error": rel_error(a[big], n[big]),
            "nonzero": int(np.sum((a != 0) | (n != 0))), "entries": int(a.size)}


def _gradient_checks(cfg, run):
    """(b) gradient checks over p and seeds: table, plot, the course's error."""
    seeds, ps = list(range(cfg.seed, cfg.seed + cfg.check_seeds)), cfg.check_ps
    cells = [{"p": p, "seed": s} for p in ps for s in seeds]
    results = grid(run, "b_gradcheck", cells, lambda c: gradient_check(
        c["p"], c["seed"], tuple(cfg.check_dims), cfg.check_weight_scale))
    by = {(c["p"], c["seed"]): r for c, r in zip(cells, results, strict=True)}

    def col(p, key):
        return [by[(p, s)][key] for s in seeds]

    med = {p: {k: float(np.median(col(p, k))) for k in MEDIANS} for p in ps}
    eps_floor = np.finfo(np.float64).eps * ref.S1_8_INITIAL_LOSS / 1e-5
    run.table("b_gradcheck", ["p (drop)", "initial loss (mean ± std)",
                              "course error: max rel error (median)", "range over seeds",
                              "normwise error (median)", "max abs(analytic - numerical) (median)",
                              "abs(gradient) at the worst entry (median)",
                              "rel error, entries >= 1e-3 x max (median)",
                              "non-zero gradient entries (median)"],
              [[p, pm(*mean_std(col(p, "loss")), digits=4), med[p]["rel_error"],
                f"{min(col(p, 'rel_error')):.1e} - {max(col(p, 'rel_error')):.1e}",
                *(med[p][k] for k in MEDIANS[1:5]),
                f"{med[p]['nonzero']:.0f} of {by[(p, seeds[0])]['entries']}"] for p in ps],
              title=f"(b) Gradient check of a three-layer net with dropout, "
                    f"{count(len(seeds), 'seed')} per p (float64, h = 1e-5)",
              note="Each seed draws the data, the initial weights and the mask. Compare the "
                   "largest absolute difference with the rounding floor of a centred "
                   f"difference, eps x loss / h ~ {eps_floor:.1e}, and abs(gradient) at the "
                   "worst entry with the largest entry (median over every check: "
                   f"{np.median([r['largest_entry'] for r in results]):.2f}).")
    run.plot("b_gradcheck", "curves", title="(b) Gradient-check errors by seed and dropout",
             xlabel="seed", panels=[{"ylabel": label, "logy": True, "series": {
                 f"p={p:g}": [seeds, col(p, key)] for p in ps}} for key, label in (
                     ("rel_error", "course error (max rel error)"),
                     ("max_abs_diff", "max abs(analytic - numerical)"))])
    for p in ps:
        run.judge(f"(b) initial loss, p={p:g} (mean over seeds)", "figure",
                  verdict.from_seeds(col(p, "loss")), ref.S1_8_INITIAL_LOSS, better="equal",
                  source=SOURCE, note="about ln 10 = 2.3026 for small weights; the course's "
                  "figure is one draw (its N=2 images), printed as 2.30")
    for p in ps:
        errs = col(p, "rel_error")
        run.judge(f"(b) course error (largest element-wise relative error), p={p:g}, log10 "
                  "over seeds", "goal", verdict.from_seeds(np.log10(errs)),
                  float(np.log10(ref.S1_8_GRADCHECK_ERROR)), better="lower", unit="log10",
                  source="layerlab's goal: the course's bound 'around 1e-7 or below'",
                  note=f"median {med[p]['rel_error']:.1e}, range {min(errs):.1e} to "
                       f"{max(errs):.1e}; {sum(e <= 1e-7 for e in errs)} of "
                       f"{count(len(errs), 'seed')} at or below 1e-7")
    run.judge("(b) normwise error, largest over every p and seed", "goal",
              verdict.exact(max(r["norm_error"] for r in results)), ref.S1_8_GRADCHECK_ERROR,
              better="lower", source="layerlab's goal: the bound of its own model checks",
              note=f"the largest of {len(results)} checks")
    _why_the_error_falls(run, col, med, eps_floor, min(ps), max(ps))


def _why_the_error_falls(run, col, med, eps_floor, lo, hi):
    """(b): does the course error fall with dropout, and is the check then more precise?"""
    def fall(key):  # log10 at p=lo minus at p=hi, paired by seed (same data and weights)
        return verdict.from_pairs(np.log10(col(lo, key)), np.log10(col(hi, key)))

    run.judge(f"(b) the course error falls from p={lo:g} to p={hi:g}", "comparison",
              fall("rel_error"), unit="decades", source=SOURCE,
              note="log10 error at p=lo minus at p=hi, paired by seed")
    # If dropout made the derivative genuinely more precise, the error would fall on the
    # entries that matter too, and so would the absolute difference.
    both = {k: fall(k) for k in ("max_abs_diff", "floored_rel_error")}
    weak = min(both, key=lambda k: both[k].low)
    other = next(k for k in both if k != weak)
    run.judge("(b) the error falls because dropout makes the check more precise "
              "('because dropout regularises')", "comparison", both[weak], unit="decades",
              source=SOURCE, note="the mask is frozen: a gradient check compares two "
              "derivatives of one function, and generalisation does not enter it. Holds when "
              "the absolute difference AND the relative error over entries >= 1e-3 x the "
              f"largest both fall (log10, paired by seed); judged on the weaker, {weak}; "
              f"{other}: {both[other].text(3)}. Medians, p={lo:g} -> p={hi:g}: " + "; ".join(
                  f"{k} {med[lo][k]:{f}} -> {med[hi][k]:{f}}" for k, f in (
                      ("max_abs_diff", ".1e"), ("floored_rel_error", ".1e"),
                      ("worst_entry", ".1e"), ("nonzero", ".0f")))
              + f". Rounding floor eps x loss / h ~ {eps_floor:.1e}; dropped units zero whole "
                "rows and columns of the gradient, removing candidates for the maximum")


def _regularisation(cfg, run):
    """(d) two-layer net with and without dropout over seeds, then the hidden x p grid."""
    seeds, k, n = range(cfg.seed, cfg.seed + cfg.seeds), cfg.tail_epochs, count(cfg.seeds, "seed")
    main = [{"hidden": cfg.hidden, "p": p, "seed": s} for p in cfg.ps for s in seeds]
    heat = [{"hidden": h, "p": p, "seed": s} for h in cfg.grid_hidden for p in cfg.grid_ps
            for s in seeds[:cfg.grid_seeds]]
    cells = main + [c for c in heat if c not in main]  # shared cells are trained once
    split = {"val": cfg.val, "num_train": cfg.num_train, "seed": cfg.seed}
    record_data(run, cfg.dataset, **split)

    def one(c):
        data = cifar_data(cfg.dataset, **split)
        model = FullyConnectedNet([c["hidden"]], input_dim=data["X_train"][0].size, num_classes=10,
                                  dropout=c["p"], weight_scale=cfg.weight_scale, seed=c["seed"])
        summary, _ = train_solver(
            run, cell_key("d_regularisation", c), model, data, update_rule="adam",
            optim_config={"learning_rate": cfg.learning_rate}, num_epochs=cfg.epochs,
            batch_size=cfg.batch_size, num_train_samples=None, print_every=0, verbose=False,
            seed=c["seed"])
        return {k: summary[k] for k in ("train_acc_history", "val_acc_history", "best_val_acc")}

    results = grid(run, "d_regularisation", cells, one, objective="best_val_acc")
    by = {(c["hidden"], c["p"], c["seed"]): r for c, r in zip(cells, results, strict=True)}

    def acc(h, p, w, ss=seeds):  # per seed: 'train' or 'val' over the last k epochs, or 'best'
        return [by[(h, p, s)]["best_val_acc"] if w == "best" else
                tail_mean(by[(h, p, s)][f"{w}_acc_history"], k) for s in ss]

    run.plot("d_curves", "curves", title=f"(d) Two-layer net, hidden {cfg.hidden}, "
             f"{cfg.num_train} training images", xlabel="epoch", panels=accuracy_panels(
                 {f"p={p:g}": [by[(cfg.hidden, p, s)] for s in seeds] for p in cfg.ps},
                 pad=False))
    run.table("d_seeds", ["p (drop)", "seed", f"train acc (last {k} epochs)",
                          f"val acc (last {k} epochs)", "best val acc"],
              [[p, s, *(acc(cfg.hidden, p, w, [s])[0] for w in ("train", "val", "best"))]
               for p in cfg.ps for s in seeds],
              title=f"(d) Dropout p={' vs '.join(f'{p:g}' for p in cfg.ps)} per seed")
    p0, p1 = min(cfg.ps), max(cfg.ps)
    tr0, goal = acc(cfg.hidden, p0, "train"), ref.S1_8_TRAIN_ACC_GOAL
    run.judge(f"(d) train accuracy without dropout (last {k} epochs) reaches layerlab's goal "
              f"{goal:g} ('near 1.0')", "goal", verdict.from_seeds(tr0), goal,
              source=f"layerlab's goal: the course's 'near 1.0' read as {goal:g} or more",
              note=f"on all {cfg.num_train} training images, per seed "
                   f"{[round(t, 3) for t in tr0]}")
    for what, w, sign in (("train accuracy is lower", "train", -1),
                          ("val accuracy is higher", "val", 1),
                          ("best val accuracy is higher", "best", 1)):
        pair = (acc(cfg.hidden, p1, w), acc(cfg.hidden, p0, w))[::sign]
        run.judge(f"(d) {what} with dropout (p={p1:g} vs p={p0:g})", "comparison",
                  verdict.from_pairs(*pair), source=SOURCE, note="course: with dropout, "
                  f"{'lower train' if sign < 0 else 'higher val'} accuracy. Paired by seed ({n})")
    _hidden_by_dropout(cfg, run, lambda h, p, w: acc(h, p, w, seeds[:cfg.grid_seeds]))


def _hidden_by_dropout(cfg, run, acc):
    """(d) the hidden size x dropout grid; acc(hidden, p, 'train' or 'val') -> per seed, the
    mean accuracy of the last epochs."""
    per = {(h, p): {w: np.asarray(acc(h, p, w)) for w in ("train", "val")}
           for h in cfg.grid_hidden for p in cfg.grid_ps}
    train, val = ([[float(np.mean(per[h, p][w])) for p in cfg.grid_ps] for h in cfg.grid_hidden]
                  for w in ("train", "val"))
    gap = (np.asarray(train) - np.asarray(val)).tolist()
    k, n = cfg.tail_epochs, count(cfg.grid_seeds, "seed")
    for name, values, what in (("d_gap", gap, "Train - val accuracy gap"),
                               ("d_val", val, "Val accuracy")):
        run.plot(name, "heatmap", values=values, row_labels=list(cfg.grid_hidden),
                 col_labels=list(cfg.grid_ps), xlabel="dropout p (drop probability)",
                 ylabel="hidden units", title=f"(d) {what} (last {k} epochs, mean over seeds)")
    run.table("d_grid", ["hidden", "p (drop)", "train acc", "val acc", "gap"],
              [[h, p, train[i][j], val[i][j], gap[i][j]]
               for i, h in enumerate(cfg.grid_hidden) for j, p in enumerate(cfg.grid_ps)],
              title=f"(d) Hidden size x dropout (last {k} epochs, mean over {n})")
    rhos = [spearman(cfg.grid_ps, row) for row in gap]
    p0, p1 = cfg.grid_ps[0], cfg.grid_ps[-1]

    def diff(h, key):  # per seed, paired: key at p=p1 minus at p=p0 (key: a function of w)
        return verdict.from_pairs(key(per[h, p1]), key(per[h, p0]))

    shrink = {h: diff(h, lambda r: r["val"] - r["train"]) for h in cfg.grid_hidden}
    weak = min(shrink, key=lambda h: shrink[h].low)
    run.judge("(d) the train-val gap shrinks as dropout grows, at every hidden size",
              "comparison", shrink[weak], source=SOURCE, key=True,
              note=f"gap at p={p0:g} minus gap at p={p1:g}, paired by seed ({n}), judged at "
                   f"the hidden size whose interval reaches lowest ({weak}). Per hidden size: "
                   + ", ".join(f"{h}: {e.text(3)}" for h, e in shrink.items())
              + "; Spearman correlation of the mean gap with p: " + ", ".join(
                  f"{h}: {r:+.2f}" for h, r in zip(cfg.grid_hidden, rhos, strict=True)))
    val_change = {h: diff(h, lambda r: r["val"]) for h in cfg.grid_hidden}
    h = max(val_change, key=lambda q: abs(val_change[q].value))
    run.judge(f"(d) change of val accuracy from p={p0:g} to p={p1:g}, largest over hidden "
              "sizes", "measured", val_change[h], source=SOURCE,
              note=f"at hidden {h}; per hidden size: " + ", ".join(
                  f"{q}: {e.value:+.3f}" for q, e in val_change.items())
              + f"; train accuracy at p={p0:g} minus at p={p1:g}: "
              + ", ".join(f"{r[0] - r[-1]:+.3f}" for r in train)
              + f"; val accuracy over the whole grid {np.min(val):.3f}-{np.max(val):.3f}")


@dataclass
class DropoutConfig:
    """S1.8. Defaults: the study's settings, and the course notebook's where it is silent."""

    seed: int = 0
    stats_shape: tuple = (500, 500)  # (a), (c)
    stats_mean: float = 10.0
    stats_ps: tuple = (0.25, 0.4, 0.7)
    stats_seeds: int = 5
    check_ps: tuple = (0.0, 0.25, 0.5)  # (b)
    check_seeds: int = 10
    check_dims: tuple = (2, 15, 20, 30, 10)  # N, D, H1, H2, C
    check_weight_scale: float = 5e-2
    dataset: str = "cifar10"  # (d): the course's setting, keep ratio 1.0 vs 0.25 = p 0 vs 0.75
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
    grid_seeds: int = 5


@experiment("dropout", study="S1.8", title="dropout: statistics, gradient checks, vanilla vs "
            "inverted, regularisation", estimate="4 min", config=DropoutConfig,
            quick={"stats_shape": (100, 100), "check_seeds": 2, "dataset": "builtin",
                   "val": 100, "num_train": 100, "hidden": 50, "seeds": 2, "epochs": 3,
                   "tail_epochs": 2, "grid_hidden": (20, 50), "grid_ps": (0.0, 0.75),
                   "grid_seeds": 1})
def dropout(cfg, run):
    """S1.8 (a)-(d); see the module docstring."""
    _statistics(cfg, run)
    _gradient_checks(cfg, run)
    _regularisation(cfg, run)
    run.note("Settings and choices", "\n".join([
        "- p is the probability of DROPPING a unit (PyTorch's convention): the course's keep "
        "ratios 1.0, 0.75, 0.5, 0.25 are p = 0, 0.25, 0.5, 0.75. Dropout is inverted unless "
        "the table says vanilla.",
        "- (b): FullyConnectedNet in float64, centred differences with h=1e-5.",
        "- (d), the course notebook's settings: CIFAR-10 training images a fixed seeded draw (a "
        "lossy JPEG copy, see Data), mean image subtracted, Adam; the seeds change the weights, "
        "the minibatch order and the masks."]))
