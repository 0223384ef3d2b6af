"""S6 beyond the study's recipe: the sensitivity grid (dropout p, lambda1, epochs; measured on
the test set, nothing chosen on it) and a tuned dropout-only recipe picked by stratified
k-fold cross-validation on the training images, then tested once per seed."""

from __future__ import annotations

import numpy as np

from layerlab.analysis import (
    divergence,
    group_by,
    mean_std,
    over_seeds,
    paired_difference,
    t_interval,
    verdict,
    wilson,
)
from layerlab.analysis.fmt import accuracy_pm, accuracy_range
from layerlab.lab.sweep import cell_key, grid
from layerlab.references import S6_GOAL_DROPOUT_ACC
from layerlab.studies.s6_gurmukhi.cells import cv_score, train_setting

# (kind, config field of its values, config field of the main grid's value, table label)
SWEEPS = (("dropout", "dropout_sweep", "dropout", "dropout p"),
          ("l1", "l1_sweep", "l1", "L1 lambda1"),
          ("epochs", "epochs_sweep", "epochs", "epochs (dropout only)"))
PICK_SOURCE = "layerlab's pick (not the study's)"


def ci_at_mean(values, n_test):
    """Wilson's 95% interval of one run scoring the mean of `values` on n_test images."""
    return wilson(int(round(mean_std(values)[0] * n_test)), n_test)


def above_chance(values, n_test, classes=10):
    """Whether `ci_at_mean` of the accuracies lies wholly above guessing among `classes`."""
    return ci_at_mean(values, n_test)[0] > 1 / classes


def summary(values, n_test):
    """Table cells of accuracies over seeds, in percent: mean ± std, range, and `ci_at_mean`
    ('[95.1, 99.0]')."""
    low, high = ci_at_mean(values, n_test)
    return [accuracy_pm(values), accuracy_range(values), f"[{100 * low:.1f}, {100 * high:.1f}]"]


def seed_spread(values, figure):
    """Where one more run of ours would fall (95% t prediction interval over seeds: mean ±
    t * std * sqrt(1 + 1/k)) and how many of our seeds reach `figure`, as a sentence."""
    mean, half, _ = t_interval(values)
    k, reach = len(values), sum(v >= figure for v in values)
    spread = (f"one more run of ours would fall in [{100 * (mean - half * np.sqrt(k + 1)):.2f}, "
              f"{100 * (mean + half * np.sqrt(k + 1)):.2f}]% (95% prediction interval over "
              "seeds)" if np.isfinite(half) else "one seed: no spread to show")
    return f"{spread}; {reach} of our {k} seeds reach the study's {100 * figure:.2f}%"


def mean_per_epoch(runs, key="test_acc", scale=1.0):
    """[epochs 1..n, scale * the mean over runs of each epoch's `key`] for a curves plot
    (np.mean per epoch, not mean_curve: its axis-0 sum differs in the last bit at 8+ runs)."""
    n = len(runs[0][key])
    return [list(range(1, n + 1)),
            [scale * float(np.mean([r[key][e] for r in runs])) for e in range(n)]]


def _sensitivity_cell(train, cfg, c):
    kw = {"dropout": {"dropout": c["value"]}, "epochs": {"epochs": int(c["value"])},
          "l1": {"penalties": {"l1": c["value"]}}}[c["kind"]]
    return train_setting(train, cfg, "l1" if c["kind"] == "l1" else "dropout", c["seed"],
                         f"sensitivity/kind={c['kind']},value={c['value']},seed={c['seed']}",
                         **kw)


def sensitivity(run, train, cfg, by, lost):
    """The sensitivity grid and its table (by, lost: the main grid's finished runs and diverged
    cells per setting). Returns ({(kind, value): [final test accuracy per seed]} of the values
    whose seeds all finished, {diverged cell: record})."""
    cells = [{"kind": kind, "value": float(v), "seed": int(sd)} for kind, field, _, _ in SWEEPS
             for v in getattr(cfg, field) for sd in cfg.sensitivity_seeds]
    results = grid(run, "sensitivity", cells,
                   lambda c: _sensitivity_cell(train, cfg, c)) if cells else []
    gone = divergence.groups(run, [(c["kind"], c["value"]) for c in cells],
                             [cell_key("sensitivity", c) for c in cells], results)
    finals = over_seeds([{**c, "acc": r["test_acc"][-1]} for c, r in zip(cells, results,
                                                                          strict=True)
                         if (c["kind"], c["value"]) not in gone], ("kind", "value"), "acc")
    rows, sub, l1 = [], [int(sd) for sd in cfg.sensitivity_seeds], by.get("l1")
    chance = bool(l1) and not above_chance([r["test_acc"][-1] for r in l1], l1[0]["n_test"])
    for kind, field, own, label in SWEEPS:
        if not getattr(cfg, field):  # not swept: no rows, not even the main grid's
            continue
        setting = "dropout" if kind == "epochs" else kind
        main = [r["test_acc"][-1] for r in by.get(setting, []) if r["seed"] in sub]
        entries = [(getattr(cfg, own), main, lost.get(setting), " (main grid)")] + [
            (float(v), finals.get((kind, float(v)), []), gone.get((kind, float(v))), "")
            for v in getattr(cfg, field)]
        rows += [[label, f"{v:g}{main_grid}", len(sub), divergence.label(dead), "", ""] if dead
                 else [label, f"{v:g}{main_grid}", len(accs), accuracy_pm(accs),
                       f"{100 * min(accs):.2f}", f"{100 * max(accs):.2f}"]
                 for v, accs, dead, main_grid in sorted(entries, key=lambda e: e[0])
                 if accs or dead]
    if rows:
        run.table("sensitivity", ["what varies", "value", "seeds", "final test acc % (mean ± "
                                  "std)", "min %", "max %"], rows,
                  title="Sensitivity: dropout p, L1 strength, training length",
                  note="Not the study's settings: the dropout p it does not state, lambda1 (its "
                       f"{cfg.l1:g}" + (" leaves the net at chance here" if chance else "")
                       + ") and more epochs (is the net merely stopped "
                       "early?). Seeds " + ", ".join(map(str, sub)) + ", also for the main-grid "
                       "rows. Measured on the test set for the report only: nothing is chosen "
                       "on it.")
    return finals, {n: d for group in gone.values() for n, d in group.items()}


