"""S4 LeNet-5 variants on Fashion-MNIST (PyTorch).

Two experiments, `lenet-fashion` (the study) and `lenet-fashion-best` (a best recipe):

- the study's five variants (baseline; dropout 0.5 in the FC part, before the output
  layer; L2 as Adam weight decay 0.01; "optimised L2", weight decay 0.001 for 20 epochs;
  batchnorm after both convolutions),
  LeNet-5 with tanh and average pooling (LeNet's subsampling: the study says only "pool"),
  Adam lr 1e-3, batch 64, 12 epochs, a seeded 90/10 train/val split of the 60,000 training
  images, over 3 seeds (initial weights, batch order, dropout masks). Final train (eval mode,
  whole training split), val and test accuracy beside the study's table, mean ± std, and each
  variant's difference from the baseline with its standard error (paired by seed), so that
  differences are judged against the seed noise;
- per-epoch train and val accuracy of every variant on one figure;
- every model's weights saved, reloaded into a fresh model and re-evaluated (the same number
  of correct images on every split; `layerlab eval RUN_DIR` repeats it later);
- `lenet-fashion-best`, a best recipe (issue 6: >= 91.5% test): the same LeNet-5 layers with
  batchnorm, ReLU and max pooling, trained with Adam and a one-cycle schedule, batch 128,
  left-right flips, over the same seeds. It was fixed before the run from exploratory runs
  compared on validation accuracy; the test split is only measured;
- per-epoch training time of every variant and the training time until the test accuracy
  first reaches 89% (the study's level; the variants' epochs are fixed by the study, so the
  per-epoch test accuracy selects nothing: the final weights are always the last epoch's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import mean_std, paired_difference
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.references import (
    S4_BEST_GOAL_TEST_ACC,
    S4_ISSUE_TEST_ACC,
    S4_REFERENCE_TRAIN_VAL,
    S4_SPEED_GOAL_SECONDS,
    S4_SPEED_GOAL_SECONDS_ONECYCLE,
    S4_SPEED_TARGET_ACC,
    S4_STUDY_RECIPE_EPOCH_SECONDS,
    S4_TARGET_TEST_ACC,
)
from layerlab.trainers.torch_cell import Recipe, data_spec, load_data, train_cell

SOURCE = "shared/STUDIES.md S4"
ISSUE = "issue 6 (goal set for this repository, not a figure of the study)"
VARIANTS = ("baseline", "dropout", "l2", "optimised_l2", "batchnorm")
LABELS = {"baseline": "baseline", "dropout": "dropout 0.5", "l2": "L2 (weight decay 0.01)",
          "optimised_l2": "optimised L2 (weight decay 0.001, 20 epochs)",
          "batchnorm": "batchnorm", "recipe": "best recipe", "fast": "short one-cycle"}


@dataclass
class FashionData:
    """Data, seeds and layout shared by both S4 experiments."""

    dataset: str = "fashion-mnist"
    val: float = 0.1
    split_seed: int = 0
    num_train: int | None = None  # quick runs: a seeded subset of the training split
    num_test: int | None = None
    seeds: tuple = (0, 1, 2)
    channels_last: bool = True


@dataclass
class LeNetFashionConfig(FashionData):
    """The study's settings."""

    variants: tuple = VARIANTS
    activation: str = "tanh"
    pool: str = "avg"
    epochs: int = 12
    optimised_l2_epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    dropout: float = 0.5
    # where "dropout 0.5 in the FC part" goes: before the output layer (fc2's output). With
    # dropout after both hidden FC layers the variant under-fitted in 12 epochs; the placement
    # was chosen on validation accuracy in exploratory runs, never on test.
    dropout_after: tuple = ("fc2",)
    l2_weight_decay: float = 0.01
    optimised_l2_weight_decay: float = 0.001


