"""conv-nets (S2.4): (a) `ThreeLayerConvNet` overfits 100 CIFAR-10 images; (b) the course's
one-epoch run on 49,000 images; (c) `DeepConvNet` with and without spatial batchnorm, over seeds.
The course's weight scales suit its 0-255 pixels: pixel scale 255 (our loader gives [0, 1])."""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from layerlab import references as ref
from layerlab.analysis import count, divergence, downsample, first_epoch_reaching, mean_std, verdict
from layerlab.analysis.curves import accuracy_panels, loss_series
from layerlab.analysis.divergence import figures_or_label, lost_cells
from layerlab.analysis.group import loss_auc, moving_average
from layerlab.data import load, transforms
from layerlab.lab.config import flag, positive, rows, scale_or_init, text
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid, record_datasets
from layerlab.scratch.conv_models import DeepConvNet, ThreeLayerConvNet
from layerlab.trainers.solver_cell import train_solver

SOURCE = "S2.4 (course notebook ConvolutionalNetworks)"


@dataclass
class ConvNetsConfig:
    """(a) overfit variants (label, pixel scale, weight scale); (b) the one-epoch run
    (`epoch_num_train` None = all); (c) deep variants (label, batchnorm, weight scale);
    threads: BLAS threads per training process (conv-speed times 1 against 2)."""

    checks = {"overfit_variants": rows(text, positive, scale_or_init),
              "deep_variants": rows(text, flag, scale_or_init)}

    dataset: str = "cifar10"
    val: int = 1000
    data_seed: int = 0
    threads: int = 1
    overfit_num_train: int = 100
    overfit_epochs: int = 15
    overfit_batch_size: int = 50
    overfit_variants: tuple = (("course: 0-255 pixels, std 1e-2", 255.0, 1e-2),
                               ("[0, 1] pixels, std 1e-2", 1.0, 1e-2),
                               ("[0, 1] pixels, Kaiming", 1.0, "kaiming"))
    overfit_seeds: tuple = (0, 1, 2, 3, 4)
    epoch_num_train: int | None = None
    epoch_filters: int = 32
    epoch_filter_size: int = 7
    epoch_hidden: int = 500
    epoch_weight_scale: float = 1e-3
    epoch_reg: float = 1e-3
    epoch_lr: float = 1e-3
    epoch_batch_size: int = 50
    epoch_epochs: int = 1
    epoch_pixel_scales: tuple = (255.0,)
    epoch_seeds: tuple = (0, 1, 2, 3, 4)
    deep_num_train: int = 1000
    deep_pixel_scale: float = 1.0
    deep_filters: tuple = (16, 32, 32, 64, 64)
    deep_max_pools: tuple = (0, 1, 2, 3, 4)
    deep_variants: tuple = (("batchnorm, Kaiming", True, "kaiming"),
                            ("no batchnorm, Kaiming", False, "kaiming"),
                            ("batchnorm, Gaussian 1e-3", True, 1e-3),
                            ("no batchnorm, Gaussian 1e-3", False, 1e-3))
    deep_epochs: int = 10
    deep_batch_size: int = 100
    deep_lr: float = 1e-3
    deep_reg: float = 1e-5
    deep_seeds: tuple = (0, 1, 2, 3, 4)


@functools.lru_cache(maxsize=1)
def _train_set(name):
    """The training split, loaded on first use inside a cell (a rebuild loads nothing)."""
    return load(name, "train")


def batchnorm_comparisons(by, variants):
    """Every batchnorm variant of `by` ({variant: [(seed, summary)]}) paired with the same init
    without it (variants: {variant: (batchnorm, weight_scale)}), over the seeds both have: one
    dict per pair, 'with', 'without', 'auc' [(seed, auc with, auc without)], 'faster' [with <
    without], 'val_gain' [final val acc with - without]."""
    out = []
    for a, b in itertools.permutations(variants, 2):
        (bn_a, init_a), (bn_b, init_b) = variants[a], variants[b]
        if not bn_a or bn_b or init_a != init_b or not {a, b} <= set(by):
            continue
        runs_a, runs_b = dict(by[a]), dict(by[b])
        seeds = [s for s in runs_a if s in runs_b]
        auc = [(s, loss_auc(runs_a[s]["loss_history"]), loss_auc(runs_b[s]["loss_history"]))
               for s in seeds]
        out.append({"with": a, "without": b, "auc": auc, "faster": [x < y for _, x, y in auc],
                    "val_gain": [runs_a[s]["val_acc_history"][-1]
                                 - runs_b[s]["val_acc_history"][-1] for s in seeds]})
    return out


