"""The studies' per-layer views from the probes: S5's step-by-step gradient heat map and
update-to-weight ratios, dying-relu's dead fraction per layer, batchnorm's activation
histograms. Drawn only with probes on; probes on train exactly as probes off (same claims,
tables, cells and weights); a report rebuilt from cells.json alone, without probes/, draws
them again. The training loops of S7 and of S1's short cells are probed as the Solver is."""

import json
import shutil

import numpy as np
import pytest

from layerlab.cli import main
from layerlab.lab import runner
from layerlab.probing import store, views
from layerlab.scratch.models import FullyConnectedNet
from layerlab.studies.s1_fc.common import fit
from layerlab.studies.s7_playground import measure as pg

PROBES = "probes=every:1"
# Each study test takes its experiment as `name`, so it runs in the worker of that study's
# quick runs (tests/studies/conftest.py) and reads the quick run made there with probes off.


@pytest.fixture(autouse=True)
def no_ledger(monkeypatch):
    monkeypatch.setenv("LAYERLAB_LEDGER", "off")


def run_cli(out, name, *sets):
    """`layerlab run NAME --quick --set ... --out OUT` through the command's own entry point;
    returns results.json."""
    args = ["run", name, "--quick", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    return json.loads((out / "results.json").read_text())


def cells_without_views(run_dir):
    """cells.json with every result's probe_view left out, and the train times (a clock)."""
    cells = json.loads((run_dir / "cells.json").read_text())
    return {grid: [{**c, "result": {k: v for k, v in c["result"].items()
                                    if k not in ("probe_view", "train_time")}}
                   for c in entries] for grid, entries in cells.items()}


def same_study(off, on, timed=(), clock=lambda results: results):
    """Probes change nothing the study reports: claims, tables and notes equal (but what a
    clock measures: the claims and tables named in `timed`, and what `clock` takes out of a
    results dict), and every plot of the off run drawn the same."""
    off, on = clock(json.loads(json.dumps(off))), clock(json.loads(json.dumps(on)))
    for section in ("claims", "tables"):
        kept = [k for k in off[section] if not any(k.startswith(t) for t in timed)]
        assert kept and {k: off[section][k] for k in kept} == {k: on[section][k] for k in kept}
    assert off["notes"] == on["notes"]
    assert {k: on["plots"][k] for k in off["plots"]} == off["plots"]


def s5_clock(results):
    """S5's results without its clock readings: the median epoch time of the gradients
    table and the settings note's epoch wall times."""
    for row in results["tables"]["gradients"]["rows"]:
        row[-1] = None
    results["notes"].pop("Settings and choices")
    return results


def rebuilt_without_probes(run_dir, names):
    """Delete probes/ and the views' pictures, rebuild the report from cells.json with the
    real command; the views' plot specs before and after."""
    before = json.loads((run_dir / "results.json").read_text())["plots"]
    shutil.rmtree(run_dir / "probes")
    for name in names:
        (run_dir / "plots" / f"{name}.png").unlink()
    assert main(["report", str(run_dir), "--rebuild"]) == 0
    after = json.loads((run_dir / "results.json").read_text())["plots"]
    for name in names:
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 0
    return {n: before[n] for n in names}, {n: after[n] for n in names}


# --- the wiring: S7's own loop and S1's short Solver cells -------------------------------


@pytest.fixture
def probed_run(tmp_path):
    """A real run folder made with probes every 2 steps (nothing trained in it)."""
    return runner.create("quickstart", overrides=["probes=every:2"], quick=True,
                         out=tmp_path / "run")


def test_the_playground_loop_is_probed_and_trains_the_same(probed_run):
    from layerlab.probing.scratch import for_run

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 2)), rng.integers(2, size=40)
    trained = {}
    for probed in (False, True):
        model = pg.playground_net((5, 3), "relu", "random", seed=3)
        probe = for_run(probed_run, "loop", model) if probed else None
        history = pg.train(model, X, y, epochs=3, learning_rate=0.5, batch_size=10,
                           order="shuffled", seed=3, record_every=4, layer_probe=probe)
        trained[probed] = (history, model.params)
    assert trained[True][0] == trained[False][0]
    assert all(np.array_equal(trained[True][1][k], trained[False][1][k])
               for k in trained[False][1])  # read-only: the weights bit for bit
    records = store.read_probes(probed_run.path)["loop"]["records"]
    assert sorted({r["step"] for r in records}) == [2, 4, 6, 8, 10, 12]  # 4 steps an epoch
    assert [r["epoch"] for r in records if r["layer"] == "fc1"] == [1, 1, 2, 2, 3, 3]
    assert {r["layer"] for r in records} == {"fc1", "fc2", "fc3"}


