"""Results of many runs -> the series and groups a report shows.

- `group_by`, `over_seeds`: records (one dict per run) grouped by some of their keys.
- `mean_curve`, `epoch_series`: the pointwise mean of per-run curves.
- `per_epoch_means`, `tail_mean`, `first_epoch_reaching`: reading per-step and per-epoch
  histories.
- `log_grid`: log-spaced grid values rounded so that they print and name grid cells cleanly.
- `downsample`: a long curve cut to at most `points` averaged points, for plots.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def group_by(records, *keys):
    """Records grouped by the values of `keys`.

    Args:
        records: iterable of dicts (one per run), each holding every key.
        keys: one or more key names.
    Returns:
        {(record[k] for k in keys) as a tuple: [records]}, groups and the records in each in the
        order first seen (a tuple even for one key).
    """
    if not keys:
        raise ValueError("group_by needs at least one key")
    groups = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def over_seeds(records, key, value):
    """The values of `value` of each group of runs that differ only in their seed.

    Args:
        records: iterable of dicts, e.g. {"norm": "batchnorm", "seed": 0, "best_val_acc": 0.5}.
        key: the name that tells the groups apart, or a tuple of names.
        value: the name of the measurement.
    Returns:
        {group: [record[value] per record, in record order]}; group is record[key] for one name,
        the tuple of values for a tuple of names. Order of groups: first seen.
    """
    names = (key,) if isinstance(key, str) else tuple(key)
    out = {}
    for group, rs in group_by(records, *names).items():
        out[group[0] if isinstance(key, str) else group] = [r[value] for r in rs]
    return out


def mean_curve(curves, pad=True):
    """Pointwise mean of per-run curves (e.g. one per seed).

    Args:
        curves: sequence of 1-D sequences of numbers.
        pad: True: curves may differ in length (a run stopped early or diverged is shorter):
            each point is the mean over the curves that reach it, NaN entries skipped like
            missing ones. False: the curves must be equally long and a NaN in any curve makes
            that point NaN (np.mean over runs).
    Returns:
        list of floats, as long as the longest curve.
    """
    lengths = [len(c) for c in curves]
    if not lengths:
        raise ValueError("mean_curve needs at least one curve")
    if not pad:
        if len(set(lengths)) > 1:
            raise ValueError(f"curves of different lengths {sorted(set(lengths))}: pass "
                             "pad=True to average over the curves that reach each point")
        return np.mean(np.asarray(curves, dtype=float), axis=0).tolist()
    padded = np.full((len(curves), max(lengths)), np.nan)
    for i, c in enumerate(curves):
        padded[i, :len(c)] = c
    with warnings.catch_warnings():  # a point no curve has a number for is NaN, said here
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(padded, axis=0).tolist()


def epoch_series(curves, pad=True):
    """[epochs, mean curve] of per-epoch histories (epoch 0 first), the x-y pair of a plot.

    Args:
        curves: per-run per-epoch histories; pad as in `mean_curve`.
    Returns:
        [[0, 1, ..., n - 1], [n means]].
    """
    ys = mean_curve(curves, pad=pad)
    return [list(range(len(ys))), ys]


def per_epoch_means(values, *, steps_per_epoch=None, epochs=None):
    """Per-step values -> the mean of each epoch's steps. Give exactly one of the two.

    Args:
        values: (epochs * steps_per_epoch,) per-step numbers (e.g. a loss per minibatch).
        steps_per_epoch: steps in each epoch, or
        epochs: number of epochs the steps split evenly into.
    Returns:
        list of floats, one per epoch. ValueError when the steps do not split evenly.
    """
    if (steps_per_epoch is None) == (epochs is None):
        raise ValueError("give exactly one of steps_per_epoch and epochs")
    v = np.asarray(values, dtype=float)
    shape = (-1, steps_per_epoch) if epochs is None else (epochs, -1)
    n = steps_per_epoch if epochs is None else epochs
    if n < 1 or len(v) % n:
        raise ValueError(f"{len(v)} steps do not split evenly into "
                         + (f"epochs of {n} steps" if epochs is None else f"{n} epochs"))
    return v.reshape(shape).mean(axis=1).tolist()


def tail_mean(history, epochs):
    """Mean of the last `epochs` entries of a per-epoch history (less noise than the last one).

    Args:
        history: (n,) numbers; epochs: 1 <= epochs (more than n takes them all).
    Returns:
        float.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")  # history[-0:] would be all
    return float(np.mean(history[-epochs:]))


