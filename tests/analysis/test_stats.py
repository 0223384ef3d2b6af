"""layerlab.analysis.stats against plain NumPy, against the numbers the studies' own helpers
printed (pasted below as literals), and against scipy (a dev dependency) as the oracle of t
quantiles, Welch's test and Spearman's correlation."""

import math

import numpy as np
import pytest
from scipy import stats as sp

from layerlab.analysis.stats import (
    Z95,
    mean_std,
    paired_difference,
    spearman,
    t_interval,
    t_quantile,
    welch,
    wilson,
)

# --- mean_std, paired_difference -----------------------------------------------------------


def test_mean_std_uses_the_sample_std():
    m, s = mean_std([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5
    assert s == pytest.approx(math.sqrt(5 / 3))  # ddof=1; ddof=0 would be sqrt(5/4)
    assert mean_std([0.512, 0.498, 0.530]) == (0.5133333333333333, 0.0160416125540213)


def test_mean_std_is_numpys_to_the_last_bit(rng):
    for n in range(2, 12):
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4) + rng.normal()
        m, s = mean_std(x.tolist())
        assert m == float(np.mean(x)) and s == float(np.std(x, ddof=1))
        assert type(m) is float and type(s) is float


def test_mean_std_of_one_value_and_of_none():
    assert mean_std([0.7]) == (0.7, 0.0)
    assert mean_std([0.7]).std == 0.0 and mean_std([0.7]).mean == 0.7
    with pytest.raises(ValueError, match="non-empty"):
        mean_std([])


def test_paired_difference_mean_and_standard_error(rng):
    m, se = paired_difference([3, 5, 7], [1, 2, 3])  # differences 2, 3, 4
    assert m == 3.0 and se == pytest.approx(1 / math.sqrt(3))
    assert paired_difference([1.0], [0.5]) == (0.5, 0.0)
    assert paired_difference([0.61, 0.64, 0.60], [0.58, 0.60, 0.59]) == (0.02666666666666669,
                                                                         0.008819171036881977)
    a, b = rng.random(7), rng.random(7)
    d = a - b
    assert paired_difference(a, b) == (float(d.mean()), float(d.std(ddof=1) / np.sqrt(7)))
    with pytest.raises(ValueError, match="equally long"):
        paired_difference([1, 2, 3], [1])  # NumPy would broadcast the single value


# --- t quantile and t interval -------------------------------------------------------------

LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


@pytest.mark.parametrize("df", range(1, 201))
def test_t_quantile_matches_scipy_for_every_seed_count(df):
    for level in LEVELS:
        p = (1 + level) / 2
        assert t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-10, abs=0)
        assert t_quantile(1 - p, df) == pytest.approx(sp.t.ppf(1 - p, df), rel=1e-10, abs=0)


@pytest.mark.parametrize("df", [0.4, 1.5, 2.61, 13.37, 250, 999.5, 1999, 2001, 5e4, 1e6, 1e12])
def test_t_quantile_for_fractional_and_large_df(df):
    for p in (0.6, 0.9, 0.975, 0.995, 0.9995, 1e-6):
        assert t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-10, abs=0)


@pytest.mark.parametrize("df", [2001, 3000, 5e4])
def test_t_quantile_series_above_2000_df_is_exact_to_rounding(df):
    for p in (0.6, 0.975, 0.9995, 1 - 1e-6, 1e-6):
        assert t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-13, abs=0)


def test_t_quantile_limits_and_errors():
    assert t_quantile(0.975, math.inf) == Z95 == 1.959963984540054
    assert t_quantile(0.5, 3) == 0.0
    assert t_quantile(0.975, 1) == pytest.approx(12.706204736174698, rel=1e-12)  # the table's
    for bad in ((0.0, 3), (1.0, 3), (0.9, 0), (0.9, -1)):
        with pytest.raises(ValueError):
            t_quantile(*bad)


def test_t_interval_against_scipy(rng):
    for n in (2, 3, 5, 10, 30):
        x = rng.normal(0.5, 0.05, n)
        r = t_interval(x, level=0.9)
        low, high = sp.t.interval(0.9, n - 1, loc=x.mean(), scale=sp.sem(x))
        assert r.df == n - 1 and r.mean == float(x.mean())
        assert r.low == pytest.approx(low, rel=1e-12) and r.high == pytest.approx(high, rel=1e-12)