@dataclass
class LeNetBestConfig(FashionData):
    """The best recipe: LeNet-5's layers with batchnorm, Adam + one-cycle, augmentation."""

    recipe_activation: str = "relu"
    recipe_pool: str = "max"
    recipe_epochs: int = 20
    recipe_batch_size: int = 128
    recipe_max_lr: float = 3e-3
    recipe_shift: int = 0
    recipe_flip: bool = True
    # the speed goal's model: the same net and schedule squeezed into two epochs, no flips
    # (they slow the first epochs down), a higher peak rate; time to 89% is its whole training
    # time. Epochs and rate were chosen on validation accuracy in exploratory runs (2 epochs:
    # peak 6e-3 beat 3e-3)
    fast_epochs: int = 2
    fast_max_lr: float = 6e-3
    # label smoothing of the short run's loss: 0.1 beat 0, 0.05 and 0.2 on validation accuracy
    # after its 2 epochs, on each of seeds 0-2 (mean 0.9004 vs 0.8979, 0.8997, 0.8996)
    fast_label_smoothing: float = 0.1


QUICK_DATA = {"dataset": "fashion-mnist-mini", "num_train": 300, "val": 100, "num_test": 300,
              "seeds": (0,)}
QUICK = {**QUICK_DATA, "epochs": 1, "optimised_l2_epochs": 1}
QUICK_BEST = {**QUICK_DATA, "recipe_epochs": 1, "fast_epochs": 1}


def variant_settings(cfg, variant):
    """(LeNet5 keyword arguments, Recipe keyword arguments) of one study variant, or of
    the best recipe (variant 'recipe', cfg a LeNetBestConfig) or its short form ('fast')."""
    if variant in ("recipe", "fast"):
        fast = variant == "fast"
        return ({"activation": cfg.recipe_activation, "pool": cfg.recipe_pool,
                 "batchnorm": True},
                {"epochs": cfg.fast_epochs if fast else cfg.recipe_epochs,
                 "batch_size": cfg.recipe_batch_size,
                 "lr": cfg.fast_max_lr if fast else cfg.recipe_max_lr,
                 "schedule": "onecycle", "shift": 0 if fast else cfg.recipe_shift,
                 "flip": False if fast else cfg.recipe_flip,
                 "label_smoothing": cfg.fast_label_smoothing if fast else 0.0})
    model = {"activation": cfg.activation, "pool": cfg.pool}
    recipe = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr}
    if variant == "dropout":
        model.update(dropout=cfg.dropout, dropout_after=tuple(cfg.dropout_after))
    elif variant == "l2":
        recipe["weight_decay"] = cfg.l2_weight_decay
    elif variant == "optimised_l2":
        recipe.update(weight_decay=cfg.optimised_l2_weight_decay, epochs=cfg.optimised_l2_epochs)
    elif variant == "batchnorm":
        model["batchnorm"] = True
    elif variant != "baseline":
        raise ValueError(f"unknown variant {variant!r}: one of {VARIANTS + ('recipe', 'fast')}")
    return model, recipe


def time_to(history, target, key="test_acc"):
    """Training seconds until the first epoch whose `key` reaches target (None: never)."""
    from layerlab.pytorch import time_to_accuracy

    return time_to_accuracy(history, target, key)


def _fmt(values, digits=4):
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def _seconds(values):
    known = [v for v in values if v is not None]
    if not known:
        return "never"
    text = _fmt(known, 1) + " s"
    return text if len(known) == len(values) else f"{text} ({len(known)} of {len(values)} seeds)"


@experiment("lenet-fashion", study="S4", title="LeNet-5 variants on Fashion-MNIST (PyTorch): "
            "five variants over 3 seeds, reload check, time to 89%",
            estimate="40 min", config=LeNetFashionConfig, quick=QUICK)
