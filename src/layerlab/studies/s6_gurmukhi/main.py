"""`gurmukhi-reg`: the gradient check and the four settings over seeds, their tables, plots,
claims and notes; the sensitivity grid and the tuned recipe come from `recipes`."""

from __future__ import annotations

import math

import numpy as np

from layerlab import references as ref
from layerlab.analysis import accuracy, divergence, mean_std, paired_difference, pm, verdict
from layerlab.analysis.fmt import accuracy_pm, accuracy_range, number
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.studies.s6_gurmukhi import cells, recipes
from layerlab.studies.s6_gurmukhi.cells import LABELS, SETTINGS, GurmukhiRegConfig
from layerlab.studies.s6_gurmukhi.recipes import ci_at_mean, mean_per_epoch
from layerlab.trainers.torch_cell import cell_trainer, epoch_time_summary

SOURCE = "S6 (Gurmukhi digits, regularisation by hand)"
LOG_KEYS = ("loss", "penalty", "train_acc", "test_acc", "grad_norm")
NO_MEAN = "a seed diverged: no mean over seeds"


def report_gradcheck(run, gc):
    """The gradient-check table and its claim; gc: `gradient_checks`' result."""
    rows = [[check, tensor, e["norm_rel"], e["max_rel"]]
            for check, per_tensor in gc["numerical"].items() for tensor, e in per_tensor.items()]
    run.table("gradcheck", ["what is differentiated", "parameter",
                            "relative error of the checked entries (norms)",
                            "largest relative error of one entry"], rows,
              title="Gradient check: autograd vs centred differences (float64)",
              note=f"{gc['images']} training images, dropout off, {gc['entries']} entries per "
                   f"tensor, eps {gc['eps']:g}; L1 skips entries within 10 eps of 0. Closed forms "
                   f"vs autograd, largest difference: L1 {gc['closed_form']['L1 penalty']:.3g}, "
                   f"L2 {gc['closed_form']['L2 penalty']:.3g}.")
    run.judge("gradient check: autograd matches centred differences for the model and each "
              "penalty (largest norm-relative error)", "goal",
              verdict.exact(max(r[2] for r in rows)), ref.S6_GRADCHECK_ERROR, better="lower",
              source=SOURCE + "; the bound is layerlab's goal",
              note="over every check and tensor (float64, exact)")


def report_log(run, cfg, by, lost):
    """The per-epoch log (mean ± std over seeds) and the first seed's log lines; by: the runs
    per setting whose seeds all finished, lost: {setting: its diverged cells}."""
    rows, lines, first = [], [], int(cfg.seeds[0])
    for s in SETTINGS:
        if s in lost:  # no mean over seeds: one row saying where it diverged
            rows.append([LABELS[s], "", divergence.label(lost[s]), "", "", "", ""])
            lines.append(f"{LABELS[s]}: {divergence.label(lost[s])}")
            continue
        for e in range(cfg.epochs):
            col = {k: [r[k][e] for r in by[s]] for k in LOG_KEYS}
            rows.append([LABELS[s] if e == 0 else "", e + 1, pm(*mean_std(col["loss"]), 4),
                         f"{mean_std(col['penalty'])[0]:.4f}", accuracy_pm(col["train_acc"]),
                         accuracy_pm(col["test_acc"]),
                         "{:.4g} ± {:.2g}".format(*mean_std(col["grad_norm"]))])
        r = next(r for r in by[s] if r["seed"] == first)
        lines += [f"{LABELS[s]}, seed {first}:"] + [
            f"Epoch {e + 1}/{cfg.epochs}, Loss: {r['loss'][e] + r['penalty'][e]:.4f}, Train Acc: "
            f"{100 * r['train_acc'][e]:.2f}%, Test Acc: {100 * r['test_acc'][e]:.2f}%, Grad Norm: "
            f"{r['grad_norm'][e]:.4f}" for e in range(cfg.epochs)]
    run.table("epoch_log", ["setting", "epoch", "loss (data)", "penalty", "train acc %",
                            "test acc %", "grad norm"], rows,
              title=f"Per-epoch log, mean ± std over {len(cfg.seeds)} seeds",
              note="Loss: the data loss (the penalty apart); train accuracy: running, dropout "
                   "on; grad norm: of all weight gradients, averaged over the epoch's steps.")
    run.note("Log lines of one seed", "As the study prints them (loss here includes the "
             "penalty):\n\n```\n" + "\n".join(lines) + "\n```")


