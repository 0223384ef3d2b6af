"""S4 LeNet-5's report: tables, plots, notes and claims (each variant's accuracy against the
study's figures and goals, the variants against the baseline paired by seed, the speed goals,
L2's under-fitting). A variant with a diverged seed has no mean: its claims are not judged and
name the cells, its rows show the divergence, its curves are left out."""

from __future__ import annotations

import numpy as np

from layerlab import references as ref
from layerlab.analysis import count, divergence, mean_curve, mean_std, pm
from layerlab.analysis import verdict as vd
from layerlab.pytorch import time_to_accuracy

SOURCE = "S4"
GOAL = "layerlab's goal (set for this repository, not a figure of the study)"
SPLITS = ("train", "val", "test")
LABELS = {"baseline": "baseline", "dropout": "dropout 0.5", "l2": "L2 (weight decay 0.01)",
          "optimised_l2": "optimised L2 (weight decay 0.001, 20 epochs)",
          "batchnorm": "batchnorm", "recipe": "best recipe", "fast": "short one-cycle"}


def fmt(values, digits=4):
    """'0.9000 ± 0.0100': mean ± std of per-seed values."""
    return pm(*mean_std(values), digits=digits)


def time_to(result):
    """Training seconds until the test accuracy first reaches the speed target (None: never)."""
    return time_to_accuracy(result["history"], ref.S4_SPEED_TARGET_ACC, "test_acc")


def seconds(values):
    """Mean ± std of the seeds' times to the target, saying how many seeds reached it."""
    known = [v for v in values if v is not None]
    text, n = (fmt(known, 1) + " s" if known else "never"), len(known)
    return text if n in (0, len(values)) else f"{text} ({n} of {len(values)} seeds)"


def seed_values(rs, split="test", form="{:.4f}"):
    """'0.9012, diverged (step 3)': each seed's final accuracy on `split`, or its seconds to the
    speed target (split None)."""
    values = [time_to(r) if split is None else r["final"][split] for r in rs]
    return ", ".join(divergence.value_or_label(r, "never" if v is None else form.format(v))
                     for r, v in zip(rs, values, strict=True))


def final(rs, split):
    """Final accuracy on a split, per seed."""
    return [r["final"][split] for r in rs]


def n_images(by, split):
    """The number of images of a split (the same for every cell)."""
    return next(iter(by.values()))[0]["correct"][split][1]


def accuracy_claims(cfg, run, by, lost):
    """Per variant: the test goal (best recipe, short one-cycle), the study's val figure and
    its test target, over seeds and images. lost {variant: {cell: divergence}}."""
    seeds, n_val, n_test = list(cfg.seeds), n_images(by, "val"), n_images(by, "test")
    over = f"over seeds {seeds} and the {n_test:,} test images"
    for v, rs in by.items():
        gone, per_seed = divergence.lost_cells(lost, [v]), "per seed " + seed_values(rs)
        test, val = (None, None) if gone else (  # no mean
            vd.from_seeds_and_images(final(rs, s), n) for s, n in (("test", n_test),
                                                                   ("val", n_val)))
        if v in ("recipe", "fast"):
            goal = ref.S4_BEST_GOAL_TEST_ACC if v == "recipe" else ref.S4_SPEED_TARGET_ACC
            what = "" if v == "recipe" else ", the accuracy of the speed goal"
            run.judge(f"{LABELS[v]}: test accuracy >= {goal:.1%} (layerlab's goal{what})",
                      "goal", test, goal, source=GOAL, diverged=gone, key=v == "recipe",
                      note=f"{over}; {per_seed}; val "
                           + (divergence.label(lost[v]) if gone else fmt(final(rs, "val"))))
        if v in ref.S4_REFERENCE_TRAIN_VAL:
            run.judge(f"{LABELS[v]}: final val accuracy", "figure", val,
                      ref.S4_REFERENCE_TRAIN_VAL[v][1], diverged=gone,
                      figure_n=ref.S4_REFERENCE_VAL_IMAGES, source=SOURCE,
                      note=f"over seeds {seeds} and our {n_val:,} val images; the study's figure "
                           "is one run on its own random split, whose sampling noise widens "
                           "ours; per seed " + seed_values(rs, "val"))
            run.judge(f"{LABELS[v]}: test accuracy >= {ref.S4_TARGET_TEST_ACC:.0%} (the study's "
                      "target)", "goal", test, ref.S4_TARGET_TEST_ACC, key=v == "baseline",
                      diverged=gone, source=f"{SOURCE}: the study's pass/fail target",
                      note=f"{over}; {per_seed}")


