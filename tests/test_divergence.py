"""Divergence is an outcome, in both engines: detected at the step it happens, recorded in every
cell's result, left out of means, picks and claims, and shown in the report."""

import json
import math
import os

import numpy as np
import pytest

from layerlab.analysis import divergence
from layerlab.analysis.verdict import from_seeds, judge
from layerlab.lab import runner
from layerlab.report import plots
from layerlab.scratch.models import TwoLayerNet
from layerlab.scratch.solver import Solver


def _run(tmp_path, name, *overrides):
    r = runner.create(name, overrides=list(overrides), quick=True, out=tmp_path / name,
                      stream=open(os.devnull, "w"))
    runner.execute(r)
    status = json.loads((r.path / "status.json").read_text())
    return status, json.loads((r.path / "results.json").read_text()), \
        (r.path / "report.md").read_text()


def _claims_on(results, cell):
    """The claims whose reason names `cell` as diverged."""
    return [c for c in results["claims"].values() if cell in c["reason"]]


# --- detection -----------------------------------------------------------------------------


def test_the_rule_non_finite_or_exploded():
    assert divergence.loss_diverged(math.nan) and divergence.loss_diverged(math.inf)
    assert divergence.loss_diverged(3e7, first=2.3) and not divergence.loss_diverged(50, 2.3)
    assert divergence.find([2.3, 2.0, 1e13, 1.0], steps_per_epoch=2) == {
        "step": 3, "epoch": 2, "last_finite_loss": 2.0}
    assert divergence.find([2.3, 2.0]) is None
    assert divergence.of({"stopped_early": "diverged"}) and not divergence.of({"diverged": None})


def test_fit_stops_at_the_step_and_records_it():
    torch = pytest.importorskip("torch")
    from layerlab.pytorch.train import fit

    torch.manual_seed(0)
    X = torch.randn(64, 4)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    history = fit(model, {"X_train": X, "y_train": y, "X_val": X, "y_val": y},
                  torch.optim.SGD(model.parameters(), lr=1e30), epochs=3, batch_size=16)
    d = history["diverged"]
    assert d is not None and d["epoch"] == 1 and 1 <= d["step"] <= 4
    assert len(history["step_loss"]) == d["step"]  # it stopped there
    assert history["epoch"] == []  # the epoch it died in gave no row
    assert math.isfinite(d["last_finite_loss"] if d["step"] > 1 else 0.0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    history = fit(model, {"X_train": X, "y_train": y},
                  torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=16)
    assert history["diverged"] is None and history["epoch"] == [1, 2]


def test_solver_records_the_step_and_the_last_finite_loss():
    rng = np.random.default_rng(0)
    data = {"X_train": rng.normal(size=(40, 6)), "y_train": rng.integers(0, 3, 40),
            "X_val": rng.normal(size=(10, 6)), "y_val": rng.integers(0, 3, 10)}
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=1.0, seed=0)
    solver = Solver(model, data, optim_config={"learning_rate": 1e300}, batch_size=10,
                    num_epochs=3, verbose=False, seed=0).train()
    d = solver.diverged
    assert solver.stopped_early == "diverged" and d["epoch"] == 1
    assert d["step"] == len(solver.loss_history) and not np.isfinite(solver.loss_history[-1])
    assert d["last_finite_loss"] == solver.loss_history[-2]


def test_a_claim_on_diverged_cells_is_not_judged_and_names_them():
    est = from_seeds([0.5, 0.6, 0.55])
    out = judge("goal", est, 0.1, diverged=["lr=1e+06"])
    assert out["verdict"] == "not judged" and "lr=1e+06" in out["reason"]
    assert judge("goal", None, 0.1, diverged=["a"])["reason"].startswith("cells behind it")
    assert judge("goal", est, 0.1, diverged=[])["verdict"] == "met"


def test_plots_skip_non_finite_points(tmp_path):
    plots.render({"kind": "curves", "logy": True, "series": {
        "a": [[0, 1, 2], [1.0, math.inf, 2.0]], "dead": [[0, 1], [math.nan, math.nan]]}},
        tmp_path / "c.png")
    plots.render({"kind": "heatmap", "values": [[math.nan, math.inf], [math.nan, math.nan]],
                  "row_labels": [1, 2], "col_labels": [1, 2]}, tmp_path / "h.png")
    assert plots.finite_points([0, 1, 2], [1.0, math.nan, 3.0]) == ([0, 2], [1.0, 3.0])


# --- the probes: real quick runs -------------------------------------------------------------


