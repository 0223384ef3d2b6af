import os
import sys

# One BLAS/OpenMP thread in tests and in the processes they start: the matrices here are small,
# and on a 2-core machine shared with other work, two spinning BLAS threads per process make
# tests many times slower, not faster.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Runs made by the tests never write into the repository's test-set ledger (docs/results/).
os.environ["LAYERLAB_LEDGER"] = "off"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)  # in case NumPy was loaded before the variables above were set

TESTS = Path(__file__).parent

# Fixtures that make a real run once per process (session or module scope), by the folder or
# file of tests/ that defines them, and the worker group of the tests that use them. Under
# pytest-xdist (addopts: --dist loadgroup) each worker is a process of its own and would make
# the run again; a group runs in one worker. The studies' quick runs are grouped per study in
# tests/studies/conftest.py.
SHARED_RUNS = {
    ("cli", "quick_run"): "cli-quick-run",
    ("report", "quick_folder"): "report-runs",
    ("report", "published_copy"): "report-runs",
    ("test_notebook_api.py", "made"): "notebook-api-run",
    ("test_compare_rebuild_script.py", "run_dir"): "compare-rebuild-run",
    ("test_fault_injection.py", "straight"): "fault-injection-run",
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(items):
    """Mark each test that uses one of SHARED_RUNS with its xdist_group."""
    for item in items:
        try:
            where = item.path.relative_to(TESTS).parts[0]
        except ValueError:  # a test outside tests/
            continue
        for name in getattr(item, "fixturenames", ()):
            if (where, name) in SHARED_RUNS:
                item.add_marker(pytest.mark.xdist_group(SHARED_RUNS[where, name]))
                break


@pytest.fixture(autouse=True)
def restore_torch_determinism():
    """A run made in-process (layerlab.pytorch.set_seed) turns on PyTorch's deterministic
    algorithms for the whole process: put back what was there before, so that no test depends
    on which tests its process (a pytest-xdist worker) ran before it."""
    torch = sys.modules.get("torch")
    before = ((torch.are_deterministic_algorithms_enabled(),
               torch.is_deterministic_algorithms_warn_only_enabled()) if torch else (False, False))
    yield
    torch = sys.modules.get("torch")  # maybe first imported by the test
    if torch:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def small_cifar():
    """The built-in CIFAR-10 subset as the Solver's dict: float32, mean image removed.

    Rows are ordered by class (image folders are): take random subsets, never the first rows.
    """
    from layerlab.data import load, transforms

    return transforms.solver_data(load("builtin", "train"), load("builtin", "test"), val=200,
                                  seed=0)
