"""Matplotlib set-up shared by the plot kinds: the Agg back end, a grid of panels that wraps
into rows, wrapped labels, and saving at print resolution."""

from __future__ import annotations

import textwrap
from pathlib import Path

DPI = 150  # sharp on high-density screens; 100 dpi PNGs looked blurred in the reports
MAX_COLS = 3  # more panels per row shrink each below reading size: wrap into rows instead


def pyplot():
    """matplotlib.pyplot on the Agg back end."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed, and never opens a window
    import matplotlib.pyplot as plt

    return plt


def grid_shape(n, ncols=None, max_cols=MAX_COLS):
    """(rows, columns) for n panels: `ncols` (or n) capped at max_cols, then balanced so the
    last row is not left nearly empty (4 panels: 2 x 2, not 3 + 1)."""
    cap = max(1, min(int(ncols or n), max_cols, n))
    rows = -(-n // cap)
    return rows, -(-n // rows)


def panel_places(plt, n, ncols=None, cell=(4.6, 3.4), max_cols=MAX_COLS):
    """(figure, one SubplotSpec per panel) on a grid of `cell`-inch cells, constrained layout
    (labels, colour bars and outside legends get room instead of being clipped)."""
    rows, cols = grid_shape(n, ncols, max_cols)
    fig = plt.figure(figsize=(cell[0] * cols, cell[1] * rows), layout="constrained")
    grid = fig.add_gridspec(rows, cols)
    return fig, [grid[i // cols, i % cols] for i in range(n)]


def panel_grid(plt, spec, n, width, height):
    """(figure, one axis per panel) for n panels, `spec['ncols']` per row at most (see
    grid_shape)."""
    fig, places = panel_places(plt, n, spec.get("ncols"), (width, height))
    return fig, [fig.add_subplot(place) for place in places]


def panel_title(panel, spec, n):
    """A panel's title, or "" for the only panel when the spec's title (the report's heading
    over the picture) already says it."""
    title = str(panel.get("title") or "")
    if n == 1 and title.lower() in str(spec.get("title", "")).lower():
        return ""
    return title


def wrap(text, inches, fontsize=10):
    """`text` broken into lines that fit `inches` at `fontsize` points (an average character
    is about half a point size wide), so long axis labels wrap instead of being clipped."""
    if not text:
        return ""
    chars = max(12, int(inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(part, chars) for part in str(text).split("\n"))


def save(plt, fig, path, dpi=DPI):
    """Write `fig` to `path` as PNG (atomically: a reader never sees half a file) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    try:
        fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    tmp.replace(path)
    return path
