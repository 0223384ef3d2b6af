"""layerlab.analysis.group against plain NumPy and the values the studies' helpers gave."""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from layerlab.analysis.group import (
    downsample,
    epoch_series,
    first_epoch_reaching,
    group_by,
    log_grid,
    mean_curve,
    over_seeds,
    per_epoch_means,
    tail_mean,
)

RECORDS = [
    {"norm": "none", "w": 0.1, "seed": 0, "acc": 0.30},
    {"norm": "bn", "w": 0.1, "seed": 0, "acc": 0.45},
    {"norm": "none", "w": 0.1, "seed": 1, "acc": 0.32},
    {"norm": "bn", "w": 0.1, "seed": 1, "acc": 0.47},
    {"norm": "none", "w": 1.0, "seed": 0, "acc": 0.10},
]


# --- grouping ------------------------------------------------------------------------------


def test_group_by_keeps_first_seen_order_and_tuple_keys():
    g = group_by(RECORDS, "norm", "w")
    assert list(g) == [("none", 0.1), ("bn", 0.1), ("none", 1.0)]
    assert g[("none", 0.1)] == [RECORDS[0], RECORDS[2]]
    assert list(group_by(RECORDS, "norm")) == [("none",), ("bn",)]
    assert len(group_by(RECORDS, "norm")[("none",)]) == 3
    with pytest.raises(ValueError, match="at least one key"):
        group_by(RECORDS)
    with pytest.raises(KeyError):
        group_by(RECORDS, "depth")


def test_over_seeds_lists_the_values_of_each_group():
    assert over_seeds(RECORDS, ("norm", "w"), "acc") == {
        ("none", 0.1): [0.30, 0.32], ("bn", 0.1): [0.45, 0.47], ("none", 1.0): [0.10]}
    by_norm = over_seeds(RECORDS, "norm", "seed")
    assert by_norm == {"none": [0, 1, 0], "bn": [0, 1]}
    assert list(by_norm) == ["none", "bn"]


# --- curves --------------------------------------------------------------------------------


def _nan_padded_mean(curves):
    """The studies' NaN-padded mean, written out (s1_norm._mean_curve)."""
    n = max(len(c) for c in curves)
    rows = [list(c) + [float("nan")] * (n - len(c)) for c in curves]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(rows, dtype=float), axis=0).tolist()


def test_mean_curve_averages_over_the_runs_that_reach_each_point():
    assert mean_curve([[1, 2, 3], [3, 4]]) == [2.0, 3.0, 3.0]
    assert mean_curve([[1.0, math.nan], [3.0, 4.0]]) == [2.0, 4.0]  # NaN counts as missing


def test_mean_curve_is_the_padded_mean_bit_for_bit(rng):
    for _ in range(50):
        curves = [rng.standard_normal(rng.integers(1, 9)).tolist() for _ in range(4)]
        assert mean_curve(curves) == _nan_padded_mean(curves)


def test_a_point_no_curve_reaches_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ys = mean_curve([[math.nan, 1.0], [math.nan]])
    assert math.isnan(ys[0]) and ys[1] == 1.0


def test_mean_curve_without_padding_is_nps_mean(rng):
    curves = rng.standard_normal((3, 6)).tolist()
    assert mean_curve(curves, pad=False) == np.mean(curves, axis=0).tolist()
    # on equal, NaN-free curves the two ways give the same bits
    assert mean_curve(curves, pad=False) == mean_curve(curves)
    assert math.isnan(mean_curve([[1.0, math.nan], [3.0, 4.0]], pad=False)[1])
    with pytest.raises(ValueError, match="different lengths"):
        mean_curve([[1, 2, 3], [3, 4]], pad=False)
    with pytest.raises(ValueError, match="at least one"):
        mean_curve([])


def test_epoch_series():
    assert epoch_series([[0.1, 0.2], [0.3, 0.4]]) == [[0, 1], pytest.approx([0.2, 0.3])]
    assert epoch_series([[1, 2, 3], [3, 4]]) == [[0, 1, 2], [2.0, 3.0, 3.0]]


# --- histories -----------------------------------------------------------------------------


