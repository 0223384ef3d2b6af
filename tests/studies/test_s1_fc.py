"""S1.1-S1.5 experiments: the helpers' arithmetic, and what the quick runs promise to report."""

import os

import numpy as np
import pytest

from layerlab import references
from layerlab.data import load, transforms
from layerlab.lab import runner
from layerlab.scratch.models import TwoLayerNet
from layerlab.scratch.solver import Solver
from layerlab.studies.s1_fc import checks, common, depth, rules

# --- helpers ------------------------------------------------------------------------------


def test_measured_order_resolves_gaps_in_welch_standard_errors():
    a, b = [0.50, 0.52, 0.54], [0.40, 0.42, 0.44]  # gap 0.10, se sqrt(2 * 0.0004 / 3) = 0.016
    assert rules.measured_order({"b": b, "a": a}) == "a > b"
    assert rules.measured_order({"a": a, "b": b}, z=7.0) == "a ≈ b"  # 0.10 < 7 se
    assert rules.measured_order({"a": [0.5], "b": [0.4]}) == "a > b"  # one seed: se 0


def test_measured_order_marks_unresolved_neighbours():
    values = {"a": [0.30, 0.31, 0.32], "b": [0.60, 0.61, 0.62], "c": [0.61, 0.62, 0.625]}
    assert rules.measured_order(values) == "c ≈ b > a"


def test_success_windows_and_ridge_slope_on_a_known_band():
    log_ws = np.arange(-3, 0.01, 0.25)
    log_lrs = np.arange(-8, -0.99, 0.5)
    for slope in (-1.0, -3.0):
        # success where log lr is within 0.5 decades of  slope * log ws - 6
        centre = slope * log_ws[:, None] - 6 - (slope * -1.5)
        success = (np.abs(log_lrs[None, :] - centre) <= 0.5).astype(float)
        measured = depth.ridge_slope(success, log_ws, log_lrs)
        assert measured == pytest.approx(slope, abs=0.15)
        windows = depth.success_windows(success, 0.25)
        # at a fixed lr the band is 1 decade of lr wide, i.e. about 1/|slope| decades of ws
        assert np.median(windows) == pytest.approx(1 / abs(slope), abs=0.3)
    assert depth.ridge_slope(np.zeros((3, 3)), [0, 1, 2], [0, 1, 2]) is None
    half = np.array([[0.0, 0.0], [0.5, 0.4], [0.0, 0.0]])  # 0.5 counts, 0.4 does not
    assert depth.success_windows(half, 0.25) == [0.25]
    edge = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])  # column 0 is cut by the grid
    assert depth.success_windows(edge, 0.25) == [0.25]
    assert depth.success_windows(edge, 0.25, exclude_edges=False) == [0.5, 0.25]


def test_cell_names_follow_one_order_whatever_the_dict_order():
    """Metrics, probes and the diverged-cells notes name cells by these strings."""
    rule = {"seed": 0, "learning_rate": 1e-3, "rule": "adam", "setting": "main"}
    assert common.cell_name(rule) == "main,adam,lr=0.001,seed=0"
    point = {"weight_scale": 0.00316, "depth": 3, "seed": 1, "learning_rate": 0.0316}
    assert common.cell_name(point) == "depth=3,lr=0.0316,ws=0.00316,seed=1"
    with pytest.raises(ValueError):
        common.cell_name({"momentum": 0.9})  # a key with no place in the order


# --- the premise of S1.2's grid, and the data scale ---------------------------------------


def test_a_longer_run_passes_through_the_shorter_one():
    """S1.2 reads epochs 10/20/30 off one 30-epoch run: the first epochs of a longer run with
    the same seed must be the shorter run, learning-rate decay included."""
    train = load("builtin", "train")
    data = transforms.solver_data(train, None, val=200, num_train=400, seed=0)

    def history(epochs):
        model = TwoLayerNet(hidden_dim=20, weight_scale=1e-3, seed=3)
        solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-1},
                        lr_decay=0.95, batch_size=100, num_epochs=epochs, num_train_samples=100,
                        verbose=False, print_every=0, seed=3)
        solver.train()
        return solver.train_acc_history, solver.val_acc_history, solver.loss_history

    short, long = history(2), history(4)
    assert long[0][:3] == short[0] and long[1][:3] == short[1]
    assert long[2][:len(short[2])] == short[2]


