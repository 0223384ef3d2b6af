"""Grids in-process, on a tiny experiment registered by the test: each cell once, kept in
cells.json, and replayed from there without training."""

import json
from dataclasses import dataclass

import optuna
import pytest

from layerlab.analysis.verdict import exact
from layerlab.lab import registry, runner, sweep
from layerlab.lab.rundir import Run


@dataclass
class ToyConfig:
    seed: int = 0


CALLS = []


def toy(cfg, run):
    grid_results = sweep.grid(run, "g", [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y")],
                              lambda cell: CALLS.append(cell) or {"score": cell["a"] * 10 +
                                                                  len(CALLS)},
                              objective="score")
    one = sweep.cell(run, "single", lambda: CALLS.append("single") or {"value": len(CALLS)})
    run.table("grid", ["cell", "score"], [[i, r["score"]] for i, r in enumerate(grid_results)])
    run.judge("single value", "measured", exact(one["value"]))


@pytest.fixture(scope="module", autouse=True)
def toy_experiment():
    registry.experiment("toy-sweep", study="-", title="toy", estimate="1 s",
                        config=ToyConfig)(toy)
    yield
    registry._EXPERIMENTS.pop("toy-sweep")


def test_grid_runs_each_cell_once_and_keeps_them_in_cells_json(tmp_path):
    CALLS.clear()
    run = runner.create("toy-sweep", out=tmp_path / "r", stream=open("/dev/null", "w"))
    runner.execute(run)
    assert sorted((c["a"], c["b"]) for c in CALLS[:4]) == [(1, "x"), (1, "y"), (2, "x"),
                                                           (2, "y")]
    storage = f"sqlite:///{tmp_path / 'r' / 'sweep.db'}"
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert [n.split(":")[-1] for n in names] == ["g", "single"]
    grid_study = optuna.load_study(study_name=names[0], storage=storage)
    assert sorted(t.params["a"] for t in grid_study.trials) == [1, 1, 2, 2]  # params recorded
    cells = json.loads((tmp_path / "r" / "cells.json").read_text())
    assert [c["key"] for c in cells["g"]] == ["g/a=1,b=x", "g/a=1,b=y", "g/a=2,b=x",
                                              "g/a=2,b=y"]
    assert cells["g"][2]["cell"] == {"a": 2, "b": "x"} and cells["single"][0]["result"] == \
        {"value": 5}

    CALLS.clear()  # resuming a finished run trains nothing again
    runner.resume(tmp_path / "r", stream=open("/dev/null", "w"))
    assert CALLS == []


def test_a_replayed_run_rebuilds_the_same_results_without_training(tmp_path):
    CALLS.clear()
    run = runner.create("toy-sweep", out=tmp_path / "r", stream=open("/dev/null", "w"))
    runner.execute(run)
    before = json.loads((tmp_path / "r" / "results.json").read_text())
    for name in ("sweep.db", "results.json", "report.md"):  # only the cells are needed
        (tmp_path / "r" / name).unlink()
    CALLS.clear()
    runner.rebuild(tmp_path / "r")
    assert CALLS == []
    assert json.loads((tmp_path / "r" / "results.json").read_text()) == before
    assert (tmp_path / "r" / "report.md").exists()
    # a cell that was never stored cannot be made up: the error says so
    replay = Run(tmp_path / "r", replay=True)
    with pytest.raises(KeyError, match="cannot be rebuilt without training"):
        sweep.grid(replay, "g", [{"a": 3, "b": "x"}], lambda c: {})


def test_grid_refuses_repeated_cells_and_a_changed_grid(tmp_path):
    run = runner.create("toy-sweep", out=tmp_path / "r", stream=open("/dev/null", "w"))
    with pytest.raises(ValueError, match="repeated cells"):
        sweep.grid(run, "g", [{"a": 1}, {"a": 1}], lambda c: {})
    sweep.grid(run, "h", [{"a": 1}], lambda c: {})
    with pytest.raises(RuntimeError, match="different grid"):
        sweep.grid(run, "h", [{"a": 2}], lambda c: {})


@dataclass
class NestedConfig:
    shapes: tuple = ((1, 2), (3, 4))


def test_config_round_trip_keeps_nested_tuples():
    from layerlab.lab import config

    exp = registry.Experiment("nested", "-", "t", "1 s", NestedConfig)
    resolved = config.resolve(exp, ["shapes=[[5, 6], [7, 8]]"])
    import json

    built = config.build(exp, json.loads(json.dumps(resolved)))  # as read from config.json
    assert built.shapes == ((5, 6), (7, 8))
