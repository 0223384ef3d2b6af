"""Every layer and loss against PyTorch autograd, forward and backward, in float64, to 1e-10."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_oracle import TOL, batchnorm_matches_torch, close, torch_grads  # noqa: E402

from layerlab.scratch.layers import Identity, LeakyReLU, Linear, ReLU, Sigmoid, Tanh  # noqa: E402
from layerlab.scratch.losses import softmax_loss, square_loss, svm_loss  # noqa: E402
from layerlab.scratch.norm import BatchNorm, LayerNorm  # noqa: E402


def test_linear(rng):
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    out, cache = Linear.forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    t_out, t_grads = torch_grads(lambda x, w, b: x.reshape(4, -1) @ w + b, [x, w, b], dout)
    close(out, t_out)
    for ours, theirs in zip(Linear.backward(dout, cache), t_grads, strict=True):
        close(ours, theirs)


@pytest.mark.parametrize("layer,torch_fn", [
    (ReLU, F.relu), (Sigmoid, torch.sigmoid), (Tanh, torch.tanh),
    (LeakyReLU, lambda x: F.leaky_relu(x, 0.01)), (Identity, torch.nn.Identity()),
])
def test_activations(rng, layer, torch_fn):
    x = 3 * rng.standard_normal((6, 7))
    out, cache = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    t_out, (t_dx,) = torch_grads(torch_fn, [x], dout)
    close(out, t_out)
    close(layer.backward(dout, cache), t_dx)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        out, _ = Sigmoid.forward(x)
    close(out, torch.sigmoid(torch.tensor(x)))


@pytest.mark.parametrize("backward", ["backward", "backward_alt"])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm(rng, backward, mode):
    batchnorm_matches_torch(BatchNorm, backward, 4 * rng.standard_normal((8, 5)) + 3, mode, rng)


def test_layernorm(rng):
    x, gamma, beta = rng.standard_normal((6, 9)) * 3 + 1, rng.standard_normal(9), \
        rng.standard_normal(9)
    for mode in ("train", "test"):
        out, cache = LayerNorm.forward(x, gamma, beta, {"mode": mode})
        dout = rng.standard_normal(out.shape)
        t_out, t_grads = torch_grads(lambda x, g, b: F.layer_norm(x, (9,), g, b, eps=1e-5),
                                     [x, gamma, beta], dout)
        close(out, t_out)
        for ours, theirs in zip(LayerNorm.backward(dout, cache), t_grads, strict=True):
            close(ours, theirs)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_loss(rng, scale):
    x, y = scale * rng.standard_normal((20, 10)), rng.integers(10, size=20)
    loss, dx = softmax_loss(x, y)
    t_out, (t_dx,) = torch_grads(lambda x: F.cross_entropy(x, torch.tensor(y)), [x], None)
    assert np.isfinite(loss)
    close(np.array(loss), t_out)
    close(dx, t_dx)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_svm_loss(rng, scale):
    # torch's multi_margin_loss averages over classes too; ours sums them, so scale by C.
    C = 10
    x, y = scale * rng.standard_normal((20, C)), rng.integers(C, size=20)
    loss, dx = svm_loss(x, y)
    t_out, (t_dx,) = torch_grads(lambda x: C * F.multi_margin_loss(x, torch.tensor(y)), [x],
                                 None)
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, t_out.item(), rtol=TOL)
    close(dx, t_dx)


@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_square_loss(rng, outputs, scale):
    # ours is half the squared error summed over outputs, averaged over the batch; torch's
    # mse_loss averages over outputs too, so scale it by 0.5 * C.
    x = scale * rng.standard_normal((20, outputs))
    targets = rng.standard_normal(20) if outputs == 1 else rng.standard_normal((20, outputs))
    loss, dx = square_loss(x, targets)
    t = torch.tensor(targets.reshape(20, outputs))
    t_out, (t_dx,) = torch_grads(lambda x: 0.5 * outputs * F.mse_loss(x, t), [x], None)
    np.testing.assert_allclose(loss, t_out.item(), rtol=TOL)
    close(dx, t_dx)


def test_square_loss_is_half_the_mean_squared_error():
    loss, dscores = square_loss(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    assert loss == pytest.approx(0.5 * (1 + 4) / 2)
    np.testing.assert_allclose(dscores, [[0.5], [1.0]])


def test_square_loss_refuses_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match="targets must be"):
        square_loss(np.zeros((4, 2)), np.zeros(4))


def test_losses_reject_bad_labels(rng):
    x = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\]"):
        softmax_loss(x, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="labels must be"):
        svm_loss(x, np.array([0, 1]))