def _pixels(scale):
    return {255: "0-255 pixels", 1: "[0, 1] pixels"}.get(scale, f"pixels x{scale:g}")


def _finals(runs, key="val"):
    """The final `key` ('train' or 'val') accuracy of every (seed, summary) pair."""
    return [r[f"{key}_acc_history"][-1] for _, r in runs]


def _per_seed(values, fmt=".3f"):
    return "per seed " + ", ".join(f"{v:{fmt}}" for v in values)


def _weight_scale(v):
    return v if isinstance(v, str) else float(v)


def _epoch_time(summary):
    return summary["train_time"] / max(summary["epochs"], 1)


def _train_grid(cfg, run, name, cells, num_train, scale, make_model, lr, **solver):
    """Grid `name` of Solver cells (Adam, BLAS limited to cfg.threads): cell c trains
    make_model(c) on `num_train` images (None: all) at pixel scale scale(c). Returns ({c's first
    value: [(seed, summary + num_train, cell_wall_time)]}, lost {that value: {cell: record}}: the
    groups with a diverged seed, which have no mean)."""
    kept = {}  # one copy of the data at a time (49,000 images are 600 MB in float32)

    def one(c):
        if scale(c) not in kept:
            kept.clear()
            data = transforms.solver_data(_train_set(cfg.dataset), None, val=cfg.val,
                                          num_train=num_train, seed=cfg.data_seed)
            for key in (k for k in data if k.startswith("X_") and scale(c) != 1):
                data[key] *= np.float32(scale(c))  # in place: no second copy
            kept[scale(c)] = data
        data, start = kept[scale(c)], time.perf_counter()
        with threadpool_limits(limits=cfg.threads, user_api="blas"):
            summary, _ = train_solver(run, cell_key(name, c), make_model(c), data,
                                      update_rule="adam", optim_config={"learning_rate": lr},
                                      print_every=0, seed=c["seed"], **solver)
        return {**summary, "num_train": int(len(data["X_train"])),
                "cell_wall_time": time.perf_counter() - start}

    by, lost = {}, {}
    for c, r in zip(cells, grid(run, name, cells, one, objective="best_val_acc"), strict=True):
        by.setdefault(next(iter(c.values())), []).append((c["seed"], r))
        if divergence.of(r):
            lost.setdefault(next(iter(c.values())), {})[cell_key(name, c)] = divergence.of(r)
    return by, lost


def _overfit(cfg, run):
    """(a): table, curves, claims on the first variant; returns the grid's lost."""
    cells = [{"variant": str(label), "pixel_scale": float(scale), "weight_scale": _weight_scale(ws),
              "seed": int(s)} for label, scale, ws in cfg.overfit_variants
             for s in cfg.overfit_seeds]
    by, lost = _train_grid(
        cfg, run, "a_overfit", cells, cfg.overfit_num_train, lambda c: c["pixel_scale"],
        lambda c: ThreeLayerConvNet(weight_scale=c["weight_scale"], seed=c["seed"]), 1e-3,
        num_epochs=cfg.overfit_epochs, batch_size=cfg.overfit_batch_size,
        num_train_samples=None)
    run.table("a_overfit", ["variant", "final train acc (mean)", "std", "final val acc (mean)",
                            "std", "first epoch at 100% train (per seed)",
                            "final train acc per seed"],
              [[label, *figures_or_label(lost, label, [
                  *mean_std(_finals(runs, "train")), *mean_std(_finals(runs)),
                  ", ".join(str(e) if e is not None else "-" for e in (
                      first_epoch_reaching(r["train_acc_history"], 1.0) for _, r in runs)),
                  ", ".join(f"{a:.2f}" for a in _finals(runs, "train"))])]
               for label, runs in by.items()],
              title=f"(a) ThreeLayerConvNet on {cfg.overfit_num_train} training images, "
                    f"{cfg.overfit_epochs} epochs, Adam 1e-3, batch {cfg.overfit_batch_size}, "
                    f"{count(len(cfg.overfit_seeds), 'seed')}",
              note=f"Validation: {cfg.val:,} held-out training images. The seeds change the "
                   "initial weights and the batch order, not the training images.")
    epochs = list(range(cfg.overfit_epochs + 1))
    ok = {label: runs for label, runs in by.items() if label not in lost}  # curves: no diverged
    run.plot("a_overfit_accuracy", "curves", title="(a) Train vs val accuracy",
             xlabel="epoch", panels=[
                 {"title": label, "ylabel": "accuracy", "series": {
                     f"{split}, seed {s}": [epochs, r[f"{split}_acc_history"]]
                     for split in ("train", "val") for s, r in runs}}
                 for label, runs in ok.items()])
    run.plot("a_overfit_loss", "curves", title="(a) Training loss", xlabel="iteration",
             ylabel="loss", series={f"{label}, seed {s}": downsample(r["loss_history"])
                                    for label, runs in ok.items() for s, r in runs})
    main_label, main = next(iter(by.items()))
    final, val, dead = _finals(main, "train"), _finals(main), lost_cells(lost, [main_label])
    run.judge(f"(a) train accuracy after {cfg.overfit_epochs} epochs on "
              f"{cfg.overfit_num_train} images ({main_label}; mean over seeds)", "figure",
              None if dead else verdict.from_seeds(final), ref.S2_4_OVERFIT_TRAIN_ACC,
              diverged=dead, source=f"{SOURCE} ('overfits 100 images': 100% of them; the "
              f"course's printed run: {ref.S2_4_OVERFIT_PRINTED['train']} train, "
              f"{ref.S2_4_OVERFIT_PRINTED['val']} val)",
              note=f"{_per_seed(final, '.2f')}; val accuracy {_per_seed(val)}")
    run.judge("(a) overfitting: train minus val accuracy at the end (mean over seeds)",
              "measured", None if dead else verdict.from_pairs(final, val), diverged=dead,
              source=SOURCE)
    return lost


