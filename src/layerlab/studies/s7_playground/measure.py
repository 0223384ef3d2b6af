"""The playground's net, its minibatch SGD and what the S7 experiments measure: pure functions
of a model and points."""

from __future__ import annotations

import numpy as np

from layerlab.playground.measure import probabilities
from layerlab.playground.net import PlaygroundNet
from layerlab.scratch.optim import sgd

SOURCE = "S7 (playground studies)"
EXTENT = (-6.0, 6.0, -6.0, 6.0)  # the playground's canvas
INITS = {"zero": "zeros", "random": "playground"}  # the playground's names for them


def playground_net(hidden, activation, init, seed):
    """The playground's net 2 -> hidden -> 2 classes in float64. init: 'zero' (every weight and
    bias 0) or 'random' (weights uniform in [-0.5, 0.5], biases 0.1), drawn from `seed`."""
    if init not in INITS:
        raise ValueError(f"init must be 'zero' or 'random', got {init!r}")
    return PlaygroundNet(2, hidden, 2, activation, INITS[init], batchnorm=False, dropout=0.0,
                         l2=0.0, l1=0.0, seed=seed)


def dead_units(model, X):
    """Per hidden layer, how many units output 0 for every row of X (N, 2)."""
    out, counts = np.asarray(X, dtype=model.dtype), []
    for i in range(1, model.num_layers):
        out, _ = model.hidden.forward(out, {"W": model.params[f"W{i}"],
                                            "b": model.params[f"b{i}"]})
        counts.append(int(np.sum(np.all(out <= 0, axis=0))))
    return counts


def _units(model):
    """Per hidden layer, one row per unit: its incoming weights, bias and outgoing weights."""
    return [np.concatenate([model.params[f"W{i}"], model.params[f"b{i}"][None, :],
                            model.params[f"W{i + 1}"].T], axis=0).T
            for i in range(1, model.num_layers)]


def unit_spread(model):
    """Per hidden layer, the largest difference between any unit's parameters and the first
    unit's, over the layer's largest parameter: 0 when all its units are the same."""
    spreads = []
    for units in _units(model):
        scale = np.max(np.abs(units))
        spreads.append(float(np.max(np.abs(units - units[:1])) / scale) if scale else 0.0)
    return spreads


def distinct_units(model, tolerance=1e-9):
    """Per hidden layer, how many different units it has (units whose parameters differ by
    more than `tolerance` times the layer's largest parameter)."""
    counts = []
    for units in _units(model):
        scale, kept = max(float(np.max(np.abs(units))), 1e-300), []
        for u in units:
            if not any(np.max(np.abs(u - k)) <= tolerance * scale for k in kept):
                kept.append(u)
        counts.append(len(kept))
    return counts


def error(model, X, y):
    """Fraction of the points X (N, 2) with labels y (N,) that the model classifies wrongly."""
    return float(np.mean(model.loss(X).argmax(axis=1) != y))


def chance_error(y):
    """Error of always answering the more common class of y (N,) in {0, 1}."""
    share = float(np.mean(y))
    return min(share, 1 - share)


def best_line_error(X, y, directions=3600):
    """The smallest error on (X (N, 2), y (N,) in {0, 1}) of a straight line over `directions`
    normal directions, each with its best threshold and side: the best a net whose units in
    each layer are identical can do (it decides by a threshold on one w.x)."""
    angles = np.linspace(0, np.pi, directions, endpoint=False)
    proj = X @ np.stack([np.cos(angles), np.sin(angles)])  # (N, directions)
    labels = np.asarray(y)[np.argsort(proj, axis=0)]  # labels sorted along each direction
    N, positives = len(y), int(np.sum(y))
    # answering 1 above the k-th sorted point: errors = positives below + negatives above
    pos_below = np.vstack([np.zeros((1, directions)), np.cumsum(labels, axis=0)])
    errors = pos_below + (N - np.arange(N + 1)[:, None]) - (positives - pos_below)
    errors = np.minimum(errors, N - errors)  # or answering 1 below
    return float(errors.min() / N)


def plane(extent, steps):
    """(steps * steps, 2) points of a grid over the extent, row by row from the bottom."""
    xs = np.linspace(extent[0], extent[1], steps)
    ys = np.linspace(extent[2], extent[3], steps)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def as_map(values, steps):
    """(steps * steps,) values over `plane` -> a (steps, steps) list rounded to 3 decimals
    (row 0 at the bottom), as the results file keeps a boundary map."""
    return np.round(values, 3).reshape(steps, steps).tolist()


def decision_grid(model, extent=EXTENT, steps=61):
    """P(+1) - P(-1) of the model over the plane: (steps, steps), see `as_map`."""
    return as_map(2 * probabilities(model.loss(plane(extent, steps)))[:, 1] - 1, steps)


def points(data):
    """The points (N, 2) and labels (N,) of a toy2d set as lists, for a boundary panel."""
    return {"points": np.round(data.X, 3).tolist(), "labels": data.y.tolist()}


def panel(title, values, data, extent=EXTENT):
    """One panel of a boundary plot: a map over `extent` with data's points and labels."""
    return {"title": title, "values": values, "extent": extent, "points": data["points"],
            "labels": data["labels"]}


def net_text(hidden):
    """'2 - 8 - 8 - 2': the net's widths, input to output."""
    return " - ".join(map(str, (2, *hidden, 2)))


def train(model, X, y, *, epochs, learning_rate, batch_size, order, seed, record_every,
          probe=None, layer_probe=None):
    """Minibatch SGD (the engine's `sgd`) on X (N, 2), y (N,) in {0, 1}: the run's history.

    order: 'shuffled' (a new permutation every epoch, from `seed`) or 'fixed' (X's order every
    epoch). Records at step 0, every `record_every` steps and at the end: {'step', 'epoch',
    'loss' (mean minibatch loss since the last record; at step 0 on all of X), 'train_error',
    plus the keys of probe(model) -> dict}. layer_probe: None, or a per-layer probe
    (layerlab.probing.scratch, e.g. `for_run`) asked around every step, as the Solver asks it.
    """
    if order not in ("shuffled", "fixed"):
        raise ValueError(f"order must be 'shuffled' or 'fixed', got {order!r}")
    rng = np.random.default_rng(seed + 1_000_003)  # the order's own stream, apart from init
    N, history, losses, step = len(y), {}, [], 0

    def record():  # at `step`, then a new stretch of minibatch losses
        for key, value in {"step": step, "epoch": step / -(-N // batch_size),
                           "loss": float(np.mean(losses)) if losses else model.loss(X, y)[0],
                           "train_error": error(model, X, y),
                           **(probe(model) if probe else {})}.items():
            history.setdefault(key, []).append(value)
        losses.clear()

    record()
    for epoch in range(1, epochs + 1):
        idx = rng.permutation(N) if order == "shuffled" else np.arange(N)
        for start in range(0, N, batch_size):
            batch, step = idx[start:start + batch_size], step + 1
            probed = layer_probe is not None and layer_probe.begin(model, step)
            loss, grads = model.loss(X[batch], y[batch])
            for name, g in grads.items():
                model.params[name], _ = sgd(model.params[name], g,
                                            {"learning_rate": learning_rate})
            if probed:  # read-only: the probe puts the model back as it was
                layer_probe.after_step(model, grads, step, epoch)
            losses.append(loss)
            if step % record_every == 0:
                record()
    if history["step"][-1] != step:
        record()
    return history
