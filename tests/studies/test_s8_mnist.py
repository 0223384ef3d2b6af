"""S8: budgets checked before training, the test set touched once per final model, the sweep."""

import pytest

pytest.importorskip("torch")

from layerlab.runfiles import read_metrics  # noqa: E402
from layerlab.studies.s8_dropout_sweep import dropout_grid, sweep_picks  # noqa: E402
from layerlab.studies.s8_mnist import cnn_budget, mlp_budget  # noqa: E402


def test_budgets_are_the_studys():
    from layerlab.pytorch import BudgetMLP, SmallCNN, check_budget

    # 784*500+500 + 500*300+300 + 300*200+200 + 200*10+10 = 392,500 + 150,300 + 60,200 + 2,010
    assert check_budget(BudgetMLP([500, 300, 200]), **mlp_budget(1000)) == {
        "params": 605_010, "hidden_units": 1000, "hidden_layers": 3}
    with pytest.raises(ValueError, match="2 hidden layers, fewer than the required 3"):
        check_budget(BudgetMLP([600, 400]), **mlp_budget(1000))
    # the CNN: conv 1->32 (320) bn (64) conv 32->64 (18,496) bn (128), 64*7*7 -> 128
    # (401,536), 128 -> 10 (1,290)
    assert check_budget(SmallCNN(), **cnn_budget())["params"] == 421_834
    with pytest.raises(ValueError, match="needs at least one Dropout layer"):
        check_budget(SmallCNN(dropout=0.0), **cnn_budget())


def test_dropout_grid_is_ten_equal_steps_from_0_to_1():
    ps = dropout_grid(10)
    assert len(ps) == 10 and ps[0] == 0.0 and ps[-1] == 1.0 and ps[1] == round(1 / 9, 4)


def test_mlp_search_rejects_and_test_is_measured_once(quick_run):
    run, results = quick_run("mnist-mlp")
    checked = [r[4] for r in results["tables"]["search"]["rows"]]
    assert any(c.startswith("rejected: 128 hidden units") for c in checked)
    assert any("fewer than the required 2" in c for c in checked)
    epochs = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "epoch"]
    assert epochs and all("test_acc" not in r for r in epochs)  # never per epoch
    from layerlab.pytorch import checkpoint

    for path in (run.path / "weights").glob("*.pt"):
        splits = set(checkpoint.read(path)["extra"]["correct"])
        assert splits == ({"val", "test"} if path.name.startswith("final") else {"val"})


def test_sweep_pick_is_a_comparison_and_an_exact_tie_is_not_a_winner():
    from layerlab.analysis.verdict import comparison, from_pairs

    # p = 1/9 and 2/9 tie exactly on every seed: max() would name the first; the comparison
    # of the two is 'not shown', and the tie is listed
    val = {0.0: [0.980, 0.981, 0.979], 0.1111: [0.982, 0.983, 0.981],
           0.2222: [0.982, 0.983, 0.981], 1.0: [0.14, 0.11, 0.10]}
    pick = sweep_picks(val)
    assert (pick["best"], pick["runner_up"]) == (0.1111, 0.2222)
    assert 0.2222 in pick["tied"] and 1.0 not in pick["tied"]
    diff = from_pairs(val[pick["best"]], val[pick["runner_up"]])
    assert comparison(diff)["verdict"] == "not shown"
    # a clear winner over seeds holds
    val[0.1111] = [0.990, 0.992, 0.991]
    pick = sweep_picks(val)
    assert pick["best"] == 0.1111 and pick["tied"] == []
    assert comparison(from_pairs(val[0.1111], val[pick["runner_up"]]))["verdict"] == "holds"
    # one seed: no intervals, so no ties can be named
    assert sweep_picks({0.0: [0.5], 0.5: [0.4]})["tied"] == []


def test_claims_are_judged_against_noise(quick_run):
    _, mlp = quick_run("mnist-mlp")
    for name, claim in mlp["claims"].items():
        kind, how = ("goal", "seeds+images") if "layerlab's goal" in name else ("figure", "seeds")
        assert (claim["kind"], claim["estimate"]["how"]) == (kind, how), name
        assert claim["estimate"]["n"] == 2 and claim["figure_n"] is None  # quick: seeds (0, 1)


def test_cnn_and_sweep_reports(quick_run):
    _, cnn = quick_run("mnist-cnn")
    params = [c for n, c in cnn["claims"].items() if n.startswith("CNN parameters")][0]
    assert params["ours"] < 1_000_000 and params["kind"] == "goal"
    assert params["estimate"]["how"] == "exact" and params["verdict"] == "met"
    goal = cnn["claims"]["CNN: layerlab's goal"]
    assert goal["kind"] == "goal" and goal["estimate"]["how"] == "seeds+images"
    best_epoch = cnn["claims"]["CNN: best epoch (validation accuracy)"]
    assert best_epoch["kind"] == "figure" and best_epoch["figure_n"] == 10_000
    _, sweep = quick_run("mnist-dropout-sweep")
    assert [float(r[0]) for r in sweep["tables"]["sweep"]["rows"]] == [0.0, 0.5, 1.0]
    assert "What one-epoch validation cannot show" in sweep["notes"]
    claims = sweep["claims"]
    beats = claims["best dropout p after one epoch (validation) beats the runner-up"]
    assert beats["kind"] == "comparison" and beats["estimate"]["how"] == "paired"
    # the quick grid (0, 0.5, 1) has no p = 1/9: that claim has no result
    assert claims["the study's best p (0.1111) beats every other p after one epoch "
                  "(validation)"]["verdict"] == "not judged"


def test_the_sweep_reading_names_the_measured_best_and_worst_p():
    from layerlab.analysis.verdict import from_seeds
    from layerlab.studies.s8_dropout_sweep import sweep_reading
    small = sweep_reading({0.0: from_seeds([0.97, 0.98]), 0.5: from_seeds([0.95, 0.96]),
                           1.0: from_seeds([0.09, 0.1])})
    assert "the best p is 0.0000 (mean val 0.9750), a small p; the worst is 1.0000 (0.0950): " \
           "the largest p leaves too little capacity to fit." in small
    large = sweep_reading({0.0: from_seeds([0.5, 0.6]), 0.5: from_seeds([0.7, 0.8]),
                           1.0: from_seeds([0.6, 0.65])})
    assert "best p is 0.5000" in large and "not a small one; the worst is 0.0000" in large
    assert "capacity" not in large and "Here" not in sweep_reading({})