def vs_dropout(finals, s, n_test):
    """Setting s against dropout only: (paired mean difference, its SE, the paired 95% t
    interval excludes 0, the half-width of one run's Wilson interval at s's mean)."""
    d, se = paired_difference(finals[s], finals["dropout"])
    diff = verdict.from_pairs(finals[s], finals["dropout"])
    low, high = ci_at_mean(finals[s], n_test)
    return d, se, not diff.low <= 0 <= diff.high, (high - low) / 2


def report_final(run, cfg, by, finals, n_test, lost):
    """The final-accuracy table, the per-seed heatmap and the per-epoch curves (finals: the
    final accuracies per setting whose seeds all finished)."""
    rows = []
    for s in SETTINGS:
        vs = ["-", "-"]
        if s != "dropout" and s in finals and "dropout" in finals:
            d, se, beyond, hw = vs_dropout(finals, s, n_test)
            vs = [f"{100 * d:+.2f} ± {100 * se:.2f}", f"{number(beyond)} / {number(abs(d) > hw)}"]
        ours = ([divergence.label(lost[s]), "", ""] if s in lost else
                recipes.summary(finals[s], n_test))
        rows.append([LABELS[s], 100 * ref.S6_TEST_ACC[s], *ours, *vs])
    seeds = len(cfg.seeds)
    run.table("final", ["setting", "study %", f"ours % (mean ± std, {seeds} seeds)",
                        "range %", "95% CI of one run at the mean %",
                        "vs dropout only, points (paired mean ± SE)",
                        "larger than seed noise (paired 95% t interval excludes 0) / than one "
                        "run's CI half-width"],
              rows, title="Final test accuracy (after the last epoch)",
              note=f"Test: the {n_test} images of val/. Wilson's 95% interval of one run "
                   "scoring the mean; differences paired by seed.")
    if not finals:
        return
    run.plot("test_acc_seeds", "heatmap", title="Final test accuracy (%) per seed",
             values=[[100 * a for a in finals[s]] for s in finals],
             row_labels=[LABELS[s] for s in finals],
             col_labels=[str(int(sd)) for sd in cfg.seeds], xlabel="seed", ylabel="setting")
    panels = (("data loss", "loss", 1.0), ("train accuracy %", "train_acc", 100),
              ("test accuracy %", "test_acc", 100),
              ("gradient norm (weights, loss + penalty)", "grad_norm", 1.0))
    run.plot("per_epoch", "curves", title="Per epoch", xlabel="epoch",
             note=f"Means over {seeds} seeds.",
             panels=[{"ylabel": label, "series": {LABELS[s]: mean_per_epoch(by[s], key, scale)
                                                  for s in by},
                      **({"logy": True} if key == "grad_norm" else {})}
                     for label, key, scale in panels])


def claim_settings(run, cfg, finals, n_test, longer, lost):
    """Each setting's mean over seeds against the study's figure (on the same test images: a
    t interval over seeds alone); dropout only against layerlab's goal (seeds and the test
    images' binomial noise). A setting in `lost` has no mean: not judged."""
    seeds, goal = len(cfg.seeds), ref.S6_GOAL_DROPOUT_ACC
    for s in SETTINGS:
        gone = list(lost.get(s, ()))
        run.judge(f"{LABELS[s]}: mean final test accuracy over {seeds} seeds", "figure",
                  None if gone else verdict.from_seeds(finals[s]), ref.S6_TEST_ACC[s],
                  key=s == "dropout", diverged=gone or False, source=SOURCE,
                  note=NO_MEAN if gone else f"range {accuracy_range(finals[s])}%; the study's "
                  f"figure is one run on the same {n_test} images (their noise shared, not "
                  f"added): {recipes.seed_spread(finals[s], ref.S6_TEST_ACC[s])}")
    name = f"dropout only: mean test accuracy of at least {100 * goal:.0f}% (layerlab's goal)"
    if gone := list(lost.get("dropout", ())):
        run.judge(name, "goal", None, goal, diverged=gone, source="layerlab's goal",
                  note=NO_MEAN)
        return
    longer_text = "; ".join(f"{e} epochs: {100 * mean_std(a)[0]:.2f}% over {len(a)} seeds"
                            for e, a in longer.items() if a)
    on_images = verdict.from_seeds(finals["dropout"])
    run.judge(name, "goal", verdict.from_seeds_and_images(finals["dropout"], n_test), goal,
              better="higher", source="layerlab's goal",
              note=f"over {seeds} seeds and the {n_test} test images' binomial noise (the goal "
                   "is about new images); on these images alone it would read "
                   f"'{verdict.against_goal(on_images, goal)['verdict']}': {on_images.text()}"
                   + (f". Trained longer than {cfg.epochs} epochs (sensitivity seeds): "
                      f"{longer_text}" if longer_text else ""))


