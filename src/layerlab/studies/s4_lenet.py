"""S4 LeNet-5 on Fashion-MNIST (PyTorch).

- `lenet-fashion`: the study's five variants of LeNet-5 (tanh, average pooling, Adam 1e-3,
  batch 64, 12 epochs) over 3 seeds, against the study's figures and each other.
- `lenet-fashion-best`: a best recipe for layerlab's goal (>= 91.5% test) and a short one-cycle
  for the speed goal (training seconds until the test accuracy first reaches 89%), over 5 seeds.
Every model is saved, reloaded and re-evaluated (`layerlab eval RUN_DIR` repeats it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from layerlab import references as ref
from layerlab.analysis import count, mean_curve, mean_std, pm
from layerlab.analysis import verdict as vd
from layerlab.lab.config import words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.pytorch import LeNet5, time_to_accuracy
from layerlab.trainers.torch_cell import Recipe, cell_trainer, data_spec

SOURCE = "S4"
GOAL = "layerlab's goal (set for this repository, not a figure of the study)"
SPLITS = ("train", "val", "test")
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

    checks = {"variants": words(VARIANTS), "dropout_after": words(("fc1", "fc2"))}

    variants: tuple = VARIANTS
    activation: str = "tanh"
    pool: str = "avg"
    epochs: int = 12
    optimised_l2_epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    dropout: float = 0.5
    # where "dropout 0.5 in the FC part" goes, chosen on validation accuracy (see the note)
    dropout_after: tuple = ("fc2",)
    l2_weight_decay: float = 0.01
    optimised_l2_weight_decay: float = 0.001


@dataclass
class LeNetBestConfig(FashionData):
    """The best recipe: LeNet-5's layers with batchnorm, Adam + one-cycle, augmentation."""

    seeds: tuple = (0, 1, 2, 3, 4)
    recipe_activation: str = "relu"
    recipe_pool: str = "max"
    recipe_epochs: int = 20
    recipe_batch_size: int = 128
    recipe_max_lr: float = 3e-3
    recipe_shift: int = 0
    recipe_flip: bool = True
    # the speed goal's model: the same net in two epochs, no flips, a higher peak rate; epochs,
    # rate and label smoothing chosen on validation accuracy in exploratory runs
    fast_epochs: int = 2
    fast_max_lr: float = 6e-3
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
        return ({"activation": cfg.recipe_activation, "pool": cfg.recipe_pool, "batchnorm": True},
                {"epochs": cfg.fast_epochs if fast else cfg.recipe_epochs, "schedule": "onecycle",
                 "batch_size": cfg.recipe_batch_size,
                 "lr": cfg.fast_max_lr if fast else cfg.recipe_max_lr,
                 "shift": 0 if fast else cfg.recipe_shift, "flip": not fast and cfg.recipe_flip,
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


def _train(cfg, run, grids):
    """{grid name: results in cell order} of LeNet-5 grids {name: (cells {seed} of `variant`, or
    {variant, seed}; variant)}."""
    train = cell_trainer(run, data_spec(cfg.dataset, cfg.val, cfg.split_seed, cfg.num_train,
                                        cfg.num_test))

    def one(grid_name, variant, c):
        model_kw, recipe = variant_settings(cfg, c.get("variant", variant))
        return train(cell_key(grid_name, c), lambda: LeNet5(**model_kw),
                     Recipe(seed=c["seed"], monitor_test=True, eval_train=True,
                            channels_last=cfg.channels_last, **recipe))

    return {name: grid(run, name, cells, partial(one, name, variant), objective="best_val_acc")
            for name, (cells, variant) in grids.items()}


@experiment("lenet-fashion", study="S4", title="LeNet-5 variants on Fashion-MNIST (PyTorch): "
            "five variants over 3 seeds, reload check, time to 89%",
            estimate="40 min", config=LeNetFashionConfig, quick=QUICK)
def lenet_fashion(cfg, run):
    """S4; see the module docstring."""
    cells = [{"variant": v, "seed": s} for v in cfg.variants for s in cfg.seeds]
    results = _train(cfg, run, {"variants": (cells, None)})["variants"]
    _report(cfg, run, {v: [r for c, r in zip(cells, results, strict=True) if c["variant"] == v]
                       for v in cfg.variants})


@experiment("lenet-fashion-best", study="S4", title="LeNet-5 on Fashion-MNIST: a best recipe "
            "(batchnorm, one-cycle, augmentation) over 5 seeds, and a short one-cycle: time to "
            "89%",
            estimate="25 min", config=LeNetBestConfig, quick=QUICK_BEST)
def lenet_fashion_best(cfg, run):
    """S4's best recipe (layerlab's goal: >= 91.5% test); see the module docstring."""
    _report(cfg, run, _train(cfg, run, {v: ([{"seed": s} for s in cfg.seeds], v)
                                        for v in ("recipe", "fast")}))


def _fmt(values, digits=4):
    return pm(*mean_std(values), digits=digits)


def _time_to(result):
    """Training seconds until the test accuracy first reaches the speed target (None: never)."""
    return time_to_accuracy(result["history"], ref.S4_SPEED_TARGET_ACC, "test_acc")


def _seconds(values):
    known = [v for v in values if v is not None]
    text, n = (_fmt(known, 1) + " s" if known else "never"), len(known)
    return text if n in (0, len(values)) else f"{text} ({n} of {len(values)} seeds)"


def _per_seed(times):
    return ", ".join("never" if t is None else f"{t:.1f} s" for t in times)


def _final(rs, split):
    """Final accuracy on a split, per seed."""
    return [r["final"][split] for r in rs]


def _n(by, split):
    """The number of images of a split (the same for every cell)."""
    return next(iter(by.values()))[0]["correct"][split][1]


def _report(cfg, run, by):
    """Tables, claims, notes and plots of {variant: [result per seed]}, from the results only."""
    _accuracy_table(cfg, run, by)
    _difference_table(cfg, run, by)
    _accuracy_claims(cfg, run, by)
    _comparison_claims(run, by)
    _speed_claims(cfg, run, by)
    differ = sum(not r["reload_identical"] for rs in by.values() for r in rs)
    run.judge("saved weights reloaded into a fresh model: models whose predictions differ (any "
              "image, any split)", "goal", vd.exact(differ), 0, better="lower",
              source=f"{SOURCE} asks for the reload check; 0 is layerlab's goal",
              note=f"{sum(len(rs) for rs in by.values())} models; `layerlab eval RUN_DIR` "
                   "repeats the check from the files in weights/")
    _underfit_note(run, by)
    _plots(run, by)
    _settings_note(cfg, run, by)


def _accuracy_table(cfg, run, by):
    rows = []
    for v, rs in by.items():
        study = ref.S4_REFERENCE_TRAIN_VAL.get(v, ("", ""))
        final = {s: _fmt(_final(rs, s)) for s in SPLITS}
        rows.append([LABELS[v], final["train"], study[0], final["val"], study[1], final["test"],
                     _fmt([r["epoch_time"] for r in rs], 1), _seconds([_time_to(r) for r in rs]),
                     _fmt([r["cpu_time"] / len(r["history"]["epoch"]) for r in rs], 1),
                     " ".join(f"{r['load']:.1f}" for r in rs)])
    n_train, n_test = _n(by, "train"), _n(by, "test")
    run.table("accuracy", ["variant", "train (ours)", "train (study)", "val (ours)",
                           "val (study)", "test (ours)", "s / epoch (training)",
                           f"training time to {ref.S4_SPEED_TARGET_ACC:.0%} test",
                           "CPU s / epoch (with evaluation)", "load average at the end"], rows,
              title=f"Final accuracy, mean ± std over {count(len(cfg.seeds), 'seed')}, beside "
                    "the study's table",
              note=f"Train: the final model in eval mode on all {n_train:,} training images "
                   "(the study's is probably Keras' running accuracy). Val: the seeded 10% split. "
                   f"Test: the {n_test:,} test images. Time: training wall seconds, per epoch and "
                   "until the first epoch whose test accuracy reaches the target (they grow with "
                   "other work on this shared machine; CPU seconds are closer to an idle core's).")


def _difference_table(cfg, run, by):
    if "baseline" not in by or len(cfg.seeds) < 2:
        return
    rows = []
    for v in [v for v in by if v != "baseline"]:
        diffs = [vd.from_pairs(_final(by[v], s), _final(by["baseline"], s)) for s in SPLITS[1:]]
        rows.append([LABELS[v]] + [x for d in diffs for x in (
            f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]",
            "excludes 0" if d.low > 0 or d.high < 0 else "includes 0")])
    run.table("differences", ["variant", "val minus baseline", "val", "test minus baseline",
                              "test"], rows,
              title="Each variant minus the baseline, paired by seed (mean [95% interval])",
              note="Student t intervals over the per-seed differences (few seeds: wide ones).")


def _accuracy_claims(cfg, run, by):
    seeds, n_val, n_test = list(cfg.seeds), _n(by, "val"), _n(by, "test")
    over = f"over seeds {seeds} and the {n_test:,} test images"
    for v, rs in by.items():
        test, val = _final(rs, "test"), _final(rs, "val")
        per_seed = "per seed " + ", ".join(f"{t:.4f}" for t in test)
        if v in ("recipe", "fast"):
            goal = ref.S4_BEST_GOAL_TEST_ACC if v == "recipe" else ref.S4_SPEED_TARGET_ACC
            what = "" if v == "recipe" else ", the accuracy of the speed goal"
            run.judge(f"{LABELS[v]}: test accuracy >= {goal:.1%} (layerlab's goal{what})",
                      "goal", vd.from_seeds_and_images(test, n_test), goal, source=GOAL,
                      key=v == "recipe",
                      note=f"{over}; {per_seed}; val {_fmt(val)}")
        if v not in ref.S4_REFERENCE_TRAIN_VAL:
            continue
        run.judge(f"{LABELS[v]}: final val accuracy", "figure",
                  vd.from_seeds_and_images(val, n_val), ref.S4_REFERENCE_TRAIN_VAL[v][1],
                  figure_n=ref.S4_REFERENCE_VAL_IMAGES, source=SOURCE,
                  note=f"over seeds {seeds} and our {n_val:,} val images; the study's figure is "
                       "one run on its own random split, whose sampling noise widens ours; "
                       "per seed " + ", ".join(f"{a:.4f}" for a in val))
        run.judge(f"{LABELS[v]}: test accuracy >= {ref.S4_TARGET_TEST_ACC:.0%} (the study's "
                  "target)", "goal", vd.from_seeds_and_images(test, n_test),
                  ref.S4_TARGET_TEST_ACC, key=v == "baseline",
                  source=f"{SOURCE}: the study's pass/fail target",
                  note=f"{over}; {per_seed}")


def _comparison_claims(run, by):
    """Each variant against the baseline on val, in the order of the study's figures."""
    if "baseline" not in by:
        return
    study = ref.S4_REFERENCE_TRAIN_VAL
    for v in [v for v in by if v != "baseline" and v in study]:
        a, b = sorted((v, "baseline"), key=lambda w: -study[w][1])
        run.judge(f"{LABELS[a]} beats {LABELS[b]} on val accuracy (the study's order)",
                  "comparison", vd.from_pairs(_final(by[a], "val"), _final(by[b], "val")),
                  source=f"{SOURCE}: val {study[a][1]:.4f} vs {study[b][1]:.4f}, one run each",
                  note="difference of final val accuracy, paired by seed")


def _speed_goals(cfg, times):
    """[(variant or None, goal seconds, whose goal, claim name, why)]: the speed claims."""
    target = f"training time to {ref.S4_SPEED_TARGET_ACC:.0%} test"
    any_model = (ref.S4_SPEED_GOAL_SECONDS, "any LeNet-5-sized model")
    onecycle = (ref.S4_SPEED_GOAL_SECONDS_ONECYCLE, "a one-cycle schedule")
    if "fast" in times:
        short = f"short one-cycle ({count(cfg.fast_epochs, 'epoch')}): {target}"
        return [("fast", *any_model, short, ""), ("fast", *onecycle, short, ""),
                ("recipe", *onecycle, "best recipe (one-cycle over "
                 f"{count(cfg.recipe_epochs, 'epoch')}): {target}", "a one-cycle over more "
                 "epochs keeps the rate high for longer: it reaches a given accuracy later")]
    done = [v for v, ts in times.items() if None not in ts]
    v = min(done, key=lambda w: float(np.mean(times[w]))) if done else None
    return [(v, *any_model, f"{target}, the study variant with the lowest mean",
             (LABELS[v] if v else "no variant") + ", picked as the lowest mean time among the "
             "variants that reached the target on every seed (a pick that favours 'met')")]


def _speed_claims(cfg, run, by):
    times = {v: [_time_to(r) for r in rs] for v, rs in by.items()}
    for v, goal, what, name, why in _speed_goals(cfg, times):
        ts = times.get(v, [None])
        note = (f"per seed: {_per_seed(ts)}; training wall seconds (evaluation excluded) on a "
                "shared machine; " + (why + "; " if why else "") + "the target itself is "
                "measured on the test images (see the test accuracy claims)")
        if None in ts:
            note += "; a seed that never reached it has no time, so the mean has no interval"
        run.judge(f"{name} (layerlab's goal for {what}: {goal:g} s)", "goal",
                  None if None in ts else vd.from_seeds(ts), goal, better="lower", unit="s",
                  source=GOAL, note=note)
    if "baseline" in by:
        run.judge("study recipe (baseline, Adam, batch 64): training seconds per epoch, at most "
                  "the plain DataLoader's on this machine (layerlab's goal)", "goal",
                  vd.from_seeds([r["epoch_time"] for r in by["baseline"]]),
                  ref.S4_STUDY_RECIPE_EPOCH_SECONDS, better="lower", unit="s", source=GOAL,
                  note="ours: tensors in memory (layerlab.pytorch.fit); the goal: a plain "
                       "DataLoader timed on this machine (benchmarks/train_loop.py times both)")


def _underfit_note(run, by):
    if "l2" not in by or "baseline" not in by:
        return
    (tr, va, te), (btr, bva, _) = ([_final(by[v], s) for s in SPLITS] for v in ("l2", "baseline"))
    train, gap = vd.from_pairs(btr, tr), vd.from_pairs(np.subtract(btr, bva), np.subtract(tr, va))
    for name, est in (("the baseline beats L2 0.01 on train accuracy", train),
                      ("the baseline's train-val gap exceeds L2 0.01's", gap)):
        run.judge(name, "comparison", est, source=f"{SOURCE}: L2 0.01 under-fits (train "
                  f"{ref.S4_REFERENCE_TRAIN_VAL['l2'][0]:.4f} vs the baseline's "
                  f"{ref.S4_REFERENCE_TRAIN_VAL['baseline'][0]:.4f})",
                  note="paired by seed; under-fitting shows as both")
    text = (f"With weight decay 0.01 the net ends at {np.mean(tr):.4f} train, {np.mean(va):.4f} "
            f"val and {np.mean(te):.4f} test accuracy (baseline: {np.mean(btr):.4f} train, "
            f"{np.mean(bva):.4f} val). The baseline's train accuracy minus L2's is "
            f"{train.text()}; its train-val gap minus L2's is {gap.text()}. ")
    if all(vd.comparison(e)["verdict"] == "holds" for e in (train, gap)):
        text += ("Lower train accuracy with a smaller gap is under-fitting: the decay pulls "
                 "every weight (and, in PyTorch's Adam, every bias) towards 0 so strongly that "
                 "the net cannot fit even the training images, as in the study's run "
                 f"({ref.S4_REFERENCE_TRAIN_VAL['l2'][0]:.2f} train).")
    else:
        text += "This run does not show (at 95%) the under-fitting the study reports for it."
    run.note("L2 0.01: under-fitting", text)


def _plots(run, by):
    def series(key):
        return {LABELS[v]: [rs[0]["history"]["epoch"], mean_curve([r["history"][key] for r in rs])]
                for v, rs in by.items()}

    run.plot("accuracy", "curves", title="Accuracy per epoch (mean over seeds)",
             xlabel="epoch", panels=[
                 {"ylabel": "train accuracy (running, train mode)", "series": series("train_acc")},
                 {"ylabel": "val accuracy", "series": series("val_acc")}],
             note="Train: the running accuracy during each epoch (dropout on), as Keras "
                  "reports it; the table's is the final model's in eval mode.")
    run.plot("epoch_time", "curves", title="Training seconds per epoch",
             xlabel="epoch", ylabel="seconds", series=series("time"))


def _settings_note(cfg, run, by):
    common = (f"Validation: a seeded ({cfg.split_seed}) random {cfg.val:g} of the training "
              "images, the same for every seed; the seeds change the initial weights, the batch "
              "order and dropout masks. Training ran with channels-last weights (faster here).")
    if "recipe" not in by:
        run.note("Settings chosen", (
            f"LeNet-5 for 28×28 input, {cfg.activation}, {cfg.pool} pooling (the study says "
            "only 'pool'), PyTorch's default initialisation. Adam "
            f"lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs "
            f"({cfg.optimised_l2_epochs} for optimised L2). L2 is Adam's coupled `weight_decay` "
            "(the study's 'L2 via weight decay'; it also decays biases). "
            f"Dropout {cfg.dropout:g} after {' and '.join(cfg.dropout_after)} (the study says "
            "only 'in the FC part'; the placement was chosen on validation accuracy in "
            "exploratory runs); batchnorm after both convolutions, before the activation. "
            + common))
        return
    run.note("Recipe", (
        "LeNet-5's layers (conv 6@5×5 pad 2, pool, conv 16@5×5, pool, FC 120, 84, 10) with "
        f"batchnorm after both convolutions, {cfg.recipe_activation}, {cfg.recipe_pool} "
        f"pooling; Adam with a one-cycle schedule peaking at {cfg.recipe_max_lr:g}, batch "
        f"{cfg.recipe_batch_size}, {cfg.recipe_epochs} epochs"
        + (f", random shifts of up to ±{cfg.recipe_shift} pixels" if cfg.recipe_shift else "")
        + (", left-right flips of a random half of each batch" if cfg.recipe_flip else "")
        + f". The short one-cycle: the same net and schedule over {cfg.fast_epochs} epochs, "
        f"peaking at {cfg.fast_max_lr:g}, no augmentation, label smoothing "
        f"{cfg.fast_label_smoothing:g}. Both were fixed before this run on validation accuracy "
        "(the test-set ledger keeps every look at the test split). " + common))