def _aug(c):
    return f"elastic alpha {c['elastic']:g}" if c["elastic"] else "no augmentation"


def _label(c):
    return f"{c['epochs']} epochs, {_aug(c)}"


def _cross_validate(run, cfg, n_train):
    """The cross-validation grid and its table. Returns (the candidates whose folds all
    finished: epochs, elastic, cv_acc (pooled over the folds), fold_std, epoch_s (median),
    folds; the pick, None when none finished; {candidate: its diverged cells})."""
    cv_cells = [{"epochs": int(e), "elastic": float(a), "fold": f} for e in cfg.tune_epochs
                for a in cfg.tune_elastic for f in range(cfg.tune_folds)]
    cv = grid(run, "tune", cv_cells, lambda c: cv_score(run, cfg, c["epochs"], c["elastic"],
                                                       c["fold"]))
    keys = [(c["epochs"], c["elastic"]) for c in cv_cells]
    gone = divergence.groups(run, keys, [cell_key("tune", c) for c in cv_cells], cv)
    scored = [{**c, **r} for c, r, k in zip(cv_cells, cv, keys, strict=True) if k not in gone]
    candidates = {}
    for (epochs, elastic), scores in group_by(scored, "epochs", "elastic").items():
        folds = [r["val_acc"] for r in scores]
        pooled = sum(r["val_acc"] * r["n_val"] for r in scores) / sum(
            r["n_val"] for r in scores)  # correct held-out images / training images
        candidates[epochs, elastic] = {
            "epochs": epochs, "elastic": elastic, "cv_acc": pooled, "folds": folds,
            "fold_std": mean_std(folds)[1],
            "epoch_s": float(np.median([t for r in scores for t in r["time"]]))}
    pick = max(candidates.values(), key=lambda c: c["cv_acc"], default=None)  # ties: first
    rows = []
    for e, a in dict.fromkeys(keys):
        c, elastic = candidates.get((e, a)), f"{a:g}" if a else "none"
        rows.append([e, elastic, divergence.label(gone[e, a]), "", "", ""] if c is None else
                    [e, elastic, f"{100 * c['cv_acc']:.2f}", f"{100 * c['fold_std']:.2f}",
                     f"{c['epoch_s']:.2f}", "yes" if c is pick else ""])
    run.table("tuning", ["epochs", "elastic alpha (pixels)",
                         f"{cfg.tune_folds}-fold CV accuracy %", "std over folds",
                         "median epoch s", "picked"], rows,
              title="Tuning a dropout-only recipe on the training images",
              note=f"Not the study's settings. Dropout only (p = {cfg.dropout:g}), more epochs "
                   "and/or an elastic distortion of every training batch (Simard et al. 2003: "
                   f"a random displacement field smoothed with sigma {cfg.tune_sigma:g} pixels, "
                   "times alpha pixels). Each candidate trains on "
                   f"{cfg.tune_folds - 1} of {cfg.tune_folds} stratified folds of the {n_train} "
                   "training images and is scored on the one left out (seed 0); accuracy "
                   "pooled over the folds. The test images play no part in the choice.")
    return list(candidates.values()), pick, gone


