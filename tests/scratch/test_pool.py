"""Max and average pooling: naive, fast and PyTorch agree forward and backward (float64, 1e-10)."""

import numpy as np
import pytest

from layerlab.scratch.pool import AvgPool, MaxPool, pool_geometry

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10

# (x shape, pool_height, pool_width, stride)
CASES = [
    ((2, 3, 4, 6), 2, 2, 2),  # tiles the input
    ((2, 3, 8, 8), 4, 4, 4),  # tiles, bigger windows
    ((2, 3, 6, 9), 2, 3, (2, 3)),  # tiles with rectangular windows
    ((2, 3, 5, 5), 2, 2, 1),  # overlapping windows
    ((2, 3, 7, 9), 3, 3, 2),  # overlapping, odd sizes
    ((1, 1, 8, 8), 2, 2, 3),  # windows that skip pixels
    ((3, 1, 5, 7), 3, 1, 2),  # one channel, tall windows
    ((2, 16, 6, 6), 2, 2, 2),  # many channels
]
IDS = [f"x{c[0]}-{c[1]}x{c[2]}-s{c[3]}" for c in CASES]

TORCH = {MaxPool: F.max_pool2d, AvgPool: F.avg_pool2d}


def torch_pool(layer, x, ph, pw, stride, dout):
    t = torch.tensor(x, requires_grad=True)
    out = TORCH[layer](t, (ph, pw), stride=stride)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), t.grad.numpy()


def close(ours, theirs):
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


def check_against_torch(layer, x, ph, pw, stride, rng):
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out_naive, cache_naive = layer.forward_naive(x, param)
    out_fast, cache_fast = layer.forward(x, param)
    dout = rng.standard_normal(out_naive.shape)
    out_torch, dx_torch = torch_pool(layer, x, ph, pw, stride, dout)
    close(out_naive, out_torch)
    close(out_fast, out_torch)
    close(layer.backward_naive(dout, cache_naive), dx_torch)
    close(layer.backward(dout, cache_fast), dx_torch)


@pytest.mark.parametrize("layer", [MaxPool, AvgPool])
@pytest.mark.parametrize("x_shape,ph,pw,stride", CASES, ids=IDS)
def test_naive_fast_and_torch_agree(rng, layer, x_shape, ph, pw, stride):
    check_against_torch(layer, rng.standard_normal(x_shape), ph, pw, stride, rng)


@pytest.mark.parametrize("x_shape,ph,pw,stride", CASES, ids=IDS)
def test_max_pool_ties_go_to_the_first_maximum_like_torch(rng, x_shape, ph, pw, stride):
    x = rng.integers(0, 2, size=x_shape).astype(np.float64)  # most windows hold ties
    check_against_torch(MaxPool, x, ph, pw, stride, rng)
    # and every window's gradient lands on exactly one pixel
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = MaxPool.forward(x, param)
    assert MaxPool.backward(np.ones_like(out), cache).sum() == out.size


def test_tiling_is_detected():
    assert pool_geometry((1, 1, 4, 6), {"pool_height": 2, "pool_width": 2, "stride": 2})[3]
    assert not pool_geometry((1, 1, 5, 5), {"pool_height": 2, "pool_width": 2, "stride": 1})[3]
    # the default stride is the window: 2x2 windows tiling the input
    assert pool_geometry((1, 1, 4, 4), {})[:3] == ((2, 2), (2, 2), (2, 2))


def test_fast_keeps_float32(rng):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    for layer in (MaxPool, AvgPool):
        for stride in (2, 1):
            out, cache = layer.forward(x, {"pool_height": 2, "pool_width": 2, "stride": stride})
            assert out.dtype == np.float32
            assert layer.backward(np.ones_like(out), cache).dtype == np.float32


@pytest.mark.parametrize("x_shape,param,words", [
    ((2, 3, 5, 5), {"pool_height": 2, "pool_width": 2, "stride": 2},
     ["x (2, 3, 5, 5)", "height", "multiple of the stride 2", "crop the input"]),
    ((2, 3, 4, 4), {"pool_height": 5, "pool_width": 2, "stride": 1},
     ["larger than the padded input"]),
    ((2, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}, ["(N, C, H, W)"]),
    ((2, 3, 4, 4), {"pool_height": 0, "pool_width": 2, "stride": 2}, ["positive int"]),
])
def test_bad_shapes_raise_clear_errors(x_shape, param, words):
    for layer in (MaxPool, AvgPool):
        for forward in (layer.forward, layer.forward_naive):
            with pytest.raises(ValueError) as err:
                forward(np.zeros(x_shape), param)
            for word in words:
                assert word in str(err.value)