def comparison_claims(run, by, lost):
    """Each variant against the baseline on val, in the order of the study's figures."""
    study = ref.S4_REFERENCE_TRAIN_VAL
    for v in [v for v in by if v != "baseline" and v in study and "baseline" in by]:
        a, b = sorted((v, "baseline"), key=lambda w: -study[w][1])
        gone = divergence.lost_cells(lost, [a, b])
        run.judge(f"{LABELS[a]} beats {LABELS[b]} on val accuracy (the study's order)",
                  "comparison", None if gone else vd.from_pairs(final(by[a], "val"),
                                                                final(by[b], "val")),
                  diverged=gone, note="difference of final val accuracy, paired by seed",
                  source=f"{SOURCE}: val {study[a][1]:.4f} vs {study[b][1]:.4f}, one run each")


def _speed_goals(cfg, times):
    """[(variant or None, goal seconds, whose goal, claim name, why)]: the speed claims.
    times {variant: [seconds or None per seed]}, None for a diverged variant."""
    target = f"training time to {ref.S4_SPEED_TARGET_ACC:.0%} test"
    any_model = (ref.S4_SPEED_GOAL_SECONDS, "any LeNet-5-sized model")
    onecycle = (ref.S4_SPEED_GOAL_SECONDS_ONECYCLE, "a one-cycle schedule")
    if "fast" in times:
        short = f"short one-cycle ({count(cfg.fast_epochs, 'epoch')}): {target}"
        return [("fast", *any_model, short, ""), ("fast", *onecycle, short, ""),
                ("recipe", *onecycle, "best recipe (one-cycle over "
                 f"{count(cfg.recipe_epochs, 'epoch')}): {target}", _recipe_reason(times))]
    done = [v for v, ts in times.items() if ts and None not in ts]
    v = min(done, key=lambda w: float(np.mean(times[w]))) if done else None
    return [(v, *any_model, f"{target}, the study variant with the lowest mean",
             (LABELS[v] if v else "no variant") + ", picked as the lowest mean time among the "
             "variants that reached the target on every seed (a pick that favours 'met')")]


def _recipe_reason(times):
    """The best recipe's speed note: 'later' only when every seed of it and of the short
    one-cycle reached the target and its mean time is the longer."""
    r, f = times.get("recipe"), times.get("fast")
    later = bool(r and f and None not in r + f) and np.mean(r) > np.mean(f)
    return "a one-cycle over more epochs keeps the rate high for longer" + (
        ": here it reaches the target later than the short one-cycle (mean "
        f"{np.mean(r):.1f} s against {np.mean(f):.1f} s)" if later else "")


