"""S4 LeNet-5's claims: each variant's accuracy against the study's figures and targets,
the variants against the baseline paired by seed, the speed goals, L2's under-fitting. A variant
with a diverged seed has no mean: its claims are not judged and name the cells."""

from __future__ import annotations

import numpy as np

from layerlab import references as ref
from layerlab.analysis import count, divergence, mean_std, pm
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
    """The mean ± std of the seeds' times to the target, the seeds that never reached it
    counted; 'never' when none did."""
    known = [v for v in values if v is not None]
    text, n = (fmt(known, 1) + " s" if known else "never"), len(known)
    return text if n in (0, len(values)) else f"{text} ({n} of {len(values)} seeds)"


def seed_values(rs, split="test", form="{:.4f}"):
    """'0.9012, diverged (step 3)': a split's final accuracy, or the training seconds to the
    speed target (split None), of each seed's result."""
    values = [time_to(r) if split is None else r["final"][split] for r in rs]
    return ", ".join(divergence.value_or_label(r, "never" if v is None else form.format(v))
                     for r, v in zip(rs, values, strict=True))


def final(rs, split):
    """Final accuracy on a split, per seed."""
    return [r["final"][split] for r in rs]


def n_images(by, split):
    """The number of images of a split (the same for every cell)."""
    return next(iter(by.values()))[0]["correct"][split][1]


def diverged_cells(lost, *variants):
    """The diverged cells of `variants`, for run.judge's diverged (False: none)."""
    return [n for v in variants for n in lost.get(v, {})] or False


def accuracy_claims(cfg, run, by, lost):
    """Per variant: the test goal (best recipe, short one-cycle), the study's val figure and
    its test target, over seeds and images. lost {variant: {cell: divergence}}."""
    seeds, n_val, n_test = list(cfg.seeds), n_images(by, "val"), n_images(by, "test")
    over = f"over seeds {seeds} and the {n_test:,} test images"
    for v, rs in by.items():
        test, val, gone = final(rs, "test"), final(rs, "val"), diverged_cells(lost, v)
        est = {} if gone else {"test": vd.from_seeds_and_images(test, n_test),  # no mean
                               "val": vd.from_seeds_and_images(val, n_val)}
        per_seed = "per seed " + seed_values(rs)
        if v in ("recipe", "fast"):
            goal = ref.S4_BEST_GOAL_TEST_ACC if v == "recipe" else ref.S4_SPEED_TARGET_ACC
            what = "" if v == "recipe" else ", the accuracy of the speed goal"
            run.judge(f"{LABELS[v]}: test accuracy >= {goal:.1%} (layerlab's goal{what})",
                      "goal", est.get("test"), goal, source=GOAL, diverged=gone,
                      key=v == "recipe", note=f"{over}; {per_seed}; val "
                      + (divergence.label(lost[v]) if gone else fmt(val)))
        if v not in ref.S4_REFERENCE_TRAIN_VAL:
            continue
        run.judge(f"{LABELS[v]}: final val accuracy", "figure", est.get("val"),
                  ref.S4_REFERENCE_TRAIN_VAL[v][1], diverged=gone,
                  figure_n=ref.S4_REFERENCE_VAL_IMAGES, source=SOURCE,
                  note=f"over seeds {seeds} and our {n_val:,} val images; the study's figure is "
                       "one run on its own random split, whose sampling noise widens ours; "
                       "per seed " + seed_values(rs, "val"))
        run.judge(f"{LABELS[v]}: test accuracy >= {ref.S4_TARGET_TEST_ACC:.0%} (the study's "
                  "target)", "goal", est.get("test"), ref.S4_TARGET_TEST_ACC,
                  key=v == "baseline", diverged=gone,
                  source=f"{SOURCE}: the study's pass/fail target",
                  note=f"{over}; {per_seed}")


