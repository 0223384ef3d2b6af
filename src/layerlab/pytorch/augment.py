"""Batch augmentations for `fit(transform=...)`, drawn from torch's global generator.

`fit` seeds that generator with its `seed`, so an augmented run is repeatable too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(max_shift: int = 2):
    """A transform moving each image by its own random (dy, dx) in [-max_shift, max_shift].

    xb (N, C, H, W) -> (N, C, H, W); pixels moved in from outside the image are 0 (the
    background of MNIST-like data after scaling; normalise after shifting otherwise).
    """
    def shift(xb: torch.Tensor) -> torch.Tensor:
        n, _, h, w = xb.shape
        s = max_shift
        padded = F.pad(xb, (s, s, s, s))
        dy = torch.randint(0, 2 * s + 1, (n,))
        dx = torch.randint(0, 2 * s + 1, (n,))
        rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None]   # (N, H, 1)
        cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, :]   # (N, 1, W)
        # advanced indices around a slice: the result is (N, H, W, C)
        out = padded[torch.arange(n)[:, None, None], :, rows, cols]
        return out.permute(0, 3, 1, 2).contiguous()

    return shift
