"""toy2d: the playground's four sets, splits, noise and ordering by label."""

import numpy as np
import pytest

from layerlab.data import PointSet, load, toy2d
from layerlab.data.errors import DataError


@pytest.mark.parametrize("kind", toy2d.KINDS)
def test_shapes_types_and_repeatability(kind):
    a = load(f"toy2d:{kind}", n=200, seed=1)
    assert isinstance(a, PointSet)
    assert a.X.shape == (100, 2) and a.X.dtype == np.float64 and a.y.dtype == np.int64
    assert set(np.unique(a.y)) == {0, 1}
    b = load(f"toy2d:{kind}", n=200, seed=1)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, load(f"toy2d:{kind}", n=200, seed=2).X)


def test_train_and_test_split_one_set_without_overlap():
    X, y = toy2d.make("spiral", 300, 0.1, seed=5)
    tr = load("toy2d:spiral", "train", n=300, noise=0.1, seed=5, test_fraction=0.2)
    te = load("toy2d:spiral", "test", n=300, noise=0.1, seed=5, test_fraction=0.2)
    assert (len(tr), len(te)) == (240, 60)
    assert np.array_equal(np.concatenate([tr.X, te.X]), X)
    assert np.array_equal(np.concatenate([tr.y, te.y]), y)


def test_noiseless_labels_follow_the_playground_rules():
    X, y = toy2d.make("circle", 400)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.array_equal(y, (r < 2.5).astype(int)) and r.max() <= 5
    assert not np.any((r > 2.5) & (r < 3.5))  # the gap between disc and ring
    X, y = toy2d.make("xor", 400)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    assert np.abs(X).min() >= 0.3
    X, y = toy2d.make("gauss", 2000)
    assert np.allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.15)
    assert np.allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.15)
    assert np.allclose(X[y == 1].var(axis=0), 0.5, atol=0.1)
    X, y = toy2d.make("spiral", 400)
    assert np.bincount(y).tolist() == [200, 200]
    # without noise the negative spiral is the positive one turned by 180 degrees
    def rows(a):
        return a[np.lexsort(np.round(a, 9).T)]
    assert np.allclose(rows(-X[y == 1]), rows(X[y == 0]))
    assert np.hypot(X[:, 0], X[:, 1]).max() < 5


def test_noise_flips_circle_labels_and_widens_gaussians():
    X, y = toy2d.make("circle", 2000, noise=0.5, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    flipped = np.mean(y != (r < 2.5))
    assert 0.05 < flipped < 0.5
    X, y = toy2d.make("gauss", 4000, noise=0.5)
    assert np.allclose(X[y == 1].var(axis=0), 4.0, rtol=0.15)


def test_order_by_label_puts_every_negative_first():
    ds = load("toy2d:circle", n=1000, test_fraction=0.0, order_by_label=True)
    assert len(ds) == 1000 and ds.counts().tolist() == [500, 500]
    assert np.array_equal(ds.y, np.repeat([0, 1], 500))
    assert np.array_equal(ds.y_signed, np.repeat([-1, 1], 500))
    plain = load("toy2d:circle", n=1000, test_fraction=0.0)
    assert not np.array_equal(plain.y, ds.y)  # shuffled by default
    # same points, only reordered (stable within each label)
    assert np.array_equal(ds.X[ds.y == 1], plain.X[plain.y == 1])


def test_bad_toy2d_arguments():
    with pytest.raises(DataError, match="toy2d:circle, toy2d:xor"):
        load("toy2d")
    with pytest.raises(DataError, match="unknown toy2d kind 'moons'"):
        load("toy2d:moons")
    with pytest.raises(DataError, match="test_fraction"):
        load("toy2d:xor", test_fraction=1.0)
    with pytest.raises(DataError, match="splits are 'train' and 'test'"):
        load("toy2d:xor", "val")
