"""The gradient-check table (what `layerlab gradcheck` prints) passes row by row, and can fail."""

import numpy as np
import pytest

from layerlab.scratch import checks
from layerlab.scratch.gradcheck import (
    norm_error,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
    sparse_check,
)
from layerlab.scratch.layers import Linear

ROWS = checks.run_checks()


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.what}:{r.parameter}" for r in ROWS])
def test_every_row_passes(row):
    error = row.rel_error if row.criterion == "rel" else row.norm_error
    assert error < row.threshold, row


def test_table_covers_every_layer_loss_and_model():
    covered = {r.what.split(".")[0].split(" ")[0] for r in ROWS}
    for name in ["Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity", "Dropout",
                 "BatchNorm", "LayerNorm", "softmax_loss", "svm_loss", "square_loss",
                 "TwoLayerNet", "FC"]:
        assert name in covered
    assert {r.what for r in ROWS} >= {"BatchNorm.backward (train)",
                                      "BatchNorm.backward_alt (train)"}


def test_layer_thresholds_are_the_issue_limits():
    for r in ROWS:
        if r.group in ("layers", "losses"):
            assert r.threshold == 1e-7 and r.criterion == "rel"
        if r.group == "norm":
            assert r.threshold == (1e-6 if r.parameter == "x" else 1e-7)


def test_a_wrong_backward_fails_the_check(rng):
    def bad_backward(dout, cache):
        dx, dw, db = Linear.backward(dout, cache)
        return dx, dw * 1.001, db  # a 0.1% error in dw

    args = [rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)]
    rows = checks.check_layer("t", "bad", Linear.forward, bad_backward, args,
                              [("x", 0), ("w", 1), ("b", 2)], rng)
    assert [r.passed for r in rows] == [True, False, True]


def test_rel_error_is_the_course_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(2 / 4)
    assert rel_error(np.array([0.0]), np.array([1e-10])) == pytest.approx(1e-10 / 1e-8)
    assert norm_error(np.array([3.0, 0.0]), np.array([0.0, 4.0])) == pytest.approx(5 / 7)


def test_numerical_gradients_match_known_derivatives(rng):
    x = rng.standard_normal((3, 4))
    for order in (2, 4):
        grad = numerical_gradient(lambda: np.sum(np.sin(x)), x, order=order)
        assert rel_error(grad, np.cos(x)) < 1e-8
    dout = rng.standard_normal((3, 4))
    grad = numerical_gradient_array(lambda: x**3, x, dout)
    assert rel_error(grad, 3 * x**2 * dout) < 1e-7
    rows = sparse_check(lambda: np.sum(x**2), x, 2 * x, num_checks=5)
    assert len(rows) == 5 and max(r[3] for r in rows) < 1e-8
    rows = sparse_check(lambda: np.sum(x**2), x, 3 * x, num_checks=5)
    assert min(r[3] for r in rows) > 0.1
