"""Normalisation of (N, C, H, W) feature maps.

SpatialBatchNorm: per-channel statistics over N, H and W. It is `BatchNorm` applied to the
(N*H*W, C) matrix whose rows are the pixels, so it keeps BatchNorm's conventions (momentum 0.9
keeps the old running value; running variance unbiased over the N*H*W values, as in PyTorch).

SpatialGroupNorm: per-sample statistics over each group of C // G channels and all their pixels;
the same in train and test mode (no running statistics), like LayerNorm.

gamma and beta have shape (C,) as in PyTorch; (1, C, 1, 1), the course's shape, works too, and
their gradients come back in the shape they were given.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.norm import BatchNorm


def _check_nchw(x, gamma, beta, what):
    if x.ndim != 4:
        raise ValueError(f"{what} needs x of shape (N, C, H, W), got {x.shape}")
    C = x.shape[1]
    for name, p in (("gamma", gamma), ("beta", beta)):
        if np.size(p) != C:
            raise ValueError(f"{what}: {name} must have one entry per channel, (C,) = ({C},), "
                             f"got shape {np.shape(p)}")


def _to_rows(x):
    """(N, C, H, W) -> (N*H*W, C): one row per pixel."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _from_rows(rows, shape):
    """(N*H*W, C) -> (N, C, H, W), the inverse of `_to_rows`."""
    N, C, H, W = shape
    return np.ascontiguousarray(rows.reshape(N, H, W, C).transpose(0, 3, 1, 2))


class SpatialBatchNorm:
    """Batch normalisation per channel of (N, C, H, W) inputs; bn_param as for `BatchNorm`."""

    @staticmethod
    def forward(x, gamma, beta, bn_param):
        """
        Args:
            x: (N, C, H, W); gamma, beta: (C,); bn_param: mode, eps, momentum, running_mean,
                running_var (see `BatchNorm`).
        Returns:
            out: (N, C, H, W), cache.
        """
        _check_nchw(x, gamma, beta, "SpatialBatchNorm")
        out, cache = BatchNorm.forward(_to_rows(x), np.ravel(gamma), np.ravel(beta), bn_param)
        return _from_rows(out, x.shape), (cache, x.shape, np.shape(gamma))

    @staticmethod
    def backward(dout, cache):
        """Step-by-step backward (`BatchNorm.backward`).

        Args:
            dout: (N, C, H, W).
        Returns:
            dx: (N, C, H, W), dgamma, dbeta: shaped like gamma and beta.
        """
        return SpatialBatchNorm._backward(BatchNorm.backward, dout, cache)

    @staticmethod
    def backward_alt(dout, cache):
        """Closed-form backward (`BatchNorm.backward_alt`); inputs and outputs as `backward`."""
        return SpatialBatchNorm._backward(BatchNorm.backward_alt, dout, cache)

    @staticmethod
    def _backward(backward, dout, cache):
        bn_cache, shape, gamma_shape = cache
        dx, dgamma, dbeta = backward(_to_rows(dout), bn_cache)
        return _from_rows(dx, shape), dgamma.reshape(gamma_shape), dbeta.reshape(gamma_shape)


class SpatialGroupNorm:
    """Group normalisation: channels split into G groups, statistics per sample and group."""

    @staticmethod
    def forward(x, gamma, beta, G, gn_param=None):
        """
        Args:
            x: (N, C, H, W); gamma, beta: (C,); G: number of groups, a divisor of C;
            gn_param: optional dict with eps (1e-5); other keys (e.g. 'mode') are ignored.
        Returns:
            out: (N, C, H, W), cache.
        """
        _check_nchw(x, gamma, beta, "SpatialGroupNorm")
        N, C, H, W = x.shape
        if not isinstance(G, int | np.integer) or G < 1 or C % G:
            raise ValueError(f"SpatialGroupNorm: G={G!r} groups must divide the {C} channels "
                             f"of x {x.shape}; choose G among "
                             f"{[g for g in range(1, C + 1) if C % g == 0]}")
        eps = (gn_param or {}).get("eps", 1e-5)
        xg = x.reshape(N, G, -1)  # one row per (sample, group)
        xc = xg - xg.mean(axis=2, keepdims=True)
        istd = 1 / np.sqrt((xc * xc).mean(axis=2, keepdims=True) + eps)
        xhat = (xc * istd).reshape(x.shape)
        g, b = np.reshape(gamma, (1, C, 1, 1)), np.reshape(beta, (1, C, 1, 1))
        return g * xhat + b, (xhat, g, istd, G, np.shape(gamma))

    @staticmethod
    def backward(dout, cache):
        """
        Args:
            dout: (N, C, H, W).
        Returns:
            dx: (N, C, H, W), dgamma, dbeta: shaped like gamma and beta.
        """
        xhat, g, istd, G, gamma_shape = cache
        N = dout.shape[0]
        dbeta = dout.sum(axis=(0, 2, 3)).reshape(gamma_shape)
        dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gamma_shape)
        dxhat = (dout * g).reshape(N, G, -1)
        xh = xhat.reshape(N, G, -1)
        M = xh.shape[2]
        # the batchnorm closed form, over the M values of one (sample, group) row
        dx = (istd / M) * (M * dxhat - dxhat.sum(axis=2, keepdims=True)
                           - xh * (dxhat * xh).sum(axis=2, keepdims=True))
        return dx.reshape(dout.shape), dgamma, dbeta
