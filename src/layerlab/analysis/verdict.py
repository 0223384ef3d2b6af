"""Verdicts judged against noise: every claim is an estimate with an interval, and the verdict
follows from where the reference falls relative to that interval.

An `Estimate` is a value with a two-sided interval and how it was made (over seeds, over
images, both, paired, or exact). Four kinds of claim, each with its own words:

- against a figure the study reported (`against_figure`): *reproduced* when the figure lies
  inside our interval (widened by the study's own sampling noise when its number of test images
  is known); *beaten* when it lies outside on the side where ours is better; *below* (or
  *above*, for lower-is-better quantities) when ours is worse. Only a study's own figure can be
  beaten.
- against a goal, a threshold layerlab sets (`against_goal`): *met* when the whole interval
  clears it, *not met* when none of it reaches it, *within noise* otherwise.
- "A beats B" (`comparison`, on a paired difference A - B): *holds* when the interval excludes 0
  on the claimed side, *not shown* otherwise (the reason says when the opposite holds).
- "A has no effect on B" (`no_effect`): *equivalent* when the interval lies inside
  [-margin, margin] (two one-sided tests at the interval's level), *not shown* otherwise: a
  difference that is merely not significant is not evidence of no effect.

Deterministic quantities (a gradient-check error, a parameter count, a proof) are `exact`
estimates, a zero-width interval (or +-tolerance), judged by the same rules. A claim whose
estimate rests on one seed where seeds vary, or whose cells diverged, is *not judged*.
A figure with no reference is *measured*.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from layerlab.analysis.fmt import reason_number
from layerlab.analysis.stats import t_interval, wilson

VERDICTS = ("reproduced", "beaten", "below", "above", "met", "not met", "within noise",
            "holds", "not shown", "equivalent", "measured", "not judged")


@dataclass(frozen=True)
class Estimate:
    """A value with its interval [low, high] and how it was made.

    how: 'seeds' (t interval over seeds), 'images' (Wilson on n images), 'seeds+images' (both
    sources of noise), 'paired' (t interval of per-seed differences), 'exact'. n: the number
    of seeds (or images, for 'images'). level: the interval's confidence level.
    """

    value: float
    low: float
    high: float
    how: str
    n: int
    level: float = 0.95

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def judgeable(self) -> bool:
        """False when the interval is undefined (one seed where seeds vary) or not finite."""
        return all(math.isfinite(x) for x in (self.value, self.low, self.high))

    def text(self, digits=4) -> str:
        """'0.9123 [0.9050, 0.9196] (t over 5 seeds)'."""
        what = {"seeds": f"t over {self.n} seeds", "images": f"Wilson on {self.n} images",
                "seeds+images": f"{self.n} seeds and the images' noise",
                "paired": f"paired t over {self.n} seeds", "exact": "exact"}[self.how]
        if self.how == "exact" and self.low == self.high:
            return f"{self.value:.{digits}g} (exact)"
        return f"{self.value:.{digits}g} [{self.low:.{digits}g}, {self.high:.{digits}g}] ({what})"


def from_seeds(values, level=0.95) -> Estimate:
    """Mean of per-seed values with a Student t interval. values: (k,) -> Estimate."""
    mean, half, _ = t_interval(values, level)
    return Estimate(float(mean), mean - half, mean + half, "seeds", len(values), level)


def from_images(correct: int, n: int, level=0.95) -> Estimate:
    """One accuracy measured on n images: correct / n with its Wilson interval."""
    low, high = wilson(correct, n, level)
    return Estimate(correct / n, low, high, "images", n, level)


def from_seeds_and_images(accuracies, n_images: int, level=0.95) -> Estimate:
    """Mean accuracy over seeds, each measured on the same n_images test images: the interval
    adds the test set's binomial noise (p(1-p)/n) to the spread over seeds (s^2/k), because a
    new test set would move every seed's accuracy. accuracies: (k,) fractions. The interval is
    clipped to [0, 1], the range of an accuracy (the normal approximation can pass it)."""
    acc = np.asarray(accuracies, dtype=float)
    k, mean = len(acc), float(acc.mean())
    t_half = t_interval(acc, level)[1]
    if not math.isfinite(t_half):
        return Estimate(mean, math.nan, math.nan, "seeds+images", k, level)
    low_w, high_w = wilson(round(mean * n_images), n_images, level)
    half = math.hypot(t_half, (high_w - low_w) / 2)
    return Estimate(mean, max(mean - half, 0.0), min(mean + half, 1.0), "seeds+images", k, level)


def from_pairs(a, b, level=0.95) -> Estimate:
    """The mean per-seed difference a - b with a t interval over seeds. a, b: (k,) paired by
    seed -> Estimate of a - b."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError("a and b must be two equal-length lists, paired by seed")
    diffs = a - b
    mean, half, _ = t_interval(diffs, level)
    return Estimate(float(mean), mean - half, mean + half, "paired", len(diffs), level)


