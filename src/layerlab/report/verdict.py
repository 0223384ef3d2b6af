"""Verdicts: is our figure the study's reference figure, better, or not reproduced?"""

from __future__ import annotations


def verdict(ours, reference, better="higher", tolerance=0.0):
    """{'verdict': ..., 'reason': ...} for one quoted figure.

    better='higher': ours > reference is 'beaten', ours >= reference - tolerance 'reproduced'.
    better='lower': the mirror image (e.g. an error or a loss).
    better='equal': 'reproduced' when |ours - reference| <= tolerance (or, for booleans and
    text, when they are equal), else 'not reproduced'.
    With no reference the verdict is 'measured' (a figure the study did not quote).
    """
    if reference is None:
        return {"verdict": "measured", "reason": "the study quotes no figure for this"}
    if ours is None:
        return {"verdict": "not reproduced", "reason": "no result (the run did not produce it)"}
    if better == "equal" or isinstance(ours, bool | str) or isinstance(reference, bool | str):
        same = ours == reference if isinstance(ours, bool | str) or isinstance(
            reference, bool | str) else abs(ours - reference) <= tolerance
        if same:
            return {"verdict": "reproduced", "reason": "ours equals the reference"
                    + (f" within {tolerance:g}" if tolerance else "")}
        return {"verdict": "not reproduced", "reason": f"ours {ours!r} differs from the "
                f"reference {reference!r}" + (f" by more than {tolerance:g}" if tolerance else "")}
    sign = 1 if better == "higher" else -1
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher', 'lower' or 'equal', got {better!r}")
    gap = sign * (ours - reference)
    if gap > tolerance:
        return {"verdict": "beaten", "reason": f"ours is {abs(ours - reference):.4g} "
                f"{'above' if sign > 0 else 'below'} the reference"}
    if gap >= -tolerance:
        return {"verdict": "reproduced", "reason": f"within {tolerance:g} of the reference"
                if tolerance else "equal to the reference"}
    return {"verdict": "not reproduced", "reason": f"ours is {abs(ours - reference):.4g} "
            f"{'below' if sign > 0 else 'above'} the reference (tolerance {tolerance:g})"}
