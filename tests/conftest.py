import numpy as np
import pytest


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