def test_quickstart_with_an_exploding_rate(tmp_path):
    # lr 1e6: the loss jumps from 2.5 to 3e13 at step 2 and stays finite; once "reproduced"
    status, results, report = _run(tmp_path, "quickstart", "learning_rates=(1e6,)")
    assert status["state"] == "finished"
    claim, = results["claims"].values()
    assert claim["verdict"] == "not judged" and "lr=1e+06" in claim["reason"]
    assert "diverged (step 2)" in report and "## Diverged cells" in report
    assert "lr=1e+06 at step 2" in results["notes"]["Diverged cells"]


def test_quickstart_picks_among_the_rates_that_finished(tmp_path):
    status, results, report = _run(tmp_path, "quickstart", "learning_rates=(1e6,1e-3)")
    claim, = results["claims"].values()
    assert claim["verdict"] != "not judged" and "rate 0.001" in claim["note"]
    assert "lr=1e+06 at step 2" in results["notes"]["Diverged cells"]


def test_two_layer_solver_with_a_diverging_rate(tmp_path):
    status, results, report = _run(tmp_path, "two-layer-solver", "learning_rates=(1e6,1e-1)")
    assert status["state"] == "finished"
    dead = _claims_on(results, "lr=1e+06,seed=0")
    assert dead and all(c["verdict"] == "not judged" for c in dead)
    assert all("1e+06" in c["name"] for c in dead)  # the others were judged on lr 0.1 alone
    rows = results["tables"]["grid"]["rows"]
    assert all(r[2].startswith("diverged (step ") for r in rows if r[0] == 1e6)
    assert not any(str(c) in ("nan", "n/a") for r in rows for c in r)
    # every cell diverged: no pick, nothing judged, no traceback
    status, results, _ = _run(tmp_path / "all", "two-layer-solver", "learning_rates=(1e6,)")
    assert status["state"] == "finished"
    assert all(c["verdict"] == "not judged" for c in results["claims"].values())


def test_mnist_dropout_sweep_with_a_dead_optimizer(tmp_path):
    pytest.importorskip("torch")
    status, results, report = _run(tmp_path, "mnist-dropout-sweep", "lr=1e30")
    assert status["state"] == "finished"
    pick = results["claims"]["best dropout p after one epoch (validation) beats the runner-up"]
    assert pick["verdict"] == "not judged" and "sweep/p=0.0,seed=0" in pick["reason"]
    rows = results["tables"]["sweep"]["rows"]
    assert all(r[1].startswith("diverged (step ") for r in rows)
    assert "sweep/p=1.0,seed=1 at step" in results["notes"]["Diverged cells"]


def test_lr_weight_scale_with_a_diverging_config(tmp_path):
    status, results, report = _run(tmp_path, "lr-weight-scale",
                                   "configs=((1e6,5e-2),(1e-3,1e-2))")
    assert status["state"] == "finished"
    assert "overfit,lr=1e+06,ws=0.05,seed=0 at step" in results["notes"]["Diverged cells"]
    for name in ("overfit", "six-layer"):  # one config left: no pick, not judged
        dead = _claims_on(results, f"{name},lr=1e+06,ws=0.05,seed=0")
        assert dead and all(c["verdict"] == "not judged" for c in dead)
    rows = results["tables"]["configs"]["rows"]
    assert all(r[3].startswith("diverged (step ") for r in rows if r[1] == 1e6)
    assert not any(str(c) in ("nan", "n/a") for r in rows for c in r)


def test_update_rules_with_a_diverging_rule(tmp_path):
    status, results, report = _run(
        tmp_path, "update-rules", "rules=(('sgd',1e6),('sgd_momentum',1e-2),"
        "('rmsprop',1e-4),('adam',1e-3))")
    assert status["state"] == "finished"
    assert "main,sgd,lr=1e+06,seed=0 at step" in results["notes"]["Diverged cells"]
    dead = _claims_on(results, "main,sgd,lr=1e+06,seed=0")
    assert len(dead) == 2 and all(c["verdict"] == "not judged" for c in dead)
    assert all("beats sgd" in c["name"] for c in dead)  # the other pairs were judged
    rows = results["tables"]["rules"]["rows"]
    assert all(r[4].startswith("diverged (step ") for r in rows if r[2] == "sgd")


def test_depth_overfit_with_a_diverging_rate(tmp_path):
    status, results, report = _run(tmp_path, "depth-overfit", "learning_rates=(1e6,)")
    assert status["state"] == "finished"
    assert "depth=5,lr=1e+06,ws=0.1,seed=0 at step" in results["notes"]["Diverged cells"]
    for d in (3, 5):  # every cell diverged: no best cell, not judged
        claim = results["claims"][f"{d}-layer net reaches 100% training accuracy in 20 epochs"]
        assert claim["verdict"] == "not judged" and f"depth={d},lr=1e+06" in claim["reason"]
    rows = results["tables"]["successes"]["rows"]
    assert all(str(r[4]).startswith("diverged (step ") for r in rows)
