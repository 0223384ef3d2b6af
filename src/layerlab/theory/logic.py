"""OR and XOR with ReLU units: hand-set networks, and what no network without a hidden layer
can compute (S7).

A network here is a list of layers (W (in, out), b (out,), activation), applied to inputs
(N, 2) of 0/1 values. `evaluate(net, INPUTS)` gives its outputs on the four inputs.

- OR, fewest hidden units. As a classifier ("true when the output is > 0") OR needs no hidden
  layer: relu(x1 + x2). With exact outputs 0/1 it needs one hidden ReLU unit:
  1 - relu(1 - x1 - x2); `fit_without_hidden(OR)` proves that no relu(w.x + b) or w.x + b gives
  exactly 0, 1, 1, 1 (for (1, 1) it would need w1 + w2 + b = 1 while (0, 0), (0, 1), (1, 0) force
  b <= 0 and w1 + b = w2 + b = 1).
- XOR, fewest layers: two (one hidden layer of two ReLU units), relu(x1 + x2) -
  2 relu(x1 + x2 - 1), exactly 0, 1, 1, 0. One layer cannot: any network without a hidden layer
  computes g(w.x + b) for a non-decreasing g (identity, ReLU, sigmoid, step) and decides by a
  threshold, so it classifies by a half-plane, and `separable(INPUTS, XOR)` proves that no
  half-plane splits XOR. (Two output scores with an argmax decide by the sign of their
  difference, again a half-plane. One hidden ReLU unit is no better: the output is then a
  monotone function of one w.x + b.)
"""

from __future__ import annotations

import numpy as np

from layerlab.theory import feasibility

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
OR = np.array([0, 1, 1, 1])
AND = np.array([0, 0, 0, 1])
XOR = np.array([0, 1, 1, 0])

ACT = {"relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
       "sigmoid": lambda z: 1 / (1 + np.exp(-z))}

# The hand-set networks: (W (in, out), b (out,), activation) per layer.
OR_NO_HIDDEN = [(np.array([[1.0], [1.0]]), np.array([0.0]), "relu")]  # > 0 iff OR
OR_ONE_HIDDEN = [(np.array([[-1.0], [-1.0]]), np.array([1.0]), "relu"),  # 1 only at (0, 0)
                 (np.array([[-1.0]]), np.array([1.0]), "linear")]  # exactly 0, 1, 1, 1
XOR_TWO_LAYERS = [(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]), "relu"),
                  (np.array([[1.0], [-2.0]]), np.array([0.0]), "linear")]  # 0, 1, 1, 0


def evaluate(net, X):
    """Outputs of a hand-set network. X: (N, in). Returns (N,) for one output unit."""
    out = np.asarray(X, dtype=float)
    for W, b, act in net:
        out = ACT[act](out @ W + b)
    return out[:, 0] if out.shape[1] == 1 else out


def hidden_units(net):
    """Units in every layer but the last."""
    return sum(W.shape[1] for W, _, _ in net[:-1])


def separable(X, y):
    """Is there a line with the 1s strictly on one side and the 0s on the other?

    Feasibility of w.x + b >= 1 for y = 1 and w.x + b <= 0 for y = 0 in (w1, w2, b) (any strict
    separation of finitely many points can be scaled to this margin).
    Returns feasibility.Result: point (w1, w2, b) or a Farkas certificate over the points.
    """
    A, bound = [], []
    for x, label in zip(np.asarray(X), np.asarray(y), strict=True):
        row = [*map(float, x), 1.0]
        if label:
            A.append([-v for v in row])
            bound.append(-1)
        else:
            A.append(row)
            bound.append(0)
    return feasibility.solve(A, bound)


def fit_without_hidden(X, targets, output="relu"):
    """Is there (w, b) with output(w.x + b) exactly equal to `targets` on every x?

    output 'relu': a target 0 needs w.x + b <= 0, a positive target t needs w.x + b = t;
    'linear': w.x + b = t everywhere. Returns feasibility.Result over (w1, w2, b).
    """
    A, bound = [], []
    for x, t in zip(np.asarray(X), np.asarray(targets), strict=True):
        row = [*map(float, x), 1.0]
        A.append(row)
        bound.append(float(t) if (t > 0 or output == "linear") else 0)
        if t > 0 or output == "linear":  # equality: also -(w.x + b) <= -t
            A.append([-v for v in row])
            bound.append(-float(t))
    return feasibility.solve(A, bound)


def train_xor(hidden=2, seed=0, iterations=2000, learning_rate=0.1, init_scale=1.0):
    """Train a scratch ReLU net (2 - hidden - 2 classes, softmax) on the four XOR points with
    full-batch gradient descent.

    Returns {'predictions' (4,), 'solved' (all four right), 'loss', 'model'}.
    """
    from layerlab.scratch.models import FullyConnectedNet

    model = FullyConnectedNet([hidden], input_dim=2, num_classes=2, weight_scale=init_scale,
                              dtype=np.float64, seed=seed)
    loss = None
    for _ in range(iterations):
        loss, grads = model.loss(INPUTS, XOR)
        for name, g in grads.items():
            model.params[name] -= learning_rate * g
    predictions = model.loss(INPUTS).argmax(axis=1)
    return {"predictions": predictions, "solved": bool(np.all(predictions == XOR)),
            "loss": float(loss), "model": model}
