"""S3 open model: picks from the tuning grid judged as "the best beats the runner-up" on
validation accuracy paired by seed, not by argmax; candidates whose interval overlaps the
best's are named as tied (on one seed the comparison is not judged)."""

from __future__ import annotations

import numpy as np

from layerlab import references as refs
from layerlab.analysis.verdict import from_images, from_pairs, from_seeds_and_images


def val_estimate(rs):
    """Validation accuracy of one recipe from its cells (one per seed): Wilson on the images
    for one seed (the seed's noise unmeasured), seeds and images for more."""
    if len(rs) == 1:
        return from_images(*rs[0]["correct"]["val"])
    return from_seeds_and_images([r["final"]["val"] for r in rs], rs[0]["correct"]["val"][1])


def best_vs_runner_up(runs: dict):
    """runs {candidate: [cell result per seed, same seeds]} (two or more) -> (best, runner-up
    by mean validation accuracy, Estimate of best - runner-up paired by seed, the others tied
    with the best: their validation interval overlaps the best's, scores: text)."""
    vals = {k: [r["final"]["val"] for r in rs] for k, rs in runs.items()}
    order = sorted(vals, key=lambda k: float(np.mean(vals[k])), reverse=True)
    est = {k: val_estimate(runs[k]) for k in order}
    tied = [k for k in order[1:] if est[k].low <= est[order[0]].high
            and est[k].high >= est[order[0]].low]
    scores = "; ".join(f"{k}: {e.text(3)}" for k, e in est.items())
    return order[0], order[1], from_pairs(vals[order[0]], vals[order[1]]), tied, scores


def pick_claims(run, by, source):
    """The study's picks (lr 1e-3, FC 256-128-10 best; (5,1) last) as comparisons by seed."""
    for key, name, ref in (("lr", "learning rate", f"lr {refs.S3_BEST_LR:g}"),
                           ("fc", "FC widths", refs.S3_BEST_FC)):
        if len(by[key]) > 1:
            best, second, diff, tied, scores = best_vs_runner_up(by[key])
            where = ("our best" if ref == best else "tied with our best" if ref in tied
                     else "not tied with our best")
            run.judge(f"best {name} (validation) beats the runner-up", "comparison", diff,
                      source=source, note=f"best {best}, runner-up {second}, paired by "
                      f"seed; tied with the best (intervals overlap): {', '.join(tied) or 'none'}"
                      f"; the study's pick {ref} is {where}; {scores}")
    by_k = by["kernels"]
    if "(5, 1)" in by_k and len(by_k) == 3:
        others = [[r["final"]["val"] for r in rs] for k, rs in by_k.items() if k != "(5, 1)"]
        worst51 = [r["final"]["val"] for r in by_k["(5, 1)"]]
        run.judge("kernel pairs (5,3) and (3,1) both beat (5,1) (validation)", "comparison",
                  from_pairs(np.minimum(*others), worst51), source=source,
                  note=f"per seed, the worse of (5,3) and (3,1) minus (5,1); the study: "
                       f"{refs.S3_KERNEL_ORDER} (its tie of (5,3) and (3,1) is not tested: it "
                       f"states no margin); {best_vs_runner_up(by_k)[4]}")