def test_pixel_scale_multiplies_the_centred_data(tmp_path):
    one = common.cifar_data("builtin", val=100, num_train=50, seed=1)
    raw = common.cifar_data("builtin", val=100, num_train=50, seed=1, pixel_scale=255.0)
    np.testing.assert_allclose(raw["X_train"], 255 * one["X_train"], rtol=1e-6, atol=1e-3)
    np.testing.assert_array_equal(raw["y_val"], one["y_val"])
    assert abs(float(one["X_train"].mean())) < 1e-5  # centred on its own mean image
    run = runner.create("depth-overfit", quick=True, out=tmp_path / "r",
                        stream=open(os.devnull, "w"))
    assert common.record_data(run, "builtin", val=100, num_train=50, seed=1) == {
        "n_train": 50, "n_val": 100}
    assert "builtin:train" in run.results["datasets"]


# --- quick runs: what each report promises ------------------------------------------------


def test_layer_checks_reports_every_row_and_the_course_figures(quick_run):
    from layerlab.scratch.checks import run_checks

    run, res = quick_run("layer-checks")
    expected = run_checks({"layers", "losses"})
    table = res["tables"]["checks"]
    assert len(table["rows"]) == len(expected)
    bounds = [c for n, c in res["claims"].items() if n.endswith("under the limit")]
    figures = [c for n, c in res["claims"].items() if n.endswith("the course's printed error")]
    assert len(bounds) == len(figures) == len(references.S1_1_LAYER_CHECKS)
    for c in bounds:
        assert c["kind"] == "goal" and c["verdict"] == ("met" if c["ours"] <= 1e-7 else "not met")
    for c in figures:
        assert c["kind"] == "figure" and c["estimate"]["how"] == "exact"
    count = res["claims"]["gradient-check rows that pass their limit"]
    assert count["ours"] == sum(r.passed for r in expected) and count["reference"] == len(expected)


def test_two_layer_solver_grid_table_and_claims(quick_run):
    run, res = quick_run("two-layer-solver")
    cfg = run.config
    rows = res["tables"]["grid"]["rows"]
    assert [(r[0], r[1]) for r in rows] == [(lr, ep) for lr in cfg["learning_rates"]
                                            for ep in cfg["epochs"]]
    best = max(float(r[4].split(" ± ")[0]) for r in rows)
    claim = res["claims"]["best validation accuracy of the grid"]
    assert claim["ours"] == pytest.approx(best, abs=1e-3)
    assert claim["reference"] == max(v for _, v in references.S1_2_TWO_LAYER_GRID.values())
    goal = res["claims"]["reaches layerlab's goal of 50% validation accuracy"]
    assert goal["reference"] == 0.5 and goal["kind"] == "goal"
    assert claim["kind"] == "figure" and claim["figure_n"] == 1000
    assert {"heatmap_train", "heatmap_val", "loss", "accuracy"} <= set(res["plots"])
    panels = res["plots"]["accuracy"]["panels"]
    assert len(panels[0]["series"]["lr 0.1"][1]) == max(cfg["epochs"]) + 1


def test_depth_overfit_is_repeatable_and_measures_both_depths(quick_run):
    _, first = quick_run("depth-overfit")
    _, second = quick_run("depth-overfit", fresh=True)
    assert first["tables"] == second["tables"]
    assert first["claims"] == second["claims"]
    assert {"heatmap_depth3", "heatmap_depth5"} <= set(first["plots"])
    sens = {row[0]: row for row in first["tables"]["sensitivity"]["rows"]}
    claim = first["claims"]["five-layer net is more sensitive to the weight scale"]
    assert claim["kind"] == "comparison" and claim["estimate"]["how"] == "paired"
    assert claim["verdict"] == "not judged"  # one seed in the quick run
    assert set(sens) == {3, 5}
    heat = np.array(first["plots"]["heatmap_depth3"]["values"])
    assert heat.shape == (2, 2) and np.all((heat >= 0) & (heat <= 1))


