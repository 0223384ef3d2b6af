"""Verdict rules: every branch, on estimates built from numbers whose intervals are known."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from layerlab.analysis import verdict as v
from layerlab.analysis.stats import wilson


def s6_dropout_only():
    """Ten seeds with the published S6 dropout-only summary: mean 94.04%, std 1.84 points over
    seeds, on the study's own 178 test images (the old verdict: 'reproduced' by a symmetric
    tolerance of one run's Wilson half-width, against the study's 97.19%)."""
    z = np.random.default_rng(0).standard_normal(10)
    return 0.9404 + 0.0184 * (z - z.mean()) / z.std(ddof=1)


def test_from_seeds_is_the_t_interval():
    values = [0.91, 0.92, 0.95, 0.90, 0.93]
    est = v.from_seeds(values)
    low, high = scipy_stats.t.interval(0.95, 4, loc=np.mean(values),
                                       scale=scipy_stats.sem(values))
    assert est.how == "seeds" and est.n == 5
    assert est.low == pytest.approx(low, rel=1e-9) and est.high == pytest.approx(high, rel=1e-9)


def test_one_seed_has_no_interval_and_is_not_judged():
    est = v.from_seeds([0.95])
    assert not est.judgeable
    for judged in (v.against_figure(est, 0.9), v.against_goal(est, 0.9),
                   v.comparison(est), v.no_effect(est, 0.1)):
        assert judged["verdict"] == "not judged" and "1 seed" in judged["reason"]


def test_diverged_cells_are_not_judged():
    est = v.from_seeds([0.5, 0.6, 0.7])
    judged = v.against_goal(est, 0.1, diverged=True)
    assert judged == {"verdict": "not judged", "reason": "a cell behind it diverged"}


def test_s6_dropout_only_reads_below_the_studys_figure():
    # the study measured on the same 178 images: that sampling noise is shared, not added
    est = v.from_seeds(s6_dropout_only())
    assert est.low == pytest.approx(0.9404 - 0.01316, abs=1e-4)  # t(9) * 1.84 / sqrt(10)
    judged = v.against_figure(est, 0.9719)
    assert judged["verdict"] == "below"  # not "reproduced", as the symmetric tolerance said
    # and the 97% goal, judged on the same estimate, agrees: its whole interval is under it
    assert v.against_goal(est, 0.97)["verdict"] == "not met"


def test_figure_inside_outside_and_the_studys_own_noise():
    est = v.from_seeds([0.90, 0.91, 0.92])  # about [0.885, 0.935]
    assert v.against_figure(est, 0.92)["verdict"] == "reproduced"
    assert v.against_figure(est, 0.80)["verdict"] == "beaten"
    assert v.against_figure(est, 0.99)["verdict"] == "below"
    assert v.against_figure(est, 0.80, better="lower")["verdict"] == "above"
    assert v.against_figure(est, 0.99, better="lower")["verdict"] == "beaten"
    assert v.against_figure(est, 0.99, better="equal")["verdict"] == "below"
    # 0.945 is outside our interval, but within it once a 200-image figure's noise is added
    assert v.against_figure(est, 0.945)["verdict"] == "below"
    judged = v.against_figure(est, 0.945, figure_n=200)
    assert judged["verdict"] == "reproduced" and "own noise" in judged["reason"]
    low_f, high_f = wilson(189, 200)
    assert math.hypot(est.high - est.value, 0.945 - low_f) > 0.945 - est.value


def test_goal_met_not_met_within_noise_both_directions():
    est = v.from_seeds([0.990, 0.992, 0.994])
    assert v.against_goal(est, 0.98)["verdict"] == "met"
    assert v.against_goal(est, 0.999)["verdict"] == "not met"
    assert v.against_goal(est, 0.992)["verdict"] == "within noise"
    seconds = v.from_seeds([20.0, 22.0, 24.0])
    assert v.against_goal(seconds, 40.0, better="lower")["verdict"] == "met"
    assert v.against_goal(seconds, 10.0, better="lower")["verdict"] == "not met"
    assert v.against_goal(seconds, 22.0, better="lower")["verdict"] == "within noise"
    with pytest.raises(ValueError):
        v.against_goal(est, 0.9, better="equal")


def test_a_goal_met_by_a_hair_on_one_measurement_is_within_noise():
    # mnist-cnn's 0.9960 against 0.996 on 10,000 images: 0 images to spare
    est = v.from_images(9960, 10_000)
    assert v.against_goal(est, 0.996)["verdict"] == "within noise"
    assert v.against_goal(v.from_images(9990, 10_000), 0.996)["verdict"] == "met"


def test_comparison_holds_not_shown_and_the_opposite():
    a, b = [0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.73, 0.72]
    assert v.comparison(v.from_pairs(a, b))["verdict"] == "holds"
    assert v.comparison(v.from_pairs(b, a), better="lower")["verdict"] == "holds"
    opposite = v.comparison(v.from_pairs(b, a))
    assert opposite["verdict"] == "not shown" and "opposite" in opposite["reason"]
    noisy = v.comparison(v.from_pairs([0.80, 0.70, 0.90], [0.79, 0.78, 0.77]))
    assert noisy["verdict"] == "not shown" and "includes 0" in noisy["reason"]


def test_from_pairs_is_the_paired_t_interval():
    a, b = [3.0, 4.0, 6.0, 5.0], [1.0, 3.0, 3.0, 4.0]
    est = v.from_pairs(a, b)
    d = np.subtract(a, b)
    low, high = scipy_stats.t.interval(0.95, 3, loc=d.mean(), scale=scipy_stats.sem(d))
    assert est.value == pytest.approx(d.mean()) and est.how == "paired"
    assert est.low == pytest.approx(low) and est.high == pytest.approx(high)
    with pytest.raises(ValueError):
        v.from_pairs([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        v.from_pairs([[1.0, 2.0]], [[1.0, 2.0]])


def test_no_effect_needs_equivalence_not_a_non_significant_difference():
    tight = v.from_pairs([0.800, 0.801, 0.799, 0.800], [0.800, 0.800, 0.800, 0.801])
    assert v.no_effect(tight, margin=0.01)["verdict"] == "equivalent"
    # not significant (includes 0) but far too wide to show no effect
    wide = v.from_pairs([0.80, 0.70, 0.90], [0.79, 0.78, 0.77])
    assert v.comparison(wide)["verdict"] == "not shown"
    assert v.no_effect(wide, margin=0.01)["verdict"] == "not shown"


def test_exact_claims_are_judged_exactly():
    assert v.against_figure(v.exact(61_706), 61_706, better="equal")["verdict"] == "reproduced"
    assert v.against_figure(v.exact(61_707), 61_706, better="equal")["verdict"] == "above"
    assert v.against_goal(v.exact(3e-9), 1e-7, better="lower")["verdict"] == "met"
    assert v.against_goal(v.exact(3e-6), 1e-7, better="lower")["verdict"] == "not met"
    within = v.exact(1.00004, tolerance=1e-4)
    assert v.against_figure(within, 1.0, better="equal")["verdict"] == "reproduced"
    assert v.exact(2.0).text() == "2 (exact)"


def test_seeds_and_images_interval_is_wider_than_either_alone():
    acc = [0.93, 0.94, 0.95]
    both = v.from_seeds_and_images(acc, 178)
    seeds = v.from_seeds(acc)
    low_w, high_w = wilson(round(np.mean(acc) * 178), 178)
    assert both.high - both.low > seeds.high - seeds.low
    assert both.high - both.low > high_w - low_w
    assert not v.from_seeds_and_images([0.9], 178).judgeable


def test_an_accuracy_interval_stays_inside_0_and_1():
    """Near 100% (S6's tuned recipe: 96.6-99.4% on 178 images) and near 0% the normal
    approximation passes the range of an accuracy; the interval is clipped to it, the mean kept."""
    high = v.from_seeds_and_images([0.966, 0.983, 0.994, 0.989, 0.978], 178)
    assert high.high == 1.0 and 0.9 < high.low < high.value < 1.0
    low = v.from_seeds_and_images([0.0, 0.0, 0.0], 200)
    assert low.low == 0.0 and low.value == 0.0 and 0.0 < low.high < 0.05
    inside = v.from_seeds_and_images([0.5, 0.52, 0.48], 1000)
    assert 0.0 < inside.low < inside.high < 1.0


def test_measured_and_the_verdict_vocabulary():
    assert v.measured()["verdict"] == "measured"
    est = v.from_seeds([0.1, 0.2, 0.3])
    judged = [v.against_figure(est, 0.2), v.against_goal(est, 0.5), v.comparison(est),
              v.no_effect(est, 1.0), v.measured()]
    assert all(j["verdict"] in v.VERDICTS and j["reason"] for j in judged)
    assert "t over 3 seeds" in est.text()


def test_a_measured_figure_of_diverged_cells_is_not_judged():
    judged = v.judge("measured", None, diverged=["lr=1e+06,seed=0"])
    assert judged["verdict"] == "not judged" and "lr=1e+06,seed=0" in judged["reason"]
    assert v.judge("measured", v.exact(0.5))["verdict"] == "measured"


def test_an_exact_count_against_a_goal_reads_in_full():
    met = v.against_goal(v.exact(468_202), 999_999, better="lower")
    assert met["verdict"] == "met"
    assert met["reason"] == "468,202 clears the goal 999,999"
    missed = v.against_goal(v.exact(1_200_000), 999_999, better="lower")
    assert missed["verdict"] == "not met"
    assert missed["reason"] == "1,200,000 does not reach the goal 999,999"
    noisy = v.against_goal(v.from_seeds([0.91, 0.92, 0.93]), 0.5)
    assert noisy["reason"].startswith("all of [0.") and "goal 0.5" in noisy["reason"]


def test_an_estimate_over_seeds_and_images_names_no_split():
    text = v.from_seeds_and_images([0.52, 0.53, 0.51], 1000).text()
    assert text.endswith("(3 seeds and the images' noise)")


def test_a_timing_with_a_range_is_judged_against_a_lower_is_better_goal():
    """A wall time measured once: its range (fastest to slowest speed seen) may be uneven
    around it; the goal is met only when all of it is under the goal."""
    straddles = v.exact_range(85.1, 45.3, 168.0)
    assert (straddles.low, straddles.value, straddles.high) == (45.3, 85.1, 168.0)
    assert v.against_goal(straddles, 60.0, better="lower")["verdict"] == "within noise"
    assert v.against_goal(v.exact_range(40.0, 30.0, 55.0), 60.0, better="lower")["verdict"] == "met"
    assert v.against_goal(v.exact_range(70.0, 65.0, 90.0), 60.0, better="lower")["verdict"] == \
        "not met"
