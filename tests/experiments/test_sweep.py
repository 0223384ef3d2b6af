"""Grids and searches in-process, on a tiny experiment registered by the test."""

from dataclasses import dataclass

import optuna
import pytest

from layerlab.experiments import registry, runner, sweep


@dataclass
class ToyConfig:
    seed: int = 0
    trials: int = 6


CALLS = []


def toy(cfg, run):
    grid_results = sweep.grid(run, "g", [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y")],
                              lambda cell: CALLS.append(cell) or {"score": cell["a"]},
                              objective="score")
    run.table("grid", ["a", "score"], [[1, grid_results[0]["score"]]])
    best, result, finished = sweep.search(
        run, "s", {"x": ("float", -1.0, 1.0), "k": ("choice", [1, 2])},
        lambda p: {"score": -(p["x"] - 0.3) ** 2}, n_trials=cfg.trials, objective="score")
    run.claim("best score", result["score"], None)
    run.note("search", f"{len(finished)} trials, best {best}")


@pytest.fixture(scope="module", autouse=True)
def toy_experiment():
    registry.experiment("toy-sweep", study="-", title="toy", estimate="1 s",
                        config=ToyConfig)(toy)
    yield
    registry._EXPERIMENTS.pop("toy-sweep")


def test_grid_runs_each_cell_once_and_search_runs_n_trials(tmp_path):
    CALLS.clear()
    run = runner.create("toy-sweep", out=tmp_path / "r", stream=open("/dev/null", "w"))
    runner.execute(run)
    assert sorted((c["a"], c["b"]) for c in CALLS) == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
    storage = f"sqlite:///{tmp_path / 'r' / 'sweep.db'}"
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert [n.split(":")[-1] for n in names] == ["g", "s"]
    grid_study = optuna.load_study(study_name=names[0], storage=storage)
    assert sorted(t.params["a"] for t in grid_study.trials) == [1, 1, 2, 2]  # params recorded
    search_study = optuna.load_study(study_name=names[1], storage=storage)
    assert len(search_study.trials) == 6

    CALLS.clear()  # resuming a finished run trains nothing again
    runner.resume(tmp_path / "r", stream=open("/dev/null", "w"))
    assert CALLS == []
    assert len(optuna.load_study(study_name=names[1], storage=storage).trials) == 6


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
    from layerlab.experiments import config

    exp = registry.Experiment("nested", "-", "t", "1 s", NestedConfig)
    resolved = config.resolve(exp, ["shapes=[[5, 6], [7, 8]]"])
    import json

    built = config.build(exp, json.loads(json.dumps(resolved)))  # as read from config.json
    assert built.shapes == ((5, 6), (7, 8))