def judge_differences(run, finals, n_test, lost):
    """Each penalty's paired difference to dropout only (t over the paired seeds) against the
    study's difference of single runs on the same images, and a note: are the effects larger
    than the seed noise and the test-set noise? A pair with a diverged seed is not judged."""
    acc, sentences = ref.S6_TEST_ACC, []
    for s in SETTINGS[1:]:
        name = f"{LABELS[s]} vs dropout only: paired difference in final test accuracy"
        source = SOURCE + " (difference of the reference accuracies)"
        if gone := [*lost.get(s, {}), *lost.get("dropout", {})]:
            run.judge(name, "figure", None, acc[s] - acc["dropout"], diverged=gone,
                      source=source, note="a seed diverged: no paired difference")
            continue
        d, se, beyond_seeds, hw = vs_dropout(finals, s, n_test)
        diff = f"{100 * d:+.2f} ± {100 * se:.2f} points"
        run.judge(name, "figure", verdict.from_pairs(finals[s], finals["dropout"]),
                  acc[s] - acc["dropout"], better="higher", source=source,
                  note=f"{diff} (mean ± SE, paired seeds); "
                       f"{'larger' if abs(d) > hw else 'smaller'} than one run's 95% CI "
                       f"half-width ({100 * hw:.2f} points); the study's is of two single runs")
        what = ("within the seed-to-seed noise" if not beyond_seeds else
                "larger than the seed-to-seed noise" + (
                    " and than a single run's test-set interval" if abs(d) > hw else
                    f", but within a single run's test-set interval ({n_test} images)"))
        sentences.append(f"{LABELS[s]}: {diff} against dropout only, {what}.")
    if "dropout" in lost:  # the note measures the noise at dropout only's mean accuracy
        return
    low, high = ci_at_mean(finals["dropout"], n_test)
    run.note("Are the penalties' effects larger than the noise?", (
        " ".join(sentences) + f" On {n_test} test images one run's 95% interval is about "
        f"±{100 * (high - low) / 2:.1f} points at the dropout-only accuracy: "
        + study_gaps((high - low) / 2) + " Pairing by seed removes the seed noise, not the "
        f"test-set sampling. {ref.S6_DUPLICATES_IN_TRAIN} test images are also in the "
        "training set."))


def study_gaps(half):
    """The study's single-run differences to dropout only, in its test images, and whether
    each lies within `half` (one run's 95% half-width, a fraction)."""
    acc, images = ref.S6_TEST_ACC, ref.S6_TEST_IMAGES
    gaps = {s: acc["dropout"] - acc[s] for s in ("l2", "l1")}
    inside = all(abs(d) <= half for d in gaps.values())
    return (f"the study's single-run differences (dropout {accuracy(acc['dropout'])} vs L2 "
            f"{accuracy(acc['l2'])} is {round(gaps['l2'] * images)} images of {images}, vs L1 "
            f"{accuracy(acc['l1'])} is {round(gaps['l1'] * images)} images) are "
            + ("inside it." if inside else "not all inside it."))


def note_l1_and_settings(run, cfg, by, in_features, n_train):
    """The L1 note (`l1_reading`; when its seeds finished) and the settings."""
    sizes = [in_features, *cfg.hidden_sizes, 10]
    n_weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if l1 := by.get("l1"):
        run.note(*l1_reading(cfg.l1, l1, n_weights))
    run.note("Settings and choices", (
        f"FC {in_features} -> {'-'.join(map(str, cfg.hidden_sizes))} -> 10, ReLU, dropout "
        "after every hidden ReLU (the study gives no p), PyTorch's default initialisation, "
        f"Adam, {n_train} training images, pixels scaled to -1/+1. Penalties: "
        "lambda1 sum |w| and lambda2 sum w² over the Linear weights (no biases, no 1/2), added "
        "to the loss. Epoch wall time (one torch thread): "
        + epoch_time_summary([r for runs in by.values() for r in runs]) + "."))


