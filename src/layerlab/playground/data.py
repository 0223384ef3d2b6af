"""The points of a setup: layerlab's toy2d sets, and the playground's own on the same [-6, 6]
canvas (spiral with 3 to 5 arms, OR of the quadrants, and the two regression sets), split into
train and test.

Classification labels are ints 0..K-1; regression targets are floats in [-1, 1].
The regression sets follow the TensorFlow Playground's: `plane` is (x1 + x2) / 10 and
`multigauss` six bumps of sign +-1 (the largest in size wins); noise moves the point at which the
target is read by up to 6 * noise in each direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.data import toy2d

RADIUS = 6.0
BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


@dataclass
class Points:
    """One split's points: X (N, 2) float64, y (N,) int64 labels or float64 targets."""

    X: np.ndarray
    y: np.ndarray


def spiral(n, arms, noise, rng):
    """`arms` interleaved spirals (toy2d's, turned by 2 pi / arms each): X (n, 2), y (n,)."""
    parts, labels = [], []
    for arm in range(arms):
        count = n // arms + (arm < n % arms)
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + 2 * np.pi * arm / arms
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        parts.append(xy + rng.uniform(-1, 1, (count, 2)) * noise)
        labels.append(np.full(count, arm, np.int64))
    return np.concatenate(parts), np.concatenate(labels)


def quadrants_or(n, noise, rng):
    """XOR's layout, labelled 1 unless both coordinates are negative (OR of x1 > 0, x2 > 0)."""
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    shifted = X + rng.uniform(-5, 5, (n, 2)) * noise
    return X, ((shifted[:, 0] > 0) | (shifted[:, 1] > 0)).astype(np.int64)


def _uniform_targets(n, noise, rng, target):
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    shifted = X + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return X, target(shifted)


def plane_target(X):
    """The plane's target: (x1 + x2) / 10, in [-1.2, 1.2] over the canvas, clipped to [-1, 1]."""
    return np.clip((X[:, 0] + X[:, 1]) / 10.0, -1.0, 1.0)


def multigauss_target(X):
    """Of the six bumps (sign * max(0, 1 - distance / 2)), the one largest in size."""
    values = np.stack([sign * np.clip(1 - np.hypot(X[:, 0] - cx, X[:, 1] - cy) / 2, 0, 1)
                       for cx, cy, sign in BUMPS], axis=1)
    pick = np.argmax(np.abs(values), axis=1)
    return values[np.arange(len(X)), pick]


def make(dataset, n, noise, classes, seed):
    """All `n` points of a built-in set, shuffled: X (n, 2), y (n,)."""
    rng = np.random.default_rng(seed)
    if dataset in toy2d.KINDS and not (dataset == "spiral" and classes > 2):
        return toy2d.make(dataset, n, noise, seed)
    if dataset == "spiral":
        X, y = spiral(n, classes, noise, rng)
    elif dataset == "or":
        X, y = quadrants_or(n, noise, rng)
    elif dataset == "plane":
        X, y = _uniform_targets(n, noise, rng, plane_target)
    elif dataset == "multigauss":
        X, y = _uniform_targets(n, noise, rng, multigauss_target)
    else:
        raise ValueError(f"no generator for dataset {dataset!r}")
    order = rng.permutation(n)
    return X[order], y[order]


def split(X, y, train_ratio):
    """(train, test) Points: the first train_ratio percent of the rows, then the rest (each
    split keeps at least one point)."""
    n_train = min(max(round(len(y) * train_ratio / 100), 1), len(y) - 1)
    return Points(X[:n_train], y[:n_train]), Points(X[n_train:], y[n_train:])


def points_for(setup):
    """(train, test) of a built-in dataset as the setup asks (not for 'custom')."""
    X, y = make(setup["dataset"], setup["points"], setup["noise"] / 100, setup["classes"],
                setup["seed"])
    return split(X, y, setup["train_ratio"])


FEATURE_MAPS = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1sq": lambda X: X[:, 0] ** 2,
    "x2sq": lambda X: X[:, 1] ** 2,
    "x1x2": lambda X: X[:, 0] * X[:, 1],
    "sinx1": lambda X: np.sin(X[:, 0]),
    "sinx2": lambda X: np.sin(X[:, 1]),
}


def features(X, names):
    """The net's input: the named feature maps of X (N, 2) as columns (N, len(names))."""
    return np.stack([FEATURE_MAPS[name](X) for name in names], axis=1)
