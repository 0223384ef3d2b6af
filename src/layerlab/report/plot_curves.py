"""Line plots (plot kind 'curves'): panels of labelled series, one legend for the figure when
every panel has the same series, panels of many layer series drawn as layer heat maps, and an
overlay of every panel in one axes."""

from __future__ import annotations

from layerlab.report import plot_layers
from layerlab.report.figure import panel_places, panel_title, wrap
from layerlab.report.plot_data import finite_points
from layerlab.report.plot_style import (
    LINESTYLES,
    MARKERS,
    MAX_INSIDE,
    integer_ticks,
    line_width,
    mark_every,
    place_legend,
    plain_log_labels,
    series_colours,
)

CELL = (4.6, 3.4)  # inches per line panel
LAYER_CELL = (7.0, 3.4)  # a layers panel holds a heat map, its colour bar and a line panel


def panels_of(spec):
    """The spec's panels (a spec without `panels` is one panel), merged into one when the
    spec sets overlay."""
    panels = spec.get("panels") or [{"series": spec["series"], "ylabel": spec.get("ylabel", ""),
                                     "logy": spec.get("logy", False)}]
    return [overlay(panels)] if spec.get("overlay") else panels


def overlay(panels):
    """One panel holding every panel's series, each label prefixed by its panel's title; a
    colour per panel and a line style per series within it (distinct colours for all when a
    panel has more series than there are line styles)."""
    from matplotlib import colormaps

    series, styles = {}, {}
    distinct = any(len(p["series"]) > len(LINESTYLES) for p in panels)
    for i, panel in enumerate(panels):
        for j, (label, points) in enumerate(panel["series"].items()):
            name = f"{panel.get('title') or f'panel {i + 1}'}: {label}"
            series[name] = points
            if not distinct:
                dash = "--" if label.startswith("reference") else LINESTYLES[j]
                styles[name] = (colormaps["tab10"](i % 10), dash)
    ylabels = list(dict.fromkeys(p.get("ylabel", "") for p in panels if p.get("ylabel")))
    first = panels[0]
    return {"series": series, "styles": styles, "ylabel": " / ".join(ylabels),
            "xlabel": first.get("xlabel"), "logy": any(p.get("logy") for p in panels),
            "logx": first.get("logx")}


def cells_of(panels, spec):
    """('layers' | 'lines', panel) per panel: a panel of more than AUTO_OVER layer series is a
    layers panel, and so is every other layer panel of the same figure (so they compare)."""
    layered = [plot_layers.convertible(p) for p in panels]
    many = any(ok and len(p["series"]) > plot_layers.AUTO_OVER
               for ok, p in zip(layered, panels, strict=True))
    return [("layers", plot_layers.from_curves(p, spec)) if many and ok else ("lines", p)
            for ok, p in zip(layered, panels, strict=True)]


def shared_labels(cells):
    """The series labels when two or more line panels all have the same ones (one legend for
    the figure then), else None."""
    lists = [list(p["series"]) for kind, p in cells if kind == "lines"]
    if len(lists) == len(cells) > 1 and len(lists[0]) > 1 and all(x == lists[0] for x in lists):
        return lists[0]
    return None


def line_colours(labels):
    """A colour per label, none repeated, except that 'reference X' takes the colour of X when
    the panel has a series X (a measurement and its reference read as a pair)."""
    own = [label for label in labels if reference_of(label, labels) is None]
    palette = dict(zip(own, series_colours(len(own), plot_layers.looks_like_layers(own)),
                       strict=True))
    return [palette.get(label) or palette[reference_of(label, labels)] for label in labels]


def reference_of(label, labels):
    """The series 'reference X' refers to, when X is among labels; else None."""
    if not label.startswith("reference"):
        return None
    base = label[len("reference"):].strip(" :")
    return base if base in labels and base != label else None


def legend_room(cells):
    """Inches a line panel needs beside it for a legend outside the axes (more than
    MAX_INSIDE series): the longest label at 8 points, plus its line sample."""
    labels = [label for kind, p in cells if kind == "lines" and len(p["series"]) > MAX_INSIDE
              for label in p["series"]]
    return 0.8 + 0.55 * 8 / 72 * max(map(len, labels)) if labels else 0.0


def draw_lines(ax, panel, spec, title, legend=True):
    """Draw a line panel's series into `ax`; returns {label: line} of the series drawn."""
    labels = list(panel["series"])
    colours = line_colours(labels)
    styles = panel.get("styles") or {}
    drawn, all_x = {}, []
    for i, (label, (xs, ys)) in enumerate(panel["series"].items()):
        xs, ys = finite_points(xs, ys)  # a diverged run's nan/inf are not drawn
        if not xs:
            continue
        colour, dash = styles.get(label, (colours[i], "--" if label.startswith("reference")
                                          else "-"))
        drawn[label], = ax.plot(xs, ys, dash, color=colour, label=label, markersize=3.5,
                                marker=MARKERS[i % len(MARKERS)],
                                markevery=mark_every(i, len(labels), len(xs)),
                                linewidth=line_width(i, len(labels)))
        all_x += xs
    ax.set_xlabel(wrap(panel.get("xlabel", spec.get("xlabel", "")), CELL[0]))
    ax.set_ylabel(wrap(panel.get("ylabel", ""), CELL[1]))
    if title:
        ax.set_title(wrap(title, CELL[0]), fontsize=10)
    if panel.get("logy"):
        ax.set_yscale("log")
        plain_log_labels(ax.yaxis)
    if panel.get("logx", spec.get("logx")):
        ax.set_xscale("log")
        plain_log_labels(ax.xaxis)
    integer_ticks(ax, all_x)
    ax.grid(alpha=0.3)
    if legend and len(drawn) > 1:
        place_legend(ax, len(drawn), max(panel.get("legend_size", 8), 8))
    return drawn


def draw(plt, spec):
    """The figure of a 'curves' spec (keys: see layerlab.report.plots)."""
    cells = cells_of(panels_of(spec), spec)
    wide = any(kind == "layers" for kind, _ in cells)
    shared = shared_labels(cells)
    cell = LAYER_CELL if wide else (CELL[0] + (0 if shared else legend_room(cells)), CELL[1])
    fig, places = panel_places(plt, len(cells), spec.get("ncols"), cell,
                               max_cols=2 if wide else 3)
    handles = {}
    for (kind, panel), place in zip(cells, places, strict=True):
        title = panel_title(panel, spec, len(cells))
        if kind == "layers":
            plot_layers.draw_panel(fig, place, {**panel, "title": title})
        else:
            drawn = draw_lines(fig.add_subplot(place), panel, spec, title, legend=not shared)
            handles = {**drawn, **handles}  # the first panel that drew a label supplies it
    if shared and handles:
        names = [label for label in shared if label in handles]
        rows = -(-len(names) // 4)  # at most 4 entries a row, rows balanced
        fig.legend([handles[n] for n in names], names, loc="outside lower center",
                   ncol=-(-len(names) // rows), fontsize=8, frameon=False)
    return fig