def speed_claims(cfg, run, by, lost):
    """Training seconds to the speed target against layerlab's goals, over seeds (a seed that
    never reached it: not judged), and the study recipe's seconds per epoch."""
    times = {v: None if v in lost else [time_to(r) for r in rs] for v, rs in by.items()}
    for v, goal, what, name, why in _speed_goals(cfg, times):
        # no pick (v None): a diverged variant might have been it
        ts, gone = times.get(v) or [None], divergence.lost_cells(lost, [v] if v else lost)
        note = (f"per seed: {seed_values(by[v], None, '{:.1f} s') if v else 'never'}; training "
                "wall seconds (evaluation excluded) on a shared machine; "
                + (why + "; " if why else "") + "the target itself is measured on the test "
                "images (see the test accuracy claims)")
        if None in ts and not gone:
            note += "; a seed that never reached it has no time, so the mean has no interval"
        run.judge(f"{name} (layerlab's goal for {what}: {goal:g} s)", "goal",
                  None if None in ts else vd.from_seeds(ts), goal, better="lower", unit="s",
                  diverged=gone, source=GOAL, note=note)
    if "baseline" in by:
        gone = divergence.lost_cells(lost, ["baseline"])
        run.judge("study recipe (baseline, Adam, batch 64): training seconds per epoch, at most "
                  "the plain DataLoader's on this machine (layerlab's goal)", "goal",
                  None if gone else vd.from_seeds([r["epoch_time"] for r in by["baseline"]]),
                  ref.S4_STUDY_RECIPE_EPOCH_SECONDS, better="lower", unit="s", source=GOAL,
                  diverged=gone, note="ours: tensors in memory (layerlab.pytorch.fit); the goal: "
                  "a plain DataLoader timed on this machine (benchmarks/train_loop.py times both)")


def underfit_note(run, by, lost):
    """L2 0.01 against the baseline: lower train accuracy and a smaller train-val gap, judged
    paired by seed, and the note that reads them."""
    if "l2" not in by or "baseline" not in by:
        return
    (tr, va, te), (btr, bva, _) = ([final(by[v], s) for s in SPLITS] for v in ("l2", "baseline"))
    gone = divergence.lost_cells(lost, ["l2", "baseline"])
    l2_train, base_train = (ref.S4_REFERENCE_TRAIN_VAL[v][0] for v in ("l2", "baseline"))
    train, gap = (None, None) if gone else (
        vd.from_pairs(btr, tr), vd.from_pairs(np.subtract(btr, bva), np.subtract(tr, va)))
    for name, est in (("the baseline beats L2 0.01 on train accuracy", train),
                      ("the baseline's train-val gap exceeds L2 0.01's", gap)):
        run.judge(name, "comparison", est, diverged=gone, source=f"{SOURCE}: L2 0.01 under-fits "
                  f"(train {l2_train:.4f} vs the baseline's {base_train:.4f})",
                  note="paired by seed; under-fitting shows as both")
    if gone:  # no means to compare
        return
    shown = all(vd.comparison(e)["verdict"] == "holds" for e in (train, gap))
    run.note("L2 0.01 and under-fitting", (
        f"With weight decay 0.01 the net ends at {np.mean(tr):.4f} train, {np.mean(va):.4f} "
        f"val and {np.mean(te):.4f} test accuracy (baseline: {np.mean(btr):.4f} train, "
        f"{np.mean(bva):.4f} val). " + (
            "Lower train accuracy with a smaller train-val gap (both claims above) is "
            "under-fitting: the decay pulls every weight (and, in PyTorch's Adam, every bias) "
            "towards 0 so strongly that the net cannot fit even the training images, as in the "
            f"study's run ({l2_train:.2f} train)." if shown else "This run does not show (at "
            "95%) the under-fitting the study reports for it.")))


def report(cfg, run, by, lost):
    """Tables, claims, notes and plots of {variant: [result per seed]}, from the results only;
    lost {variant: {cell: divergence}}: the variants with a diverged seed."""
    _accuracy_table(cfg, run, by, lost)
    _difference_table(cfg, run, by, lost)
    accuracy_claims(cfg, run, by, lost)
    comparison_claims(run, by, lost)
    speed_claims(cfg, run, by, lost)
    differ = sum(not r["reload_identical"] for rs in by.values() for r in rs)
    run.judge("saved weights reloaded into a fresh model: models whose predictions differ (any "
              "image, any split)", "goal", vd.exact(differ), 0, better="lower",
              source=f"{SOURCE} asks for the reload check; 0 is layerlab's goal",
              note=f"{sum(len(rs) for rs in by.values())} models; `layerlab eval RUN_DIR` "
                   "repeats the check from the files in weights/")
    underfit_note(run, by, lost)
    _plots(run, {v: rs for v, rs in by.items() if v not in lost})
    _settings_note(cfg, run, by)