def comparison_claims(run, by, lost):
    """Each variant against the baseline on val, in the order of the study's figures."""
    if "baseline" not in by:
        return
    study = ref.S4_REFERENCE_TRAIN_VAL
    for v in [v for v in by if v != "baseline" and v in study]:
        a, b = sorted((v, "baseline"), key=lambda w: -study[w][1])
        gone = diverged_cells(lost, a, b)
        run.judge(f"{LABELS[a]} beats {LABELS[b]} on val accuracy (the study's order)",
                  "comparison", None if gone else vd.from_pairs(final(by[a], "val"),
                                                                final(by[b], "val")),
                  diverged=gone,
                  source=f"{SOURCE}: val {study[a][1]:.4f} vs {study[b][1]:.4f}, one run each",
                  note="difference of final val accuracy, paired by seed")


def _speed_goals(cfg, times):
    """[(variant or None, goal seconds, whose goal, claim name, why)]: the speed claims.
    times {variant: [seconds or None per seed]} of the variants that did not diverge, and
    {'fast': None} when the short one-cycle diverged."""
    target = f"training time to {ref.S4_SPEED_TARGET_ACC:.0%} test"
    any_model = (ref.S4_SPEED_GOAL_SECONDS, "any LeNet-5-sized model")
    onecycle = (ref.S4_SPEED_GOAL_SECONDS_ONECYCLE, "a one-cycle schedule")
    if "fast" in times:
        short = f"short one-cycle ({count(cfg.fast_epochs, 'epoch')}): {target}"
        return [("fast", *any_model, short, ""), ("fast", *onecycle, short, ""),
                ("recipe", *onecycle, "best recipe (one-cycle over "
                 f"{count(cfg.recipe_epochs, 'epoch')}): {target}", "a one-cycle over more "
                 "epochs keeps the rate high for longer: it reaches a given accuracy later")]
    done = [v for v, ts in times.items() if ts and None not in ts]
    v = min(done, key=lambda w: float(np.mean(times[w]))) if done else None
    return [(v, *any_model, f"{target}, the study variant with the lowest mean",
             (LABELS[v] if v else "no variant") + ", picked as the lowest mean time among the "
             "variants that reached the target on every seed (a pick that favours 'met')")]


def speed_claims(cfg, run, by, lost):
    """Training seconds to the speed target against layerlab's goals, over seeds (a seed that
    never reached it: not judged), and the study recipe's seconds per epoch."""
    times = {v: None if v in lost else [time_to(r) for r in rs] for v, rs in by.items()}
    for v, goal, what, name, why in _speed_goals(cfg, times):
        # no pick (v None): a diverged variant might have been it
        ts, gone = times.get(v) or [None], diverged_cells(lost, *([v] if v else lost))
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
        gone = diverged_cells(lost, "baseline")
        run.judge("study recipe (baseline, Adam, batch 64): training seconds per epoch, at most "
                  "the plain DataLoader's on this machine (layerlab's goal)", "goal",
                  None if gone else vd.from_seeds([r["epoch_time"] for r in by["baseline"]]),
                  ref.S4_STUDY_RECIPE_EPOCH_SECONDS, better="lower", unit="s", source=GOAL,
                  diverged=gone,
                  note="ours: tensors in memory (layerlab.pytorch.fit); the goal: a plain "
                       "DataLoader timed on this machine (benchmarks/train_loop.py times both)")


def underfit_note(run, by, lost):
    """L2 0.01 against the baseline: lower train accuracy and a smaller train-val gap, judged
    paired by seed, and the note that reads them."""
    if "l2" not in by or "baseline" not in by:
        return
    (tr, va, te), (btr, bva, _) = ([final(by[v], s) for s in SPLITS] for v in ("l2", "baseline"))
    gone = diverged_cells(lost, "l2", "baseline")
    train, gap = (None, None) if gone else (
        vd.from_pairs(btr, tr), vd.from_pairs(np.subtract(btr, bva), np.subtract(tr, va)))
    for name, est in (("the baseline beats L2 0.01 on train accuracy", train),
                      ("the baseline's train-val gap exceeds L2 0.01's", gap)):
        run.judge(name, "comparison", est, source=f"{SOURCE}: L2 0.01 under-fits (train "
                  f"{ref.S4_REFERENCE_TRAIN_VAL['l2'][0]:.4f} vs the baseline's "
                  f"{ref.S4_REFERENCE_TRAIN_VAL['baseline'][0]:.4f})", diverged=gone,
                  note="paired by seed; under-fitting shows as both")
    if gone:  # no means to compare
        return
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
