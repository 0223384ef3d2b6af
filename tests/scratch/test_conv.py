"""Conv: naive, fast and PyTorch agree forward and backward (float64, 1e-10); bad shapes fail."""

import numpy as np
import pytest

from layerlab.scratch.conv import Conv, conv_geometry, pads

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10

# (x shape, w shape, conv_param)
CASES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 1, "pad": 0}),
    ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 2, "pad": 1}),
    ((2, 3, 6, 6), (2, 3, 5, 5), {"stride": 1, "pad": 2}),
    ((2, 3, 8, 8), (3, 3, 4, 4), {"stride": 2, "pad": 1}),  # even input and kernel
    ((3, 2, 6, 9), (3, 2, 3, 5), {"stride": 1, "pad": (1, 2)}),  # non-square, (pad_h, pad_w)
    ((2, 2, 7, 6), (3, 2, 3, 2), {"stride": 2, "pad": (1, 1, 0, 2)}),  # per-side padding
    ((2, 3, 5, 8), (2, 3, 2, 3), {"stride": (1, 2), "pad": (0, 1, 1, 0)}),  # (stride_h, stride_w)
    ((4, 1, 9, 9), (1, 1, 3, 3), {"stride": 3, "pad": 0}),  # one channel in and out
    ((2, 16, 5, 5), (8, 16, 3, 3), {"stride": 1, "pad": 1}),  # many channels
    ((2, 3, 5, 4), (6, 3, 1, 1), {"stride": 1, "pad": 0}),  # 1x1 kernel
    ((2, 3, 31, 31), (5, 3, 3, 3), {"stride": 2, "pad": 1}),  # the study's shape, fewer maps
]


def torch_conv(x, w, b, conv_param, dout):
    """PyTorch's output and gradients of sum(out * dout); padding per side via F.pad."""
    top, bottom, left, right = pads(conv_param["pad"])
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    xp = F.pad(tensors[0], (left, right, top, bottom))
    out = F.conv2d(xp, tensors[1], tensors[2], stride=conv_param["stride"])
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def close(ours, theirs):
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("x_shape,w_shape,conv_param", CASES,
                         ids=[f"x{c[0]}-w{c[1]}-{c[2]}" for c in CASES])
def test_naive_fast_and_torch_agree(rng, x_shape, w_shape, conv_param):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out_naive, cache_naive = Conv.forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = Conv.forward(x, w, b, conv_param)
    dout = rng.standard_normal(out_naive.shape)
    out_torch, grads_torch = torch_conv(x, w, b, conv_param, dout)
    close(out_naive, out_torch)
    close(out_fast, out_torch)
    grads_naive = Conv.backward_naive(dout, cache_naive)
    grads_fast = Conv.backward(dout, cache_fast)
    for naive, fast, theirs in zip(grads_naive, grads_fast, grads_torch, strict=True):
        close(naive, theirs)
        close(fast, theirs)


@pytest.mark.parametrize("conv_param", [{"stride": 1, "pad": 1}, {"stride": 2, "pad": 1}])
def test_fast_over_several_blocks_with_a_short_last_one(rng, monkeypatch, conv_param):
    """A block budget of 3 images' columns splits 7 images into blocks of 3, 3 and 1: the
    buffers are reused and the last block is a narrower view of them."""
    from layerlab.scratch import conv

    x, w = rng.standard_normal((7, 2, 7, 7)), rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    geometry = conv_geometry(x.shape, w.shape, conv_param)
    H_out = geometry[2][0]
    per_image = (2 * 3 * 3 + 1) * H_out * H_out * 8
    monkeypatch.setattr(conv, "BLOCK_BYTES", 3 * per_image)
    blocks = [(n0, n) for n0, n, _ in conv._column_blocks(x, w.shape, *geometry[:2],
                                                           (H_out, H_out), np.float64)]
    assert blocks == [(0, 3), (3, 3), (6, 1)]
    out, cache = Conv.forward(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    out_torch, grads_torch = torch_conv(x, w, b, conv_param, dout)
    close(out, out_torch)
    for fast, theirs in zip(Conv.backward(dout, cache), grads_torch, strict=True):
        close(fast, theirs)


def test_fast_keeps_float32_and_can_skip_dx(rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    out, cache = Conv.forward(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == np.float32 and out.flags.c_contiguous
    dx, dw, db = Conv.backward(np.ones_like(out), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    skipped, dw2, db2 = Conv.backward(np.ones_like(out), cache, need_dx=False)
    assert skipped is None
    np.testing.assert_array_equal(dw, dw2)
    np.testing.assert_array_equal(db, db2)


def test_fast_accepts_non_contiguous_input(rng):
    x = rng.standard_normal((2, 5, 6, 3)).transpose(0, 3, 1, 2)  # (2, 3, 5, 6), a view
    w, b = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    param = {"stride": 1, "pad": 1}
    close(Conv.forward(x, w, b, param)[0], Conv.forward_naive(x, w, b, param)[0])


def test_default_param_is_stride_1_no_padding(rng):
    x, w, b = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
    assert Conv.forward(x, w, b, {})[0].shape == (1, 3, 3, 3)


def test_geometry_of_the_study_shape():
    stride, pad, out = conv_geometry((100, 3, 31, 31), (25, 3, 3, 3), {"stride": 2, "pad": 1})
    assert stride == (2, 2) and pad == (1, 1, 1, 1) and out == (16, 16)
    assert pads((1, 2)) == (1, 1, 2, 2) and pads((0, 1, 2, 3)) == (0, 1, 2, 3)


@pytest.mark.parametrize("x_shape,w_shape,conv_param,words", [
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 2, "pad": 1},
     ["x (2, 3, 8, 8)", "w (4, 3, 3, 3)", "height", "multiple of the stride 2",
      "change the padding"]),
    ((2, 3, 8, 8), (4, 2, 3, 3), {"stride": 1, "pad": 1}, ["3 channels", "expects 2"]),
    ((2, 3, 4, 4), (4, 3, 7, 7), {"stride": 1, "pad": 1}, ["larger than the padded input",
                                                           "more padding"]),
    ((2, 3, 8), (4, 3, 3, 3), {"stride": 1, "pad": 1}, ["(N, C, H, W)"]),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 0, "pad": 1}, ["stride", "positive int"]),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": -1}, ["pad", "non-negative"]),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": (1, 1, 1)}, ["(top, bottom, left, right)"]),
])
def test_bad_shapes_raise_clear_errors(x_shape, w_shape, conv_param, words):
    x, w, b = np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0])
    for forward in (Conv.forward, Conv.forward_naive):
        with pytest.raises(ValueError) as err:
            forward(x, w, b, conv_param)
        for word in words:
            assert word in str(err.value)


def test_bad_bias_shape_is_named():
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        Conv.forward(np.zeros((1, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(3), {})


def test_a_wrong_fast_backward_would_be_caught(rng):
    """The comparison above can fail: flipping the kernel (convolution vs correlation) does."""
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), np.zeros(2)
    out, _ = Conv.forward(x, w[:, :, ::-1, ::-1], b, {"stride": 1, "pad": 1})
    theirs, _ = torch_conv(x, w, b, {"stride": 1, "pad": 1}, np.ones(out.shape))
    assert np.abs(out - theirs).max() > 1e-3
