"""Spatial batchnorm and group norm against PyTorch (float64, 1e-10)."""

import numpy as np
import pytest

from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_oracle import batchnorm_matches_torch, close, torch_grads  # noqa: E402


@pytest.mark.parametrize("backward", ["backward", "backward_alt"])
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (2, 1, 3, 3), (3, 8, 2, 4)])
def test_spatial_batchnorm_matches_torch(rng, backward, mode, shape):
    # the running variance is unbiased over N*H*W values, as torch's
    batchnorm_matches_torch(SpatialBatchNorm, backward, 3 * rng.standard_normal(shape) + 2,
                            mode, rng)


def test_spatial_batchnorm_normalises_each_channel_over_n_h_w(rng):
    x = rng.standard_normal((6, 3, 4, 5)) * np.array([1, 10, 100])[:, None, None] + 7
    out, _ = SpatialBatchNorm.forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-3)


def test_course_shaped_gamma_is_accepted(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    gamma, beta = rng.standard_normal((1, 3, 1, 1)), rng.standard_normal((1, 3, 1, 1))
    for layer, extra in ((SpatialBatchNorm, ({"mode": "train"},)), (SpatialGroupNorm, (3, {}))):
        out, cache = layer.forward(x, gamma, beta, *extra)
        dx, dgamma, dbeta = layer.backward(np.ones_like(out), cache)
        assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (1, 3, 1, 1)


@pytest.mark.parametrize("G", [1, 2, 3, 6])
def test_group_norm_matches_torch(rng, G):
    x = 3 * rng.standard_normal((4, 6, 3, 5)) - 1
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    out, cache = SpatialGroupNorm.forward(x, gamma, beta, G, {"eps": 1e-5})
    dout = rng.standard_normal(out.shape)
    t_out, t_grads = torch_grads(lambda x, g, b: F.group_norm(x, G, g, b, eps=1e-5),
                                 [x, gamma, beta], dout)
    close(out, t_out)
    for ours, theirs in zip(SpatialGroupNorm.backward(dout, cache), t_grads, strict=True):
        close(ours, theirs)


def test_bad_arguments_are_named(rng):
    x = rng.standard_normal((2, 6, 3, 3))
    with pytest.raises(ValueError, match=r"G=4 groups must divide the 6 channels.*\[1, 2, 3, 6\]"):
        SpatialGroupNorm.forward(x, np.ones(6), np.zeros(6), 4)
    with pytest.raises(ValueError, match=r"gamma must have one entry per channel, \(C,\) = \(6,\)"):
        SpatialBatchNorm.forward(x, np.ones(5), np.zeros(6), {"mode": "train"})
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        SpatialBatchNorm.forward(x[0], np.ones(6), np.zeros(6), {"mode": "train"})
