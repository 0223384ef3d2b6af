"""The probe statistics from arrays: histograms, dead and saturated fractions, norms, ratios."""

import numpy as np
import pytest

from layerlab.probing import stats


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["act", "grad", "weight"])
def test_histograms_equal_numpy_on_clipped_values_and_sum_to_the_count(dtype, kind):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(20_000) * 10.0 ** rng.uniform(-16, 3, 20_000)).astype(dtype)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, 1e30, -1e-30]  # zeros, infinities, far out of range
    bins = stats.DEFAULT_BINS[kind]
    edges = np.asarray(bins.edges, dtype=dtype)
    expected, _ = np.histogram(np.clip(x, edges[0], edges[-1]), edges)
    counts = stats.histogram(x, bins)
    assert counts == expected.tolist()
    assert sum(counts) == x.size and len(counts) == len(bins.edges) - 1


def test_a_histogram_leaves_nans_out_and_keeps_the_rest():
    x = np.array([0.5, np.nan, -3.0, np.nan, 100.0], np.float32)
    for bins in stats.DEFAULT_BINS.values():
        assert sum(stats.histogram(x, bins)) == 3


def test_values_out_of_range_count_in_the_end_bins():
    bins = stats.linear_bins(-1, 1, 4)
    assert bins.edges == (-1.0, -0.5, 0.0, 0.5, 1.0)
    assert stats.histogram(np.array([-7.0, -1.0, 0.0, 0.2, 0.9, 1.0, 9.0]), bins) == \
        [2, 0, 2, 3]
    log = stats.symlog2_bins(-2, 1)  # edges -2, -1, -0.5, -0.25, 0.25, 0.5, 1, 2
    assert log.edges == (-2.0, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 2.0)
    assert stats.histogram(np.array([-5.0, -0.75, 0.0, 0.1, -0.1, 0.3, 1.5, 64.0]), log) == \
        [1, 1, 0, 3, 1, 0, 2]


def test_dead_units_are_those_zero_for_the_whole_batch():
    act = np.zeros((5, 4))
    act[2, 1] = 0.3  # unit 1 is alive on one example only
    act[:, 3] = 1.0
    assert stats.dead_fraction(act, "relu") == 0.5  # units 0 and 2
    assert stats.dead_fraction(-np.abs(act), "leaky_relu") == 1.0  # never positive
    assert stats.dead_fraction(act, "tanh") == 0.0  # not a ReLU: no dead units
    conv = np.zeros((2, 3, 4, 4))  # (N, channels, H, W): a unit is a channel
    conv[1, 0, 3, 3] = 1.0
    assert stats.dead_fraction(conv, "relu") == pytest.approx(2 / 3)


def test_saturated_outputs_are_counted_per_value():
    t = np.array([[0.995, -0.999, 0.5, 0.99]])
    assert stats.saturated_fraction(t, "tanh") == 0.5  # |y| > 0.99; 0.99 itself is not
    s = np.array([[0.005, 0.995, 0.5, 0.01, 0.99]])
    assert stats.saturated_fraction(s, "sigmoid") == 0.4  # outside [0.01, 0.99]
    assert stats.saturated_fraction(s, "relu") == 0.0


def test_norms_and_the_update_ratio():
    before = np.array([[3.0, 0.0], [0.0, 4.0]], np.float32)
    after = before + np.array([[0.3, 0.0], [0.4, 0.0]], np.float32)
    assert stats.norm(before) == pytest.approx(5.0)
    assert stats.update_ratio(before, after) == pytest.approx(0.1)
    assert stats.update_ratio(np.zeros(3), np.ones(3)) == float("inf")  # zero init, moved
    assert np.isnan(stats.update_ratio(np.zeros(3), np.zeros(3)))


def test_activation_statistics_use_every_value():
    act = np.array([[1.0, 2.0], [3.0, 6.0]])
    got = stats.activation_stats(act, "relu")
    assert got["act_mean"] == 3.0 and got["act_std"] == pytest.approx(np.std(act))
    assert got["dead"] == 0.0 and got["saturated"] == 0.0
