"""2-D toy datasets made the way the TensorFlow Playground makes them.

Four kinds, each on the playground's [-6, 6]^2 canvas with labels +1 / -1 (here 1 / 0):

- circle: +1 inside radius 2.5, -1 on a ring of radius 3.5..5. Noise flips labels near the
  boundary: the label is decided on the point plus a uniform offset of up to 5*noise, the point
  itself is stored without it (as the playground does).
- xor: uniform in the four quadrants (kept 0.3 away from the axes); +1 when x*y >= 0, decided
  on the point plus a uniform offset of up to 5*noise.
- gauss: two Gaussians at (2, 2) (+1) and (-2, -2) (-1); variance grows from 0.5 to 4 as noise
  goes from 0 to 0.5.
- spiral: two interleaved spirals, the points moved by a uniform offset of up to noise.

`noise` is the playground's slider divided by 100 (0 to 0.5). Half of the points are +1 for
circle, gauss and spiral; xor's share follows the quadrants.
"""

from __future__ import annotations

import numpy as np

from layerlab.data.dataset import PointSet
from layerlab.data.errors import DataError

KINDS = ("circle", "xor", "gauss", "spiral")
CLASSES = ("negative (-1)", "positive (+1)")


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    half = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, half),
                        rng.uniform(radius * 0.7, radius, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shifted = X + rng.uniform(-radius, radius, (n, 2)) * noise
    y = (np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5).astype(np.int64)
    return X, y


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    shifted = X + rng.uniform(-5, 5, (n, 2)) * noise
    y = (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)
    return X, y


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    half = n // 2
    pos = rng.normal(2.0, np.sqrt(variance), (half, 2))
    neg = rng.normal(-2.0, np.sqrt(variance), (n - half, 2))
    y = np.concatenate([np.ones(half, np.int64), np.zeros(n - half, np.int64)])
    return np.concatenate([pos, neg]), y


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    parts, labels = [], []
    for count, delta, label in ((n // 2, 0.0, 1), (n - n // 2, np.pi, 0)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + delta
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        parts.append(xy + rng.uniform(-1, 1, (count, 2)) * noise)
        labels.append(np.full(count, label, np.int64))
    return np.concatenate(parts), np.concatenate(labels)


GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}


def make(kind: str, n: int = 500, noise: float = 0.0,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All `n` points of one kind, shuffled: X float64 (n, 2), y int64 (n,) in {0, 1}."""
    if kind not in GENERATORS:
        raise DataError(f"unknown toy2d kind {kind!r}; kinds: {', '.join(KINDS)}")
    if n < 2 or noise < 0:
        raise DataError(f"toy2d needs n >= 2 and noise >= 0 (got n={n}, noise={noise})")
    rng = np.random.default_rng(seed)
    X, y = GENERATORS[kind](n, noise, rng)
    order = rng.permutation(n)
    return X[order], y[order]


def load(name: str, split: str = "train", *, n: int = 500, noise: float = 0.0, seed: int = 0,
         test_fraction: float = 0.5, order_by_label: bool = False) -> PointSet:
    """One split of `toy2d:KIND`: X float64 (N, 2), y int64 (N,).

    The `n` points are made and shuffled with `seed`, then the first (1 - test_fraction) of
    them are "train" and the rest "test" (the playground's default split is 50%), so the two
    splits of one setting never overlap. order_by_label=True sorts the split so that every
    negative (0) comes before any positive (1), keeping the shuffled order within each label.
    """
    kind = name.partition(":")[2]
    if not kind:
        raise DataError(f"say which toy2d set: {', '.join('toy2d:' + k for k in KINDS)}")
    if split not in ("train", "test"):
        raise DataError(f"toy2d splits are 'train' and 'test', not {split!r}")
    if not 0 <= test_fraction < 1:
        raise DataError(f"test_fraction must be in [0, 1), got {test_fraction}")
    X, y = make(kind, n, noise, seed)
    n_train = round(n * (1 - test_fraction))
    part = slice(0, n_train) if split == "train" else slice(n_train, n)
    X, y = X[part], y[part]
    if order_by_label:
        order = np.argsort(y, kind="stable")
        X, y = X[order], y[order]
    params = {"n": n, "noise": noise, "seed": seed, "test_fraction": test_fraction,
              "order_by_label": order_by_label}
    return PointSet(name=f"toy2d:{kind}", split=split, X=X, y=y, classes=CLASSES,
                    source="generated like the TensorFlow Playground", params=params)
