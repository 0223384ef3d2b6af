"""S2 experiments (conv-speed, spatial-batchnorm, conv-nets): helpers and what the quick runs
promise in their results."""

import json
import weakref

import numpy as np
import pytest

from layerlab.analysis import divergence
from layerlab.analysis.group import loss_auc, moving_average
from layerlab.lab import registry
from layerlab.references import S2_1_CONV_SPEEDUP, S2_4_ONE_EPOCH_VAL_ACC
from layerlab.scratch.conv import Conv
from layerlab.scratch.pool import MaxPool
from layerlab.studies.s2_conv import nets, speed
from layerlab.studies.s2_conv import spatial_bn as sbn


@pytest.fixture(scope="module")
def conv_speed(quick_run):
    run, results = quick_run("conv-speed")
    return results, run.path


@pytest.fixture(scope="module")
def spatial_bn(quick_run):
    run, results = quick_run("spatial-batchnorm")
    return results, run.path


@pytest.fixture(scope="module")
def conv_nets(quick_run):
    run, results = quick_run("conv-nets")
    return results, run.path


# --- helpers ---------------------------------------------------------------------------------


def test_timed_keeps_each_result_alive_until_the_next_call_returns():
    class Result:
        pass

    refs, previous_alive = [], []

    def fn():
        previous_alive.append(bool(refs) and refs[-1]() is not None)
        out = Result()
        refs.append(weakref.ref(out))
        return out

    stats, last = speed.timed(fn, repeats=4, warmup=2)
    assert len(refs) == 6 and last is refs[-1]()
    assert previous_alive == [False] + [True] * 5
    assert stats["n"] == 4 and 0 <= stats["min"] <= stats["median"] <= stats["max"]


def test_conv_inputs_upstream_gradient_has_the_output_shape():
    for x_shape, w_shape, stride, pad in [((2, 3, 9, 9), (4, 3, 3, 3), 2, 1),
                                          ((1, 2, 8, 8), (3, 2, 7, 7), 1, 3)]:
        args, dout = speed.conv_inputs(x_shape, w_shape, stride, pad, seed=0)
        out, _ = Conv.forward(*args)
        assert dout.shape == out.shape
        assert args[0].dtype == np.float64


def test_source_fingerprint_is_the_hash_of_the_defining_file():
    import hashlib
    import inspect
    from pathlib import Path

    fp = speed.source_fingerprint(Conv, MaxPool)
    assert set(fp) == {"conv.py", "pool.py"}
    path = Path(inspect.getsourcefile(Conv))
    assert fp["conv.py"].startswith(hashlib.sha256(path.read_bytes()).hexdigest()[:12])


def test_loss_auc_and_moving_average():
    assert loss_auc([3.0, 2.0, 1.0]) == pytest.approx(2.0)
    assert loss_auc([1.0, float("nan")]) == float("inf")
    xs, ys = moving_average([1, 2, 3, 4, 5], 2)
    assert xs == [2, 3, 4, 5]
    assert ys == pytest.approx([1.5, 2.5, 3.5, 4.5])
    xs, ys = moving_average([1, 3], 50)  # window longer than the series: one mean
    assert xs == [2] and ys == pytest.approx([2.0])


def test_expected_test_deviation_is_start_bias_plus_four_standard_errors():
    cfg = sbn.SpatialBatchnormConfig(test_shape=(4, 2, 5, 5), warmup_passes=10, momentum=0.5,
                                    test_loc=8.0, test_scale=2.0)
    assert sbn.expected_test_deviation(cfg) == pytest.approx(0.5 ** 10 * 4 + 4 / 10)


def test_the_test_mode_goal_says_whether_it_is_above_the_noise():
    noise = sbn.expected_test_deviation(sbn.SpatialBatchnormConfig())
    assert sbn.goal_source(0.15, noise).startswith("layerlab's goal: at most 0.15, above the "
                                                   f"noise to expect here (start bias + 4 "
                                                   f"standard errors: {noise:.3f})")
    assert "not above the noise" in sbn.goal_source(noise / 2, noise)


