"""Render the plot data of a run (results.json 'plots') to PNG files with matplotlib (Agg).

A study stores each plot as a spec through Run.plot(name, kind, title=..., note=..., **keys);
the report prints the title as the heading over the picture, so the picture does not repeat it
(set `figure_title` to a text, or True for the title, to draw one anyway). Kinds and keys:

'curves' (line plots)
    series {label: [xs, ys]}, xlabel, ylabel, logy, logx: one panel; or panels [{series,
    title, xlabel, ylabel, logy, logx}] with ncols (panels per row, at most 3). Labels starting
    'reference' are dashed. Missing, NaN or infinite points are skipped (a diverged run's
    curve ends where its numbers stop). When every panel has the same labels there is one
    legend, below the panels. overlay: true draws every panel's series in one axes (labels
    prefixed by the panel title: to compare budgets or conditions). A panel of more than 8
    series named like layers (fc1, conv2, layer 3, ...) is drawn as a 'layers' panel, and so
    are the figure's other layer panels.
'layers' (a per-layer quantity over time)
    layers [names, input side first], x [steps], values [[one row per layer]], xlabel, ylabel
    (the quantity), log (default true: log colour scale), lines [layer names drawn as lines
    too; default first, middle, last]; or panels [{the same keys, title}].
'heatmap' (a table of numbers as coloured cells)
    values (rows x cols), row_labels, col_labels, xlabel, ylabel, colorbar (its label),
    diverging (true: a red-blue map centred on 0; automatic when values have both signs).
'boundary' (decision-boundary maps with the data points)
    see layerlab.report.boundary.
"""

from __future__ import annotations

from layerlab.report.figure import pyplot, save
from layerlab.report.plot_data import finite_points  # noqa: F401  (kept where callers look)

KINDS = ("curves", "layers", "heatmap", "boundary")


def draw(spec):
    """The matplotlib figure of one plot spec, laid out and not yet saved."""
    from layerlab.report import boundary, plot_curves, plot_heatmap, plot_layers
    from layerlab.report.plot_style import settle_legends

    plt = pyplot()
    drawers = {"curves": plot_curves.draw, "layers": plot_layers.draw,
               "heatmap": plot_heatmap.draw, "boundary": boundary.draw}
    kind = spec.get("kind")
    if kind not in drawers:
        raise ValueError(f"unknown plot kind {kind!r}: use one of {', '.join(KINDS)}")
    fig = drawers[kind](plt, spec)
    heading = spec.get("figure_title")
    if heading:
        fig.suptitle(spec.get("title", "") if heading is True else str(heading), fontsize=11)
    settle_legends(fig)
    return fig


def render(spec, path):
    """Draw one plot spec to `path` (PNG, 150 dpi); returns the path."""
    return save(pyplot(), draw(spec), path)
