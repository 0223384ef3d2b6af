"""Decision-boundary maps: a classifier's output over the plane, with the data points on top,
as the TensorFlow Playground draws them (plot kind 'boundary' of layerlab.report.plots).

Spec: panels = [{"title", "values": rows x cols grid (row 0 at the bottom, y = extent[2]),
"extent": [x_min, x_max, y_min, y_max], "points": [[x, y], ...], "labels": [0 | 1, ...]}],
ncols (panels per row, at most 3; default all in one row up to that). Values run from -1
(sure of class 0, orange) to +1 (sure of class 1, blue); the white band between is where the
classifier is unsure.
"""

from __future__ import annotations

import numpy as np

from layerlab.report.figure import panel_grid, panel_title, wrap

ORANGE, BLUE = "#f59322", "#0877bd"  # the playground's colours for -1 and +1


def draw(plt, spec):
    """A figure of one map per panel; returns the matplotlib figure."""
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("playground", [ORANGE, "#ffffff", BLUE])
    panels = spec["panels"]
    fig, axes = panel_grid(plt, spec, len(panels), 3.4, 3.5)
    for ax, panel in zip(axes, panels, strict=True):
        values = np.asarray(panel["values"], dtype=float)
        extent = panel.get("extent", [-6, 6, -6, 6])
        ax.imshow(values, origin="lower", extent=extent, cmap=cmap, vmin=-1, vmax=1,
                  interpolation="bilinear")
        if panel.get("points"):
            points = np.asarray(panel["points"], dtype=float)
            labels = np.asarray(panel["labels"])
            size = 14 if len(points) > 50 else 60  # a few points are drawn larger
            for label, colour in ((0, ORANGE), (1, BLUE)):
                mine = points[labels == label]
                # a dark rim keeps a point visible on a background of its own colour
                ax.scatter(mine[:, 0], mine[:, 1], s=size, c=colour, edgecolors="#222222",
                           linewidths=0.25 if size < 50 else 1.0)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(wrap(panel_title(panel, spec, len(panels)), 3.4, 9), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