def test_batchnorm_comparisons_pairs_same_init_and_measures_per_seed():
    def summary(losses, val):
        return {"loss_history": losses, "val_acc_history": [0.1, val]}

    variants = {"bn k": (True, "kaiming"), "k": (False, "kaiming"),
                "bn g": (True, 1e-3), "g": (False, 1e-3)}
    by = {"bn k": [(0, summary([2, 1], 0.5)), (1, summary([2, 3], 0.4))],
          "k": [(0, summary([2, 2], 0.3)), (1, summary([2, 2], 0.45))],
          "bn g": [(0, summary([2, 1], 0.3))], "g": [(0, summary([2, 2], 0.1))]}
    comps = {(c["with"], c["without"]): c for c in nets.batchnorm_comparisons(by, variants)}
    assert set(comps) == {("bn k", "k"), ("bn g", "g")}
    assert comps[("bn k", "k")]["faster"] == [True, False]  # seed 1: 2.5 vs 2.0
    assert comps[("bn k", "k")]["val_gain"] == pytest.approx([0.2, -0.05])
    assert comps[("bn g", "g")]["auc"] == [(0, 1.5, 2.0)]


def test_a_group_with_a_diverged_seed_shows_its_label_and_names_its_cells():
    lost = {"bn k": {"c_deep/variant=bn k,seed=1": {"step": 4}}}
    assert divergence.figures_or_label(lost, "bn k", [0.5, 0.1]) == ["diverged (step 4)"] * 2
    assert divergence.figures_or_label(lost, "k", [0.5, 0.1]) == [0.5, 0.1]
    assert divergence.lost_cells(lost, ["k"]) is False
    assert divergence.lost_cells(lost, ["bn k", "k"]) == ["c_deep/variant=bn k,seed=1"]


# --- conv-speed ------------------------------------------------------------------------------


def test_conv_speed_reports_every_pass_thread_count_and_agreement(conv_speed):
    results, _ = conv_speed
    cfg = speed.ConvSpeedConfig()  # the quick run keeps the default thread counts
    table = results["tables"]["conv_speed"]
    assert [r[1] for r in table["rows"]] == ["forward", "backward", "forward+backward"]
    assert len(table["header"]) == 3 + 2 * len(cfg.threads)
    claims = results["claims"]
    speedups = {k: v for k, v in claims.items() if k.startswith("conv ") and "speed-up" in k}
    assert len(speedups) == 2 * len(cfg.threads)
    for c in speedups.values():  # the study's figure; the ratio of medians, an exact figure
        assert c["reference"] == S2_1_CONV_SPEEDUP and c["ours"] > 1
        assert c["kind"] == "figure" and c["estimate"]["how"] == "exact"
        assert "spread" in c["note"]
    # the claims are the table's ratios (forward row, backward row), not separate figures
    for t_index, t in enumerate(cfg.threads):
        for row, p in zip(table["rows"][:2], speed.PASSES, strict=True):
            claim = next(v for k, v in speedups.items() if k.startswith(f"conv {p} ")
                         and k.endswith(f"{t} BLAS thread" + ("s" if t > 1 else "")))
            assert claim["ours"] == pytest.approx(row[4 + 2 * t_index])
    agree = [v for k, v in claims.items() if k.startswith("naive vs fast")]
    assert len(agree) == 2 and all(c["verdict"] == "met" and c["ours"] < 1e-9 for c in agree)
    pools = [v for k, v in claims.items() if k.startswith("max pool")]
    assert pools and all(c["kind"] == "measured" for c in pools)
    assert max(results["tables"]["conv_agreement"]["rows"][0][1:]) < 1e-9
    assert len(results["tables"]["pool_speed"]["rows"]) == 2 * len(cfg.pool_cases)
    assert "conv_speedup" in results["plots"]
    assert "BLAS" in results["notes"]["Machine and threads"]
    assert "conv.py" in results["notes"]["What was timed"]


