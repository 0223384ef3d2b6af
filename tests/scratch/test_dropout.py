"""Dropout statistics (study S1.8 a, c): p is the probability of dropping."""

import numpy as np
import pytest

from layerlab.scratch.dropout import Dropout


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_inverted_dropout_statistics(p):
    x = np.random.default_rng(1).standard_normal((500, 500)) + 10
    train, _ = Dropout.forward(x, {"mode": "train", "p": p, "seed": 123})
    test, _ = Dropout.forward(x, {"mode": "test", "p": p, "seed": 123})
    assert abs(np.mean(train == 0) - p) < 0.01
    assert abs(train.mean() - x.mean()) / x.mean() < 0.01
    assert np.array_equal(test, x)
    assert np.mean(test == 0) == 0


@pytest.mark.parametrize("p", [0.25, 0.7])
def test_vanilla_dropout_scales_at_test_time(p):
    x = np.random.default_rng(2).standard_normal((500, 500)) + 10
    train, _ = Dropout.forward(x, {"mode": "train", "p": p, "seed": 5, "inverted": False})
    test, _ = Dropout.forward(x, {"mode": "test", "p": p, "inverted": False})
    kept = train != 0
    assert np.array_equal(train[kept], x[kept])  # vanilla does not scale at train time
    np.testing.assert_allclose(test, x * (1 - p))
    # same expected activation in both modes, the point of both variants
    assert abs(train.mean() - test.mean()) / test.mean() < 0.01


def test_same_seed_same_mask_and_rng_draws_differ():
    x = np.ones((50, 50))
    a, _ = Dropout.forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    b, _ = Dropout.forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    assert np.array_equal(a, b)
    rng = np.random.default_rng(0)
    c, _ = Dropout.forward(x, {"mode": "train", "p": 0.5, "rng": rng})
    d, _ = Dropout.forward(x, {"mode": "train", "p": 0.5, "rng": rng})
    assert not np.array_equal(c, d)


def test_dropout_keeps_dtype_and_rejects_bad_params():
    x = np.ones((4, 4), dtype=np.float32)
    out, _ = Dropout.forward(x, {"mode": "train", "p": 0.5, "seed": 0})
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="probability of dropping"):
        Dropout.forward(x, {"mode": "train", "p": 1.0})
    with pytest.raises(ValueError, match="mode"):
        Dropout.forward(x, {"mode": "eval", "p": 0.5})
