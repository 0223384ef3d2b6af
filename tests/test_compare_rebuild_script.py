"""scripts/compare_rebuild.py: a run rebuilt from its cells has its own figures, and a figure
that differs is found and named."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_rebuild.py"


def compare(*folders):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, folders)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rebuild") / "run"
    made = subprocess.run([sys.executable, "-m", "layerlab", "run", "quickstart", "--quick",
                           "--set", "epochs=2", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    return out


def test_a_run_rebuilds_to_its_own_figures(run_dir):
    done = compare(run_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"rebuilds": {str(run_dir): "same"}}


def test_a_changed_figure_is_named(run_dir, tmp_path):
    altered = tmp_path / "altered"
    subprocess.run(["cp", "-r", str(run_dir), str(altered)], check=True)
    results = json.loads((altered / "results.json").read_text())
    name = next(iter(results["claims"]))
    results["claims"][name]["ours"] = 12.5
    (altered / "results.json").write_text(json.dumps(results))
    done = compare(altered)
    assert done.returncode == 1
    assert f"claim {name!r} ours: 12.5 ->" in done.stdout


def test_a_folder_without_cells_is_said_so(run_dir, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run(["cp", "-r", str(run_dir), str(bare)], check=True)
    (bare / "cells.json").unlink()
    done = compare(bare)
    assert done.returncode == 0 and "no cells.json" in done.stdout