def first_epoch_reaching(history, target, above=True, epochs=None):
    """The first epoch whose value reaches `target`, or None when none does.

    Args:
        history: (n,) per-epoch (or per-record) values.
        target: the threshold.
        above: True: reaching is value >= target (an accuracy). False: reaching is
            value < target, strictly below (an error).
        epochs: (n,) labels of the entries (e.g. history["epoch"]); default 0, 1, ..., n - 1
            (0 = before training in the scratch Solver's histories).
    Returns:
        the label of the first entry that reaches the target, or None. NaN never reaches.
    """
    labels = range(len(history)) if epochs is None else epochs
    if len(labels) != len(history):
        raise ValueError(f"{len(labels)} epoch labels for {len(history)} values")
    for label, value in zip(labels, history, strict=True):
        if (value >= target) if above else (value < target):
            return label
    return None


def log_grid(low, high, step=None, *, count=None, digits=None):
    """Log-spaced values from `low` to `high` (both included), rounded to `digits` significant
    digits so that they print and name grid cells cleanly. Give exactly one of step and count.

    Args:
        low, high: the ends, 0 < low <= high.
        step: spacing in decades (digits defaults to 3), or
        count: number of values (digits defaults to 4).
    Returns:
        tuple of floats (a tuple is a valid dataclass default; wrap in list() where a list is
        needed).
    """
    if (step is None) == (count is None):
        raise ValueError("give exactly one of step and count")
    if step is not None:
        # these exact operations keep the grids of published runs the same values
        digits = 3 if digits is None else digits
        exps = np.arange(math.log10(low), math.log10(high) + step / 2, step)
        return tuple(float(f"{10 ** e:.{digits}g}") for e in exps)
    digits = 4 if digits is None else digits
    return tuple(float(f"{s:.{digits}g}")
                 for s in np.logspace(np.log10(low), np.log10(high), count))


def downsample(ys, points=500):
    """A long curve cut to at most `points` points, each the mean of its neighbours.

    Args:
        ys: (n,) numbers, e.g. a loss per iteration.
        points: the most points to keep.
    Returns:
        (xs, ys) lists. n <= points: xs = 1..n and ys unchanged. Otherwise the curve is cut at
        `points + 1` evenly spaced 0-based edges; each stretch [a, b) gives x = (a + b) / 2 and
        y = mean(ys[a:b]).
    """
    ys = np.asarray(ys, dtype=float)
    if len(ys) <= points:
        return list(range(1, len(ys) + 1)), ys.tolist()
    edges = np.linspace(0, len(ys), points + 1).astype(int)
    xs = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return xs, [float(ys[a:b].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def moving_average(ys, window):
    """(xs, ys) of the trailing mean over `window` points, x the 1-based index of a window's
    last point (a window longer than the curve takes it all)."""
    ys = np.asarray(ys, dtype=float)
    window = min(window, max(len(ys), 1))
    smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
    return list(range(window, len(ys) + 1)), smooth.tolist()


def loss_auc(loss_history):
    """Mean training loss over all iterations (the area under the loss curve; lower = converged
    faster); inf when training diverged (a loss not finite) or there is no loss."""
    losses = np.asarray(loss_history, dtype=float)
    return float(losses.mean()) if len(losses) and np.all(np.isfinite(losses)) else float("inf")
