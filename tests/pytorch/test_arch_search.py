"""arch_search: candidates are checked against the budget before training; best on validation."""

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from layerlab.lab.rundir import Run  # noqa: E402
from layerlab.pytorch import BudgetMLP  # noqa: E402
from layerlab.studies.arch_search import search_architectures  # noqa: E402
from layerlab.studies.s8_mnist import mlp_budget  # noqa: E402


def build(cand):
    if cand.get("tanh"):  # a layer S8's MLPs may not use
        return nn.Sequential(nn.Linear(784, cand["hidden"][0]), nn.Tanh(),
                             nn.Linear(cand["hidden"][0], 10))
    return BudgetMLP(cand["hidden"])


def test_rejects_before_training_and_keeps_the_best_on_validation(tmp_path):
    run = Run.create(tmp_path / "run", {"experiment": "t", "run_id": "t", "config": {}})
    trained = []

    def train(cand, cell):
        trained.append(cand["hidden"])
        # a stand-in for training: validation accuracy from the first width (no test split)
        return {"final": {"val": cand["hidden"][0] / 1000}}

    cands = [{"hidden": [60, 40]}, {"hidden": [90, 10]}, {"hidden": [128]},
             {"hidden": [70], "tanh": True}]
    best, rows = search_architectures(run, "search/budget=100", cands, build,
                                      mlp_budget(100), train)
    assert trained == [[60, 40], [90, 10]]  # the two outside the rules were never trained
    assert best["candidate"] == {"hidden": [90, 10]} and best["val"] == 0.09
    reasons = {str(r["candidate"]["hidden"]): r["reason"] for r in rows}
    assert reasons["[128]"] == "128 hidden units [128] exceed the limit of 100"
    assert reasons["[70]"].startswith("layer '1' (Tanh) is not allowed")
    assert [r["hidden_units"] for r in rows] == [100, 100, 128, 70]
    # a finished search is kept in the run: asking again trains nothing
    again, _ = search_architectures(run, "search/budget=100", cands, build, mlp_budget(100),
                                    train)
    assert again["candidate"] == best["candidate"] and len(trained) == 2


def test_no_candidate_within_the_budget_is_an_error(tmp_path):
    run = Run.create(tmp_path / "run", {"experiment": "t", "run_id": "t", "config": {}})
    with pytest.raises(ValueError, match=r"no candidate fits.*fewer than the required 2"):
        search_architectures(run, "s", [{"hidden": [200]}], build, mlp_budget(200),
                             lambda c, cell: {"final": {"val": 1.0}})


def test_a_diverged_candidate_is_never_picked(tmp_path):
    run = Run.create(tmp_path / "run", {"experiment": "t", "run_id": "t", "config": {}})
    dead = {"step": 4, "epoch": 1, "last_finite_loss": 2.3}

    def train(cand, cell):  # the widest first layer diverges; its final val is a dead net's
        if cand["hidden"][0] == 90:
            return {"final": {"val": 0.99}, "diverged": dead}
        return {"final": {"val": cand["hidden"][0] / 1000}, "diverged": None}

    cands = [{"hidden": [60, 40]}, {"hidden": [90, 10]}]
    best, rows = search_architectures(run, "s", cands, build, mlp_budget(100), train)
    assert best["candidate"] == {"hidden": [60, 40]} and best["val"] == 0.06
    assert rows[1]["diverged"] == dead and rows[1]["val"] is None
    assert rows[0]["diverged"] is None
    # every candidate diverged: no best, and no error (the study reports it)
    best, rows = search_architectures(run, "all", cands[1:], build, mlp_budget(100), train)
    assert best is None and rows[0]["diverged"] == dead
