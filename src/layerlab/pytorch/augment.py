"""Batch augmentations for `fit(transform=...)`, drawn from torch's global generator.

`fit` seeds that generator with its `seed`, so an augmented run is repeatable too.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


def random_shift(max_shift: int = 2):
    """A transform moving each image by its own random (dy, dx) in [-max_shift, max_shift].

    xb (N, C, H, W) -> (N, C, H, W); pixels moved in from outside the image are 0 (the
    background of MNIST-like data after scaling; normalise after shifting otherwise).
    """
    def shift(xb: torch.Tensor) -> torch.Tensor:
        n, c, h, w = xb.shape
        s = max_shift
        padded = F.pad(xb, (s, s, s, s)).reshape(n, c, -1)   # (N, C, (H+2s)(W+2s))
        dy = torch.randint(0, 2 * s + 1, (n,))
        dx = torch.randint(0, 2 * s + 1, (n,))
        # one gather over the flattened padded images (6x faster than advanced indexing of
        # rows and columns on a 128-image MNIST batch, same values): output pixel (r, c) of
        # image i reads padded pixel (r + dy_i, c + dx_i)
        pw = w + 2 * s
        base = (torch.arange(h)[:, None] * pw + torch.arange(w)[None, :]).reshape(1, -1)
        index = (base + (dy * pw + dx)[:, None])[:, None, :].expand(n, c, h * w)
        return padded.gather(2, index).reshape(n, c, h, w)

    return shift


def random_elastic(alpha: float, sigma: float = 4.0):
    """A transform distorting each image by its own smooth random displacement field, the
    elastic distortion of Simard, Steinkraus and Platt (2003): per-pixel displacements drawn
    uniformly in [-1, 1], smoothed by a Gaussian of `sigma` pixels (zeros beyond the border)
    and scaled by `alpha` pixels, then bilinear resampling (zeros moved in).
    (N, C, H, W) -> (N, C, H, W)."""
    if alpha <= 0 or sigma <= 0:
        raise ValueError(f"elastic distortion needs alpha > 0 and sigma > 0 (pixels), not "
                         f"alpha={alpha}, sigma={sigma}")

    @lru_cache(maxsize=8)
    def blur_matrix(size: int, dtype: torch.dtype) -> torch.Tensor:
        # (size, size): row i is the Gaussian centred on pixel i, cut at the border (the
        # zeros beyond it contribute nothing), so B @ f blurs f along one axis
        taps = torch.arange(size, dtype=torch.float64)
        g = torch.exp(-(taps[:, None] - taps[None, :]) ** 2 / (2 * sigma ** 2))
        radius = math.ceil(3 * sigma)
        g = g * ((taps[:, None] - taps[None, :]).abs() <= radius)
        full = torch.exp(-torch.arange(-radius, radius + 1.0) ** 2 / (2 * sigma ** 2)).sum()
        return (g / full).to(dtype)

    @lru_cache(maxsize=8)
    def pixel_centres(h: int, w: int, dtype: torch.dtype):
        # (ys, xs), each (H, W): the pixel centres in grid_sample's [-1, 1] coordinates
        return torch.meshgrid(torch.linspace(-1 + 1 / h, 1 - 1 / h, h, dtype=dtype),
                              torch.linspace(-1 + 1 / w, 1 - 1 / w, w, dtype=dtype),
                              indexing="ij")

    def elastic(xb: torch.Tensor) -> torch.Tensor:
        n, _, h, w = xb.shape
        field = (torch.rand(n, 2, h, w) * 2 - 1).to(xb.dtype)    # (N, [dx, dy], H, W)
        # separable blur as two small products, cheaper than convolving with the taps
        field = blur_matrix(h, xb.dtype) @ field @ blur_matrix(w, xb.dtype).T
        # pixels -> grid_sample's [-1, 1] coordinates (one pixel is 2 / size)
        ys, xs = pixel_centres(h, w, xb.dtype)
        grid = torch.stack([xs + alpha * field[:, 0] * (2 / w),
                            ys + alpha * field[:, 1] * (2 / h)], dim=3)  # (N, H, W, 2)
        return F.grid_sample(xb, grid, align_corners=False, padding_mode="zeros")

    return elastic


def random_affine(degrees: float, scale: float):
    """A transform rotating each image by its own angle in [-degrees, degrees] and scaling it
    by a factor in [1 - scale, 1 + scale] about the centre (bilinear, zeros moved in).
    (N, C, H, W) -> (N, C, H, W)."""
    def affine(xb: torch.Tensor) -> torch.Tensor:
        n = len(xb)
        angle = (torch.rand(n) * 2 - 1) * math.radians(degrees)
        factor = 1 + (torch.rand(n) * 2 - 1) * scale
        cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
        zero = torch.zeros(n)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                             torch.stack([sin, cos, zero], 1)], 1).to(xb.dtype)  # (N, 2, 3)
        grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
        return F.grid_sample(xb, grid, align_corners=False, padding_mode="zeros")

    return affine