def exact(value, tolerance=0.0) -> Estimate:
    """A deterministic quantity: a zero-width interval, or value +- tolerance."""
    return Estimate(float(value), value - tolerance, value + tolerance, "exact", 1, 1.0)


def exact_range(value, low, high) -> Estimate:
    """A quantity measured once with a stated range around it, not an interval over repeats
    (a wall time: as if every step had run at the fastest / slowest speed seen)."""
    return Estimate(float(value), float(low), float(high), "exact", 1, 1.0)


def _judgement(verdict, reason):
    return {"verdict": verdict, "reason": reason}


def _diverged_reason(diverged) -> str:
    """diverged: True, or the names of the diverged cells the estimate needed."""
    if isinstance(diverged, str):
        diverged = [diverged]
    if isinstance(diverged, list | tuple) and diverged:
        return f"cells behind it diverged: {', '.join(map(str, diverged))}"
    return "a cell behind it diverged"


def _not_judged(est: Estimate | None, diverged):
    if diverged:
        return _judgement("not judged", _diverged_reason(diverged))
    if not est.judgeable:
        return _judgement("not judged", f"no interval: {est.n} seed" if est.n == 1
                          else "no finite interval")
    return None


def against_figure(est: Estimate, figure: float, better="higher", figure_n: int | None = None,
                   diverged=False) -> dict:
    """Our estimate against a figure the study reported (see the module docstring).

    figure_n: the number of test images behind the study's figure when they are another sample
    than ours: its own Wilson half-width widens ours (the two noises add in quadrature), so a
    figure that differs only by the study's sampling noise still counts as reproduced. When the
    study measured on the same test images as ours, that noise is shared: leave figure_n out.
    """
    skip = _not_judged(est, diverged)
    if skip:
        return skip
    below_half, above_half = est.value - est.low, est.high - est.value
    if figure_n:
        low_f, high_f = wilson(round(figure * figure_n), figure_n, est.level)
        below_half = math.hypot(below_half, high_f - figure)
        above_half = math.hypot(above_half, figure - low_f)
    low, high = est.value - below_half, est.value + above_half
    where = f"interval [{low:.4g}, {high:.4g}]" + (" with the study's own noise" if figure_n
                                                   else "")
    if low <= figure <= high:
        return _judgement("reproduced", f"the study's {figure:.4g} lies inside our {where}")
    ours_higher = figure < low
    if better == "equal":
        return _judgement("above" if ours_higher else "below",
                          f"the study's {figure:.4g} lies outside our {where}")
    better_side = ours_higher == (better == "higher")
    side = "above" if ours_higher else "below"
    if better_side:
        return _judgement("beaten", f"our {where} lies wholly {side} the study's {figure:.4g}")
    return _judgement(side, f"our {where} lies wholly {side} the study's {figure:.4g}")


