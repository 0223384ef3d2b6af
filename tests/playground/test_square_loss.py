"""The squared-error loss of regression: value by hand and a float64 gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from layerlab.scratch.gradcheck import numerical_gradient, rel_error
from layerlab.scratch.losses import square_loss


def test_value_is_half_the_mean_squared_error():
    scores = np.array([[1.0], [3.0]])
    loss, dscores = square_loss(scores, np.array([0.0, 1.0]))
    assert loss == pytest.approx(0.5 * (1 + 4) / 2)
    np.testing.assert_allclose(dscores, [[0.5], [1.0]])


@pytest.mark.parametrize("shape", [(7, 1), (5, 3)])
def test_gradient_matches_centred_differences_in_float64(shape):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal(shape)
    y = rng.standard_normal(shape[0]) if shape[1] == 1 else rng.standard_normal(shape)
    _, dscores = square_loss(scores, y)
    numeric = numerical_gradient(lambda: square_loss(scores, y)[0], scores)
    assert rel_error(dscores, numeric) < 1e-8


def test_targets_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="targets must be"):
        square_loss(np.zeros((4, 2)), np.zeros(4))
