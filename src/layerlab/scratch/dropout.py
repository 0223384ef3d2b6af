"""Dropout, inverted and vanilla.

`p` is the probability of DROPPING a unit, as in PyTorch (some course material uses p as the
keep probability: convert with p_drop = 1 - p_keep).

- inverted (default): at train time kept units are scaled by 1 / (1 - p), so test time is the
  identity;
- vanilla: train time only masks, and test time scales every unit by (1 - p).

Both give the same expected activation at train and test time; they differ only in where the
scaling happens.
"""

from __future__ import annotations

import numpy as np

_default_rng = np.random.default_rng()


class Dropout:
    """Dropout with a `dropout_param` dict.

    dropout_param keys:
        mode: 'train' or 'test' (required).
        p: probability of dropping a unit, 0 <= p < 1 (required).
        inverted: True (default) for inverted dropout, False for vanilla.
        seed: if given, the mask is drawn from a fresh generator with this seed on every call,
            so repeated calls use the same mask (what gradient checks need).
        rng: a numpy Generator to draw masks from when no seed is given (models pass their own
            so that a seeded run is repeatable).
    """

    @staticmethod
    def forward(x, dropout_param):
        """x: any shape. Returns out (same shape), cache."""
        p = float(dropout_param["p"])
        mode = dropout_param["mode"]
        inverted = dropout_param.get("inverted", True)
        if not 0 <= p < 1:
            raise ValueError(f"dropout p={p} is the probability of dropping and must be in [0, 1)")
        if mode not in ("train", "test"):
            raise ValueError(f"dropout mode must be 'train' or 'test', got {mode!r}")
        if mode == "test" or p == 0:
            out = x * (1 - p) if (mode == "test" and not inverted and p) else x
            return out, (None, dropout_param)
        if dropout_param.get("seed") is not None:
            rng = np.random.default_rng(dropout_param["seed"])
        else:
            rng = dropout_param.get("rng", _default_rng)
        keep = rng.random(x.shape) >= p
        scale = 1 / (1 - p) if inverted else 1.0
        mask = (keep * scale).astype(x.dtype)
        return x * mask, (mask, dropout_param)

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx."""
        mask, dropout_param = cache
        if mask is not None:
            return dout * mask
        p = float(dropout_param["p"])
        if dropout_param["mode"] == "test" and not dropout_param.get("inverted", True) and p:
            return dout * (1 - p)
        return dout