def test_per_epoch_means_both_ways(rng):
    v = [1, 2, 3, 4, 5, 6]
    assert per_epoch_means(v, epochs=2) == [2.0, 5.0]
    assert per_epoch_means(v, steps_per_epoch=2) == [1.5, 3.5, 5.5]
    x = rng.standard_normal(4 * 25)
    expected = [float(np.mean(x[i * 25:(i + 1) * 25])) for i in range(4)]
    assert per_epoch_means(x, epochs=4) == per_epoch_means(x, steps_per_epoch=25)
    assert per_epoch_means(x, epochs=4) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="split evenly"):
        per_epoch_means(v, epochs=4)
    with pytest.raises(ValueError, match="split evenly"):
        per_epoch_means(v, steps_per_epoch=4)
    with pytest.raises(ValueError, match="exactly one"):
        per_epoch_means(v)
    with pytest.raises(ValueError, match="exactly one"):
        per_epoch_means(v, epochs=2, steps_per_epoch=3)


def test_tail_mean():
    assert tail_mean([0.0, 1.0, 0.5, 0.7], 2) == pytest.approx(0.6)
    assert tail_mean([0.0, 1.0, 0.5, 0.7], 1) == 0.7
    assert tail_mean([0.2, 0.4], 5) == pytest.approx(0.3)  # fewer epochs than asked: all
    with pytest.raises(ValueError, match=">= 1"):
        tail_mean([0.2, 0.4], 0)


def test_first_epoch_reaching_an_accuracy():
    assert first_epoch_reaching([0.1, 0.2, 0.5, 0.4, 0.6], 0.45) == 2
    assert first_epoch_reaching([0.1, 0.2], 0.3) is None
    assert first_epoch_reaching([0.3], 0.3) == 0  # reaching includes equal
    assert first_epoch_reaching([math.nan, 0.9], 0.5) == 1
    assert first_epoch_reaching([0.2, 0.95], 0.9, epochs=[1, 2]) == 2  # s3: history["epoch"]


def test_first_epoch_below_an_error():
    history = {"epoch": [0, 25, 50, 75], "train_error": [0.5, 0.2, 0.01, 0.0]}
    assert first_epoch_reaching(history["train_error"], 0.2, above=False,
                                epochs=history["epoch"]) == 50  # strictly below
    assert first_epoch_reaching(history["train_error"], 0.0, above=False,
                                epochs=history["epoch"]) is None
    with pytest.raises(ValueError):
        first_epoch_reaching([0.1, 0.2], 0.1, epochs=[0])


# --- grids ---------------------------------------------------------------------------------


def test_log_grid_in_decade_steps_keeps_s1_fcs_values():
    assert log_grid(1e-3, 1.0, 1.0) == (1e-3, 1e-2, 1e-1, 1.0)
    assert log_grid(1e-7, 1e-1, 0.5) == (1e-07, 3.16e-07, 1e-06, 3.16e-06, 1e-05, 3.16e-05,
                                         0.0001, 0.000316, 0.001, 0.00316, 0.01, 0.0316, 0.1)
    assert log_grid(10 ** -2.5, 1.0, 0.25) == (0.00316, 0.00562, 0.01, 0.0178, 0.0316, 0.0562,
                                               0.1, 0.178, 0.316, 0.562, 1.0)


def test_log_grid_by_count_keeps_s1_norms_weight_scales():
    assert log_grid(1e-4, 1.0, count=20) == (
        0.0001, 0.0001624, 0.0002637, 0.0004281, 0.0006952, 0.001129, 0.001833, 0.002976,
        0.004833, 0.007848, 0.01274, 0.02069, 0.0336, 0.05456, 0.08859, 0.1438, 0.2336,
        0.3793, 0.6158, 1.0)
    assert log_grid(1e-4, 1.0, count=3, digits=2) == (1e-4, 1e-2, 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        log_grid(1e-4, 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        log_grid(1e-4, 1.0, 0.5, count=3)


def test_log_grid_is_a_valid_dataclass_default():
    @dataclass
    class Config:
        rates: tuple = log_grid(1e-3, 1e-1, 1.0)

    assert Config().rates == (1e-3, 1e-2, 1e-1)


def test_downsample(rng):
    assert downsample([3.0, 1.0], 5) == ([1, 2], [3.0, 1.0])
    assert downsample(list(range(10)), 4) == ([1.0, 3.5, 6.0, 8.5], [0.5, 3.0, 5.5, 8.0])
    ys = rng.standard_normal(1234)
    xs, means = downsample(ys, 100)
    edges = np.linspace(0, 1234, 101).astype(int)
    assert len(xs) == len(means) == 100
    assert means == [float(ys[a:b].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    assert xs == [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