def lenet_fashion(cfg, run):
    """S4; see the module docstring."""
    from layerlab.pytorch import LeNet5

    spec = data_spec(cfg.dataset, cfg.val, cfg.split_seed, cfg.num_train, cfg.num_test)
    data = load_data(spec, run)
    names = list(cfg.variants)
    cells = [{"variant": v, "seed": s} for v in names for s in cfg.seeds]

    def one(c):
        model_kw, recipe = variant_settings(cfg, c["variant"])
        return train_cell(run, f"variants/variant={c['variant']},seed={c['seed']}",
                          lambda: LeNet5(**model_kw), data, spec,
                          Recipe(seed=c["seed"], monitor_test=True, eval_train=True,
                                 channels_last=cfg.channels_last, **recipe))

    results = grid(run, "variants", cells, one, objective="best_val_acc")
    by = {}
    for c, r in zip(cells, results, strict=True):
        by.setdefault(c["variant"], []).append(r)
    _report(cfg, run, by, names, len(data["y_train"]), len(data["y_test"]))


@experiment("lenet-fashion-best", study="S4", title="LeNet-5 on Fashion-MNIST: a best recipe "
            "(batchnorm, one-cycle, augmentation) over 3 seeds, and a short one-cycle: time to "
            "89%",
            estimate="15 min", config=LeNetBestConfig, quick=QUICK_BEST)
def lenet_fashion_best(cfg, run):
    """S4's best recipe (issue 6: >= 91.5% test); see the module docstring."""
    from layerlab.pytorch import LeNet5

    spec = data_spec(cfg.dataset, cfg.val, cfg.split_seed, cfg.num_train, cfg.num_test)
    data = load_data(spec, run)
    by = {}
    for variant in ("recipe", "fast"):
        model_kw, recipe = variant_settings(cfg, variant)

        def one(c, variant=variant, model_kw=model_kw, recipe=recipe):
            return train_cell(run, f"{variant}/seed={c['seed']}", lambda: LeNet5(**model_kw),
                              data, spec, Recipe(seed=c["seed"], monitor_test=True,
                                                 eval_train=True,
                                                 channels_last=cfg.channels_last, **recipe))

        by[variant] = grid(run, variant, [{"seed": s} for s in cfg.seeds], one,
                           objective="best_val_acc")
    _report(cfg, run, by, ["recipe", "fast"], len(data["y_train"]), len(data["y_test"]))