def _deep(cfg, run):
    """(c): table, curves, batchnorm against the same init without it, the pick; returns the
    grid's lost."""
    variants = {str(v[0]): (bool(v[1]), _weight_scale(v[2])) for v in cfg.deep_variants}
    by, lost = _train_grid(
        cfg, run, "c_deep", [{"variant": name, "seed": int(s)} for name in variants
                             for s in cfg.deep_seeds], cfg.deep_num_train,
        lambda c: cfg.deep_pixel_scale, lambda c: DeepConvNet(
            num_filters=tuple(cfg.deep_filters), max_pools=tuple(cfg.deep_max_pools),
            batchnorm=variants[c["variant"]][0], weight_scale=variants[c["variant"]][1],
            reg=cfg.deep_reg, seed=c["seed"]), cfg.deep_lr, num_epochs=cfg.deep_epochs,
        batch_size=cfg.deep_batch_size, num_train_samples=1000)
    run.table("c_deep", ["variant", "final train acc", "std", "final val acc", "std",
                         "mean training loss (area under curve)", "std", "train time (s)"],
              [[name, *figures_or_label(lost, name, [
                  *mean_std(_finals(runs, "train")), *mean_std(_finals(runs)),
                  *mean_std([loss_auc(r["loss_history"]) for _, r in runs]),
                  float(np.mean([r["train_time"] for _, r in runs]))])]
               for name, runs in by.items()],
              title=f"(c) DeepConvNet filters {list(cfg.deep_filters)}, 2x2 max pools "
                    f"after layers {list(cfg.deep_max_pools)}: {cfg.deep_num_train} "
                    f"training images, {cfg.deep_epochs} epochs, batch "
                    f"{cfg.deep_batch_size}, Adam {cfg.deep_lr:g}, reg {cfg.deep_reg:g}, "
                    f"{count(len(cfg.deep_seeds), 'seed')}",
              note="Mean and std over seeds. Train accuracy on 1,000 sampled training images. "
                   "Pixels [0, 1] minus the mean image (as EECS 498's DeepConvNet notebook). "
                   "Area under the curve = mean loss over every iteration: lower means it "
                   "fell sooner.")
    ok = {name: [r for _, r in runs] for name, runs in by.items() if name not in lost}
    run.plot("c_deep_accuracy", "curves", title="(c) Accuracy (mean over seeds)",
             xlabel="epoch", panels=accuracy_panels(ok, pad=False))
    run.plot("c_deep_loss", "curves", title="(c) Training loss (mean over seeds)",
             xlabel="iteration", ylabel="loss", series=loss_series(ok))
    for c in batchnorm_comparisons(by, variants):
        dead = lost_cells(lost, [c["with"], c["without"]])
        run.judge(f"(c) final val accuracy gain from batchnorm ({c['with']} minus "
                  f"{c['without']})", "measured",
                  None if dead else verdict.from_seeds(c["val_gain"]), diverged=dead,
                  source=SOURCE + " (no figure quoted)", note=_per_seed(c["val_gain"], "+.3f"))
        with_bn, without = [a for _, a, _ in c["auc"]], [b for _, _, b in c["auc"]]
        run.judge(f"(c) batchnorm converges faster: mean training loss, {c['with']} minus "
                  f"{c['without']}", "comparison", None if dead else verdict.from_pairs(
                      with_bn, without), better="lower", diverged=dead,
                  source=ref.S2_4_DEEP_CLAIM + " (S1.6 a's expectation; S2.4 quotes none)",
                  note=f"paired by seed; {sum(c['faster'])} of {len(c['faster'])} seeds lower "
                  "with batchnorm; " + "; ".join(f"seed {seed}: {a:.3f} vs {b:.3f}"
                                                 for seed, a, b in c["auc"]))
    _pick(run, by, lost)
    return lost


