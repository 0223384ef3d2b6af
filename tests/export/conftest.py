"""One quick run with probes, made once per test process by the real CLI, for the export
tests; and the same run without its probes."""

import shutil

import pytest
from export_helpers import layerlab


@pytest.fixture(scope="session")
def probed_run_dir(tmp_path_factory):
    """A finished `layerlab run quickstart --quick --set probes=every:5`."""
    folder = tmp_path_factory.mktemp("export") / "probed"
    done = layerlab("run", "quickstart", "--quick", "--set", "probes=every:5", "--out", folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="session")
def quick_run_dir(probed_run_dir, tmp_path_factory):
    """The same run as a run made without probes: no probes/ folder."""
    folder = tmp_path_factory.mktemp("export") / "quick"
    shutil.copytree(probed_run_dir, folder, ignore=shutil.ignore_patterns("probes"))
    return folder


@pytest.fixture
def run_copy(quick_run_dir, tmp_path):
    """A copy of the run without probes that a test may add to."""
    return shutil.copytree(quick_run_dir, tmp_path / "run")
