"""What a frame shows of a net and its data: the output over the plane, each hidden unit's map,
losses and accuracy, per-layer gradient and weight norms, dead and saturated units, activation
histograms and the confusion matrix. Pure functions of a net and points.

Definitions (also in docs/playground.md):
- dead: a ReLU unit that outputs 0 on every training point (it gets no gradient from them);
- saturated: a tanh or sigmoid unit in its flat part (tanh |a| > 0.97, sigmoid a < 0.03 or
  > 0.97, where the slope is under 6% of its largest) on at least 90% of the training points;
- grad_norm: the norm of the gradient of the training loss (penalty included) with respect to
  the layer's incoming weights, over the whole training split at the current weights;
- weight_norm: the norm of the layer's incoming weights.
"""

from __future__ import annotations

import numpy as np

from layerlab.playground.data import features
from layerlab.scratch.losses import softmax_loss, square_loss

EXTENT = (-6.0, 6.0)
OUTPUT_N, UNIT_N = 50, 20
HIST_BINS = 20
HIST_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 6.0),
              "linear": (-6.0, 6.0)}
SATURATED = {"tanh": lambda a: np.abs(a) > 0.97, "sigmoid": lambda a: (a < 0.03) | (a > 0.97)}
SATURATED_SHARE = 0.9
DIGITS = 4
DEFINITIONS = (
    "Dead: a ReLU unit that outputs 0 on every training point. Saturated: a tanh or sigmoid "
    "unit in its flat part (tanh |a| > 0.97, sigmoid a < 0.03 or > 0.97) on at least 90% of "
    "the training points. Gradient norm: of the training loss (penalty included) with respect "
    "to the layer's incoming weights, over the whole training split. Weight norm: of the "
    "layer's incoming weights.")


def floats(values, digits=DIGITS):
    """An array as a JSON list of rounded floats, None where a value is not finite."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.round(values, digits)
    if np.isfinite(out).all():
        return out.tolist()
    return np.where(np.isfinite(out), out, None).tolist()


def plane(n):
    """(n * n, 2) grid points over the canvas, row-major, first row at x2 = +6 (top), first
    column at x1 = -6."""
    xs = np.linspace(EXTENT[0], EXTENT[1], n)
    x1, x2 = np.meshgrid(xs, xs[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


PLANES = {n: plane(n) for n in (OUTPUT_N, UNIT_N)}


def probabilities(scores):
    """Softmax of class scores (N, K), stable."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def output_map(model, names, regression):
    """The output over the plane as the protocol's `output` field."""
    _, scores = model.hidden_outputs(features(PLANES[OUTPUT_N], names))
    if regression:
        return {"n": OUTPUT_N, "extent": list(EXTENT),
                "values": floats(np.clip(scores[:, 0], -1, 1)), "classes": None}
    p = probabilities(scores)
    if p.shape[1] == 2:
        return {"n": OUTPUT_N, "extent": list(EXTENT), "values": floats(2 * p[:, 1] - 1),
                "classes": None}
    return {"n": OUTPUT_N, "extent": list(EXTENT), "values": floats(p.max(axis=1)),
            "classes": p.argmax(axis=1).tolist()}


def unit_maps(model, names):
    """Per hidden layer, per unit: its activation over a UNIT_N x UNIT_N plane."""
    layers, _ = model.hidden_outputs(features(PLANES[UNIT_N], names))
    return [[{"n": UNIT_N, "values": floats(a[:, j], 3)} for j in range(a.shape[1])]
            for a in layers]


def fit(scores, y, regression):
    """(mean data loss, accuracy or None) of scores (N, K) against y."""
    if len(y) == 0:
        return None, None
    if regression:
        return square_loss(scores, y)[0], None
    with np.errstate(over="ignore", invalid="ignore"):
        loss = softmax_loss(scores, y)[0]
    return loss, float(np.mean(scores.argmax(axis=1) == y))


def grad_norms(model, X, y):
    """Per weight matrix, the norm of the full-batch training gradient; the model's state
    (batchnorm's running statistics, the dropout generator) is left as it was."""
    if model.normalization and len(y) < 2:  # batchnorm needs two points: no gradient to show
        return [None] * model.num_layers
    state = model.state_dict()
    try:
        with np.errstate(all="ignore"):
            _, grads = model.loss(X, y)
        return [float(np.linalg.norm(grads[f"W{i}"])) for i in range(1, model.num_layers + 1)]
    finally:
        model.load_state_dict(state)


def layer_stats(model, activations, grads):
    """The protocol's `layers` list: one dict per hidden layer, from its activations on the
    training points (N, width) and the gradient norms of grad_norms."""
    stats, kind = [], model.activation
    low, high = HIST_RANGE[kind]
    edges = np.linspace(low, high, HIST_BINS + 1)
    for i, a in enumerate(activations):
        finite = a[np.isfinite(a)]
        counts, _ = np.histogram(np.clip(finite, low, high), bins=edges)
        dead = int(np.sum(np.all(a <= 0, axis=0))) if kind == "relu" and len(a) else 0
        saturated = 0
        if kind in SATURATED and len(a):
            saturated = int(np.sum(np.mean(SATURATED[kind](a), axis=0) >= SATURATED_SHARE))
        stats.append({"name": f"hidden {i + 1}", "units": int(a.shape[1]),
                      "grad_norm": _number(grads[i]),
                      "weight_norm": _number(np.linalg.norm(model.params[f"W{i + 1}"])),
                      "dead": dead, "saturated": saturated,
                      "act_mean": _number(finite.mean()) if finite.size else None,
                      "act_std": _number(finite.std()) if finite.size else None,
                      "hist": {"edges": floats(edges), "counts": counts.tolist()}})
    return stats


def _number(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 6) if np.isfinite(value) else None


def confusion(scores, y, classes):
    """classes x classes counts, rows the true class, columns the predicted one."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y, scores.argmax(axis=1)), 1)
    return matrix.tolist()


def weights(model):
    """(weights, biases): per layer, W as nested lists (rows: units of the layer before) and b."""
    L = model.num_layers
    return ([floats(model.params[f"W{i}"]) for i in range(1, L + 1)],
            [floats(model.params[f"b{i}"]) for i in range(1, L + 1)])