def _report(cfg, run, by, names, n_train, n_test):
    seeds = list(cfg.seeds)
    cpu = all("cpu_time" in r for rs in by.values() for r in rs)
    rows = []
    for v in names:
        rs = by[v]
        ref = S4_REFERENCE_TRAIN_VAL.get(v, ("", ""))
        rows.append([LABELS[v], _fmt([r["final"]["train"] for r in rs]), ref[0],
                     _fmt([r["final"]["val"] for r in rs]), ref[1],
                     _fmt([r["final"]["test"] for r in rs]),
                     _fmt([r["epoch_time"] for r in rs], 1),
                     _seconds([time_to(r["history"], S4_SPEED_TARGET_ACC) for r in rs])]
                    + ([_fmt([r["cpu_time"] / len(r["history"]["epoch"]) for r in rs], 1),
                        " ".join(f"{r['load']:.1f}" for r in rs)] if cpu else []))
    run.table("accuracy", ["variant", "train (ours)", "train (study)", "val (ours)",
                           "val (study)", "test (ours)", "s / epoch (training)",
                           f"training time to {S4_SPEED_TARGET_ACC:.0%} test"]
              + (["CPU s / epoch (with evaluation)", "load average at the end"] if cpu
                 else []), rows,
              title=f"Final accuracy, mean ± std over seeds {seeds}, beside the study's "
                    "table",
              note=f"Train: the final model in eval mode on the whole training split "
                   f"({n_train:,} images; the study's figure is probably Keras' running "
                   "accuracy, which is lower with dropout on). Val: the seeded 10% split. "
                   f"Test: the {n_test:,} test images, final weights (the last epoch). Time: "
                   "training seconds (evaluation excluded), per epoch and summed until the "
                   "first epoch whose test accuracy reaches the target; these are wall "
                   "seconds, which grow with other work on this shared 2-core machine"
                   + ("; CPU seconds of the one-thread process (training and evaluation) "
                      "are closer to what an idle core would take" if cpu else "") + ".")

    base = by["baseline"] if "baseline" in by else None
    if base is not None and len(seeds) > 1:
        diff_rows = []
        for v in names:
            if v == "baseline":
                continue
            row = [LABELS[v]]
            for split in ("val", "test"):
                m, se = paired_difference([r["final"][split] for r in by[v]],
                                          [r["final"][split] for r in base])
                verdict = "clear" if abs(m) > 2 * se else "within the noise"
                row += [f"{m:+.4f} ± {se:.4f}", verdict]
            diff_rows.append(row)
        run.table("differences", ["variant", "val minus baseline", "val", "test minus baseline",
                                  "test"], diff_rows,
                  title="Each variant against the baseline, paired by seed (mean ± standard "
                        "error)",
                  note="'clear': more than two standard errors from 0. With 3 seeds the "
                       "standard error is itself rough; the seed-to-seed std is in the table "
                       "above.")

    for v in names:
        rs = by[v]
        test = [r["final"]["test"] for r in rs]
        m, s = mean_std(test)
        if v in S4_REFERENCE_TRAIN_VAL:
            ref_val = S4_REFERENCE_TRAIN_VAL[v][1]
            vm, vs = mean_std([r["final"]["val"] for r in rs])
            run.claim(f"{LABELS[v]}: final val accuracy", vm, ref_val,
                      tolerance=round(max(2 * vs, 0.005), 4), source=SOURCE,
                      note=f"mean ± std over seeds {seeds}: {vm:.4f} ± {vs:.4f}; tolerance: "
                           "two seed stds, at least 0.005")
            note = f"mean ± std {m:.4f} ± {s:.4f}; per seed " + ", ".join(
                f"{t:.4f}" for t in test)
            if v in S4_ISSUE_TEST_ACC:
                note += (f"; issue 6 measured {S4_ISSUE_TEST_ACC[v]:.3f} with the study's "
                         "recipe and a plain DataLoader")
            run.claim(f"{LABELS[v]}: test accuracy >= {S4_TARGET_TEST_ACC:.0%}", m,
                      S4_TARGET_TEST_ACC, source=SOURCE, note=note)
        elif v == "recipe":
            run.claim(f"best recipe: test accuracy >= {S4_BEST_GOAL_TEST_ACC:.1%}", m,
                      S4_BEST_GOAL_TEST_ACC, source=ISSUE,
                      note=f"mean ± std over seeds {seeds}: {m:.4f} ± {s:.4f}; lowest seed "
                           f"{min(test):.4f}; best val {_fmt([r['final']['val'] for r in rs])}")
    _speed_claims(cfg, run, by)
    identical = all(r["reload_identical"] for rs in by.values() for r in rs)
    run.claim("saved weights reloaded into a fresh model give the same predictions (every "
              "image, every split, every model)", identical, True, better="equal",
              source=SOURCE, note=f"{sum(len(rs) for rs in by.values())} models; "
              "`layerlab eval RUN_DIR` repeats the check from the files in weights/")
    _underfit_note(run, by)
    _plots(run, by, names)
    if "recipe" in by:
        run.note("Recipe", (
            f"LeNet-5's layers (conv 6@5×5 pad 2, pool, conv 16@5×5, pool, FC 120, 84, 10) "
            f"with batchnorm after both convolutions, {cfg.recipe_activation}, "
            f"{cfg.recipe_pool} pooling; Adam with a one-cycle schedule peaking at "
            f"{cfg.recipe_max_lr:g}, batch {cfg.recipe_batch_size}, {cfg.recipe_epochs} epochs"
            + (f", random shifts of up to ±{cfg.recipe_shift} pixels" if cfg.recipe_shift
               else "")
            + (", left-right flips of a random half of each batch" if cfg.recipe_flip else "")
            + f". The short one-cycle is the same net and schedule over {cfg.fast_epochs} "
            f"epochs, peaking at {cfg.fast_max_lr:g}, without augmentation"
            + (f", with label smoothing {cfg.fast_label_smoothing:g} in its training loss"
               if cfg.fast_label_smoothing else "")
            + ", for the speed goal "
            "(89% test in the fewest training seconds). Both were fixed before this run from "
            "exploratory runs compared on validation accuracy (the test split chose nothing). "
            f"The validation split is the study's seeded {cfg.val:g} of the training images; "
            f"seeds {list(cfg.seeds)}. "
            "Training ran with channels-last (NHWC) weights, faster on this CPU; saving and "
            "evaluation use the default layout."))
        return
    run.note("Settings chosen", (
        f"LeNet-5 for 28×28 input, {cfg.activation}, {cfg.pool} pooling (LeNet's subsampling; "
        "the study says only 'pool'), PyTorch's default initialisation. Adam lr "
        f"{cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs ({cfg.optimised_l2_epochs} "
        "for optimised L2). L2 is Adam's `weight_decay` (coupled: added to the gradient, as "
        "the study's 'L2 via weight decay' reads), and in PyTorch it also decays biases. "
        f"Dropout {cfg.dropout:g} after {' and '.join(cfg.dropout_after)} (the study says "
        "only 'in the FC part'; after both hidden FC layers the variant under-fitted in 12 "
        "epochs, so the placement was chosen on validation accuracy in exploratory runs); "
        "batchnorm after both convolutions, before the activation. The validation split is "
        f"a seeded ({cfg.split_seed}) random {cfg.val:g} of the training images, the same for "
        f"every seed; seeds {list(cfg.seeds)} change the initial weights, the batch order and "
        "the dropout masks. Training ran with channels-last (NHWC) weights, which is faster "
        "on this CPU; saving and evaluation use the default layout."))


