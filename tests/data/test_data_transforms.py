"""Scaling, normalising, splitting and the scratch Solver's dict."""

import numpy as np
import pytest

from layerlab.data import load, transforms
from layerlab.data.errors import DataError


@pytest.fixture(scope="module")
def builtin():
    return load("builtin", "train"), load("builtin", "test")


def test_to_float_scales_uint8_to_unit_range(rng):
    images = rng.integers(0, 256, (4, 3, 2, 2), dtype=np.uint8)
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0, 255
    x = transforms.to_float(images)
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    assert np.allclose(x * 255, images)
    assert transforms.to_float(images, np.float64, scale=False).max() == 255.0


def test_channel_stats_and_normalise(rng):
    X = rng.normal(0, 1, (50, 3, 4, 4)) * np.array([1, 2, 3])[:, None, None] + np.array(
        [5, -1, 0])[:, None, None]
    mean, std = transforms.channel_stats(X)
    assert mean.shape == std.shape == (3,)
    assert np.allclose(mean, [X[:, c].mean() for c in range(3)])
    Z = transforms.normalise(X, mean, std)
    assert np.allclose(Z.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert np.allclose(Z.std(axis=(0, 2, 3)), 1)
    assert np.allclose(transforms.normalise(X, 0.5, 0.5), (X - 0.5) / 0.5)
    with pytest.raises(DataError, match="std 0"):
        transforms.normalise(X, mean, [1, 0, 1])


def test_mean_image_and_flatten(rng):
    X = rng.normal(size=(6, 3, 4, 5))
    assert transforms.mean_image(X).shape == (3, 4, 5)
    assert np.allclose((X - transforms.mean_image(X)).mean(axis=0), 0)
    assert transforms.flatten(X).shape == (6, 60)
    assert np.array_equal(transforms.flatten(X)[2], X[2].ravel())


def test_split_indices_is_a_seeded_partition():
    tr, va = transforms.split_indices(100, 0.1, seed=3)
    assert len(va) == 10 and len(tr) == 90
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(100))
    tr2, va2 = transforms.split_indices(100, 0.1, seed=3)
    assert np.array_equal(va, va2) and np.array_equal(tr, tr2)
    assert not np.array_equal(va, transforms.split_indices(100, 0.1, seed=4)[1])
    assert len(transforms.split_indices(50_000, 1000)[1]) == 1000
    with pytest.raises(DataError):
        transforms.split_indices(10, 11)
    with pytest.raises(DataError):
        transforms.split_indices(10, 1.5)


def test_balanced_subset(rng):
    labels = np.repeat(np.arange(4), [10, 20, 5, 7])
    idx = transforms.balanced_subset(labels, 5, seed=1)
    assert np.bincount(labels[idx]).tolist() == [5, 5, 5, 5]
    assert len(np.unique(idx)) == 20
    assert not np.array_equal(idx, transforms.balanced_subset(labels, 5, seed=2))
    with pytest.raises(DataError, match="class 2 has 5 examples, fewer than 6"):
        transforms.balanced_subset(labels, 6)


def test_solver_data_dict(builtin):
    train, test = builtin
    data = transforms.solver_data(train, test, val=200, seed=0)
    assert set(data) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}
    assert data["X_train"].shape == (1800, 3, 32, 32) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (200, 3, 32, 32) and data["X_test"].shape == (500, 3, 32, 32)
    assert data["y_train"].dtype == np.int64
    # val is a random draw, so (though rows are ordered by class) it holds every class
    assert len(np.unique(data["y_val"])) == 10
    # mean image of the training part removed
    assert np.allclose(data["X_train"].mean(axis=0), 0, atol=1e-5)
    assert not np.allclose(data["X_val"].mean(axis=0), 0, atol=1e-3)
    # rows are the real images: undo the centring for one training row and compare
    tr_idx, _ = transforms.split_indices(len(train), 200, 0)
    mean = transforms.mean_image(transforms.to_float(train.images[tr_idx]))
    assert np.allclose((data["X_train"][0] + mean) * 255, train.images[tr_idx[0]], atol=1e-3)


def test_solver_data_options(builtin):
    train, _ = builtin
    data = transforms.solver_data(train, val=0.1, num_train=300, center="channel", flat=True)
    assert "X_test" not in data
    assert data["X_train"].shape == (300, 3072) and data["X_val"].shape == (200, 3072)
    chans = data["X_train"].reshape(300, 3, -1)
    assert np.allclose(chans.mean(axis=(0, 2)), 0, atol=1e-5)
    assert np.allclose(chans.std(axis=(0, 2)), 1, atol=1e-4)
    raw = transforms.solver_data(train, val=10, center=None)
    assert raw["X_train"].min() >= 0 and raw["X_train"].max() <= 1
    with pytest.raises(DataError, match="center must be"):
        transforms.solver_data(train, center="pca")
    with pytest.raises(DataError, match="num_train"):
        transforms.solver_data(train, val=100, num_train=5000)
