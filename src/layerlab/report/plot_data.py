"""What the plot kinds ask of stored plot data: which points can be drawn, and whether an
axis holds whole numbers."""

from __future__ import annotations

import math
import numbers


def finite_points(xs, ys):
    """(xs, ys) without the points where either is missing, NaN or infinite (matplotlib cannot
    scale axes to them; a diverged run's curve ends where its numbers stop being finite)."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=False)
            if (isinstance(x, str) or is_finite(x)) and is_finite(y)]
    return [x for x, _ in keep], [y for _, y in keep]


def is_finite(v):
    """True for a real number that is neither NaN nor infinite (None and text are not)."""
    return isinstance(v, numbers.Real) and math.isfinite(v)


def whole_numbers(xs):
    """True when every x is a whole number (epochs, steps, seeds): such an axis gets integer
    ticks, never 2.5 or 7.5."""
    return bool(xs) and all(is_finite(x) and float(x).is_integer() for x in xs)