def _pick(run, by, lost):
    """(c): the best variant against the runner-up; a variant with a diverged seed is out."""
    finals = {n: _finals(runs) for n, runs in by.items() if n not in lost}
    ranked = sorted(finals, key=lambda n: -np.mean(finals[n]))
    out = "; left out, diverged: " + ", ".join(lost) if lost else ""
    if len(ranked) < 2:
        if lost:
            run.judge("(c) the best variant by final val accuracy beats the runner-up",
                      "comparison", None, diverged=lost_cells(lost, lost), source=SOURCE,
                      note="fewer than two variants finished: no pick" + out)
        return
    best, second = ranked[:2]
    top = verdict.from_seeds(finals[best])
    tied = [n for n in ranked[1:] if verdict.from_seeds(finals[n]).high >= top.low]
    run.judge(f"(c) the best variant by final val accuracy ({best}) beats the runner-up "
              f"({second})", "comparison", verdict.from_pairs(finals[best], finals[second]),
              source=SOURCE + " (a pick from the grid, judged over seeds)",
              note="paired by seed; intervals over seeds overlapping the best's: "
              + (", ".join(tied) or "none") + out)


def _one_epoch(cfg, run):
    """(b): table, loss curves; val and train accuracy against the course's 40% and the wall
    time per epoch, of the pixel scales without a diverged seed; returns the grid's lost."""
    by, lost = _train_grid(
        cfg, run, "b_one_epoch", [{"pixel_scale": float(p), "seed": int(s)}
                                  for p in cfg.epoch_pixel_scales for s in cfg.epoch_seeds],
        cfg.epoch_num_train, lambda c: c["pixel_scale"], lambda c: ThreeLayerConvNet(
            num_filters=cfg.epoch_filters, filter_size=cfg.epoch_filter_size,
            hidden_dim=cfg.epoch_hidden, weight_scale=cfg.epoch_weight_scale,
            reg=cfg.epoch_reg, seed=c["seed"]), cfg.epoch_lr, num_epochs=cfg.epoch_epochs,
        batch_size=cfg.epoch_batch_size, num_train_samples=1000)
    runs = [(_pixels(scale), s, r) for scale, group in by.items() for s, r in group]
    n, epochs = runs[0][2]["num_train"], count(cfg.epoch_epochs, "epoch")
    run.table("b_one_epoch", ["pixels", "seed", "iterations", "final train acc (1,000 sampled)",
                              "final val acc", "mean loss, last 100 iterations",
                              "train time per epoch (s)", "cell wall time (s)"],
              [[pixels, s, len(r["loss_history"]), *(divergence.value_or_label(r, x) for x in (
                  r["train_acc_history"][-1], r["val_acc_history"][-1],
                  float(np.mean(r["loss_history"][-100:])))), _epoch_time(r),
                r["cell_wall_time"]] for pixels, s, r in runs],
              title=f"(b) ThreeLayerConvNet, {epochs} on {n:,} training images, {cfg.val:,} "
                    "validation",
              note=f"{cfg.epoch_filters} filters {cfg.epoch_filter_size}x"
                   f"{cfg.epoch_filter_size}, hidden {cfg.epoch_hidden}, weight scale "
                   f"{cfg.epoch_weight_scale:g}, reg {cfg.epoch_reg:g}, Adam lr {cfg.epoch_lr:g}, "
                   f"batch {cfg.epoch_batch_size}. Train accuracy on 1,000 sampled training "
                   "images (the Solver's default, as in the course); train time includes the "
                   f"epoch-end accuracy checks; BLAS limited to {count(cfg.threads, 'thread')}.")
    run.plot("b_loss", "curves", title="(b) Training loss", xlabel="iteration", panels=[
        {"title": title, "ylabel": "loss", "series": {
            f"{pixels}, seed {s}": curve(r["loss_history"]) for pixels, s, r in runs
            if not divergence.of(r)}}
        for title, curve in (("per iteration", lambda h: [list(range(1, len(h) + 1)), h]),
                             ("mean of the last 50 iterations", lambda h: moving_average(h, 50)))])
    quoted = f"'> {ref.S2_4_ONE_EPOCH_VAL_ACC:.0%} accuracy on the training set'"
    goal = f"layerlab's goal: the course's target > {ref.S2_4_ONE_EPOCH_VAL_ACC:.0%}"
    for scale, runs in by.items():
        val, train, dead = _finals(runs), _finals(runs, "train"), lost_cells(lost, [scale])
        run.judge(f"(b) val accuracy after {epochs} on {n:,} images, {_pixels(scale)} (mean "
                  f"over {count(len(runs), 'seed')})", "goal",
                  None if dead else verdict.from_seeds_and_images(val, cfg.val),
                  ref.S2_4_ONE_EPOCH_VAL_ACC, diverged=dead, key=scale == next(iter(by)),
                  source=f"{goal} for validation ({SOURCE})",
                  note=f"{_per_seed(val)}, each on the same {cfg.val:,} validation images; the "
                  f"notebook's own text says {quoted}")
        run.judge(f"(b) train accuracy after {epochs}, {_pixels(scale)} (1,000 sampled "
                  "training images, mean over seeds)", "goal",
                  None if dead else verdict.from_seeds_and_images(train, 1000),
                  ref.S2_4_ONE_EPOCH_VAL_ACC, diverged=dead,
                  source=f"{goal} (course notebook: {quoted})", note=_per_seed(train))
    times = [_epoch_time(r) for runs in by.values() for _, r in runs if not divergence.of(r)]
    run.judge("(b) wall time per epoch (training and the epoch-end accuracy checks)",
              "measured", verdict.from_seeds(times) if times else None, unit="s",
              diverged=not times and lost_cells(lost, lost),
              note=f"over {count(len(times), 'run')} that finished, range "
              f"{min(times, default=0):.0f}-{max(times, default=0):.0f} s; "
              f"{n // cfg.epoch_batch_size} iterations per epoch; BLAS limited to "
              f"{count(cfg.threads, 'thread')} on a shared machine")
    return lost


