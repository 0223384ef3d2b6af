"""Divergence as an outcome in gurmukhi-reg, mnist-mlp and mnist-cnn: quick runs with a rate
that explodes, through the real command. Each finishes, says where its cells diverged, leaves
them out of every figure and judges nothing that needed one (the claim names the cells)."""

import json

import pytest
from divergence_helpers import no_bad_figures, run_quick

pytest.importorskip("torch")






def _not_judged(results, name, *cells):
    claim = results["claims"][name]
    assert claim["verdict"] == "not judged", (name, claim["reason"])
    assert all(c in claim["reason"] for c in cells), (name, claim["reason"])


def test_gurmukhi_reg_with_an_exploding_rate(tmp_path):
    results, report = run_quick(tmp_path, "gurmukhi-reg", "learning_rate=1e30")
    assert "## Diverged cells" in report and "diverged (step 2)" in report
    assert "tune/epochs=2,elastic=34.0,fold=1 at step" in results["notes"]["Diverged cells"]
    for label, setting in (("dropout only", "dropout"), ("L1", "l1"), ("L1 + L2", "l1+l2")):
        _not_judged(results, f"{label}: mean final test accuracy over 2 seeds",
                    f"reg/setting={setting},seed=0", f"reg/setting={setting},seed=1")
    _not_judged(results, "L2 vs dropout only: paired difference in final test accuracy",
                "reg/setting=l2,seed=1", "reg/setting=dropout,seed=0")
    _not_judged(results, "the tuned recipe beats the runner-up in cross-validation",
                "tune/epochs=1,elastic=0.0,fold=0")
    _not_judged(results, next(n for n in results["claims"] if n.startswith(
        "dropout only, tuned recipe")), "tune/epochs=2,elastic=0.0,fold=1")
    gradcheck = next(c for n, c in results["claims"].items() if n.startswith("gradient check"))
    assert gradcheck["verdict"] == "met"  # no training behind it
    for table, column in (("final", 2), ("epoch_log", 2), ("sensitivity", 3), ("tuning", 2)):
        assert all(r[column].startswith("diverged (step ") for r in
                   results["tables"][table]["rows"]), table
    assert "tuned" not in results["tables"] and not results["plots"]  # nothing finished
    no_bad_figures(results)


def test_gurmukhi_reg_judges_the_settings_that_finished(tmp_path):
    # lambda1 1e39 makes the L1 penalty inf in float32 at the first step: L1 and L1 + L2
    # diverge, dropout only and L2 train as usual
    results, report = run_quick(tmp_path, "gurmukhi-reg", "l1=1e39")
    rows = {r[0]: r for r in results["tables"]["final"]["rows"]}
    assert rows["L1"][2] == rows["L1 + L2"][2] == "diverged (step 1)"
    assert "±" in rows["dropout only"][2] and "±" in rows["L2"][2]
    for label, setting in (("L1", "l1"), ("L1 + L2", "l1+l2")):
        _not_judged(results, f"{label}: mean final test accuracy over 2 seeds",
                    f"reg/setting={setting},seed=0")
        _not_judged(results, f"{label} vs dropout only: paired difference in final test "
                    "accuracy", f"reg/setting={setting},seed=1")
    for name in ("dropout only: mean final test accuracy over 2 seeds",
                 "L2: mean final test accuracy over 2 seeds",
                 "L2 vs dropout only: paired difference in final test accuracy"):
        assert results["claims"][name]["verdict"] != "not judged", name
    assert results["plots"]["test_acc_seeds"]["row_labels"] == ["dropout only", "L2"]
    assert not any("L1 at lambda1" in n for n in results["notes"])
    assert results["notes"]["Diverged cells"].startswith("4 cells diverged")
    no_bad_figures(results)


def test_mnist_mlp_with_an_exploding_rate(tmp_path):
    results, report = run_quick(tmp_path, "mnist-mlp", "max_lr=1e30")
    assert "## Diverged cells" in report
    search = results["tables"]["search"]["rows"]
    assert all(r[5].startswith("diverged (step ") for r in search if r[4] == "trained")
    assert not any(r[6] == "best" for r in search)  # a diverged candidate is never picked
    for max_hidden, what in ((100, ""), (1000, ", >= 3 hidden layers")):
        for claim in ("test accuracy", "layerlab's goal"):
            _not_judged(results, f"MLP <= {max_hidden} hidden units{what}: {claim}",
                        f"search/budget={max_hidden}/hidden=")
    assert all(r[7].startswith("diverged (step ") for r in results["tables"]["final"]["rows"])
    assert "final" not in results["plots"]
    no_bad_figures(results)


def test_mnist_mlp_final_models_with_a_diverged_seed(tmp_path):
    from layerlab.lab.rundir import Run
    from layerlab.pytorch import BudgetMLP
    from layerlab.studies.s8_mnist import _final_mlp

    run = Run.create(tmp_path / "run", {"experiment": "t", "run_id": "t", "config": {}})

    def final(cand, cell, seed):  # a stand-in for training: seed 1 diverges at step 3
        if seed == 1:
            return {"diverged": {"step": 3, "epoch": 1, "last_finite_loss": 2.3}}
        return {"final": {"test": 0.9, "val": 0.9}, "correct": {"test": [90, 100]},
                "best_val_acc": 0.9, "epoch_time": 1.0, "train_time": 1.0}

    row, results, gone = _final_mlp(run, 100, {"candidate": {"hidden": [100]}},
                                    lambda c: BudgetMLP(c["hidden"]), final, (0, 1), {})
    assert row[7] == "diverged (step 3)" and row[5] == row[6] == ""  # no mean over seeds
    assert results == [] and list(gone) == ["final/budget=100/seed=1"]
    claims = json.loads((run.path / "results.json").read_text())["claims"]
    for name in ("MLP <= 100 hidden units: test accuracy",
                 "MLP <= 100 hidden units: layerlab's goal"):
        assert claims[name]["verdict"] == "not judged"
        assert "final/budget=100/seed=1" in claims[name]["reason"]


def test_mnist_cnn_with_an_exploding_rate(tmp_path):
    results, report = run_quick(tmp_path, "mnist-cnn", "max_lr=1e30")
    assert "cnn/seed=1 at step 2" in results["notes"]["Diverged cells"]
    for name in ("CNN, 1 epochs at batch 32: final test accuracy", "CNN: layerlab's goal",
                 "CNN: best epoch (validation accuracy)"):
        _not_judged(results, name, "cnn/seed=0", "cnn/seed=1")
    params = next(c for n, c in results["claims"].items() if n.startswith("CNN parameters"))
    assert params["verdict"] == "met"  # checked by code, no training behind it
    assert results["tables"]["cnn"]["rows"] == [["", "diverged (step 2)", "", "", ""]]
    assert results["tables"]["cnn"]["note"].endswith(  # a dead net's score is no result
        "after the last epoch: diverged (step 2), diverged (step 2).")
    assert "cnn" not in results["plots"]
    no_bad_figures(results)
