"""Classification losses returning (loss, dscores), averaged over the batch."""

from __future__ import annotations

import numpy as np


def _check(scores, y):
    if scores.ndim != 2:
        raise ValueError(f"scores must be (N, C), got shape {scores.shape}")
    y = np.asarray(y)
    if y.shape != (scores.shape[0],):
        raise ValueError(f"labels must be (N,) = ({scores.shape[0]},), got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= scores.shape[1]):
        raise ValueError(f"labels must lie in [0, {scores.shape[1] - 1}], got {y.min()}..{y.max()}")
    return y


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores), stable for large scores (the row max is subtracted).

    Args:
        scores: (N, C) class scores; y: (N,) int labels in [0, C).
    Returns:
        loss: float, dscores: (N, C).
    """
    y = _check(scores, y)
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    return float(loss), dscores


def svm_loss(scores, y, delta=1.0):
    """Mean multiclass hinge loss: sum over j != y of max(0, s_j - s_y + delta).

    Args:
        scores: (N, C) class scores; y: (N,) int labels in [0, C); delta: margin.
    Returns:
        loss: float, dscores: (N, C).
    """
    y = _check(scores, y)
    N = scores.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + delta)
    margins[rows, y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(scores.dtype)
    positive[rows, y] = -positive.sum(axis=1)
    return float(loss), positive / N


def square_loss(scores, y):
    """Mean squared error with the playground's factor one half: mean over the batch of
    0.5 * sum over outputs of (scores - y)^2, for regression.

    Args:
        scores: (N, C) outputs; y: (N,) targets when C = 1, else (N, C).
    Returns:
        loss: float, dscores: (N, C).
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be (N, C), got shape {scores.shape}")
    y = np.asarray(y, dtype=scores.dtype)
    if y.ndim == 1 and scores.shape[1] == 1:
        y = y[:, None]
    if y.shape != scores.shape:
        raise ValueError(f"targets must be (N,) for one output or {scores.shape}, got shape "
                         f"{y.shape}")
    diff = scores - y
    N = max(scores.shape[0], 1)
    return float(0.5 * np.sum(diff * diff) / N), diff / N


LOSSES = {"softmax": softmax_loss, "svm": svm_loss}
