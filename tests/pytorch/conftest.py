"""Fixtures for the PyTorch tests: one torch thread, a small real MNIST subset."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # small models: threads cost more than they give, and CI shares cores


@pytest.fixture(scope="session")
def mnist_small():
    """1,000 random MNIST training images split 500 train / 500 val, and 500 test images.

    X float32 (N, 1, 28, 28) in [0, 1], y int64. Skips without the MNIST files (fails under
    CI, which is set up to have them).
    """
    from layerlab.data import load, transforms
    from layerlab.data.errors import DataNotFoundError
    from layerlab.pytorch import as_tensors

    try:
        train, test = load("mnist", "train"), load("mnist", "test")
    except DataNotFoundError as err:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must provide MNIST (see .ci/run):\n{err}")
        pytest.skip("MNIST is not on this machine; `layerlab data fetch mnist` gets it")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(train), 1000, replace=False)
    tidx = rng.choice(len(test), 500, replace=False)
    X, Xt = transforms.to_float(train.images[idx]), transforms.to_float(test.images[tidx])
    y, yt = train.labels[idx], test.labels[tidx]
    return as_tensors({"X_train": X[:500], "y_train": y[:500], "X_val": X[500:],
                       "y_val": y[500:], "X_test": Xt, "y_test": yt})


@pytest.fixture(autouse=True)
def restore_determinism():
    """set_seed turns on deterministic algorithms process-wide: undo it for other tests."""
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)