def l1_reading(l1, runs, n_weights):
    """(title, text) of the L1 note from the L1 runs: the penalty against the data loss, and
    'the net does not learn' only when its test accuracy is not above chance (`above_chance`)."""
    first, last = ({k: np.mean([r[k][e] for r in runs]) for k in ("loss", "penalty")}
                   for e in (0, -1))
    tests = [r["test_acc"][-1] for r in runs]
    chance, acc = not recipes.above_chance(tests, runs[0]["n_test"]), 100 * np.mean(tests)
    return (f"Why L1 at lambda1 = {l1:g} fails here" if chance else f"L1 at lambda1 = {l1:g}"), (
        f"The penalty sums over all {n_weights:,} weights: {first['penalty']:.2f} over the first "
        f"epoch, {first['penalty'] / first['loss']:.1f} times the data loss ({first['loss']:.2f}; "
        f"ln 10 = {math.log(10):.2f} at chance). Adam scales each step by the weight's own "
        "gradient size, so every weight whose data gradient is below lambda1 moves to 0 by about "
        f"lr per step. The data loss ends at {last['loss']:.2f} and the penalty at "
        f"{last['penalty']:.3f}: " + (
            f"the net does not learn (test accuracy {acc:.1f}%, not above chance). The study's "
            f"{accuracy(ref.S6_TEST_ACC['l1'])} must come from another penalty (a mean, or a "
            "smaller lambda1); it does not say." if chance else f"test accuracy {acc:.1f}%, "
            f"against the study's {accuracy(ref.S6_TEST_ACC['l1'])}."))


@experiment("gurmukhi-reg", study="S6",
            title="Gurmukhi FC net: dropout, L1, L2, L1+L2 penalties by hand, over seeds",
            estimate="13 min (busy 2-core machine; 6 min with sweep --workers 2)",
            config=GurmukhiRegConfig,
            quick={"dataset": "gurmukhi-mini", "epochs": 1, "seeds": (0, 1), "num_train": 200,
                   "gradcheck_images": 4, "hidden_sizes": (64, 32, 32, 16, 16),
                   "gradcheck_entries": 2, "dropout_sweep": (0.0,), "l1_sweep": (1e-5,),
                   "epochs_sweep": (2,), "tune_epochs": (1, 2), "tune_folds": 2,
                   "sensitivity_seeds": (0,)})
def gurmukhi_reg(cfg, run):
    """The gradient check, the four settings over seeds, sensitivity, the tuned recipe."""
    train = cell_trainer(run, cells.gurmukhi_spec(cfg))
    gc = cell(run, "gradcheck", lambda: cells.gradient_checks(cfg))
    report_gradcheck(run, gc)
    grid_cells = [{"setting": s, "seed": int(seed)} for s in SETTINGS for seed in cfg.seeds]
    results = grid(run, "reg", grid_cells,
                   lambda c: cells.train_setting(train, cfg, c["setting"], c["seed"]))
    # a setting with a diverged seed has no mean: out of the figures, curves and claims
    lost = divergence.groups(run, [c["setting"] for c in grid_cells],
                             [cell_key("reg", c) for c in grid_cells], results)
    by = {s: [r for r in results if r["setting"] == s] for s in SETTINGS if s not in lost}
    finals = {s: [r["test_acc"][-1] for r in runs] for s, runs in by.items()}
    n_test, n_train = results[0]["n_test"], results[0]["n_train"]
    report_log(run, cfg, by, lost)
    report_final(run, cfg, by, finals, n_test, lost)
    sens, dead = recipes.sensitivity(run, train, cfg, by, lost)
    tuned = recipes.tuned_recipe(run, train, cfg, by, lost, n_train)
    longer = {int(v): sens.get(("epochs", float(v)), []) for v in cfg.epochs_sweep}
    claim_settings(run, cfg, finals, n_test, longer, lost)
    if tuned is not None:
        recipes.tuned_claim(run, cfg, tuned)
        dead.update(tuned["dead"])
    judge_differences(run, finals, n_test, lost)
    note_l1_and_settings(run, cfg, by, gc["in_features"], n_train)
    # one note for the diverged cells of every grid (each `groups` call wrote its grid's)
    divergence.note(run, {**{n: d for g in lost.values() for n, d in g.items()}, **dead},
                    "a setting, value or recipe with a diverged seed or fold has no mean")
