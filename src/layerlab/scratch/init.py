"""Weight initialisation.

Fans are read from the weight shape: (D, M) for a linear layer (fan_in D, fan_out M) and
(F, C, HH, WW) for a convolution (fan_in C*HH*WW, fan_out F*HH*WW).
Biases are always initialised to zero by the models.
"""

from __future__ import annotations

import numpy as np


def fans(shape):
    """(fan_in, fan_out) of a weight of the given shape."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive = shape[2] * shape[3]
        return shape[1] * receptive, shape[0] * receptive
    raise ValueError(f"cannot tell fans of a weight of shape {shape}: expected 2-D or 4-D")


SQRT2 = float(np.sqrt(2.0))  # Kaiming's gain for ReLU


def gaussian(shape, rng, weight_scale=1e-2):
    """N(0, weight_scale^2) entries."""
    return weight_scale * rng.standard_normal(shape)


def xavier_normal(shape, rng, gain=1.0):
    """Glorot normal: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return gain * np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)


def xavier_uniform(shape, rng, gain=1.0):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, shape)


def kaiming_normal(shape, rng, gain=SQRT2):
    """He normal (fan_in mode): std = gain / sqrt(fan_in); gain sqrt(2) suits ReLU."""
    fan_in, _ = fans(shape)
    return gain / np.sqrt(fan_in) * rng.standard_normal(shape)


def kaiming_uniform(shape, rng, gain=SQRT2):
    """He uniform (fan_in mode): U(-a, a) with a = gain * sqrt(3 / fan_in)."""
    fan_in, _ = fans(shape)
    a = gain * np.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, shape)


def zeros(shape, rng=None):
    """All zeros: every unit of a layer starts (and, by symmetry, stays) identical."""
    return np.zeros(shape)


INITS = {
    "gaussian": gaussian,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "kaiming": kaiming_normal,
    "kaiming_normal": kaiming_normal,
    "kaiming_uniform": kaiming_uniform,
    "zeros": zeros,
}


def init_weight(shape, rng, init="gaussian", weight_scale=1e-2, dtype=np.float32):
    """A weight of `shape` drawn by the named scheme, cast to `dtype`.

    `weight_scale` is only used by 'gaussian'. Unknown names raise a ValueError that lists
    the known ones.
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
    if init == "gaussian":
        w = gaussian(shape, rng, weight_scale)
    else:
        w = INITS[init](shape, rng)
    return np.asarray(w, dtype=dtype)
