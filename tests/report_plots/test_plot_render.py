"""The report's plots: drawn from plot specs with matplotlib, checked on the figure objects
and on the PNG files written."""

import math

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import LogNorm, to_rgba
from PIL import Image

from layerlab.report import plots
from layerlab.report.figure import grid_shape
from layerlab.report.plot_heatmap import text_colour

EPOCHS = list(range(1, 11))


def curves(n, name="s{}", **extra):
    """A one-panel curves spec of n series over 10 epochs, each a different straight line."""
    series = {name.format(i + 1): [EPOCHS, [0.1 * (i + 1) + 0.01 * e for e in EPOCHS]]
              for i in range(n)}
    return {"kind": "curves", "title": "A title the report prints as its heading",
            "xlabel": "epoch", "ylabel": "accuracy", "series": series, **extra}


def layer_series(n=17):
    """n layers whose values span many decades (as vanishing gradients do)."""
    return {f"fc{k}": [EPOCHS, [10.0 ** (k - n) * (1 + 0.05 * e) for e in EPOCHS]]
            for k in range(1, n + 1)}


@pytest.fixture(autouse=True)
def close_figures():
    """Figures drawn but not saved are closed after each test."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def heat_maps(fig):
    """The heat-map meshes of a figure (colour bars, also meshes, left out)."""
    return [c for ax in fig.axes if ax.get_label() != "<colorbar>"
            for c in ax.collections if isinstance(c, QuadMesh)]


def drawn(fig):
    """The figure after layout (positions and tick labels final)."""
    fig.canvas.draw()
    return fig


def test_png_is_150_dpi_at_the_figure_size(tmp_path):
    spec = curves(2)
    width, height = plots.draw(spec).get_size_inches()
    path = plots.render(spec, tmp_path / "c.png")
    image = Image.open(path)
    assert image.size == (pytest.approx(width * 150, abs=1), pytest.approx(height * 150, abs=1))
    assert image.info["dpi"][0] == pytest.approx(150, abs=0.5)


def test_no_figure_title_unless_asked():
    fig = plots.draw(curves(2))
    assert fig.get_suptitle() == ""
    assert all(ax.get_title() == "" for ax in fig.axes)  # the heading is not repeated
    assert plots.draw(curves(2, figure_title=True)).get_suptitle().startswith("A title")
    assert plots.draw(curves(2, figure_title="Own words")).get_suptitle() == "Own words"


def test_a_single_panels_title_is_dropped_only_when_the_heading_says_it():
    spec = {"kind": "curves", "title": "Gradient norm: relu, deep", "panels": [
        {"title": "relu, deep", "series": {"a": [EPOCHS, EPOCHS]}}]}
    assert [ax.get_title() for ax in plots.draw(spec).axes] == [""]
    spec["panels"][0]["title"] = "seed 3 only"
    assert [ax.get_title() for ax in plots.draw(spec).axes] == ["seed 3 only"]


def test_panel_titles_of_several_panels_are_kept():
    spec = {"kind": "curves", "title": "T", "panels": [
        {"title": "left", "series": {"a": [EPOCHS, EPOCHS]}},
        {"title": "right", "series": {"b": [EPOCHS, EPOCHS]}}]}
    assert [ax.get_title() for ax in plots.draw(spec).axes] == ["left", "right"]


def test_whole_number_x_values_get_whole_number_ticks():
    for xs in ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3], list(range(0, 51))):
        spec = {"kind": "curves", "title": "T", "series": {"a": [xs, [x * x for x in xs]]}}
        ax = drawn(plots.draw(spec)).axes[0]
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), (xs, ticks)


def test_fractional_x_values_keep_fractional_ticks():
    xs = [i / 10 for i in range(11)]
    ax = drawn(plots.draw({"kind": "curves", "title": "T", "series": {"a": [xs, xs]}})).axes[0]
    assert any(not float(t).is_integer() for t in ax.get_xticks())


def test_long_axis_labels_are_wrapped():
    long = "validation accuracy of the final model after the learning-rate schedule ends, " * 2
    ax = plots.draw(curves(1, ylabel=long, xlabel=long)).axes[0]
    assert "\n" in ax.get_ylabel() and "\n" in ax.get_xlabel()


def test_colours_do_not_repeat_within_a_panel():
    for n in (3, 10, 12, 17, 25):
        ax = plots.draw(curves(n, name="setting {}")).axes[0]
        colours = {to_rgba(line.get_color()) for line in ax.get_lines()}
        assert len(colours) == n, n


def test_a_legend_of_many_series_is_outside_the_axes():
    fig = drawn(plots.draw(curves(6)))
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))


def test_a_small_legend_never_covers_data():
    # three curves that sweep the whole axes: no corner is free, so the legend goes outside
    xs = [i / 20 for i in range(201)]
    series = {f"wave {k}": [xs, [math.sin(3 * x + k) for x in xs]] for k in range(3)}
    fig = drawn(plots.draw({"kind": "curves", "title": "T", "series": series}))
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    for line in ax.get_lines():
        points = ax.transData.transform(line.get_xydata())
        assert not box.count_contains(points)


def test_panels_with_the_same_series_share_one_legend_below():
    series = {"train": [EPOCHS, EPOCHS], "val": [EPOCHS, EPOCHS[::-1]]}
    spec = {"kind": "curves", "title": "T", "panels": [
        {"title": "a", "series": series}, {"title": "b", "series": series}]}
    fig = drawn(plots.draw(spec))
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].texts] == ["train", "val"]
    renderer = fig.canvas.get_renderer()
    bottom = min(ax.get_window_extent(renderer).y0 for ax in fig.axes)
    assert fig.legends[0].get_window_extent(renderer).y1 <= bottom


def test_panels_wrap_into_at_most_three_columns():
    assert grid_shape(4, 4) == (2, 2)
    assert grid_shape(9, 9) == (3, 3)
    assert grid_shape(3) == (1, 3)
    assert grid_shape(5, 2) == (3, 2)
    panels = [{"title": f"p{i}", "series": {"a": [EPOCHS, EPOCHS]}} for i in range(4)]
    fig = plots.draw({"kind": "curves", "title": "T", "ncols": 4, "panels": panels})
    assert tuple(fig.axes[0].get_subplotspec().get_gridspec().get_geometry()) == (2, 2)


def test_signed_heatmap_is_diverging_and_centred_on_zero():
    spec = {"kind": "heatmap", "title": "ours minus theirs", "values": [[-0.01, 0.002],
                                                                        [0.004, 0.0139]],
            "row_labels": ["a", "b"], "col_labels": ["x", "y"]}
    image = plots.draw(spec).axes[0].images[0]
    assert image.norm.vmin == -image.norm.vmax == pytest.approx(-0.0139)
    assert image.get_cmap().name.startswith("RdBu_r")


def test_one_signed_heatmap_unless_asked():
    spec = {"kind": "heatmap", "title": "t", "values": [[0.2, 0.5], [0.7, 0.9]],
            "row_labels": [1, 2], "col_labels": [1, 2]}
    image = plots.draw(spec).axes[0].images[0]
    assert (image.norm.vmin, image.norm.vmax) == (0.2, 0.9)
    assert image.get_cmap().name.startswith("viridis")
    image = plots.draw({**spec, "diverging": True}).axes[0].images[0]
    assert image.norm.vmin == -image.norm.vmax == -0.9


def test_heatmap_numbers_contrast_with_their_cells():
    assert text_colour(to_rgba("black")) == "white"
    assert text_colour(to_rgba("white")) == "black"
    assert text_colour(to_rgba("yellow")) == "black"
    assert text_colour(to_rgba("navy")) == "white"
    spec = {"kind": "heatmap", "title": "t", "values": [[-1.0, -0.05, 0.0, 1.0]],
            "row_labels": ["r"], "col_labels": list("abcd")}
    ax = plots.draw(spec).axes[0]
    by_text = {t.get_text(): t.get_color() for t in ax.texts}
    # the strong ends of RdBu_r are dark (white numbers), its middle is near white
    assert by_text == {"-1": "white", "-0.05": "black", "0": "black", "1": "white"}


def test_layers_kind_is_a_log_heat_map_beside_a_few_lines():
    n = 17
    spec = {"kind": "layers", "title": "gradient norm per layer",
            "layers": [f"fc{k}" for k in range(1, n + 1)], "x": EPOCHS,
            "values": [ys for _, ys in layer_series(n).values()], "xlabel": "epoch",
            "ylabel": "||dL/dW||"}
    fig = plots.draw(spec)
    meshes = heat_maps(fig)
    assert len(meshes) == 1 and isinstance(meshes[0].norm, LogNorm)
    assert meshes[0].get_array().shape == (17, 10)
    lines = [ax for ax in fig.axes if ax.get_lines()]
    assert [line.get_label() for line in lines[0].get_lines()] == ["fc1", "fc9", "fc17"]
    assert lines[0].get_yscale() == "log"
    chosen = plots.draw({**spec, "lines": ["fc2", "fc3"]})
    lines = [ax for ax in chosen.axes if ax.get_lines()]
    assert [line.get_label() for line in lines[0].get_lines()] == ["fc2", "fc3"]


def test_a_curves_panel_of_many_layers_is_drawn_as_a_layer_heat_map():
    spec = {"kind": "curves", "title": "Per-layer weight-gradient norm", "xlabel": "epoch",
            "panels": [{"title": "deep", "logy": True, "series": {
                f"{k} (1/17)" if k == "fc1" else k: v for k, v in layer_series(17).items()}},
                {"title": "plain", "logy": True, "series": layer_series(7)}]}
    fig = plots.draw(spec)
    meshes = heat_maps(fig)
    assert len(meshes) == 2  # the 7-layer panel beside it is drawn the same way
    assert all(isinstance(m.norm, LogNorm) for m in meshes)
    assert max(len(ax.get_lines()) for ax in fig.axes) <= 3
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert names[0] == "fc1" and names[-1] == "fc17"  # the position note is dropped


def test_many_series_not_named_like_layers_stay_lines():
    fig = plots.draw(curves(17, name="run {}"))
    assert len(fig.axes[0].get_lines()) == 17
    assert not heat_maps(fig)


def test_overlay_draws_every_panel_in_one_axes():
    panels = [{"title": f"budget {b}", "ylabel": "accuracy", "series": {
        "train": [EPOCHS, [b * e for e in EPOCHS]], "val": [EPOCHS, [b * e / 2 for e in EPOCHS]]}}
        for b in (1, 2)]
    spec = {"kind": "curves", "title": "T", "panels": panels}
    assert len(plots.draw(spec).axes) == 2  # the default is unchanged
    fig = plots.draw({**spec, "overlay": True})
    assert len(fig.axes) == 1
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["budget 1: train", "budget 1: val", "budget 2: train", "budget 2: val"]
    colours = [to_rgba(line.get_color()) for line in fig.axes[0].get_lines()]
    assert colours[0] == colours[1] != colours[2] == colours[3]  # a colour per panel
    assert fig.axes[0].get_ylabel() == "accuracy"


def test_non_finite_points_are_skipped_and_a_diverged_curve_ends(tmp_path):
    spec = {"kind": "curves", "title": "T", "logy": True, "series": {
        "diverged": [[0, 1, 2, 3], [1.0, 2.0, math.inf, math.nan]],
        "gap": [[0, 1, 2], [1.0, None, 3.0]], "dead": [[0, 1], [math.nan, math.nan]]}}
    ax = plots.draw(spec).axes[0]
    data = {line.get_label(): line.get_xydata().tolist() for line in ax.get_lines()}
    assert data == {"diverged": [[0, 1], [1, 2]], "gap": [[0, 1], [2, 3]]}
    plots.render(spec, tmp_path / "c.png")
    heat = {"kind": "heatmap", "title": "t", "values": [[math.nan, -1.0], [math.inf, 2.0]],
            "row_labels": [1, 2], "col_labels": [1, 2]}
    texts = [t.get_text() for t in plots.draw(heat).axes[0].texts]
    assert texts == ["n/a", "-1", "n/a", "2"]
    assert Image.open(plots.render(heat, tmp_path / "h.png")).size[0] > 0


def test_an_unknown_kind_names_the_kinds():
    with pytest.raises(ValueError, match="unknown plot kind 'pie': use one of curves, layers"):
        plots.draw({"kind": "pie", "title": "t"})


def test_boundary_maps_wrap_and_keep_their_panel_titles():
    grid = np.linspace(-1, 1, 16).reshape(4, 4).tolist()
    panels = [{"title": f"net {i}", "values": grid, "points": [[0, 0], [1, 1]],
               "labels": [0, 1]} for i in range(4)]
    fig = plots.draw({"kind": "boundary", "title": "T", "ncols": 4, "panels": panels})
    assert [ax.get_title() for ax in fig.axes] == ["net 0", "net 1", "net 2", "net 3"]
    assert fig.get_suptitle() == ""
