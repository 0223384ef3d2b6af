"""Mean curves of groups of runs, as the series and panels of a 'curves' plot (`Run.plot`).

- `loss_series`: each group's mean training loss per iteration, downsampled.
- `accuracy_panels`: a train and a val panel, each group's mean accuracy per epoch.

A group is {label: [runs]}, a run being a cell's result with 'loss_history' (per iteration)
or 'train_acc_history' / 'val_acc_history' (per epoch, epoch 0 first).
"""

from __future__ import annotations

from layerlab.analysis.group import downsample, epoch_series, mean_curve


def loss_series(groups, points=500):
    """Mean loss per iteration of each group, cut to `points` points (`downsample`).

    Args:
        groups: {label: [runs]}, each run with 'loss_history' (n_iterations,); runs of
            different lengths are averaged where they reach (`mean_curve`).
    Returns:
        {label: [xs, ys]}, the `series` of a curves plot or panel.
    """
    return {label: [list(xs), ys] for label, (xs, ys) in (
        (label, downsample(mean_curve([r["loss_history"] for r in runs]), points))
        for label, runs in groups.items())}


def accuracy_panels(groups, pad=True):
    """The train and the val accuracy panels, each group's mean accuracy per epoch.

    Args:
        groups: {label: [runs]}, each run with 'train_acc_history' and 'val_acc_history'
            (n_epochs + 1,); pad as in `mean_curve`.
    Returns:
        [{'ylabel': 'train accuracy', 'series': {label: [epochs, means]}}, the same for val].
    """
    return [{"ylabel": f"{which} accuracy",
             "series": {label: epoch_series([r[f"{which}_acc_history"] for r in runs], pad=pad)
                        for label, runs in groups.items()}} for which in ("train", "val")]
