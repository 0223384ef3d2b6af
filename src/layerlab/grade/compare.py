"""Error measures and the `Measure` row: one quantity of one case against one expectation.

The error of an array against its expectation is elementwise relative,

    max_i |a_i - e_i| / max(|a_i| + |e_i|, FLOOR * scale),  scale = max(|a|, |e|),

so that entries far below the array's scale are judged against the scale: two correct
implementations that round differently agree to ~1e-13 even where an entry is almost 0 (the
course's `rel_error` with its fixed 1e-8 floor reports such entries as large errors). Entries
where both sides are below ZERO in absolute value count as equal: they are zero as far as a
centred difference can tell (the gradient of a bias just before a batchnorm is exactly 0, and
its centred difference is ~1e-11 of rounding).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

FLOOR = 1e-3
ZERO = 1e-9

# Limits: the engine and a correct float64 implementation differ only by rounding (~1e-13);
# a centred difference (h = 1e-5) agrees with the analytic gradient to ~1e-8.
REF_LIMIT = 1e-7
GRAD_LIMIT = 1e-5

# What a measure compares against.
ENGINE = "layerlab"
NUMERIC = "numerical gradient"
UNCHANGED = "input unchanged"
RULE = "rule"
CALL = "call"


@dataclass
class Measure:
    """One compared quantity: `error` must be at most `limit`.

    judged: False where the expectation itself is not finite (a reference copy with a bug may
        divide by zero); such rows do not count when matching a bug.
    diagnosis: set by a probe that recognises a bug directly (an input changed in place).
    """

    case: str
    quantity: str
    error: float
    limit: float
    against: str = ENGINE
    where: str = ""
    judged: bool = True
    diagnosis: str = ""

    @property
    def passed(self):
        """True when the error is finite and within the limit."""
        return math.isfinite(self.error) and self.error <= self.limit

    def to_dict(self):
        """The row as plain data (for the pipe and for --json)."""
        return asdict(self)


def array_error(actual, expected):
    """The elementwise relative error (module docstring); inf on a shape or NaN mismatch."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    if not np.isfinite(a).all():
        return math.inf
    scale = max(float(np.abs(a).max()), float(np.abs(e).max()))
    if scale == 0:
        return 0.0
    return float(_relative(a, e, scale).max())


def _relative(a, e, scale):
    """Entrywise |a - e| / max(|a| + |e|, FLOOR * scale), 0 where both are below ZERO."""
    size = np.abs(a) + np.abs(e)
    rel = np.abs(a - e) / np.maximum(size, FLOOR * scale)
    return np.where(size < ZERO, 0.0, rel)


def _factor_hint(a, e):
    """' (off by a factor k everywhere)' when a is a multiple of e other than 1, else ''."""
    ee = float((e * e).sum())
    if ee == 0:
        return ""
    k = float((a * e).sum()) / ee
    if abs(k - 1) < 1e-6 or np.linalg.norm(a - k * e) > 1e-6 * math.sqrt(ee):
        return ""
    return " (the sign is flipped everywhere)" if abs(k + 1) < 1e-6 else \
        f" (off by a factor {k:.4g} everywhere)"


def _axis_hint(wrong):
    """Where the wrong entries sit: the axes along which only some indices are wrong."""
    parts = []
    for axis, size in enumerate(wrong.shape):
        if size < 2:
            continue
        other = tuple(i for i in range(wrong.ndim) if i != axis)
        rows = np.flatnonzero(wrong.any(axis=other))
        if len(rows) < size:
            shown = ", ".join(map(str, rows[:6])) + (", ..." if len(rows) > 6 else "")
            parts.append(f"axis {axis} only at index {shown} of {size}")
    return "; ".join(parts)


def where(actual, expected, limit):
    """Where `actual` departs from `expected`, in words: shape, NaN, a constant factor, the axes
    and entries that carry the error, the largest difference."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return f"shape {a.shape}, expected {e.shape}"
    if a.size == 1 and not np.isfinite(a).all():
        return f"{a.item()}, expected {e.item():.6g}"
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{int(bad.sum())} NaN/inf entries, the first at {list(first)}"
    if a.size == 1:
        return f"{a.item():.6g}, expected {e.item():.6g}{_factor_hint(a, e)}"
    rel = _relative(a, e, max(float(np.abs(a).max()), float(np.abs(e).max()), 1e-300))
    wrong = rel > limit
    i = np.unravel_index(int(np.argmax(rel)), rel.shape)
    text = (f"{int(wrong.sum())} of {a.size} entries wrong, the largest at {list(map(int, i))}: "
            f"{a[i]:.6g}, expected {e[i]:.6g}{_factor_hint(a, e)}")
    axes = _axis_hint(wrong)
    return f"{text}; {axes}" if axes else text


def compare(case, quantity, actual, expected, limit=REF_LIMIT, against=ENGINE):
    """A Measure of `actual` against `expected`; `where` is filled in when it fails."""
    error = array_error(actual, expected)
    judged = bool(np.isfinite(np.asarray(expected, dtype=np.float64)).all())
    m = Measure(case, quantity, error, limit, against, judged=judged)
    if not m.passed:
        m.where = where(actual, expected, limit)
    return m


def unchanged(case, name, before, after):
    """A Measure that an input array was left as it was; its diagnosis names the in-place change."""
    b, a = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    same = a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    m = Measure(case, name, 0.0 if same else 1.0, 0.0, UNCHANGED)
    if not same:
        changed = int((a != b).sum()) if a.shape == b.shape else a.size
        m.where = f"{changed} of {b.size} entries of {name} were overwritten"
        m.diagnosis = (f"an in-place change of {name}: the function writes into the {name} it "
                       f"was given; work on a copy ({name}.copy() or np.where(...))")
    return m
