"""S1.2 `two-layer-solver`: TwoLayerNet + Solver on CIFAR-10 (49,000 / 1,000), the learning
rate x epochs grid against the course's grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references
from layerlab.analysis import count, divergence, downsample, mean_curve, mean_std, pm, verdict
from layerlab.analysis.curves import accuracy_panels
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.scratch.models import TwoLayerNet
from layerlab.studies.s1_fc.common import JPEG_NOTE, cell_name, cifar_data, record_data
from layerlab.trainers.solver_cell import train_solver

REF = references.S1_2_TWO_LAYER_GRID  # (lr, epochs) -> (train acc, val acc)


@dataclass
class TwoLayerSolverConfig:
    """S1.2. The course's TwoLayerNet and Solver defaults, lr_decay 0.95, [0, 1] pixels. One
    run of max(epochs) per (lr, seed) gives every epoch count (the decay ignores the total)."""

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
    repeats: int = 5
    seed: int = 0


@experiment("two-layer-solver", study="S1.2",
            title="TwoLayerNet + Solver on CIFAR-10: learning rate x epochs",
            estimate="3 min", config=TwoLayerSolverConfig,
            quick={"dataset": "builtin", "val": 200, "epochs": (3, 6), "repeats": 1,
                   "learning_rates": (1e-1, 1e-2)})
def two_layer_solver(cfg, run):
    """The learning rate x epochs grid of TwoLayerNet, ours beside the course's."""
    split = dict(val=cfg.val, num_train=cfg.num_train, seed=cfg.seed, pixel_scale=cfg.pixel_scale)
    sizes = record_data(run, cfg.dataset, **split)

    def one(c):
        data = cifar_data(cfg.dataset, **split)
        model = TwoLayerNet(input_dim=data["X_train"][0].size, hidden_dim=cfg.hidden_dim,
                            weight_scale=cfg.weight_scale, reg=cfg.reg, seed=c["seed"])
        summary, _ = train_solver(
            run, cell_name(c), model, data, update_rule="sgd",
            optim_config={"learning_rate": c["learning_rate"]}, lr_decay=cfg.lr_decay,
            batch_size=cfg.batch_size, num_epochs=max(cfg.epochs), num_train_samples=1000,
            print_every=0, seed=c["seed"])
        summary["loss_curve"] = downsample(summary.pop("loss_history"))
        return summary

    cells = [{"learning_rate": lr, "seed": s} for lr in cfg.learning_rates
             for s in range(cfg.seed, cfg.seed + cfg.repeats)]
    results = grid(run, "runs", cells, one, objective="best_val_acc")
    runs = {lr: [(cell_name(c), r) for c, r in zip(cells, results, strict=True)
                 if c["learning_rate"] == lr] for lr in cfg.learning_rates}
    diverged = divergence.split([cell_name(c) for c in cells], results)[1]
    divergence.note(run, diverged, "a run that diverged in epoch e counts from epoch e on")
    # per (lr, epochs): the cells diverged by then, and the accuracies per seed (NaN there)
    gone = {(lr, ep): [n for n, _ in runs[lr] if n in diverged
                       and (diverged[n]["epoch"] or 0) <= ep]
            for lr in cfg.learning_rates for ep in cfg.epochs}
    at = {(lr, ep): {k: [r[f"{k}_acc_history"][ep] if ep < len(r[f"{k}_acc_history"])
                         and n not in gone[lr, ep] else float("nan") for n, r in runs[lr]]
                     for k in ("train", "val")} for lr, ep in gone}
    stats = {key: {k: mean_std(v) for k, v in seeds.items()} for key, seeds in at.items()}
    _grid(cfg, run, stats, gone, diverged, sizes["n_val"])
    _curves(cfg, run, {f"lr {lr:g}": [r for _, r in rs if not divergence.of(r)]
                       for lr, rs in runs.items()})
    _claims(cfg, run, at, stats, sizes["n_val"], gone)
    run.note("settings", (
        f"TwoLayerNet (affine-ReLU-affine-softmax), hidden {cfg.hidden_dim}, Gaussian init "
        f"std {cfg.weight_scale:g}, L2 reg {cfg.reg:g}; SGD, batch {cfg.batch_size}, lr x "
        f"{cfg.lr_decay:g} after every epoch; {sizes['n_train']} training and "
        f"{sizes['n_val']} validation images (a seeded split), [0, 1] pixels times "
        f"{cfg.pixel_scale:g} minus the mean image. The Solver's default batch is 100; how "
        "close each cell comes to the course's is in the claims. " + JPEG_NOTE))