def test_update_rules_reports_orderings_and_one_figure_for_the_four_rules(quick_run):
    run, res = quick_run("update-rules")
    rules = [r for r, _ in run.config["rules"]]
    for label in ("train", "val"):
        order = references.S1_4_RULE_ORDER
        for a, b in zip(order[:-1], order[1:], strict=True):
            claim = res["claims"][f"reference ordering of final {label} accuracy: {a} beats {b}"]
            assert claim["kind"] == "comparison"
            assert claim["estimate"]["n"] == run.config["repeats"]
            assert "measured order of the means:" in claim["note"]
    panels = res["plots"]["rules"]["panels"]
    assert [p["ylabel"] for p in panels] == ["training loss", "train accuracy", "val accuracy"]
    for p in panels:
        assert list(p["series"]) == rules
    table_rules = [row[2] for row in res["tables"]["rules"]["rows"]]
    assert table_rules == rules
    # the table's mean agrees with the claim note's ordering
    means = {row[2]: float(row[4].split(" ± ")[0]) for row in res["tables"]["rules"]["rows"]}
    order = res["claims"]["reference ordering of final train accuracy: adam beats rmsprop"]
    first = order["note"].split("measured order of the means: ")[1].split(" ")[0]
    assert first == max(means, key=means.get)


def test_lr_weight_scale_runs_the_six_configs_in_each_setting(quick_run):
    run, res = quick_run("lr-weight-scale")
    rows = res["tables"]["configs"]["rows"]
    assert [(r[1], r[2]) for r in rows] == [tuple(c) for c in references.S1_5_CONFIGS] * 2
    assert [r[0] for r in rows] == ["overfit"] * 6 + ["six-layer"] * 6
    for name in ("overfit", "six-layer"):
        assert len(res["plots"][f"curves_{name}"]["panels"][1]["series"]) == 6


def test_the_course_formula_reproduces_its_relu_forward_figure():
    """The course divides the largest difference by the largest |a|+|b|; with it, the exact
    ReLU output against the 8-digit expected values gives the course's printed 4.54e-9."""
    errors = checks.course_formula_forward_errors()
    ref = references.S1_1_LAYER_CHECKS[("ReLU.forward", "out")]
    assert errors["ReLU.forward"] == pytest.approx(ref, rel=0.01)
    assert errors["Linear.forward"] < errors["Linear.forward float32"] < 1e-7


def test_the_depth_reading_is_worded_from_its_numbers():
    from layerlab.studies.s1_fc.depth import _reading
    narrow = {"mean_window": 0.44, "slope": -3.0, "fraction": 0.14}
    wide = {"mean_window": 0.94, "slope": -1.25, "fraction": 0.16}
    sensitive = _reading(wide, narrow, 0.94 / 0.44)
    assert "(2.1x wider)" in sensitive and "k^3.00" in sensitive and "k^1.25" in sensitive
    assert "far more sensitive" in sensitive and "14%" in sensitive
    not_shown = _reading(narrow, wide, 0.44 / 0.94)
    assert "narrower)" in not_shown and "does not show" in not_shown
    assert "far more sensitive" not in not_shown
    no_slope = _reading({**wide, "slope": None}, narrow, float("nan"))
    assert "k^" not in no_slope and "x wider" not in no_slope


def test_the_forward_check_notes_are_worded_from_their_errors():
    expected = [[2.0, -0.5]]  # rounding to 8 decimals allows 0.5e-8 / (2 * 2.0) = 1.25e-9
    within = checks.forward_note(3e-9, 1e-9, expected)
    assert "up to 1.25e-09: this error is within that" in within and "float32" not in within
    beyond = checks.forward_note(3e-9, 2e-9, expected)
    assert "beyond that" in beyond and "within that" not in beyond
    near = checks.forward_note(3e-9, 1e-9, expected, float32=3.64e-8, reference=3.68e-8)
    assert "float32 it is 3.64e-08, within a factor of 2" in near and "looks like" in near
    far = checks.forward_note(3e-9, 1e-9, expected, float32=1e-6, reference=3.68e-8)
    assert "not near the course's 3.68e-08" in far and "looks like" not in far


def test_update_rules_settings_name_the_variant_only_when_it_runs(quick_run):
    run, res = quick_run("update-rules")
    assert run.config["variant_rules"] == []  # the quick run skips it
    note = res["notes"]["settings"]
    assert "hence pixel_scale 255." in note and "variant" not in note
