"""Pooling by hand: one window at a time, written out as a person does it on paper.

`pool_by_hand(matrix, "max")` slides a size x size window by `stride` over a 2-D matrix and
keeps the largest (or the mean) value of each window. It shares no code with the engine's
`MaxPool`/`AvgPool`, so comparing the two checks both.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def parse_matrix(text):
    """'1 1 0; 0 1 1' (rows separated by ';' or newlines) -> a 2-D float array.

    A ValueError says what is wrong (ragged rows, non-numbers, nan or infinity).
    """
    rows = [r.replace(",", " ").split() for r in str(text).replace("\n", ";").split(";")]
    rows = [r for r in rows if r]
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError(f"matrix {text!r}: give rows of equal length separated by ';', e.g. "
                         "'1 1 0 0; 1 1 0 0; 0 0 1 1; 0 0 1 1'")
    try:
        m = np.array([[float(v) for v in r] for r in rows])
    except ValueError:
        raise ValueError(f"matrix {text!r}: every entry must be a number") from None
    if not np.isfinite(m).all():
        raise ValueError(f"matrix {text!r}: every entry must be a finite number (no nan or inf)")
    return m


def pool_by_hand(matrix, kind="max", size=2, stride=2):
    """Pool a 2-D matrix with a size x size window moved by `stride` (no padding).

    Args:
        matrix: (H, W) numbers; (H - size) and (W - size) must be multiples of the stride.
        kind: 'max' or 'avg'.
        size, stride: ints >= 1 (a ValueError otherwise).
    Returns:
        (H_out, W_out) float array; H_out = (H - size) / stride + 1.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"pool_by_hand takes a 2-D matrix, got shape {m.shape}")
    if kind not in ("max", "avg"):
        raise ValueError(f"pooling kind must be 'max' or 'avg', got {kind!r}")
    for name, value in (("size", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"the window {name} must be an int >= 1, got {value!r} "
                             f"(--{name} 2 is the usual 2x2 window, stride 2)")
    H, W = m.shape
    for n, axis in ((H, "rows"), (W, "columns")):
        if n < size or (n - size) % stride:
            raise ValueError(f"a {size}x{size} window with stride {stride} does not fit "
                             f"{n} {axis}: ({n} - {size}) must be a multiple of {stride}")
    out = np.empty(((H - size) // stride + 1, (W - size) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = [m[i * stride + a, j * stride + b] for a in range(size)
                      for b in range(size)]
            out[i, j] = max(window) if kind == "max" else sum(window) / len(window)
    return out


def engine_pool(matrix, kind="max", size=2, stride=2):
    """The same pooling by the scratch engine's fast MaxPool/AvgPool, (H_out, W_out)."""
    from layerlab.scratch.pool import AvgPool, MaxPool

    layer = MaxPool if kind == "max" else AvgPool
    x = np.asarray(matrix, dtype=float)[None, None]
    out, _ = layer.forward(x, {"pool_height": size, "pool_width": size, "stride": stride})
    return out[0, 0]


def format_matrix(m):
    """Rows of numbers as text, exact fractions where a mean is not a whole number."""
    cells = [[str(Fraction(float(v)).limit_denominator(1000)) if np.isfinite(v) else str(v)
              for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)


def side_by_side(blocks, gap=4):
    """Join multi-line text blocks left to right (each with a title line)."""
    split = [b.splitlines() for b in blocks]
    height = max(len(s) for s in split)
    widths = [max(len(line) for line in s) for s in split]
    lines = []
    for k in range(height):
        parts = [(s[k] if k < len(s) else "").ljust(w) for s, w in zip(split, widths,
                                                                         strict=True)]
        lines.append((" " * gap).join(parts).rstrip())
    return "\n".join(lines)
