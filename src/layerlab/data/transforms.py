"""From uint8 images to training arrays: scale, normalise, flatten, split, subset.

All functions are pure (they return new arrays) and take images as (N, C, H, W). Statistics
(mean image, channel mean/std) are computed on the training part only and then applied to
validation and test, so nothing about held-out data leaks into training.
"""

from __future__ import annotations

import numpy as np

from layerlab.data.dataset import Dataset
from layerlab.data.errors import DataError


def to_float(images: np.ndarray, dtype=np.float32, scale: bool = True) -> np.ndarray:
    """uint8 (N, C, H, W) -> float (N, C, H, W), divided by 255 when `scale` (values in [0, 1])."""
    out = images.astype(dtype)
    if scale:
        out /= 255
    return out


def channel_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (N, C, H, W) data over N, H, W: two arrays of shape (C,)."""
    return X.mean(axis=(0, 2, 3)), X.std(axis=(0, 2, 3))


def normalise(X: np.ndarray, mean, std) -> np.ndarray:
    """(X - mean) / std per channel. X (N, C, H, W); mean, std scalars or shape (C,)."""
    mean = np.asarray(mean, dtype=X.dtype).reshape(-1, 1, 1)
    std = np.asarray(std, dtype=X.dtype).reshape(-1, 1, 1)
    if np.any(std == 0):
        raise DataError("normalise: a channel has std 0; pass std explicitly")
    return (X - mean) / std


def mean_image(X: np.ndarray) -> np.ndarray:
    """Mean over the examples of (N, C, H, W) data: shape (C, H, W)."""
    return X.mean(axis=0)


def flatten(X: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or any (N, ...) -> (N, D) with D the product of the other sizes."""
    return X.reshape(len(X), -1)


def split_indices(n: int, val: int | float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic random split of range(n): (train indices, val indices), each sorted.

    val: a count (int, e.g. 1000 for CIFAR-10's 49,000/1,000) or a fraction (float in (0, 1),
    e.g. 0.1 for 90/10). The same n, val and seed always give the same split.
    """
    count = round(n * val) if isinstance(val, float) else int(val)
    if isinstance(val, float) and not 0 < val < 1:
        raise DataError(f"val fraction must be in (0, 1), got {val}")
    if not 0 <= count <= n:
        raise DataError(f"cannot hold out {count} of {n} examples")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[count:]), np.sort(order[:count])


def balanced_subset(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of `per_class` examples of every class, chosen at random with `seed`.

    labels: int (N,). Raises DataError when a class has fewer than `per_class` examples.
    """
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise DataError(f"class {c} has {len(idx)} examples, fewer than {per_class}")
        picked.append(rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def solver_data(train: Dataset, test: Dataset | None = None, *, val: int | float = 1000,
                num_train: int | None = None, seed: int = 0, dtype=np.float32,
                center: str | None = "mean_image", flat: bool = False) -> dict[str, np.ndarray]:
    """The dict the scratch Solver takes: X_train, y_train, X_val, y_val (, X_test, y_test).

    Pixels are scaled to [0, 1]. The validation examples are a seeded random draw from `train`
    (`val`: count or fraction; never the last rows, since image-folder datasets are ordered by
    class). num_train keeps only that many of the remaining training examples (a seeded random
    choice). center: "mean_image" subtracts the training mean image (as in CS231n), "channel"
    normalises each channel with the training mean and std, None leaves [0, 1].
    flat=True flattens to (N, C*H*W). X arrays are `dtype`, y arrays int64 (N,).
    """
    tr_idx, val_idx = split_indices(len(train), val, seed)
    if num_train is not None:
        if num_train > len(tr_idx):
            raise DataError(f"num_train={num_train} but only {len(tr_idx)} training examples")
        rng = np.random.default_rng(seed + 1)
        tr_idx = np.sort(rng.choice(tr_idx, num_train, replace=False))
    parts = {"train": (train.images[tr_idx], train.labels[tr_idx]),
             "val": (train.images[val_idx], train.labels[val_idx])}
    if test is not None:
        parts["test"] = (test.images, test.labels)
    X = {k: to_float(v[0], dtype) for k, v in parts.items()}
    if center == "mean_image":
        m = mean_image(X["train"])
        X = {k: x - m for k, x in X.items()}
    elif center == "channel":
        mean, std = channel_stats(X["train"])
        X = {k: normalise(x, mean, std) for k, x in X.items()}
    elif center is not None:
        raise DataError(f"center must be 'mean_image', 'channel' or None, not {center!r}")
    out: dict[str, np.ndarray] = {}
    for k, (_, y) in parts.items():
        out[f"X_{k}"] = flatten(X[k]) if flat else X[k]
        out[f"y_{k}"] = y
    return out