def tuned_recipe(run, train, cfg, by, lost, n_train):
    """The cross-validation grid, its pick over the main grid's seeds (by, lost: the main
    grid's), their tables and curves. Returns None (not asked for) or {pick, finals (None: a
    cell diverged), n_test, behind: the diverged cells the claim needs, dead: all of them}."""
    if not (cfg.tune_epochs and cfg.tune_elastic):
        return None
    candidates, pick, lost_cv = _cross_validate(run, cfg, n_train)
    dead = {n: d for group in lost_cv.values() for n, d in group.items()}
    pick_claim(run, candidates, pick, list(dead))
    if pick is None:
        return {"pick": None, "finals": None, "n_test": None, "behind": list(dead),
                "dead": dead}
    runs = grid(run, "tuned", [{"seed": int(sd)} for sd in cfg.seeds],
                lambda c: train_setting(train, cfg, "dropout", c["seed"],
                                        f"tuned/seed={c['seed']}", epochs=pick["epochs"],
                                        elastic=pick["elastic"]))
    gone = divergence.split([cell_key("tuned", {"seed": int(sd)}) for sd in cfg.seeds],
                            runs)[1]
    study = [r["test_acc"][-1] for r in by.get("dropout", [])]
    finals = [r["test_acc"][-1] for r in runs]
    n_test, seeds = runs[0]["n_test"], len(runs)
    both = bool(study) and not gone  # a paired difference needs every seed of both
    d, se = paired_difference(finals, study) if both else (None, None)
    run.table("tuned", ["recipe", "epochs", f"test acc % (mean ± std, {seeds} seeds)",
                        "range %", "95% CI of one run at the mean %",
                        "vs the study's dropout only, points (paired mean ± SE)"],
              [["the study's (dropout only)", cfg.epochs,
                *([accuracy_pm(study), accuracy_range(study)] if study else
                  [divergence.label(lost["dropout"]), ""]), "-", "-"],
               [f"tuned (dropout only, {_aug(pick)})", pick["epochs"],
                *([divergence.label(gone), "", ""] if gone else summary(finals, n_test)),
                f"{100 * d:+.2f} ± {100 * se:.2f}" if both else "-"]],
              title="The tuned recipe on the test set, once per seed",
              note=f"Trained on all {runs[0]['n_train']} training images with the main grid's "
                   f"seeds, each tested once on the {n_test} test images.")
    series = {"the study's (dropout only)": mean_per_epoch(by["dropout"], scale=100)
              if study else None, "tuned": None if gone else mean_per_epoch(runs, scale=100)}
    if any(series.values()):
        run.plot("tuned_curves", "curves", title="Test accuracy: study vs tuned recipe",
                 xlabel="epoch", note=f"Means over {seeds} seeds.",
                 panels=[{"ylabel": "test accuracy %",
                          "series": {k: v for k, v in series.items() if v}}])
    return {"pick": pick, "finals": None if gone else finals, "n_test": n_test,
            "behind": list(gone), "dead": {**dead, **gone}}


def tuned_claim(run, cfg, tuned):
    """Does the tuned recipe reach layerlab's goal for dropout only (over its seeds and the
    test images' binomial noise)? Not judged when no candidate or a seed diverged."""
    goal, finals, pick = S6_GOAL_DROPOUT_ACC, tuned["finals"], tuned["pick"]
    name = (f"dropout only, tuned recipe (picked by cross-validation on the training "
            f"images): mean test accuracy of at least {100 * goal:.0f}% (layerlab's goal)")
    source = "layerlab's goal; the recipe is ours, not the study's"
    if finals is None:
        run.judge(name, "goal", None, goal, diverged=tuned["behind"], source=source,
                  note="no candidate finished: no pick" if pick is None
                  else "a seed diverged: no mean over seeds")
        return
    aug = (f"elastic distortion alpha {pick['elastic']:g} sigma {cfg.tune_sigma:g} pixels"
           if pick["elastic"] else "no augmentation")
    run.judge(name, "goal", verdict.from_seeds_and_images(finals, tuned["n_test"]), goal,
              better="higher", source=source,
              note=f"mean {accuracy_pm(finals)}% over {len(finals)} seeds, interval over the "
                   f"seeds and the {tuned['n_test']} test images' binomial noise; "
                   f"{pick['epochs']} epochs, {aug}, dropout p {cfg.dropout:g}, no penalty; "
                   f"{cfg.tune_folds}-fold CV accuracy {100 * pick['cv_acc']:.2f}%")


def pick_claim(run, candidates, pick, dead):
    """The pick by cross-validation as a comparison, not an argmax: does the picked candidate
    beat the runner-up, paired by fold? The note names the candidates tied with it.
    candidates: those whose folds all finished; dead: the diverged cells of the others."""
    others = sorted((c for c in candidates if c is not pick), key=lambda c: -c["cv_acc"])
    if not others:
        if dead:  # a candidate diverged: the comparison has no runner-up
            run.judge("the tuned recipe beats the runner-up in cross-validation",
                      "comparison", None, diverged=dead, source=PICK_SOURCE,
                      note="fewer than two candidates finished: no comparison")
        return
    best = verdict.from_seeds(pick["folds"])
    tied = [_label(c) for c in others
            if (e := verdict.from_seeds(c["folds"])).high >= best.low and e.low <= best.high]
    run.judge(f"the tuned recipe ({_label(pick)}) beats the runner-up ({_label(others[0])}) in "
              "cross-validation", "comparison",
              verdict.from_pairs(pick["folds"], others[0]["folds"]), better="higher",
              source=PICK_SOURCE,
              note=f"held-out accuracy paired by fold over {len(pick['folds'])} stratified folds "
                   "of the training images (seed 0): the folds share most of their training "
                   "images, so the interval is if anything too narrow. Candidates whose t "
                   "interval over folds overlaps the pick's: " + ("; ".join(tied) or "none"))
