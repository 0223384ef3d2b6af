"""layerlab.analysis.fmt: the texts the studies printed, and cells that never show Python."""

import math

import numpy as np
import pytest

from layerlab.analysis.fmt import (
    accuracy,
    accuracy_pm,
    accuracy_range,
    count,
    number,
    per_seed,
    pm,
    slope,
)
from layerlab.analysis.stats import mean_std


def test_pm_is_the_old_mean_std_texts():
    assert pm(0.5123, 0.0131) == "0.512 ± 0.013"  # s1_fc.pm, s1_norm._fmt
    assert pm(*mean_std([0.89, 0.90, 0.91]), digits=4) == "0.9000 ± 0.0100"  # s4_lenet._fmt
    assert pm(100 * 0.97189, 100 * 0.00421, digits=2) == "97.19 ± 0.42"  # s6 _fmt_acc
    assert pm(0.01234, 0.00456, digits=4, sign=True) == "+0.0123 ± 0.0046"
    assert pm(-0.5, 0.25, digits=2, sign=True) == "-0.50 ± 0.25"


def test_pm_without_a_mean_or_a_spread():
    assert pm(None, 0.1) == "n/a"
    assert pm(math.nan, 0.1) == "n/a"
    assert pm(0.5123, math.nan) == "0.512"  # a t interval over one seed has no half-width
    assert pm(0.5123, None, sign=True) == "+0.512"


def test_accuracy_is_a_percent_with_two_decimals():
    assert accuracy(0.97189) == "97.19%"
    assert accuracy(1.0) == "100.00%"
    assert accuracy(np.float32(0.5)) == "50.00%"
    assert accuracy(0.123456, digits=1) == "12.3%"
    assert accuracy(None) == "n/a" and accuracy(math.nan) == "n/a"


def test_count_picks_singular_or_plural():
    assert count(3, "seed") == "3 seeds"
    assert count(1, "seed") == "1 seed"
    assert count(0, "epoch") == "0 epochs"
    assert count(49000, "image") == "49,000 images"
    assert count(np.int64(2), "batch", plural="batches") == "2 batches"
    for bad in (2.0, True, "3"):
        with pytest.raises(TypeError):
            count(bad, "seed")


@pytest.mark.parametrize("value,text", [
    (None, ""), (24.0, "24"), (24, "24"), (np.int64(7), "7"), (math.nan, "n/a"),
    (np.float64("nan"), "n/a"), (math.inf, "∞"), (-math.inf, "-∞"), (True, "yes"),
    (np.bool_(False), "no"), (0.0, "0"), (-0.0, "0"), (0.512345, "0.5123"),
    (1234567.0, "1.235e+06"), (0.000123456, "1.23e-04"), (np.float32(0.25), "0.25"),
    ("L2 (0.01)", "L2 (0.01)"),
])
def test_number_never_shows_a_python_value(value, text):
    assert number(value) == text


def test_number_refuses_other_objects():
    with pytest.raises(TypeError):
        number([1, 2])


def test_slope_is_fmt_slope():
    assert slope(-0.5234) == "-0.52"
    assert slope(1.0) == "1.00"
    assert slope(None) == "n/a" and slope(math.nan) == "n/a"


def test_per_seed_and_accuracies_over_seeds():
    assert per_seed([1.234, None]) == "per seed 1.23, diverged"
    assert per_seed([0.5], "{:.0%}".format, "relu ") == "relu 50%"
    assert accuracy_pm([0.95, 0.97]) == "96.00 ± 1.41"
    assert accuracy_range([0.9719, 0.95]) == "95.00-97.19"
