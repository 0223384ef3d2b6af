"""One way to write each kind of number in notes, claims and table cells.

- `pm(mean, std, digits=3, sign=False)`: '0.512 ± 0.013'; sign=True for differences,
  '+0.0123 ± 0.0045'.
- `accuracy(x)`: an accuracy (a fraction) is always a percent with 2 decimals, 0.97189 ->
  '97.19%'.
- `count(n, noun)`: '3 seeds', '1 seed', '49,000 images' (never 'seed(s)').
- `number(x)`: a table cell that never shows a Python value: None -> '', 24.0 -> '24',
  NaN -> 'n/a', True -> 'yes'; finite numbers as the report writes them (4 significant digits).
- `slope(x)`: '0.52', or 'n/a' when there is none.
- `reason_number(x)`: a figure in a verdict's reason, '0.8814', whole numbers of 10,000 or more
  in full ('468,202', never '1e+06').
- `per_seed(values)`: 'per seed 1.23, diverged' (None is a seed that diverged).
- `accuracy_pm(values)`, `accuracy_range(values)`: accuracies over seeds as percent numbers,
  '96.00 ± 1.41' and '95.00-97.19' (for a column whose header says %).

pm and slope write NaN (and None) as 'n/a', never 'nan'.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _missing(x):
    return x is None or (isinstance(x, numbers.Real) and math.isnan(x))


def pm(mean, std, digits=3, sign=False):
    """'mean ± std' with `digits` decimals on both, e.g. pm(0.5123, 0.0131) -> '0.512 ± 0.013'.

    Args:
        mean, std: numbers (std may be a standard error or a half-width).
        digits: decimals.
        sign: write the mean with its sign ('+0.012 ± 0.004'), for differences.
    Returns:
        str; 'n/a' when mean is None or NaN, the mean alone when std is (e.g. the NaN half-width
        of a t interval over one seed).
    """
    if _missing(mean):
        return "n/a"
    head = f"{mean:+.{digits}f}" if sign else f"{mean:.{digits}f}"
    return head if _missing(std) else f"{head} ± {std:.{digits}f}"


def accuracy(x, digits=2):
    """An accuracy given as a fraction, written as a percent: 0.97189 -> '97.19%'.

    Returns:
        str; 'n/a' for None or NaN.
    """
    return "n/a" if _missing(x) else f"{100 * x:.{digits}f}%"


def count(n, noun, plural=None):
    """'3 seeds', '1 seed', '0 seeds', '49,000 images'.

    Args:
        n: an integer.
        noun: the singular; the plural is noun + 's' unless `plural` is given ('3 batches').
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"count takes an integer, got {n!r}")
    return f"{int(n):,} {noun if n == 1 else plural or noun + 's'}"


def number(x):
    """A table cell: numbers as the report writes them, never a Python value.

    None -> '', NaN -> 'n/a', +-inf -> '∞' / '-∞', True/False -> 'yes'/'no', integers as they
    are (24), other numbers to 4 significant digits (24.0 -> '24', 0.51234 -> '0.5123') and
    below 1e-3 in scientific notation ('1.23e-04'), as report.build.fmt does; strings pass
    through unchanged.

    Returns:
        str.
    """
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if not isinstance(x, numbers.Real):
        raise TypeError(f"number takes a number, None or a string, got {type(x).__name__}")
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"  # also for -0.0
    return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.2e}"


def slope(x, digits=2):
    """A slope for a note: '0.52', or 'n/a' when there is none (None or NaN)."""
    return "n/a" if _missing(x) else f"{x:.{digits}f}"


def per_seed(values, show="{:.2f}".format, prefix="per seed "):
    """'per seed 1.23, 4.56, diverged': each seed's value written by `show`, None (a seed that
    diverged) as 'diverged'."""
    return prefix + ", ".join("diverged" if x is None else show(x) for x in values)


def accuracy_pm(values, digits=2):
    """'97.19 ± 0.42': mean ± sample std of accuracies (fractions) as percent numbers, without
    the % sign (for a column whose header says %)."""
    from layerlab.analysis.stats import mean_std

    return pm(*(100 * x for x in mean_std(values)), digits)


def accuracy_range(values, digits=2):
    """'96.07-98.31': the lowest and highest of accuracies (fractions) as percent numbers."""
    return f"{100 * min(values):.{digits}f}-{100 * max(values):.{digits}f}"


def reason_number(x) -> str:
    """A figure in a verdict's reason: 4 significant digits, whole numbers of 10,000 or more
    in full with thousands separators (a parameter count is not '1e+06')."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) >= 1e4:
        return f"{int(x):,}"
    return f"{x:.4g}"