def _speed_claims(cfg, run, by):
    def fastest(v):
        times = [time_to(r["history"], S4_SPEED_TARGET_ACC) for r in by[v]]
        known = [t for t in times if t is not None]
        return (min(known) if known else None), times

    candidates = {v: fastest(v) for v in by}
    reached = {v: t for v, (t, _) in candidates.items() if t is not None}
    if reached:
        v = min(reached, key=reached.get)
        run.claim(f"training time of a LeNet-5-sized model to {S4_SPEED_TARGET_ACC:.0%} test "
                  "accuracy (fastest model of the run)", reached[v], S4_SPEED_GOAL_SECONDS,
                  better="lower", unit="s", source=ISSUE,
                  note=f"{LABELS[v]}; per seed: " + ", ".join(
                      "never" if t is None else f"{t:.1f} s" for t in candidates[v][1]))
    else:
        run.claim(f"training time to {S4_SPEED_TARGET_ACC:.0%} test accuracy", None,
                  S4_SPEED_GOAL_SECONDS, better="lower", unit="s", source=ISSUE,
                  note="no model of the run reached it")
    if "recipe" in by:
        t, times = candidates["recipe"]
        run.claim(f"best recipe (one-cycle over {cfg.recipe_epochs} epochs): training time to "
                  f"{S4_SPEED_TARGET_ACC:.0%} test", t, S4_SPEED_GOAL_SECONDS_ONECYCLE,
                  better="lower", unit="s", source=ISSUE,
                  note="fastest seed; per seed: " + ", ".join(
                      "never" if x is None else f"{x:.1f} s" for x in times)
                  + ". A one-cycle schedule spread over more epochs keeps the rate high for "
                    "longer, so it reaches a given accuracy later than a short one would")
    if "fast" in by:
        times = candidates["fast"][1]
        worst = None if None in times else max(times)
        per_seed = ", ".join("never" if x is None else f"{x:.1f} s" for x in times)
        for goal, what in ((S4_SPEED_GOAL_SECONDS, "any LeNet-5-sized model"),
                           (S4_SPEED_GOAL_SECONDS_ONECYCLE, "with a one-cycle schedule")):
            run.claim(f"short one-cycle ({cfg.fast_epochs} epochs): training time to "
                      f"{S4_SPEED_TARGET_ACC:.0%} test, slowest seed (goal {what})", worst,
                      goal, better="lower", unit="s", source=ISSUE,
                      note=f"per seed: {per_seed}; test accuracy "
                           + _fmt([r["final"]["test"] for r in by["fast"]])
                           + "; training seconds only (evaluation excluded)")
    if "baseline" in by:
        m, s = mean_std([r["epoch_time"] for r in by["baseline"]])
        run.claim("study recipe (baseline, Adam, batch 64): training seconds per epoch", m,
                  S4_STUDY_RECIPE_EPOCH_SECONDS, better="lower", unit="s", source=ISSUE,
                  note=f"mean ± std over seeds {m:.2f} ± {s:.2f} s; ours: tensors in memory "
                       "(layerlab.pytorch.fit), the reference: a plain DataLoader as measured "
                       "in issue 6; see benchmarks/train_loop.py for both on one machine")


