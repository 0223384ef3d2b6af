"""Pooling by hand against the engine's MaxPool/AvgPool and PyTorch."""

import numpy as np
import pytest
import torch

from layerlab.references import S8_POOL_MATRICES
from layerlab.theory.pooling import engine_pool, format_matrix, parse_matrix, pool_by_hand


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_the_four_s8_matrices(kind):
    torch_pool = torch.nn.functional.max_pool2d if kind == "max" else \
        torch.nn.functional.avg_pool2d
    for m in S8_POOL_MATRICES:
        m = np.array(m, dtype=float)
        ours = pool_by_hand(m, kind)
        assert ours.shape == (2, 2)
        np.testing.assert_array_equal(ours, engine_pool(m, kind))
        np.testing.assert_array_equal(ours, torch_pool(torch.tensor(m)[None, None], 2, 2)[0, 0])


def test_max_pooling_cannot_tell_the_four_matrices_apart():
    # each S8 matrix has a 1 in every 2x2 window: max pooling gives all ones, average does not
    maxes = {pool_by_hand(np.array(m), "max").tobytes() for m in S8_POOL_MATRICES}
    means = {pool_by_hand(np.array(m), "avg").tobytes() for m in S8_POOL_MATRICES}
    assert maxes == {np.ones((2, 2)).tobytes()} and len(means) == 4


@pytest.mark.parametrize("size,stride,shape", [(2, 2, (6, 8)), (3, 1, (5, 7)), (3, 2, (7, 9))])
def test_random_matrices_and_other_windows(rng, size, stride, shape):
    m = rng.standard_normal(shape)
    for kind in ("max", "avg"):
        np.testing.assert_allclose(pool_by_hand(m, kind, size, stride),
                                   engine_pool(m, kind, size, stride), rtol=0, atol=1e-12)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="multiple of 2"):
        pool_by_hand(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="equal length"):
        parse_matrix("1 2; 3")
    np.testing.assert_array_equal(parse_matrix("1 2\n3 4"), [[1, 2], [3, 4]])
    assert format_matrix(np.array([[0.25, 1.0]])) == "1/4   1"
