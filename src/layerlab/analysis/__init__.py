"""The analysis every study shares: statistics over seeds, grouping and curves, number formats.

- `stats`: mean_std, paired_difference, t_interval, welch, wilson, spearman, t_quantile.
- `group`: group_by, over_seeds, mean_curve, epoch_series, per_epoch_means, tail_mean,
  first_epoch_reaching, log_grid, downsample, moving_average, loss_auc.
- `fmt`: pm, accuracy, count, number, slope (each kind of number written one way).
- `divergence`: what counts as a diverged cell, and keeping diverged cells out of means,
  picks, claims and tables (`split`, `groups`, `label`, `note`, `lost_cells`,
  `figures_or_label`).
- `picks`: val_estimate, best_vs_runner_up, winner (a pick among candidates over seeds, the
  best against the runner-up paired by seed, and its ties).
- `verdict`: estimates with intervals (over seeds, images, both, pairs; exact) and the
  verdict rules against a study's figure, a goal, a comparison, or "no effect".

NumPy and the standard library only (no scipy at run time).
"""

from layerlab.analysis.fmt import accuracy, count, number, pm, slope
from layerlab.analysis.group import (
    downsample,
    epoch_series,
    first_epoch_reaching,
    group_by,
    log_grid,
    mean_curve,
    over_seeds,
    per_epoch_means,
    tail_mean,
)
from layerlab.analysis.stats import (
    Z95,
    Difference,
    Interval,
    MeanStd,
    TInterval,
    Welch,
    mean_std,
    paired_difference,
    spearman,
    t_interval,
    t_quantile,
    welch,
    wilson,
)

__all__ = [
    "Z95", "Difference", "Interval", "MeanStd", "TInterval", "Welch",
    "accuracy", "count", "downsample", "epoch_series", "first_epoch_reaching", "group_by",
    "log_grid", "mean_curve", "mean_std", "number", "over_seeds", "paired_difference",
    "per_epoch_means", "pm", "slope", "spearman", "t_interval", "t_quantile", "tail_mean",
    "welch", "wilson",
]
