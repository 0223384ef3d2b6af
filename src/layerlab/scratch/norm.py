"""Batch normalisation and layer normalisation.

Conventions (they differ between course material and PyTorch, so they are stated here):
- `momentum` keeps the course meaning: running = momentum * running + (1 - momentum) * batch,
  default 0.9. PyTorch's `momentum` is the other weight: torch_momentum = 1 - momentum.
- Normalisation uses the biased batch variance (divide by N), as PyTorch does; the running
  variance is updated with the unbiased one (divide by N - 1), also as PyTorch does, so our
  running statistics equal `torch.nn.functional.batch_norm`'s.
- Running mean starts at 0 and running variance at 1 (PyTorch's start).
"""

from __future__ import annotations

import numpy as np


def _check_mode(param):
    mode = param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"norm param 'mode' must be 'train' or 'test', got {mode!r}")
    return mode


class BatchNorm:
    """Batch normalisation over the batch axis of (N, D) inputs.

    bn_param keys: mode ('train'/'test', required), eps (1e-5), momentum (0.9),
    running_mean (D,), running_var (D,) (created on the first call and updated in place).
    """

    @staticmethod
    def forward(x, gamma, beta, bn_param):
        """
        Args:
            x: (N, D); gamma, beta: (D,).
        Returns:
            out: (N, D), cache.
        """
        mode = _check_mode(bn_param)
        eps = bn_param.setdefault("eps", 1e-5)
        momentum = bn_param.setdefault("momentum", 0.9)
        N, D = x.shape
        running_mean = bn_param.setdefault("running_mean", np.zeros(D, dtype=x.dtype))
        running_var = bn_param.setdefault("running_var", np.ones(D, dtype=x.dtype))
        if mode == "test":
            std = np.sqrt(running_var + eps)
            xhat = (x - running_mean) / std
            return gamma * xhat + beta, ("test", xhat, gamma, std)
        if N < 2:
            raise ValueError("batchnorm in train mode needs at least 2 samples per batch")
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        istd = 1 / std
        xhat = xc * istd
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var * (N / (N - 1))
        return gamma * xhat + beta, ("train", xhat, gamma, std, xc, istd)

    @staticmethod
    def backward(dout, cache):
        """Backward pass step by step through the computation graph of `forward`.

        Args:
            dout: (N, D).
        Returns:
            dx: (N, D), dgamma: (D,), dbeta: (D,).
        """
        if cache[0] == "test":
            return BatchNorm._backward_test(dout, cache)
        _, xhat, gamma, std, xc, istd = cache
        N = dout.shape[0]
        dbeta = dout.sum(axis=0)  # out = gamma * xhat + beta
        dgamma = (dout * xhat).sum(axis=0)
        dxhat = dout * gamma
        dxc = dxhat * istd  # xhat = xc * istd: the xc branch...
        distd = (dxhat * xc).sum(axis=0)  # ...and the istd branch
        dstd = -distd / (std * std)  # istd = 1 / std
        dvar = dstd / (2 * std)  # std = sqrt(var + eps)
        dxc += 2 * xc * dvar / N  # var = mean(xc ** 2)
        dmu = -dxc.sum(axis=0)  # xc = x - mu
        dx = dxc + dmu / N  # mu = mean(x)
        return dx, dgamma, dbeta

    @staticmethod
    def backward_alt(dout, cache):
        """Backward pass in the simplified closed form:

            dx = gamma / (N * std) * (N * dout - sum(dout) - xhat * sum(dout * xhat))

        Same inputs and outputs as `backward`.
        """
        if cache[0] == "test":
            return BatchNorm._backward_test(dout, cache)
        _, xhat, gamma, std, _, istd = cache
        N = dout.shape[0]
        dbeta = dout.sum(axis=0)
        dgamma = (dout * xhat).sum(axis=0)
        dx = (gamma * istd / N) * (N * dout - dbeta - xhat * dgamma)
        return dx, dgamma, dbeta

    @staticmethod
    def _backward_test(dout, cache):
        # In test mode the statistics are constants, so the layer is affine in x.
        _, xhat, gamma, std = cache
        return dout * gamma / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


class LayerNorm:
    """Layer normalisation: per-sample statistics over the feature axis, the same in both modes.

    ln_param keys: eps (1e-5). A `mode` key is accepted and ignored.
    """

    @staticmethod
    def forward(x, gamma, beta, ln_param=None):
        """
        Args:
            x: (N, D); gamma, beta: (D,).
        Returns:
            out: (N, D), cache.
        """
        eps = (ln_param or {}).get("eps", 1e-5)
        mu = x.mean(axis=1, keepdims=True)
        xc = x - mu
        istd = 1 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
        xhat = xc * istd
        return gamma * xhat + beta, (xhat, gamma, istd)

    @staticmethod
    def backward(dout, cache):
        """
        Args:
            dout: (N, D).
        Returns:
            dx: (N, D), dgamma: (D,), dbeta: (D,).
        """
        xhat, gamma, istd = cache
        D = dout.shape[1]
        dbeta = dout.sum(axis=0)
        dgamma = (dout * xhat).sum(axis=0)
        dxhat = dout * gamma
        # the batchnorm closed form, with the roles of the two axes swapped
        dx = (istd / D) * (
            D * dxhat
            - dxhat.sum(axis=1, keepdims=True)
            - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)
        )
        return dx, dgamma, dbeta


NORMS = {"batchnorm": BatchNorm, "layernorm": LayerNorm}
