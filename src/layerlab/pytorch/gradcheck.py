"""Centred-difference gradients in float64 against autograd (S6's gradient check).

    errors = gradient_check(lambda: loss(model(X), y), dict(model.named_parameters()),
                            entries=12, eps=1e-4)
    errors["fc1.weight"]["norm_rel"]

The tensors are changed in place entry by entry and restored; run them in float64 (in
float32 the round-off of f() swamps the difference quotient).
"""

from __future__ import annotations

import numpy as np
import torch


def numerical_gradient(f, x, eps=1e-6):
    """Centred-difference gradient of the scalar f() with respect to tensor x, in place.

    x: a float64 tensor (modified and restored entry by entry). Returns a tensor of x's shape.
    """
    grad = torch.zeros_like(x)
    flat, gflat = x.data.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            gflat[i] = _centred_difference(f, flat, i, eps)
    return grad


def _centred_difference(f, flat, i, eps):
    """(f() at flat[i] + eps - f() at flat[i] - eps) / (2 eps); flat[i] is restored after."""
    old = flat[i].item()
    flat[i] = old + eps
    plus = float(f())
    flat[i] = old - eps
    minus = float(f())
    flat[i] = old
    return (plus - minus) / (2 * eps)


def gradient_check(f, params, entries=None, eps=1e-6, seed=0, avoid_zero=0.0):
    """Autograd vs centred differences for the scalar f() over `params` (float64 tensors).

    entries: how many random entries per tensor to check (None: all). avoid_zero: skip
    entries with |x| <= avoid_zero (|w| is not differentiable at 0; pass a few eps for L1).

    Returns:
        {name: {'max_rel': largest |a - n| / max(|a| + |n|, 1e-12) over the entries,
                'norm_rel': ||a - n|| / (||a|| + ||n||) over the checked entries}}.
        The norm form is not inflated by entries whose gradient is near zero.
    """
    for p in params.values():
        p.grad = None
    f().backward()
    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in params.items():
        flat = p.data.view(-1)
        candidates = np.flatnonzero(np.abs(flat.numpy()) > avoid_zero)
        idx = candidates if entries is None or entries >= len(candidates) else \
            rng.choice(candidates, size=entries, replace=False)
        ana = p.grad.view(-1)[torch.as_tensor(idx, dtype=torch.long)].numpy()
        num = np.empty(len(idx))
        with torch.no_grad():
            for j, i in enumerate(idx):
                num[j] = _centred_difference(f, flat, i, eps)
        diff = np.abs(ana - num)
        errors[name] = {
            "max_rel": float(np.max(diff / np.maximum(np.abs(ana) + np.abs(num), 1e-12),
                                    initial=0.0)),
            "norm_rel": float(np.linalg.norm(ana - num)
                              / max(np.linalg.norm(ana) + np.linalg.norm(num), 1e-12))}
    return errors