def test_t_interval_half_width_is_t_times_the_paired_standard_error():
    a, b = [0.61, 0.64, 0.60, 0.66], [0.58, 0.60, 0.59, 0.60]
    r = t_interval(np.subtract(a, b))
    assert r.half_width == t_quantile(0.975, 3) * paired_difference(a, b).se


def test_t_interval_of_one_value_and_of_equal_values():
    one = t_interval([0.4])
    assert one.mean == 0.4 and math.isnan(one.half_width) and one.df == 0
    assert t_interval([0.25, 0.25, 0.25]) == (0.25, 0.0, 2.0)  # no spread: zero width
    with pytest.raises(ValueError, match="level"):
        t_interval([1, 2], level=95)


# --- Welch ---------------------------------------------------------------------------------


def test_welch_against_scipy(rng):
    for na, nb in ((2, 2), (3, 7), (10, 4), (25, 25)):
        a, b = rng.normal(1.0, 0.3, na), rng.normal(0.8, 1.1, nb)
        w = welch(a, b)
        ref = sp.ttest_ind(a, b, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert w.diff == pytest.approx(a.mean() - b.mean(), rel=1e-14)
        assert w.df == pytest.approx(ref.df, rel=1e-12)
        assert w.diff / w.se == pytest.approx(ref.statistic, rel=1e-12)
        assert w.low == pytest.approx(ci.low, rel=1e-10)
        assert w.high == pytest.approx(ci.high, rel=1e-10)


def test_welch_standard_error_is_compare_pairs_bit_for_bit(rng):
    a, b = rng.random(4), rng.random(6)
    se = math.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 6)  # s1_fc.compare_pair, s1_dropout.log_gap
    w = welch(a.tolist(), b.tolist())
    assert w.se == se and w.diff == float(a.mean() - b.mean())


def test_welch_edge_cases():
    one = welch([0.5], [0.1, 0.3])  # compare_pair: the single value adds no variance
    assert one.se == pytest.approx(0.1)  # sqrt(var([0.1, 0.3]) / 2)
    assert math.isnan(one.df) and math.isnan(one.half_width)
    flat = welch([0.5, 0.5], [0.2, 0.2])
    assert flat.diff == pytest.approx(0.3) and flat.se == 0.0 and flat.half_width == 0.0
    with np.errstate(invalid="ignore"):  # inf - inf inside the variance
        assert math.isnan(welch([1.0, math.inf], [1.0, 2.0]).half_width)


# --- Wilson --------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n,expected", [
    # torch_studies.binomial_ci(k, n) before the analysis layer, to the last bit
    (173, 178, (0.9359384559064142, 0.9879432655092583)),
    (0, 178, (0.0, 0.021125318976251826)),
    (178, 178, (0.978874681023748, 1.0)),
    (50, 100, (0.4038315303659956, 0.5961684696340044)),
    (1, 20, (0.008881448800795402, 0.23613119344674205)),
])
def test_wilson_keeps_the_published_numbers(k, n, expected):
    assert wilson(k, n) == expected


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
@pytest.mark.parametrize("k,n", [(173, 178), (50, 100), (1, 20)])
def test_wilson_bounds_solve_the_score_equation(k, n, level):
    """The bounds are the p at which the observed proportion is z standard errors away."""
    z = sp.norm.ppf((1 + level) / 2)
    low, high = wilson(k, n, level)
    phat = k / n
    assert low < phat < high
    for p in (low, high):
        assert (phat - p) ** 2 == pytest.approx(z ** 2 * p * (1 - p) / n, rel=1e-9)


def test_wilson_errors():
    with pytest.raises(ValueError, match="n > 0"):
        wilson(0, 0)
    with pytest.raises(ValueError, match="correct must be in"):
        wilson(5, 4)


# --- Spearman ------------------------------------------------------------------------------


def test_spearman_against_scipy_with_ties(rng):
    for n in (3, 5, 12, 40):
        x = rng.integers(0, 4, n).astype(float)  # many ties
        y = rng.normal(size=n).round(1)
        if np.ptp(x) == 0:
            continue
        assert spearman(x, y) == pytest.approx(sp.spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_values_of_s1_dropout():
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(0.9486833)
    # s1_dropout.spearman on a gap row of the dropout grid, to the last bit
    assert spearman([0, 0.25, 0.5, 0.75, 0.9], [0.3, 0.25, 0.25, 0.1, 0.05]) == \
        -0.9746794344808964
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0  # constant: 0, where scipy gives NaN
    with pytest.raises(ValueError, match="equally long"):
        spearman([1, 2], [1, 2, 3])