def _underfit_note(run, by):
    if "l2" not in by or "baseline" not in by:
        return
    l2, base = by["l2"], by["baseline"]
    tr, va, te = (float(np.mean([r["final"][s] for r in l2])) for s in ("train", "val", "test"))
    btr, bva = (float(np.mean([r["final"][s] for r in base])) for s in ("train", "val"))
    underfits = tr < btr - 0.01 and tr - va < btr - bva
    text = (f"With weight decay 0.01 the net ends at {tr:.4f} train, {va:.4f} val and {te:.4f} "
            f"test accuracy (baseline: {btr:.4f} train, {bva:.4f} val); its train-val gap is "
            f"{tr - va:+.4f} (baseline {btr - bva:+.4f}). ")
    if underfits:
        text += ("Lower train accuracy than the baseline with a smaller gap is under-fitting: "
                 "the decay pulls every weight (and, in PyTorch's Adam, every bias) towards 0 "
                 "at each step so strongly that the net cannot fit even the training images. "
                 "Over-fitting would show the opposite (high train, low val). That is why the "
                 f"study's own run sits at {S4_REFERENCE_TRAIN_VAL['l2'][0]:.2f} train and the "
                 f"{S4_TARGET_TEST_ACC:.0%} target is not expected of this variant; weight "
                 "decay 0.001 (optimised L2) is ten times weaker.")
    else:
        text += "This run does not show the under-fitting the study reports for it."
    run.note("L2 0.01: under-fitting", text)


def _mean_curve(rs, key):
    n = max(len(r["history"][key]) for r in rs)
    rows = [r["history"][key] + [float("nan")] * (n - len(r["history"][key])) for r in rs]
    return np.nanmean(np.asarray(rows, dtype=float), axis=0).tolist()


def _plots(run, by, names):
    panels = []
    for key, label in (("train_acc", "train accuracy (running, train mode)"),
                       ("val_acc", "val accuracy")):
        panels.append({"ylabel": label, "series": {
            LABELS[v]: [by[v][0]["history"]["epoch"], _mean_curve(by[v], key)] for v in names}})
    run.plot("accuracy", "curves", title="Accuracy per epoch, every variant (mean over seeds)",
             xlabel="epoch", panels=panels,
             note="Train accuracy here is the running accuracy during each epoch (dropout on, "
                  "weights changing), as Keras reports it; the table's train accuracy is the "
                  "final model's in eval mode.")
    run.plot("epoch_time", "curves", title="Training seconds per epoch (mean over seeds)",
             xlabel="epoch", ylabel="seconds", series={
                 LABELS[v]: [by[v][0]["history"]["epoch"], _mean_curve(by[v], "time")]
                 for v in names})
