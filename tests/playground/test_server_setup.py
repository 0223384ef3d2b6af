"""The playground's setup (URL query <-> dict, presets) and its points."""

from __future__ import annotations

import numpy as np
import pytest

from layerlab.data import toy2d
from layerlab.playground import data
from layerlab.playground import setup as setups
from layerlab.playground.setup import SetupError


def test_every_preset_survives_the_url_both_ways():
    for preset in setups.presets().values():
        query = setups.to_query(preset["setup"])
        assert setups.from_query(query) == preset["setup"]
        assert setups.to_query(setups.from_query("?" + query)) == query


def test_json_values_and_url_text_give_the_same_setup():
    from_json = setups.validate({"hidden": [3, 3], "features": ["x2", "x1"], "lr": 0.1,
                                 "batchnorm": True})
    from_text = setups.from_query("hidden=3,3&features=x2,x1&lr=0.1&batchnorm=1")
    assert from_json == from_text
    assert from_json["features"] == ["x1", "x2"] and from_json["batchnorm"] == 1


def test_a_change_of_dataset_alone_takes_the_classes_back_to_two():
    spiral = setups.validate({"dataset": "spiral", "classes": 4})
    assert setups.validate({"dataset": "circle"}, spiral)["classes"] == 2
    with pytest.raises(SetupError, match="classes=4 needs dataset=spiral"):
        setups.validate({"dataset": "circle", "classes": 4}, spiral)


def test_the_two_class_spiral_is_toy2d_s_and_more_arms_are_balanced():
    X, y = data.make("spiral", 200, 0.1, 2, 3)
    X2, y2 = toy2d.make("spiral", 200, 0.1, 3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X, y = data.make("spiral", 500, 0.0, 5, 0)
    assert np.bincount(y).tolist() == [100] * 5
    assert np.abs(X).max() <= 5


@pytest.mark.parametrize("name", ["plane", "multigauss"])
def test_regression_targets_lie_in_minus_one_to_one_and_vary(name):
    X, y = data.make(name, 400, 0.0, 2, 0)
    assert y.dtype == np.float64 and -1 <= y.min() < -0.5 and 0.5 < y.max() <= 1
    assert np.abs(X).max() <= 6


def test_or_is_one_unless_both_coordinates_are_negative():
    X, y = data.make("or", 300, 0.0, 2, 0)
    assert np.array_equal(y, ((X[:, 0] > 0) | (X[:, 1] > 0)).astype(int))
