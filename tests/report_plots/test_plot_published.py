"""Every plot spec of the published reports (docs/results/*/results.json) renders, and
`layerlab report` rebuilds a published report's plots at 150 dpi."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from layerlab.report import plots
from layerlab.report.figure import pyplot, save

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
SPECS = [(path.parent.name, name, spec)
         for path in sorted(RESULTS.glob("*/results.json"))
         for name, spec in json.loads(path.read_text())["plots"].items()]


def test_the_published_reports_have_plots():
    assert len(SPECS) > 50
    assert {"curves", "heatmap", "boundary"} <= {spec["kind"] for _, _, spec in SPECS}


@pytest.mark.parametrize(("study", "name", "spec"), SPECS,
                         ids=[f"{study}/{name}" for study, name, _ in SPECS])
def test_published_plot_renders(tmp_path, study, name, spec):
    fig = plots.draw(spec)  # what plots.render draws, then saves
    assert fig.get_suptitle() == ""  # the report's heading says it
    width, height = fig.get_size_inches()
    image = Image.open(save(pyplot(), fig, tmp_path / f"{name}.png"))
    assert image.size == (pytest.approx(width * 150, abs=1), pytest.approx(height * 150, abs=1))


def test_layerlab_report_rebuilds_published_plots(tmp_path):
    run = tmp_path / "mnist-mlp"
    shutil.copytree(RESULTS / "mnist-mlp", run)
    for png in (run / "plots").glob("*.png"):
        png.unlink()
    env = {**os.environ, "LAYERLAB_LEDGER": "off"}
    done = subprocess.run([sys.executable, "-m", "layerlab", "report", str(run)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    names = json.loads((run / "results.json").read_text())["plots"]
    for name in names:
        image = Image.open(run / "plots" / f"{name}.png")
        assert image.info["dpi"][0] == pytest.approx(150, abs=0.5)
