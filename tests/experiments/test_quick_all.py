"""Every registered experiment's --quick version runs to a finished report."""

import json

import pytest

from layerlab.experiments import registry

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
