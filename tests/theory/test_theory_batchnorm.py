"""The S4 batchnorm backward formulas against both engine backward passes, autograd and
centred differences."""

import numpy as np
import pytest

from layerlab.references import S4_BN_FORMULA_ERROR
from layerlab.scratch.gradcheck import numerical_gradient_array, rel_error
from layerlab.scratch.norm import BatchNorm
from layerlab.theory.batchnorm import compare, formula_backward


@pytest.mark.parametrize("m,D,seed", [(16, 5, 0), (4, 1, 1), (50, 20, 2)])
def test_formulas_equal_engine_and_autograd(m, D, seed):
    rows = compare(m, D, seed)["rows"]
    assert {vs for _, vs, _ in rows} == {"autograd", "engine backward (graph)",
                                         "engine backward_alt (closed form)"}
    for name, vs, err in rows:
        assert err < S4_BN_FORMULA_ERROR, (name, vs, err)


def test_formulas_against_centred_differences(rng):
    x = 2 * rng.standard_normal((6, 3)) + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dy = rng.standard_normal((6, 3))
    ours = formula_backward(dy, x, gamma)

    xc, gc = x.copy(), gamma.copy()  # differentiated in place by the checks
    dx = numerical_gradient_array(
        lambda: BatchNorm.forward(xc, gamma, beta, {"mode": "train"})[0], xc, dy)
    dgamma = numerical_gradient_array(
        lambda: BatchNorm.forward(x, gc, beta, {"mode": "train"})[0], gc, dy)
    assert rel_error(ours["dx"], dx) < 1e-7
    assert rel_error(ours["dgamma"], dgamma) < 1e-7

def test_dx_sums_to_zero_over_the_batch(rng):
    # shifting every input of a feature changes nothing after normalisation
    x, dy = rng.standard_normal((8, 4)), rng.standard_normal((8, 4))
    dx = formula_backward(dy, x, rng.standard_normal(4))["dx"]
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
