"""Numerical gradients and the errors used to compare them with analytic ones.

All functions evaluate in the dtype of their input; call them with float64 arrays (float32 has
too few digits for a centred difference to agree beyond ~1e-3).
"""

from __future__ import annotations

import numpy as np


def rel_error(x, y, tiny=1e-8):
    """Max over entries of |x - y| / max(|x| + |y|, tiny), as the course material defines it."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(tiny, np.abs(x) + np.abs(y)), initial=0.0))


def norm_error(x, y, tiny=1e-12):
    """Normwise error ||x - y|| / max(||x|| + ||y||, tiny); robust where entries are near 0."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(x - y) / max(np.linalg.norm(x) + np.linalg.norm(y), tiny))


# Weights of the centred-difference stencils: order 2 is the textbook (f(x+h) - f(x-h)) / 2h;
# order 4 cancels the h^2 error term too, for checks whose function values are large next to
# their gradient entries (a loss of ~2.3 with entries ~1e-4), where rounding dominates.
STENCILS = {2: ((1, 1 / 2),), 4: ((1, 8 / 12), (2, -1 / 12))}


def _centred_difference(f, x, i, h, order):
    """d f / d x[i] by a centred stencil; x[i] is restored."""
    if order not in STENCILS:
        raise ValueError(f"order must be one of {sorted(STENCILS)}, got {order}")
    old = x[i]
    total = 0.0
    for k, weight in STENCILS[order]:
        x[i] = old + k * h
        fp = f()
        x[i] = old - k * h
        fm = f()
        total = total + weight * (fp - fm)
    x[i] = old
    return total / h


def numerical_gradient(f, x, h=1e-5, order=2):
    """Centred-difference gradient of a scalar function.

    Args:
        f: function of no arguments that reads `x` (modified in place here) and returns a float.
        x: the array to differentiate with respect to; restored on return.
        order: 2 (error O(h^2)) or 4 (error O(h^4)).
    Returns:
        grad: same shape as x.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        grad[it.multi_index] = _centred_difference(lambda: float(f()), x, it.multi_index, h,
                                                   order)
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Centred-difference gradient of sum(f() * dout) for an array-valued f.

    Args:
        f: function of no arguments that reads `x` and returns an array shaped like dout.
        x: the array to differentiate with respect to (modified in place, then restored).
        dout: upstream gradient.
    Returns:
        grad: same shape as x.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        grad[it.multi_index] = np.sum(
            _centred_difference(lambda: np.array(f(), copy=True), x, it.multi_index, h, 2) * dout)
    return grad


def sparse_check(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare `analytic_grad` with centred differences at `num_checks` random entries of x.

    Args:
        f: scalar function of no arguments that reads x.
        x: the array the gradient is taken with respect to.
        analytic_grad: same shape as x.
    Returns:
        list of (index, numerical, analytic, relative error) tuples.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(num_checks):
        i = tuple(int(rng.integers(n)) for n in x.shape)
        numerical = _centred_difference(lambda: float(f()), x, i, h, 2)
        rows.append((i, numerical, float(analytic_grad[i]),
                     rel_error(numerical, analytic_grad[i])))
    return rows
