"""Tables of numbers as coloured cells (plot kind 'heatmap'): signed values on a diverging map
centred on 0, each cell's number written in the colour that reads on it."""

from __future__ import annotations

import numpy as np

from layerlab.report.figure import wrap

BLANK = "#e6e6e6"  # a cell with no finite value (a diverged run)


def is_signed(values, spec):
    """True when the spec asks for a diverging map or the finite values have both signs."""
    finite = values[np.isfinite(values)]
    return bool(spec.get("diverging")) or bool(finite.size and finite.min() < 0 < finite.max())


def colour_scale(values, spec):
    """(colour map, norm): RdBu_r with limits symmetric about 0 for signed values (equal
    distances from 0 get equally strong colours), else viridis over the values' range."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    finite = values[np.isfinite(values)]
    if is_signed(values, spec):
        reach = float(np.abs(finite).max()) if finite.size else 1.0
        reach = reach or 1.0
        return colormaps["RdBu_r"].with_extremes(bad=BLANK), Normalize(-reach, reach)
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return colormaps["viridis"].with_extremes(bad=BLANK), Normalize(low, max(high, low + 1e-12))


def text_colour(rgba):
    """Black or white, whichever contrasts more with a cell of colour `rgba` (by its relative
    luminance, WCAG)."""
    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # contrast with white (1.05 / (L + 0.05)) against with black ((L + 0.05) / 0.05)
    return "white" if 1.05 / (luminance + 0.05) > (luminance + 0.05) / 0.05 else "black"


def cell_text(v):
    """A cell's number: 3 significant digits, whole numbers from 1000 up."""
    if not np.isfinite(v):
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def draw(plt, spec):
    """The figure of a 'heatmap' spec (keys: see layerlab.report.plots)."""
    values = np.asarray(spec["values"], dtype=float)
    rows, cols = values.shape
    cmap, norm = colour_scale(values, spec)
    width, height = 2.2 + 0.85 * cols, 1.3 + 0.5 * rows
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(cols), [str(c) for c in spec["col_labels"]],
                  fontsize=8 if cols > 8 else 9)
    ax.set_yticks(range(rows), [str(r) for r in spec["row_labels"]], fontsize=9)
    ax.set_xlabel(wrap(spec.get("xlabel", ""), width - 1.5))
    ax.set_ylabel(wrap(spec.get("ylabel", ""), height - 0.5))
    size = 7 if cols > 8 else 8
    for (i, j), v in np.ndenumerate(values):
        colour = text_colour(cmap(norm(v))) if np.isfinite(v) else "black"
        ax.text(j, i, cell_text(v), ha="center", va="center", fontsize=size, color=colour)
    bar = fig.colorbar(image, ax=ax, pad=0.02)
    if spec.get("colorbar"):
        bar.set_label(wrap(spec["colorbar"], height - 0.5, 9), fontsize=9)
    return fig
