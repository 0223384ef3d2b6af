"""Every registered experiment's --quick version runs to a finished report."""

import json

import pytest

from layerlab.lab import registry
from layerlab.lab.publish import publish
from layerlab.lab.runner import rebuild

NAMES = sorted(registry.all_experiments())


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_finishes_with_a_report(name, quick_run):
    run, _ = quick_run(name)
    status = json.loads((run.path / "status.json").read_text())
    assert status["state"] == "finished"
    results = json.loads((run.path / "results.json").read_text())
    assert results["claims"] or results["tables"], "a report with nothing to show"
    for claim in results["claims"].values():
        assert claim["verdict"] in ("reproduced", "beaten", "not reproduced", "measured")
        assert claim["reason"]
    report = (run.path / "report.md").read_text()
    assert "Quick run" in report
    for plot in results["plots"]:
        assert (run.path / "plots" / f"{plot}.png").stat().st_size > 1000


# measured outside their grids' cells (timings, the tuning grid's start), so not yet stored
NOT_YET_REPLAYABLE = {"conv-speed", "open-model"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    strict=True, reason="measures outside its cells")) if n in NOT_YET_REPLAYABLE else n
                                  for n in NAMES])
def test_published_quick_run_rebuilds_the_same_results_from_its_cells(name, quick_run,
                                                                        tmp_path):
    """What `layerlab publish` keeps is enough to judge the run again without training: the
    study's analysis, replayed on cells.json, writes the same claims, tables, plots and notes."""
    run, results = quick_run(name)
    copy = publish(run.path, dest=tmp_path / name, allow_quick=True)
    (copy / "results.json").unlink()
    rebuild(copy)
    rebuilt = json.loads((copy / "results.json").read_text())
    for section in ("claims", "tables", "plots", "notes", "datasets"):
        assert rebuilt[section] == results[section], section