@experiment("conv-nets", study="S2.4",
            title="three-layer conv net: overfit 100 images, one epoch > 40%; deep net with "
                  "and without batchnorm",
            estimate="17 min", config=ConvNetsConfig,
            quick={"dataset": "builtin", "val": 100, "overfit_num_train": 20,
                   "overfit_epochs": 2, "overfit_batch_size": 10,
                   "overfit_variants": (("course: 0-255 pixels, std 1e-2", 255.0, 1e-2),
                                        ("[0, 1] pixels, Kaiming", 1.0, "kaiming")),
                   "overfit_seeds": (0,), "epoch_num_train": 100, "epoch_hidden": 20,
                   "epoch_filters": 4, "deep_num_train": 40, "deep_filters": (4, 4),
                   "deep_max_pools": (0, 1), "deep_epochs": 2, "deep_batch_size": 20,
                   "deep_variants": (("batchnorm, Kaiming", True, "kaiming"),
                                     ("no batchnorm, Kaiming", False, "kaiming")),
                   "deep_seeds": (0, 1)})
def conv_nets(cfg, run):
    """S2.4 (a), (b), (c)."""
    run.note("Settings chosen", (
        "(a) and (b) are the course notebook's runs (CS231n ConvolutionalNetworks), on pixels "
        f"in 0-255 minus the mean image. Validation: a seeded random draw of {cfg.val:,} "
        "training images; training: the rest, or a seeded subset; the mean image is that of "
        "the training part used. (c) is not in that notebook: a DeepConvNet in the style of "
        "EECS 498-007 (3x3 convs, optional spatial batchnorm, Kaiming init, Gaussian std 1e-3 "
        "the class default), sized for this machine's CPU time. The CIFAR-10 here "
        "is a lossy JPEG copy (see Data), so accuracies may differ slightly from the original's."))
    record_datasets(run, lambda: [_train_set(cfg.dataset)])
    lost = (_overfit(cfg, run), _deep(cfg, run), _one_epoch(cfg, run))
    divergence.note(run, {n: r for g in lost for cells in g.values() for n, r in cells.items()},
                    "a variant or pixel scale with one has no mean over seeds")
