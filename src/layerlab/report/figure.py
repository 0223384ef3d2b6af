"""Matplotlib set-up shared by the plot kinds: the Agg back end and a grid of panels."""

from __future__ import annotations


def pyplot():
    """matplotlib.pyplot on the Agg back end."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed, and never opens a window
    import matplotlib.pyplot as plt

    return plt


def panel_grid(plt, spec, n, width, height):
    """(figure, one axis per panel) for n panels, `spec['ncols']` per row (default: all in
    one row); more panels wrap into rows and the unused axes of the last row are hidden."""
    ncols = int(spec.get("ncols") or n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])