def test_the_short_solver_cells_of_s1_are_probed_and_train_the_same(probed_run):
    rng = np.random.default_rng(1)
    data = {"X_train": rng.standard_normal((30, 4)), "y_train": rng.integers(3, size=30),
            "X_val": rng.standard_normal((10, 4)), "y_val": rng.integers(3, size=10)}
    results = {}
    for name, probe in (("plain", None), ("probed", ...)):
        model = FullyConnectedNet([6], input_dim=4, num_classes=3, dtype=np.float64, seed=0)
        kwargs = {"probe": None} if probe is None else {}
        s = fit(probed_run, name, model, data, update_rule="sgd", batch_size=10,
                num_epochs=2, seed=0, optim_config={"learning_rate": 0.1}, **kwargs)
        results[name] = (s["loss_history"], model.params)
    assert results["plain"][0] == results["probed"][0]
    assert all(np.array_equal(results["plain"][1][k], results["probed"][1][k])
               for k in results["plain"][1])
    found = store.read_probes(probed_run.path)
    assert list(found) == ["probed"]  # probe=None given: no file for that cell
    assert sorted({r["step"] for r in found["probed"]["records"]}) == [2, 4, 6]


# --- the summaries a cell keeps ------------------------------------------------------------


def test_a_summary_keeps_window_means_and_the_histograms_of_the_chosen_steps(probed_run):
    from layerlab.probing.scratch import for_run

    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 2)), rng.integers(2, size=20)
    model = pg.playground_net((4,), "relu", "random", seed=0)
    pg.train(model, X, y, epochs=5, learning_rate=0.3, batch_size=2, order="fixed", seed=0,
             record_every=10, layer_probe=for_run(probed_run, "c", model))  # 50 steps
    records = store.read_probes(probed_run.path)["c"]["records"]
    view = views.summary(probed_run, "c", stats=("grad_norm",), histograms=("act",),
                         at_steps=(11, 50), most=10)
    assert view["layers"] == ["fc1", "fc2"] and view["every"] == 2 and view["window"] == 3
    steps, norms = store.probe_series(records, "grad_norm")["fc1"]  # 25 probed steps
    assert view["steps"] == [steps[min(i + 2, 24)] for i in range(0, 25, 3)]
    assert view["stats"]["grad_norm"][0][0] == pytest.approx(np.mean(norms[:3]), rel=1e-2)
    hist = view["hist"]["act"]
    assert hist["steps"] == [10, 50]  # the probed steps at or before 11 and 50
    by_step = {r["step"]: r["hist"]["act"] for r in records if r["layer"] == "fc2"}
    assert hist["counts"][1] == [by_step[10], by_step[50]]
    off = runner.create("quickstart", quick=True, out=probed_run.path.parent / "off")
    assert views.summary(off, "c", stats=("grad_norm",)) is None  # probes off: no view


# --- the three studies ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dying-relu"])
def test_dying_relu_draws_the_dead_fraction_per_layer_only_with_probes(name, quick_run,
                                                                       tmp_path):
    run, off = quick_run(name)
    on = run_cli(tmp_path / "on", name, PROBES)
    same_study(off, on)
    assert "dead_fraction" not in off["plots"]
    assert cells_without_views(run.path) == cells_without_views(tmp_path / "on")
    plot = on["plots"]["dead_fraction"]
    assert "per batch" in plot["panels"][0]["ylabel"] and "probes" in plot["note"]
    series = plot["panels"][0]["series"]
    assert set(series) == {"sorted, fc1", "sorted, fc2", "shuffled, fc1", "shuffled, fc2"}
    # the mean over the two seeds of the probes' own dead fractions, at epochs = step / 20
    found = store.read_probes(tmp_path / "on")
    sorted_fc2 = [store.probe_series(found[f"dying/rate=1.0,order=sorted,seed={s}"]["records"],
                                     "dead")["fc2"] for s in (0, 1)]
    assert series["sorted, fc2"][0] == [s / 20 for s in sorted_fc2[0][0]]
    assert series["sorted, fc2"][1] == pytest.approx(
        [(a + b) / 2 for a, b in zip(sorted_fc2[0][1], sorted_fc2[1][1], strict=True)],
        rel=1e-2)
    before, after = rebuilt_without_probes(tmp_path / "on", ["dead_fraction"])
    assert before == after