def against_goal(est: Estimate, goal: float, better="higher", diverged=False) -> dict:
    """Our estimate against a threshold layerlab sets: met / not met / within noise."""
    skip = _not_judged(est, diverged)
    if skip:
        return skip
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    clears = (lambda x: x >= goal) if better == "higher" else (lambda x: x <= goal)
    worst, best = (est.low, est.high) if better == "higher" else (est.high, est.low)
    exact = est.low == est.high
    span = (reason_number(est.value) if exact else
            f"[{reason_number(est.low)}, {reason_number(est.high)}]")
    goal_text = reason_number(goal)
    if clears(worst):
        return _judgement("met", f"{'' if exact else 'all of '}{span} clears the goal {goal_text}")
    if not clears(best):
        return _judgement("not met", f"{'' if exact else 'none of '}{span} "
                          f"{'does not reach' if exact else 'reaches'} the goal {goal_text}")
    return _judgement("within noise", f"{span} straddles the goal {goal_text}")


def comparison(diff: Estimate, better="higher", diverged=False) -> dict:
    """'A beats B' on the difference A - B: holds when its interval excludes 0 on the claimed
    side (above 0 for better='higher', below for 'lower'); not shown otherwise."""
    skip = _not_judged(diff, diverged)
    if skip:
        return skip
    span = f"[{diff.low:.4g}, {diff.high:.4g}]"
    shown = diff.low > 0 if better == "higher" else diff.high < 0
    if shown:
        return _judgement("holds", f"the difference's interval {span} excludes 0")
    opposite = diff.high < 0 if better == "higher" else diff.low > 0
    return _judgement("not shown", f"the difference's interval {span} "
                      + ("excludes 0 on the other side: the opposite holds" if opposite
                         else "includes 0"))


def no_effect(diff: Estimate, margin: float, diverged=False) -> dict:
    """'No effect' on the difference: equivalent when its interval lies inside
    [-margin, margin]; not shown otherwise (a non-significant difference is not enough)."""
    skip = _not_judged(diff, diverged)
    if skip:
        return skip
    span = f"[{diff.low:.4g}, {diff.high:.4g}]"
    if -margin <= diff.low and diff.high <= margin:
        return _judgement("equivalent", f"the difference's interval {span} lies inside "
                          f"±{margin:g}")
    return _judgement("not shown", f"the difference's interval {span} is not inside ±{margin:g}")


def measured() -> dict:
    """A figure with nothing to compare it with."""
    return _judgement("measured", "the study quotes no figure for this")


KINDS = ("figure", "goal", "comparison", "no-effect", "measured")


def judge(kind: str, est: Estimate | None, reference=None, *, better="higher",
          figure_n: int | None = None, margin: float | None = None, diverged=False) -> dict:
    """The verdict of one claim by its kind (the one entry point: runs and `layerlab audit`
    both judge through it, so a stored claim can be judged again from its stored values).

    kind 'figure': reference is the study's figure (against_figure); 'goal': reference is
    layerlab's threshold (against_goal); 'comparison': est is a difference A - B, better says
    which sign the claim expects; 'no-effect': est is a difference, margin the equivalence
    margin; 'measured': no reference. diverged: True, or the names of the diverged cells the
    estimate needed (a non-empty list): the claim is *not judged*, and the reason names them.
    """
    if diverged:  # first: a claim whose cells diverged may have no estimate, and a
        return _not_judged(est, diverged)  # "measured" figure of dead cells is no figure
    if kind == "measured":
        return measured()
    if est is None:
        return _judgement("not judged", "no result (the run did not produce it)")
    if kind == "figure":
        return against_figure(est, reference, better, figure_n, diverged)
    if kind == "goal":
        return against_goal(est, reference, better, diverged)
    if kind == "comparison":
        return comparison(est, better, diverged)
    if kind == "no-effect":
        if margin is None:
            raise ValueError("a no-effect claim needs its equivalence margin")
        return no_effect(est, margin, diverged)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
