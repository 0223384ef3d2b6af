"""The PyTorch side without torchvision: whole datasets held as tensors, cut into batches.

Per-sample loading (a Dataset's __getitem__ per image, then collation) is the main cost of
small-image training on a CPU; indexing one tensor with a batch of indices is not. `Batches`
does that. `ArrayDataset` wraps the same arrays for code that wants a torch Dataset.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def to_tensors(X: np.ndarray, y: np.ndarray,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """NumPy X (N, ...) and y (N,) -> tensors X of `dtype` and y int64, on the CPU."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    return torch.as_tensor(X, dtype=dtype), torch.as_tensor(y, dtype=torch.int64)


class Batches:
    """Minibatches (xb, yb) of in-memory tensors; a fresh order every pass over the data.

    X (N, ...), y (N,): tensors or arrays. shuffle: a new permutation each epoch, drawn from a
    generator seeded once with `seed` (so a run is repeatable). drop_last: skip a final batch
    smaller than batch_size. Every example appears once per epoch (no replacement).
    """

    def __init__(self, X, y, batch_size: int, *, shuffle: bool = True, drop_last: bool = False,
                 seed: int = 0):
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = (torch.randperm(n, generator=self.generator) if self.shuffle
                 else torch.arange(n))
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.X[idx], self.y[idx]


class ArrayDataset(torch.utils.data.Dataset):
    """A torch Dataset over in-memory arrays: item i is (X[i], y[i]) as tensors."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return self.X[i], self.y[i]
