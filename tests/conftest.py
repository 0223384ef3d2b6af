import os

# One BLAS/OpenMP thread in tests and in the processes they start: the matrices here are small,
# and on a 2-core machine shared with other work, two spinning BLAS threads per process make
# tests many times slower, not faster.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Runs made by the tests never write into the repository's test-set ledger (docs/results/).
os.environ["LAYERLAB_LEDGER"] = "off"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)  # in case NumPy was loaded before the variables above were set


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
