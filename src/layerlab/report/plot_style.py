"""How lines and legends look in the line plots: colours that do not repeat within a panel,
markers and widths that keep overlapping lines visible, whole-number ticks, and legends kept
off the data."""

from __future__ import annotations

import numpy as np

from layerlab.report.plot_data import whole_numbers

MARKERS = "osD^vP<X>p"
LINESTYLES = ["-", "--", ":", "-."]
MAX_INSIDE = 4  # a legend of more series than this goes outside the axes
MARKED = 31  # curves with at most this many points show every point


def series_colours(n, ordered=False):
    """n colours, none repeated: tab10 up to 10, tab20 (its ten dark hues first) up to 20;
    evenly spaced viridis samples for more, or for ordered series (layers) of more than 4,
    so neighbouring layers get neighbouring colours."""
    from matplotlib import colormaps

    if (ordered and n > MAX_INSIDE) or n > 20:
        # stop short of viridis' pale yellow end, which vanishes on white
        return [colormaps["viridis"](0.9 * i / max(n - 1, 1)) for i in range(n)]
    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))  # tab20 pairs a hue with its tint
    return [colormaps["tab20"](order[i]) for i in range(n)]


def line_width(i, n):
    """Series i of n is drawn a little thinner than the one before, so a line lying exactly
    on an earlier one leaves the earlier one's edges visible."""
    return 1.9 - 0.6 * i / (n - 1) if n > 1 else 1.8


def mark_every(i, n, points):
    """Which points of series i (of n) carry a marker: all of a short curve; about 8 of a long
    one, staggered between series so that curves lying on each other still show each one's
    markers."""
    if points <= MARKED:
        return None
    step = max(points // 8, 1)
    return (i * step // max(n, 1), step)


def integer_ticks(ax, xs):
    """Whole-number ticks on a linear x axis whose values are all whole numbers."""
    from matplotlib.ticker import MaxNLocator

    if ax.get_xscale() == "linear" and whole_numbers(xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def plain_log_labels(axis):
    """Label a log axis (or a colour bar's) with plain numbers (0.3, 4, 1000; matplotlib
    writes 4 x 10^0), its decades as powers of ten when the axis reaches below 1e-3 or above
    1e4."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def __call__(self, x, pos=None):
            if not super().__call__(x, pos):  # matplotlib's choice of which ticks to label
                return ""
            power = np.log10(x)
            low, high = sorted(self.axis.get_view_interval())
            if power.is_integer() and (low < 1e-3 or high > 1e4):
                return f"$10^{{{int(power)}}}$"
            return f"{x:g}"

    axis.set_major_formatter(Plain(labelOnlyBase=False))
    axis.set_minor_formatter(Plain(labelOnlyBase=False))


def outside_legend(ax, fontsize=8, handles=None, labels=None):
    """The axes' legend to the right of the axes, off the data (constrained layout makes room)."""
    kw = {} if handles is None else {"handles": handles, "labels": labels}
    return ax.legend(**kw, fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                     borderaxespad=0.0, frameon=False)


def place_legend(ax, n, fontsize=8):
    """A legend of n series: inside, in matplotlib's emptiest corner, for up to MAX_INSIDE;
    outside to the right for more (settle_legends moves an inside one that covers data)."""
    if n > MAX_INSIDE:
        return outside_legend(ax, fontsize)
    legend = ax.legend(fontsize=fontsize, loc="best", framealpha=0.85)
    legend.inside = True  # for settle_legends
    return legend


def settle_legends(fig):
    """Move outside every legend placed inside its axes that, once laid out, lies over a line
    or a point (matplotlib's 'best' corner can still be crowded)."""
    inside = [ax for ax in fig.axes if getattr(ax.get_legend(), "inside", False)]
    if not inside:
        return
    fig.canvas.draw()  # lays out the figure: legend and data positions are final only now
    renderer = fig.canvas.get_renderer()
    for ax in inside:
        legend = ax.get_legend()
        if covers_data(ax, legend.get_window_extent(renderer).padded(3)):
            outside_legend(ax, legend.texts[0].get_fontsize() if legend.texts else 8,
                           legend.legend_handles, [t.get_text() for t in legend.texts])


def covers_data(ax, box):
    """True when a line of `ax` passes through the display-space box `box` (its points and the
    segments between them, sampled finely)."""
    steps = np.linspace(0.0, 1.0, 12)[:, None, None]
    for line in ax.get_lines():
        xy = np.asarray(line.get_xydata(), dtype=float)
        points = ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])
        if len(points) > 1:
            points = (points[:-1] + steps * (points[1:] - points[:-1])).reshape(-1, 2)
        if len(points) and box.count_contains(points):
            return True
    return False
