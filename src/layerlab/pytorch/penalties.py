"""Explicit L1 and L2 penalties, added to the loss by hand (S6), over weights only.

"Weights" are the `weight` of every Linear and Conv layer; biases and batchnorm's gamma/beta
are left alone, as is usual. `l2_penalty(model, lam)` is lam * sum(w**2): its gradient is
2 * lam * w, so it moves SGD and Adam exactly as `weight_decay=2 * lam` would if the
optimizer's decay were restricted to the same weights. Differences from optimizer weight decay:

- `weight_decay` of torch's SGD/Adam applies to every parameter given to the optimizer
  (biases and batchnorm too) unless parameter groups say otherwise;
- AdamW's decay is decoupled (w -= lr * wd * w, outside the adaptive scaling), so it is not
  the same as any penalty in the loss;
- a penalty shows up in the reported loss (fit records it apart as 'penalty'); decay does not.
"""

from __future__ import annotations

import torch
from torch import nn

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def penalised_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights the penalties act on: `.weight` of every Linear and Conv layer."""
    return [m.weight for m in model.modules() if isinstance(m, _WEIGHTED)]


def l1_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """lam * sum |w| over the weights (a scalar tensor, differentiable)."""
    return lam * sum(w.abs().sum() for w in penalised_weights(model))


def l2_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """lam * sum w**2 over the weights (no 1/2; gradient 2 * lam * w)."""
    return lam * sum(w.pow(2).sum() for w in penalised_weights(model))


PENALTIES = {"l1": l1_penalty, "l2": l2_penalty}


def total_penalty(model: nn.Module, penalties: dict | None) -> torch.Tensor | None:
    """The sum of the penalties named in {'l1': lam1, 'l2': lam2}; None when there are none."""
    total = None
    for name, lam in (penalties or {}).items():
        if name not in PENALTIES:
            raise ValueError(f"unknown penalty {name!r}; known: {sorted(PENALTIES)}")
        if lam:
            term = PENALTIES[name](model, lam)
            total = term if total is None else total + term
    return total
