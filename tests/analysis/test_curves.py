"""analysis.curves: the mean curves of groups of runs, as a report's plot data."""

import pytest

from layerlab.analysis.curves import accuracy_panels, loss_series


def test_loss_series_averages_each_group_and_downsamples():
    groups = {"a": [{"loss_history": [4.0, 2.0, 0.0]}, {"loss_history": [2.0, 2.0]}],
              "b": [{"loss_history": list(range(1000))}]}
    series = loss_series(groups, points=10)
    assert series["a"] == [[1, 2, 3], [3.0, 2.0, 0.0]]  # the third point: only the longer run
    xs, ys = series["b"]
    assert len(xs) == len(ys) == 10
    assert ys[0] == pytest.approx(sum(range(100)) / 100)


def test_accuracy_panels_train_then_val_per_epoch():
    runs = [{"train_acc_history": [0.1, 0.5], "val_acc_history": [0.1, 0.3]},
            {"train_acc_history": [0.3, 0.7], "val_acc_history": [0.1, 0.5]}]
    train, val = accuracy_panels({"net": runs})
    assert train["ylabel"] == "train accuracy" and val["ylabel"] == "val accuracy"
    assert train["series"]["net"] == [[0, 1], pytest.approx([0.2, 0.6])]
    assert val["series"]["net"] == [[0, 1], pytest.approx([0.1, 0.4])]
    short = runs + [{"train_acc_history": [0.5], "val_acc_history": [0.5]}]
    with pytest.raises(ValueError):
        accuracy_panels({"net": short}, pad=False)
