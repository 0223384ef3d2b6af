"""Shared pieces of the PyTorch studies S3, S5 and S6 (issue 7).

- `fit_cell`: one `layerlab.pytorch.fit` call as the body of a grid cell, checkpointed under
  the run so a killed run continues mid-cell (the minimal glue these studies need; see the
  module docstrings of s3/s5/s6 for why it lives here).
- `binomial_ci`: the Wilson score interval of an accuracy measured on n examples.
- `numerical_gradient`, `gradient_check`: centred differences in float64 against autograd.
- `total_grad_norms`: per-step total weight-gradient norm from per-layer probe values.
- `epoch_time_summary`: the epoch wall times a report quotes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from layerlab.pytorch import fit

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def fit_cell(run, cell, model, data, optimizer, epochs, batch_size, **fit_kwargs):
    """Train `model` in place with `fit`, logging epochs to the run as `cell`.

    The whole training state is written after every epoch to checkpoints/<cell>.pt, so a
    resumed run continues the cell from its last finished epoch (fit's own resume); the file is
    deleted once the cell has finished (its result then lives in the sweep database).

    Returns:
        fit's history dict (lists per epoch: loss, penalty, train_acc, val/test loss and acc,
        time, ...).
    """
    path = Path(run.checkpoint_prefix(cell) + ".pt")
    history = fit(model, data, optimizer, epochs, batch_size, run=run, cell=cell,
                  checkpoint_path=path, **fit_kwargs)
    path.unlink(missing_ok=True)
    return history


def binomial_ci(correct, n, level_z=Z95):
    """Wilson score interval of a proportion correct / n (95% by default).

    The Wilson interval stays inside [0, 1] and keeps close to its nominal coverage for
    proportions near 1 and small n (178 Gurmukhi test images at 97%), where the normal
    approximation p +- z sqrt(p(1-p)/n) does not.

    Returns:
        (low, high) as fractions.
    """
    if n <= 0:
        raise ValueError(f"binomial_ci needs n > 0 examples, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be in [0, n={n}], got {correct}")
    p = correct / n
    z2 = level_z * level_z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = level_z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if correct == 0 else max(0.0, centre - half)  # exact at the edges (round-off)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


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


def total_grad_norms(probes):
    """Per probe entry, the 2-norm over every probed layer's weight gradient.

    sqrt(sum over layers of grad_norm**2): the norm of all weight gradients as one vector.
    """
    per_layer = np.array([h["grad_norm"] for h in probes.history.values()], dtype=float)
    return np.sqrt((per_layer ** 2).sum(axis=0)).tolist()


def epoch_time_summary(histories):
    """'median 1.23 s (range 1.1-1.4 s, N epochs)' over every epoch of the given histories."""
    times = [t for h in histories for t in h["time"]]
    if not times:
        return "no epochs"
    return (f"median {float(np.median(times)):.3g} s (range {min(times):.3g}-{max(times):.3g} s, "
            f"{len(times)} epochs)")