@pytest.mark.parametrize("name", ["batchnorm"])
def test_batchnorm_draws_activation_histograms_with_and_without_normalisation(name, quick_run,
                                                                              tmp_path):
    run, off = quick_run(name)
    on = run_cli(tmp_path / "on", name, PROBES)
    same_study(off, on, timed=("(d) closed-form", "(d) the closed form", "d_backward"))
    # every cell trained the same: loss histories and (d)'s parameters, bit for bit
    off_cells, on_cells = cells_without_views(run.path), cells_without_views(tmp_path / "on")
    off_cells.pop("d_backward_speed"), on_cells.pop("d_backward_speed")  # timings
    assert off_cells == on_cells
    assert "a_activations" not in off["plots"]
    plot = on["plots"]["a_activations"]
    # quick: hidden (20, 20, 20), 2 steps an epoch, 2 epochs; the end of epoch 1 and the last
    assert [p["title"] for p in plot["panels"]] == [f"fc{i}, step {s}" for i in (1, 2, 3)
                                                    for s in (2, 4)]
    assert all(set(p["series"]) == {"baseline", "batchnorm"} for p in plot["panels"])
    shares = plot["panels"][0]["series"]["batchnorm"][1]
    assert sum(v for v in shares if v) == pytest.approx(1, abs=0.02)  # 3-digit shares
    record = next(r for r in store.read_probes(tmp_path / "on")[
        "a_convergence/norm=batchnorm,seed=0"]["records"] if (r["step"], r["layer"]) ==
        (2, "fc1"))
    counts = [c for c in record["hist"]["act"] if c]
    assert [v for v in shares if v] == pytest.approx([c / sum(counts) for c in counts],
                                                     rel=1e-2)
    assert (tmp_path / "on" / "plots" / "a_activations.png").stat().st_size > 0
    before, after = rebuilt_without_probes(tmp_path / "on", ["a_activations"])
    assert before == after


@pytest.mark.parametrize("name", ["vanishing-gradients"])
def test_s5_draws_gradient_norms_per_step_and_update_ratios(name, quick_run, tmp_path):
    pytest.importorskip("torch")
    from layerlab.pytorch import checkpoint

    run, off = quick_run(name)
    on = run_cli(tmp_path / "on", name, PROBES)
    same_study(off, on, clock=s5_clock)
    assert not {"grad_steps", "update_ratio"} & set(off["plots"])
    off_cells = json.loads((run.path / "cells.json").read_text())["runs"]
    for cell in off_cells:  # the saved weights, bit for bit
        weights = [checkpoint.load(d / cell["result"]["weights"]).state_dict()
                   for d in (run.path, tmp_path / "on")]
        assert all(np.array_equal(weights[0][k].numpy(), weights[1][k].numpy())
                   for k in weights[0])
    heat, ratio = on["plots"]["grad_steps"], on["plots"]["update_ratio"]
    assert heat["kind"] == "layers" and heat["log"] is True
    assert [p["title"] for p in heat["panels"]] == [f"{a}, {s}" for a in ("sigmoid", "tanh",
                                                                          "relu")
                                                    for s in ("plain", "deep", "fixed")]
    deep = heat["panels"][1]
    assert deep["layers"] == [f"fc{i}" for i in range(1, 11)]  # 7 + 3 extra layers
    found = store.read_probes(tmp_path / "on")
    steps, norms = store.probe_series(
        found["runs/activation=sigmoid,setting=deep,seed=0"]["records"], "grad_norm")["net.fc1"]
    assert deep["x"] == steps and deep["values"][0] == pytest.approx(norms, rel=1e-2)
    on_cells = json.loads((tmp_path / "on" / "cells.json").read_text())["runs"]
    assert len(found) == 18  # a probe file per cell; a summary for the first seed's only
    assert [c["result"]["seed"] for c in on_cells if "probe_view" in c["result"]] == [0] * 9
    labels = set(ratio["panels"][0]["series"])
    assert labels == {"first layer", "middle layer", "last layer",
                      "reference: rule of thumb 0.001"}
    assert "rule of thumb" in ratio["note"] and "not a goal" in ratio["note"]
    before, after = rebuilt_without_probes(tmp_path / "on", ["grad_steps", "update_ratio"])
    assert before == after
