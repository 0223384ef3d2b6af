"""Picks among candidates (recipes, settings) judged against noise, not by argmax: the best by
mean validation accuracy against the runner-up, paired by seed, and the candidates tied with
the best (their intervals overlap).

A candidate's runs are cell results, one per seed (the same seeds for every candidate), each
with 'final' {'val': accuracy} and 'correct' {'val': [correct, n]}.
"""

from __future__ import annotations

import numpy as np

from layerlab.analysis.verdict import from_images, from_pairs, from_seeds_and_images


def val_estimate(rs):
    """Validation accuracy of one candidate from its runs: Wilson on the images for one seed
    (the seed's noise unmeasured), seeds and images for more."""
    if len(rs) == 1:
        return from_images(*rs[0]["correct"]["val"])
    return from_seeds_and_images([r["final"]["val"] for r in rs], rs[0]["correct"]["val"][1])


def best_vs_runner_up(runs: dict):
    """runs {candidate: [run per seed]} (two or more) -> (best, runner-up by mean validation
    accuracy, Estimate of best - runner-up paired by seed, the others tied with the best: their
    validation interval overlaps the best's, scores: text)."""
    vals = {k: [r["final"]["val"] for r in rs] for k, rs in runs.items()}
    order = sorted(vals, key=lambda k: float(np.mean(vals[k])), reverse=True)
    est = {k: val_estimate(runs[k]) for k in order}
    tied = [k for k in order[1:] if est[k].low <= est[order[0]].high
            and est[k].high >= est[order[0]].low]
    scores = "; ".join(f"{k}: {e.text(3)}" for k, e in est.items())
    return order[0], order[1], from_pairs(vals[order[0]], vals[order[1]]), tied, scores


def winner(runs: dict):
    """The best of runs {candidate: [run per seed]}: the only one, or None when empty."""
    return best_vs_runner_up(runs)[0] if len(runs) > 1 else next(iter(runs), None)
