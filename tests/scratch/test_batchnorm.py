"""BatchNorm behaviour: the two backward passes, train/test statistics (study S1.6 d)."""

import numpy as np

from layerlab.scratch.norm import BatchNorm, LayerNorm


def test_backward_and_backward_alt_agree(rng):
    for N, D in [(2, 3), (50, 40), (256, 100)]:
        x = 3 * rng.standard_normal((N, D)) + 5
        gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
        _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
        dout = rng.standard_normal((N, D))
        for a, b in zip(BatchNorm.backward(dout, cache), BatchNorm.backward_alt(dout, cache),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_train_mode_output_has_beta_means_and_gamma_stds(rng):
    x = 5 * rng.standard_normal((200, 3)) + 11
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    out, _ = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-8)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-3)


def test_running_statistics_serve_test_mode(rng):
    N, D1, D2, D3 = 200, 50, 60, 3
    W1, W2 = rng.standard_normal((D1, D2)), rng.standard_normal((D2, D3))
    gamma, beta = np.ones(D3), np.zeros(D3)
    param = {"mode": "train"}
    for _ in range(50):
        X = rng.standard_normal((N, D1))
        BatchNorm.forward(np.maximum(X @ W1, 0) @ W2, gamma, beta, param)
    param["mode"] = "test"
    X = rng.standard_normal((10 * N, D1))  # large, so the sample mean itself is within ~0.02
    out, _ = BatchNorm.forward(np.maximum(X @ W1, 0) @ W2, gamma, beta, param)
    assert np.all(np.abs(out.mean(axis=0) - beta) < 0.1)
    assert np.all(np.abs(out.std(axis=0) - gamma) < 0.1)
    # without the 50 warm-up passes the running statistics are wrong, and so are the means
    fresh, _ = BatchNorm.forward(np.maximum(X @ W1, 0) @ W2, gamma, beta, {"mode": "test"})
    assert np.any(np.abs(fresh.mean(axis=0) - beta) > 1)


def test_layernorm_is_the_same_in_both_modes_and_per_sample(rng):
    x = rng.standard_normal((4, 30)) * np.arange(1, 5)[:, None] + 7
    gamma, beta = np.ones(30), np.zeros(30)
    a, _ = LayerNorm.forward(x, gamma, beta, {"mode": "train"})
    b, _ = LayerNorm.forward(x, gamma, beta, {"mode": "test"})
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a.mean(axis=1), 0, atol=1e-10)
    np.testing.assert_allclose(a.std(axis=1), 1, rtol=1e-3)
    # a sample's output does not depend on the others in the batch
    c, _ = LayerNorm.forward(x[:1], gamma, beta)
    np.testing.assert_allclose(c[0], a[0])
