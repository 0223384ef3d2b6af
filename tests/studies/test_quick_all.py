"""Every registered experiment's --quick version runs to a finished report."""

import dataclasses
import json

import pytest

from layerlab.analysis.verdict import VERDICTS
from layerlab.data.registry import BUILTIN_NAMES, get
from layerlab.lab import registry
from layerlab.lab.publish import publish
from layerlab.lab.runner import rebuild
from layerlab.runfiles import empty_results

NAMES = sorted(registry.all_experiments())


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_finishes_with_a_report(name, quick_run):
    run, _ = quick_run(name)
    status = json.loads((run.path / "status.json").read_text())
    assert status["state"] == "finished"
    results = json.loads((run.path / "results.json").read_text())
    assert results["claims"] or results["tables"], "a report with nothing to show"
    for claim in results["claims"].values():
        assert claim["verdict"] in VERDICTS or claim["verdict"] == "not reproduced"  # older rule
        assert claim["reason"]
    report = (run.path / "report.md").read_text()
    assert "Quick run" in report
    for plot in results["plots"]:
        assert (run.path / "plots" / f"{plot}.png").stat().st_size > 1000


# measured outside their grids' cells (timings, the tuning grid's start), so not yet stored
NOT_YET_REPLAYABLE = set()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    strict=True, reason="measures outside its cells")) if n in NOT_YET_REPLAYABLE else n
                                  for n in NAMES])
def test_published_quick_run_rebuilds_the_same_results_from_its_cells(name, quick_run,
                                                                        tmp_path):
    """What `layerlab publish` keeps is enough to judge the run again without training: the
    study's analysis, replayed on cells.json, writes the same claims, tables, plots and notes."""
    run, results = quick_run(name)
    copy = publish(run.path, dest=tmp_path / name, allow_quick=True)
    # only what was read (the datasets) is kept from the old results: replay keeps it, so a
    # rebuild needs no dataset; every claim, table, plot and note must come from the cells
    stale = {**empty_results(), "datasets": results["datasets"]}
    (copy / "results.json").write_text(json.dumps(stale))
    rebuild(copy)
    rebuilt = json.loads((copy / "results.json").read_text())
    for section in ("claims", "tables", "plots", "notes", "datasets"):
        assert rebuilt[section] == results[section], section


def test_quick_runs_train_on_built_in_subsets_and_full_runs_never_do():
    """A quick run is the same on every machine (it reads only data shipped in the package);
    a full run names the full dataset, so without it the run stops with the not-found message
    instead of silently training on a subset."""
    checked = 0
    for name, exp in registry.all_experiments().items():
        full = dataclasses.asdict(exp.config()).get("dataset")
        if full is None or full in ("circle", "xor", "gauss", "spiral"):  # toy2d: generated
            continue
        if name == "quickstart":  # the README's main job: built-in data by design
            assert full == "builtin"
            continue
        quick = exp.quick.get("dataset")
        assert full not in BUILTIN_NAMES, f"{name}: its full run trains on {full}"
        assert quick in BUILTIN_NAMES, f"{name}: its quick run reads {quick or full}"
        assert get(quick).subset_of == full, f"{name}: {quick} is not a subset of {full}"
        checked += 1
    assert checked >= 15