def _grid(cfg, run, stats, gone, diverged, n_val):
    """Train and val accuracy per (lr, epochs), ours (mean ± std) beside the course's: the
    table and heat maps (and val minus the course's)."""
    over = f"mean ± std over {count(cfg.repeats, 'seed')}"

    def acc(key, which):  # mean ± std, or the divergence of a seed
        return divergence.label(diverged[gone[key][0]]) if gone[key] else pm(*stats[key][which])

    run.table("grid", ["learning rate", "epochs", f"train acc ({over})", "reference train",
                       f"val acc ({over})", "reference val", "val - reference"],
              [[lr, ep, acc((lr, ep), "train"), REF[lr, ep][0] if (lr, ep) in REF else "",
                acc((lr, ep), "val"), REF[lr, ep][1] if (lr, ep) in REF else "",
                s["val"].mean - REF[lr, ep][1] if (lr, ep) in REF and not gone[lr, ep] else ""]
               for (lr, ep), s in stats.items()],
              title="Learning rate x epochs: train / val accuracy, ours and the course's",
              note=f"One run of {max(cfg.epochs)} epochs per (learning rate, seed), read at "
                   f"epochs {', '.join(map(str, cfg.epochs))}: a shorter run with the same seed "
                   "is exactly the first part of it (the Solver decays the learning rate after "
                   "every epoch whatever the total). Train accuracy is measured on 1,000 "
                   f"sampled training images (the Solver's default), val on {n_val} images.")
    maps = {f"heatmap_{k}": (f"{word} accuracy (mean over seeds)",
                             lambda lr, ep, k=k: stats[lr, ep][k].mean)
            for k, word in (("train", "Train"), ("val", "Validation"))}
    if any(key in REF for key in stats):
        maps["heatmap_val_minus_reference"] = (
            "Validation accuracy minus the course's",
            lambda lr, ep: stats[lr, ep]["val"].mean - REF[lr, ep][1] if (lr, ep) in REF
            else float("nan"))
    for name, (title, f) in maps.items():
        run.plot(name, "heatmap", title=title, xlabel="epochs", ylabel="learning rate",
                 values=[[f(lr, ep) for ep in cfg.epochs] for lr in cfg.learning_rates],
                 row_labels=[f"lr {lr:g}" for lr in cfg.learning_rates],
                 col_labels=[f"{ep} ep" for ep in cfg.epochs])


def _curves(cfg, run, groups):
    """Loss per iteration and accuracy per epoch, mean over seeds, the course's grid dashed;
    groups: {label: the runs of one lr that did not diverge}."""
    groups = {label: rs for label, rs in groups.items() if rs}
    loss = {}
    for label, rs in groups.items():  # the cells keep their loss curve downsampled
        ys = mean_curve([r["loss_curve"][1] for r in rs])
        loss[label] = [rs[0]["loss_curve"][0][:len(ys)], ys]
    run.plot("loss", "curves", title="Training loss (mean over seeds)", xlabel="iteration",
             ylabel="loss", series=loss)
    panels = accuracy_panels(groups)
    for i, panel in enumerate(panels):
        for lr in cfg.learning_rates:
            eps = [ep for ep in cfg.epochs if (lr, ep) in REF]
            if eps:
                panel["series"][f"reference lr {lr:g}"] = [eps, [REF[lr, ep][i] for ep in eps]]
    run.plot("accuracy", "curves", title="Accuracy per epoch (the course's grid dashed)",
             xlabel="epoch", panels=panels)


def _claims(cfg, run, at, stats, n_val, gone):
    """The goal, the course's best cell, every cell beside the course's, the lr order: over
    seeds, with the noise of the images. A claim that needs a diverged cell is not judged."""
    ref_key = max(REF, key=lambda k: REF[k][1])  # the course's best cell, fixed in advance
    means = {k: s["val"].mean for k, s in stats.items() if np.isfinite(s["val"].mean)}
    if ref_key in at:
        key, how = ref_key, "the course's best cell"
    elif means:  # quick runs: our best cell that did not diverge
        key, how = max(means, key=means.get), "our best cell (picked on val)"
    else:
        key, how = None, "every cell diverged: no pick"
    behind = gone[key] if key else sorted({n for names in gone.values() for n in names})
    vals = at[key]["val"] if key else []
    est = None if behind else verdict.from_seeds_and_images(vals, n_val)
    per_seed = ", ".join(f"{v:.3f}" for v in vals) or "none"
    where = f"{how}, lr {key[0]:g}, {key[1]} epochs" if key else how
    run.judge(f"reaches layerlab's goal of {references.S1_2_TARGET_VAL_ACC:.0%} validation "
              "accuracy", "goal", est, references.S1_2_TARGET_VAL_ACC, diverged=behind,
              source="layerlab's goal (the course's target)", note=f"{where}; per seed {per_seed}")
    run.judge("best validation accuracy of the grid", "figure", est, REF[ref_key][1],
              figure_n=1000, diverged=behind, key=True,
              source=f"the course's grid (lr {ref_key[0]:g}, {ref_key[1]} epochs)",
              note=f"ours: {where}, over {count(cfg.repeats, 'seed')} ({per_seed}) with the "
                   f"noise of our {n_val} validation images; the course's figure is one run "
                   "on its own 1,000")
    for i, which, n in ((1, "val", n_val), (0, "train", 1000)):
        for lr, ep in (k for k in at if k in REF):
            values, lost = at[lr, ep][which], gone[lr, ep]
            run.judge(f"lr {lr:g}, {ep} epochs: {which} accuracy", "figure",
                      None if lost else verdict.from_seeds_and_images(values, n), REF[lr, ep][i],
                      figure_n=1000, diverged=lost, source="the course's grid",
                      note=f"per seed {', '.join(f'{v:.3f}' for v in values)}; measured on {n} "
                           + ("images" if which == "val" else
                              "sampled training images, as in the course"))
    ordered = sorted(cfg.learning_rates, reverse=True)
    for a, b in zip(ordered[:-1], ordered[1:], strict=True):
        for ep in cfg.epochs:
            behind = gone[a, ep] + gone[b, ep]
            run.judge(f"larger learning rate, higher val accuracy: lr {a:g} beats {b:g} at "
                      f"{ep} epochs", "comparison", None if behind else
                      verdict.from_pairs(at[a, ep]["val"], at[b, ep]["val"]), diverged=behind,
                      source="the course's grid (larger lr, higher val accuracy in every "
                             "column)", note="paired by seed (same initial weights)")
