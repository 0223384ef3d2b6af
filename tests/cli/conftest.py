"""The `layerlab` command as a user runs it: a subprocess, its output and exit status."""

import shutil

import pytest
from cli_helpers import layerlab


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """A finished `layerlab run quickstart --quick` (the folder, and what the command said)."""
    folder = tmp_path_factory.mktemp("cli") / "quick"
    done = layerlab("run", "quickstart", "--quick", "--out", folder)
    assert done.returncode == 0, done.stderr
    return folder, done


@pytest.fixture
def run_copy(quick_run, tmp_path):
    """A copy of the quick run that a test may change (report rewrites report.md)."""
    return shutil.copytree(quick_run[0], tmp_path / "copy")
