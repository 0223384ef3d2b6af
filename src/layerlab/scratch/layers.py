"""Linear layer and element-wise activations, each a forward/backward pair.

Every layer is a class with two static methods:

    out, cache = Layer.forward(x, *params)
    grads = Layer.backward(dout, cache)

where `grads` is `dx` for a layer without parameters and `(dx, dparam1, ...)` otherwise, in the
order the parameters were passed to `forward`.

The activations compute in floating point: integer or boolean input is cast to float64 (a
sigmoid of an int array is not an int array); float16/32/64 input keeps its dtype.
"""

from __future__ import annotations

import numpy as np


def floating(x):
    """x as an array of a floating dtype: float input as it is, anything else as float64."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


class Linear:
    """Affine layer: out = x.reshape(N, D) @ w + b."""

    @staticmethod
    def forward(x, w, b):
        """
        Args:
            x: (N, d1, ..., dk) input; each example is flattened to D = d1 * ... * dk.
            w: (D, M) weights.
            b: (M,) bias.
        Returns:
            out: (N, M), cache: (x, w).
        """
        out = x.reshape(x.shape[0], -1) @ w + b
        return out, (x, w)

    @staticmethod
    def backward(dout, cache, need_dx=True):
        """
        Args:
            dout: (N, M) upstream gradient.
            cache: from `forward`.
            need_dx: False skips the input gradient (the first layer of a net does not need it,
                and it costs as much as the weight gradient).
        Returns:
            dx: (N, d1, ..., dk) or None, dw: (D, M), db: (M,).
        """
        x, w = cache
        x2d = x.reshape(x.shape[0], -1)
        dx = (dout @ w.T).reshape(x.shape) if need_dx else None
        dw = x2d.T @ dout
        db = dout.sum(axis=0)
        return dx, dw, db


class ReLU:
    """Rectified linear unit: out = max(0, x)."""

    @staticmethod
    def forward(x):
        """x: any shape. Returns out (same shape), cache."""
        out = np.maximum(floating(x), 0)
        return out, out

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx; the gradient at exactly 0 is taken as 0."""
        return np.where(cache > 0, dout, 0).astype(dout.dtype, copy=False)


class LeakyReLU:
    """Leaky ReLU: out = x for x > 0, negative_slope * x otherwise."""

    @staticmethod
    def forward(x, negative_slope=0.01):
        """x: any shape. Returns out (same shape), cache."""
        x = floating(x)
        out = np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)
        return out, (x, negative_slope)

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx."""
        x, negative_slope = cache
        return np.where(x > 0, dout, negative_slope * dout).astype(dout.dtype, copy=False)


def sigmoid(x):
    """Numerically stable logistic function for any shape (no overflow for large |x|)."""
    x = floating(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid:
    """Logistic sigmoid: out = 1 / (1 + exp(-x))."""

    @staticmethod
    def forward(x):
        """x: any shape. Returns out (same shape), cache."""
        out = sigmoid(x)
        return out, out

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx = dout * s * (1 - s)."""
        s = cache
        return dout * s * (1 - s)


class Tanh:
    """Hyperbolic tangent."""

    @staticmethod
    def forward(x):
        """x: any shape. Returns out (same shape), cache."""
        out = np.tanh(floating(x))
        return out, out

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx = dout * (1 - tanh(x)^2)."""
        t = cache
        return dout * (1 - t * t)


class Identity:
    """The linear activation: out = x (a layer of it leaves its Linear layer's output as it is,
    e.g. the TensorFlow Playground's 'linear' hidden units)."""

    @staticmethod
    def forward(x):
        """x: any shape. Returns out (x itself, as a float array: no copy), cache (None)."""
        return floating(x), None

    @staticmethod
    def backward(dout, cache):
        """dout: same shape as x. Returns dx = dout."""
        return dout


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
               "linear": Identity}
