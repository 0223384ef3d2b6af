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

import copy
import functools

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


# Both maps' points in one array: a frame runs one forward pass for the output and every unit.
GRID = np.concatenate([plane(OUTPUT_N), plane(UNIT_N)])


@functools.lru_cache(maxsize=32)
def grid_features(names):
    """The net's input over GRID for the feature names (a tuple), float32 (computed once)."""
    grid = features(GRID, list(names)).astype(np.float32)
    grid.setflags(write=False)  # shared by every frame
    return grid


def probabilities(scores):
    """Softmax of class scores (N, K), stable."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def maps(model, names, regression):
    """(output, units): the protocol's `output` and `units` fields, from one forward pass over
    both grids in float32 (ample for colours; the losses and figures stay float64)."""
    layers, scores = model.hidden_outputs(grid_features(tuple(names)), dtype=np.float32)
    n = OUTPUT_N * OUTPUT_N
    units = [[{"n": UNIT_N, "values": values} for values in floats(a[n:].T, 3)]
             for a in layers]
    return _output(scores[:n], regression), units


def _output(scores, regression):
    out = {"n": OUTPUT_N, "extent": list(EXTENT), "classes": None}
    if regression:
        return {**out, "values": floats(np.clip(scores[:, 0], -1, 1))}
    if scores.shape[1] == 2:  # 2 p(class 1) - 1 is tanh of half the score gap: no softmax
        return {**out, "values": floats(np.tanh((scores[:, 1] - scores[:, 0]) / 2))}
    p = probabilities(scores)
    return {**out, "values": floats(p.max(axis=1)), "classes": p.argmax(axis=1).tolist()}


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
    # A training pass changes no weight: only the generator (dropout) and running statistics
    rng = model.rng.bit_generator.state
    norms = copy.deepcopy(model.norm_params) if model.normalization else None
    try:
        with np.errstate(all="ignore"):
            _, grads = model.loss(X, y)
        return [float(np.linalg.norm(grads[f"W{i}"])) for i in range(1, model.num_layers + 1)]
    finally:
        model.rng.bit_generator.state = rng
        if norms is not None:
            model.norm_params = norms


# The histograms' edges never change: computed (and rounded for the frames) once
EDGES = {kind: np.linspace(low, high, HIST_BINS + 1) for kind, (low, high) in HIST_RANGE.items()}
SHOWN_EDGES = {kind: floats(edges) for kind, edges in EDGES.items()}


def layer_stats(model, activations, grads):
    """The protocol's `layers` list: one dict per hidden layer, from its activations on the
    training points (N, width) and the gradient norms of grad_norms."""
    stats, kind = [], model.activation
    low, high = HIST_RANGE[kind]
    for i, a in enumerate(activations):
        finite = a[np.isfinite(a)]
        counts, _ = np.histogram(np.clip(finite, low, high), bins=EDGES[kind])
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
                      "hist": {"edges": list(SHOWN_EDGES[kind]), "counts": counts.tolist()}})
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