# --- spatial-batchnorm -----------------------------------------------------------------------


def test_spatial_batchnorm_statistics_and_equalities(spatial_bn):
    results, _ = spatial_bn
    cfg = sbn.SpatialBatchnormConfig()
    rows = results["tables"]["train_mode"]["rows"]
    assert [r[3] for r in rows] == pytest.approx(list(cfg.beta))  # output means = beta
    assert [r[5] for r in rows] == pytest.approx([r[7] for r in rows], rel=1e-12)
    assert all(r[5] < r[6] for r in rows)  # eps makes the std fall just short of gamma
    claims = results["claims"]
    verdicts = {k: (v["kind"], v["verdict"]) for k, v in claims.items()}
    expected = {"figure": "reproduced", "goal": "met", "measured": "measured"}
    assert all(v == expected[k] for k, v in verdicts.values()), verdicts
    test_goals = [c for k, c in claims.items() if k.startswith("test mode")]
    assert len(test_goals) == 2 and all(c["estimate"]["how"] == "seeds" and
                                        c["estimate"]["n"] == len(cfg.test_seeds) >= 5
                                        for c in test_goals)
    assert all(v == 0 for _, v in results["tables"]["vs_batchnorm"]["rows"])
    test_rows = results["tables"]["test_mode"]["rows"]
    assert max(r[3] for r in test_rows) <= sbn.expected_test_deviation(cfg)
    curve = results["plots"]["running_stats"]["series"]["|running mean - true mean|"][1]
    assert len(curve) == cfg.warmup_passes and curve[-1] < curve[0]


def test_spatial_batchnorm_is_repeatable(spatial_bn, quick_run):
    _, again = quick_run("spatial-batchnorm", fresh=True)
    first, _ = spatial_bn
    assert again["tables"]["test_mode"] == first["tables"]["test_mode"]
    assert again["tables"]["gradcheck"] == first["tables"]["gradcheck"]


# --- conv-nets -------------------------------------------------------------------------------


def test_conv_nets_quick_run_has_all_three_parts(conv_nets):
    results, path = conv_nets
    tables, plots, claims = results["tables"], results["plots"], results["claims"]
    assert {"a_overfit", "b_one_epoch", "c_deep"} <= set(tables)
    assert {"a_overfit_accuracy", "b_loss", "c_deep_accuracy", "c_deep_loss"} <= set(plots)
    b = [c for k, c in claims.items() if k.startswith("(b) val accuracy")]
    assert b and all(c["reference"] == S2_4_ONE_EPOCH_VAL_ACC for c in b)
    faster = next(c for k, c in claims.items() if "converges faster" in k)
    assert faster["kind"] == "comparison" and faster["better"] == "lower"
    assert faster["estimate"]["how"] == "paired"
    pick = next(c for k, c in claims.items() if "beats the runner-up" in k)
    assert pick["kind"] == "comparison" and "overlapping" in pick["note"]
    full = nets.ConvNetsConfig()  # goals and comparisons rest on >= 5 seeds in the full run
    assert min(len(full.epoch_seeds), len(full.deep_seeds)) >= 5
    # every training cell streamed per-epoch metrics into the run folder
    cells = {json.loads(line)["cell"] for line in (path / "metrics.jsonl").read_text()
             .splitlines() if line.strip()}
    quick = registry.get("conv-nets").quick
    assert sum(c.startswith("a_overfit/") for c in cells) == \
        len(quick["overfit_variants"]) * len(quick["overfit_seeds"])
    assert any(c.startswith("b_one_epoch/") for c in cells)
    assert sum(c.startswith("c_deep/") for c in cells) == \
        len(quick["deep_variants"]) * len(quick["deep_seeds"])

