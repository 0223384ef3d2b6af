"""Per-layer quantities over time (plot kind 'layers'): a layer x step heat map on a log colour
scale beside a small line panel for a few layers; and the test that turns a 'curves' panel of
many layer series into this form (17 lines in one axes cannot be told apart).

Panel keys: layers (names, input side first), x (the steps), values (one row per layer, one
value per x; NaN or missing = not drawn), xlabel, ylabel (the quantity: colour bar and line
panel), log (default True: LogNorm colours and a log y axis), lines (layer names to draw as
lines; default the first, middle and last), title.
"""

from __future__ import annotations

import re

import numpy as np

from layerlab.report.figure import wrap
from layerlab.report.plot_data import finite_points, is_finite
from layerlab.report.plot_style import integer_ticks, place_legend, plain_log_labels

LAYER_NAME = re.compile(r"^(fc|conv|linear|lin|dense|layer|block|bn|norm|hidden)[ _.-]?\d+$",
                        re.IGNORECASE)
POSITION = re.compile(r"\s*\(\d+\s*/\s*\d+\)\s*$")  # "fc1 (1/17)": a note of where it sits
AUTO_OVER = 8  # a curves panel of more layer series than this is drawn as a heat map
MAX_TICKS = 20  # more layers than this: label every k-th row


def layer_name(label):
    """The layer's name without a position note: 'fc1 (1/17)' -> 'fc1'."""
    return POSITION.sub("", str(label)).strip()


def looks_like_layers(labels):
    """True when every label names a layer (fc1, conv2, layer 3, ...)."""
    labels = list(labels)
    return bool(labels) and all(LAYER_NAME.match(layer_name(label)) for label in labels)


def convertible(panel):
    """True when a curves panel's series are all layers with numeric x values."""
    series = panel["series"]
    return looks_like_layers(series) and all(
        all(is_finite(x) for x in xs if x is not None) for xs, _ in series.values())


def from_curves(panel, spec):
    """A 'layers' panel from a curves panel of layer series: the union of their x values,
    NaN where a layer has no (finite) point."""
    series = panel["series"]
    xs = sorted({x for sx, _ in series.values() for x in sx if is_finite(x)})
    column = {x: j for j, x in enumerate(xs)}
    values = np.full((len(series), len(xs)), np.nan)
    for row, (sx, sy) in enumerate(series.values()):
        for x, y in zip(*finite_points(sx, sy), strict=True):
            values[row, column[x]] = y
    return {"title": panel.get("title", ""), "layers": [layer_name(s) for s in series],
            "x": xs, "values": values, "log": bool(panel.get("logy", spec.get("logy"))),
            "xlabel": panel.get("xlabel", spec.get("xlabel", "")),
            "ylabel": panel.get("ylabel", spec.get("ylabel", ""))}


def edges(x):
    """Cell edges around the x values (half-way between neighbours), for uneven steps."""
    x = np.asarray(x, dtype=float)
    if len(x) == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = (x[1:] + x[:-1]) / 2
    return np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])


def colour_norm(values, log):
    """LogNorm over the positive values (log) or a linear scale; limits never equal."""
    from matplotlib.colors import LogNorm, Normalize

    shown = values.compressed()
    low, high = (float(shown.min()), float(shown.max())) if shown.size else (1.0, 10.0)
    if log:
        return LogNorm(low, high if high > low else low * 10)
    return Normalize(low, high if high > low else low + 1)


def default_lines(layers):
    """The first, middle and last layer."""
    n = len(layers)
    return [layers[i] for i in sorted({0, (n - 1) // 2, n - 1})] if n else []


def draw_panel(fig, place, panel, width=7.0):
    """Draw a layers panel into the grid place `place`: heat map (with colour bar) on the
    left, line panel on the right; returns the two axes."""
    from matplotlib import colormaps

    heat_ax, line_ax = place.subgridspec(1, 2, width_ratios=[1.7, 1]).subplots()
    layers = [str(name) for name in panel["layers"]]
    x = np.asarray(panel["x"], dtype=float)
    log = panel.get("log", True)
    values = np.ma.masked_invalid(np.asarray(panel["values"], dtype=float))
    if log:
        values = np.ma.masked_less_equal(values, 0)  # no place on a log scale
    mesh = heat_ax.pcolormesh(edges(x), np.arange(len(layers) + 1), values, shading="flat",
                              cmap="viridis", norm=colour_norm(values, log))
    heat_ax.set_ylim(len(layers), 0)  # the input-side layer on top, as a net is drawn
    step = -(-len(layers) // MAX_TICKS)
    rows = list(range(0, len(layers), step))
    heat_ax.set_yticks([r + 0.5 for r in rows], [layers[r] for r in rows], fontsize=8)
    heat_ax.set_xlabel(wrap(panel.get("xlabel", ""), width * 0.45))
    heat_ax.set_title(wrap(panel.get("title", ""), width * 0.6), fontsize=10, loc="left")
    integer_ticks(heat_ax, list(x))
    bar = fig.colorbar(mesh, ax=heat_ax, pad=0.02)
    bar.set_label(wrap(panel.get("ylabel", ""), 3.0, 9), fontsize=9)
    picks = [name for name in panel.get("lines") or default_lines(layers) if name in layers]
    ticks = dict(zip(rows, heat_ax.get_yticklabels(), strict=True))
    for i, name in enumerate(picks):
        row = layers.index(name)
        colour = colormaps["tab10"](i % 10)
        xs, ys = finite_points(list(x), [float(v) for v in values.filled(np.nan)[row]])
        line_ax.plot(xs, ys, color=colour, label=name, linewidth=1.8,
                     marker="os^D"[i % 4] if len(xs) <= 31 else None, markersize=3.5)
        if row in ticks:  # the row's name in the heat map takes its line's colour
            ticks[row].set_color(colour)
            ticks[row].set_fontweight("bold")
    if log:
        line_ax.set_yscale("log")
        plain_log_labels(line_ax.yaxis)
        plain_log_labels(bar.ax.yaxis)
    line_ax.set_xlabel(wrap(panel.get("xlabel", ""), width * 0.3))
    line_ax.grid(alpha=0.3)
    integer_ticks(line_ax, list(x))
    if picks:
        place_legend(line_ax, len(picks))
    return heat_ax, line_ax


def draw(plt, spec):
    """The figure of a 'layers' spec: its own keys form one panel, or `panels` lists several."""
    from layerlab.report.figure import panel_places, panel_title

    panels = spec.get("panels") or [spec]
    fig, places = panel_places(plt, len(panels), spec.get("ncols"), (7.0, 3.4), max_cols=2)
    shared = {k: spec[k] for k in ("xlabel", "ylabel", "log", "lines") if k in spec}
    for panel, place in zip(panels, places, strict=True):
        draw_panel(fig, place, {**shared, **panel,
                                "title": panel_title(panel, spec, len(panels))})
    return fig
