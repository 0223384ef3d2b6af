"""Fixtures for the PyTorch tests: one torch thread, a small real MNIST subset."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # small models: threads cost more than they give, and CI shares cores


@pytest.fixture(scope="session")
def mnist_small():
    """1,000 random images of the built-in MNIST subset split 500 train / 500 val, and its 500
    test images. X float32 (N, 1, 28, 28) in [0, 1], y int64.
    """
    from layerlab.data import load, transforms
    from layerlab.pytorch import as_tensors

    train, test = load("mnist-mini", "train"), load("mnist-mini", "test")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(train), 1000, replace=False)
    tidx = rng.choice(len(test), 500, replace=False)
    X, Xt = transforms.to_float(train.images[idx]), transforms.to_float(test.images[tidx])
    y, yt = train.labels[idx], test.labels[tidx]
    return as_tensors({"X_train": X[:500], "y_train": y[:500], "X_val": X[500:],
                       "y_val": y[500:], "X_test": Xt, "y_test": yt})