def _accuracy_table(cfg, run, by, lost):
    rows = []
    for v, rs in by.items():
        study = ref.S4_REFERENCE_TRAIN_VAL.get(v, ("", ""))
        ours = [divergence.label(lost[v])] * 7 if v in lost else [
            *(fmt(final(rs, s)) for s in SPLITS), fmt([r["epoch_time"] for r in rs], 1),
            seconds([time_to(r) for r in rs]),
            fmt([r["cpu_time"] / len(r["history"]["epoch"]) for r in rs], 1),
            " ".join(f"{r['load']:.1f}" for r in rs)]
        rows.append([LABELS[v], ours[0], study[0], ours[1], study[1], *ours[2:]])
    run.table("accuracy", ["variant", "train (ours)", "train (study)", "val (ours)",
                           "val (study)", "test (ours)", "s / epoch (training)",
                           f"training time to {ref.S4_SPEED_TARGET_ACC:.0%} test",
                           "CPU s / epoch (with evaluation)", "load average at the end"], rows,
              title=f"Final accuracy, mean ± std over {count(len(cfg.seeds), 'seed')}, beside "
                    "the study's table",
              note=f"Train: the final model in eval mode on all {n_images(by, 'train'):,} "
                   "training images (the study's is probably Keras' running accuracy). Val: the "
                   f"seeded split's {n_images(by, 'val'):,} images. Test: the "
                   f"{n_images(by, 'test'):,} test images. "
                   "Time: training wall seconds, per epoch and until the first epoch whose test "
                   "accuracy reaches the target (they grow with other work on this shared "
                   "machine; CPU seconds are closer to an idle core's).")


def _difference_table(cfg, run, by, lost):
    if "baseline" not in by or len(cfg.seeds) < 2:
        return
    rows = []
    for v in [v for v in by if v != "baseline"]:
        gone = lost.get(v, lost.get("baseline"))
        diffs = [] if gone else [vd.from_pairs(final(by[v], s), final(by["baseline"], s))
                                 for s in SPLITS[1:]]
        rows.append([LABELS[v], *([divergence.label(gone), ""] * 2 if gone else [
            x for d in diffs for x in (f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]",
                                       "excludes 0" if d.low > 0 or d.high < 0 else "includes 0")
        ])])
    run.table("differences", ["variant", "val minus baseline", "val", "test minus baseline",
                              "test"], rows,
              title="Each variant minus the baseline, paired by seed (mean [95% interval])",
              note="Student t intervals over the per-seed differences (few seeds: wide ones).")


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
              "order and dropout masks. Training ran with "
              + ("channels-last" if cfg.channels_last else "PyTorch's default (channels-first)")
              + " weights.")
    if "recipe" not in by:
        run.note("Settings chosen", (
            f"LeNet-5 for 28×28 input, {cfg.activation}, {cfg.pool} pooling (the study says "
            f"only 'pool'), PyTorch's default initialisation. Adam lr {cfg.lr:g}, batch "
            f"{cfg.batch_size}, {cfg.epochs} epochs ({cfg.optimised_l2_epochs} for optimised "
            "L2). L2 is Adam's coupled `weight_decay` (the study's 'L2 via weight decay'; it "
            f"also decays biases). Dropout {cfg.dropout:g} after "
            f"{' and '.join(cfg.dropout_after)} (the study says only 'in the FC part'; the "
            "placement was chosen on validation accuracy in exploratory runs); batchnorm after "
            "both convolutions, before the activation. " + common))
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
