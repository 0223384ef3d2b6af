"""S3 open model's tuning grid: its recipes (one factor at a time around the study's model), the
tuning table, and the study's picks judged as "the best beats the runner-up" on validation
accuracy paired by seed (`layerlab.analysis.picks`). A recipe with a diverged cell is left out
of every pick."""

from __future__ import annotations

import numpy as np

from layerlab import references as refs
from layerlab.analysis import count, divergence
from layerlab.analysis.picks import best_vs_runner_up, val_estimate
from layerlab.analysis.verdict import from_pairs

# each tuned factor: the config field of its values, its short name, how a value is written
FACTORS = {"lr": ("tune_lrs", "lr", lambda v: f"{v:g}"),
           "weight_decay": ("tune_weight_decays", "wd", lambda v: f"{v:g}"),
           "kernels": ("tune_kernels", "kernels", lambda v: str(tuple(v))),
           "fc": ("tune_fcs", "fc", lambda v: "-".join(map(str, v)) + "-10")}


def _value(key, v):
    return float(v) if key in ("lr", "weight_decay") else list(v)


def tuning_cells(cfg) -> list[dict]:
    """One factor at a time around the base: each distinct recipe {lr, weight_decay, kernels
    [k1, k2], fc [w1, w2]} once, the base first."""
    base = {key: _value(key, getattr(cfg, key)) for key in FACTORS}
    cells = [base]
    for key, (field, _, _) in FACTORS.items():
        for v in getattr(cfg, field):
            if (c := {**base, key: _value(key, v)}) not in cells:
                cells.append(c)
    return cells


def label(c):
    """'lr 0.001, wd 0.0001, kernels (5, 3), fc 256-128-10': a recipe's name."""
    return ", ".join(f"{short} {fmt(c[key])}" for key, (_, short, fmt) in FACTORS.items())


def tuning_report(run, cfg, cells, tuned, picked, lost, source):
    """The tuning table (each recipe over its seeds, scored on validation) and the picks.
    tuned {label: [result per seed]}; lost {label: {cell: divergence}}: rows that show it."""
    rows, kernels, fc = [], FACTORS["kernels"][2], FACTORS["fc"][2]
    for c in cells:
        rs, e = tuned[label(c)], None if label(c) in lost else val_estimate(tuned[label(c)])
        rows.append([", ".join(k for k in FACTORS if c[k] != cells[0][k]) or "base", c["lr"],
                     c["weight_decay"], kernels(c["kernels"]), fc(c["fc"]), rs[0]["params"],
                     *([divergence.label(lost[label(c)]), "", ""] if e is None else [
                         e.value, f"[{100 * e.low:.1f}, {100 * e.high:.1f}]",
                         float(np.mean([r["epoch_time"] for r in rs]))]),
                     "picked" if c is picked else ""])
    first, ok = tuned[label(cells[0])][0], {k: rs for k, rs in tuned.items() if k not in lost}
    run.table("tuning", ["varied", "lr", "weight decay", "kernels", "FC", "params",
                         "val acc (final epoch)", "95% CI %", "epoch s", ""], rows,
              title="Tuning table (one factor at a time around the study's model)",
              note=f"Each row: {count(cfg.tune_epochs, 'epoch')} on {first['n_train']} training "
                   f"images, Adam, batch {cfg.batch_size}, dropout {cfg.dropout:g}, "
                   f"{'flip' if cfg.flip else 'no'} augmentation, "
                   f"{count(len(cfg.tune_seeds), 'seed')} (the interval: Wilson on the images "
                   f"for one seed, seeds and images for more), scored on the "
                   f"{first['correct']['val'][1]} validation images (test not evaluated). "
                   "Tied with the picked recipe (the intervals overlap, unpaired; a claim's "
                   "verdict pairs the seeds): "
                   f"{'; '.join(best_vs_runner_up(ok)[3] if len(ok) > 1 else []) or 'none'}.")
    by, gone = {}, {}  # per factor the study picks from: {candidate: results}, {candidate: cells}
    for key in ("lr", "fc", "kernels"):
        field, short, fmt = FACTORS[key]
        labels = {(f"lr {fmt(v)}" if key == "lr" else fmt(v)):
                  label({**cells[0], key: _value(key, v)}) for v in getattr(cfg, field)}
        by[key] = {k: tuned[lab] for k, lab in labels.items() if lab in tuned}
        gone[key] = {k: list(lost[lab]) for k, lab in labels.items() if lab in lost}
    pick_claims(run, by, source, gone)


def pick_claims(run, by, source, lost=None):
    """The study's picks (lr 1e-3, FC 256-128-10 best; (5,1) last) as comparisons by seed.
    by {factor: {candidate: [result per seed]}}; lost {factor: {candidate: [diverged cells]}}:
    left out of the pick, and a claim with fewer than two candidates left is not judged."""
    lost = lost or {}
    for key, name, ref in (("lr", "learning rate", f"lr {refs.S3_BEST_LR:g}"),
                           ("fc", "FC widths", refs.S3_BEST_FC)):
        out = lost.get(key, {})
        ok = {k: rs for k, rs in by[key].items() if k not in out}
        if len(by[key]) < 2:
            continue
        if len(ok) < 2:
            run.judge(f"best {name} (validation) beats the runner-up", "comparison", None,
                      diverged=sum(out.values(), []), source=source,
                      note=f"fewer than two {name}s finished: no pick")
            continue
        best, second, diff, tied, scores = best_vs_runner_up(ok)
        where = ("our best" if ref == best else "tied with our best" if ref in tied
                 else "left out, diverged" if ref in out else "not tied with our best")
        run.judge(f"best {name} (validation) beats the runner-up", "comparison", diff,
                  source=source, note=f"best {best}, runner-up {second}, paired by "
                  f"seed; tied with the best (the intervals overlap, unpaired; the verdict "
                  f"pairs the seeds): {', '.join(tied) or 'none'}"
                  f"; the study's pick {ref} is {where}; {scores}"
                  + (f"; left out, diverged: {', '.join(out)}" if out else ""))
    by_k, out = by["kernels"], sum(lost.get("kernels", {}).values(), [])
    if "(5, 1)" in by_k and len(by_k) == 3:
        others = [[r["final"]["val"] for r in rs] for k, rs in by_k.items() if k != "(5, 1)"]
        worst51 = [r["final"]["val"] for r in by_k["(5, 1)"]]
        run.judge("kernel pairs (5,3) and (3,1) both beat (5,1) (validation)", "comparison",
                  None if out else from_pairs(np.minimum(*others), worst51), source=source,
                  diverged=out or False,
                  note=f"per seed, the worse of (5,3) and (3,1) minus (5,1); the study: "
                       f"{refs.S3_KERNEL_ORDER} (its tie of (5,3) and (3,1) is not tested: it "
                       "states no margin)" + ("" if out else f"; {best_vs_runner_up(by_k)[4]}"))
