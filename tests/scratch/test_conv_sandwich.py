"""Conv sandwiches are the composition of their stages, checked against PyTorch (float64)."""

import numpy as np
import pytest

from layerlab.scratch.conv import Conv
from layerlab.scratch.conv_sandwich import GroupNormStage, conv_sandwich
from layerlab.scratch.layers import ReLU, Tanh
from layerlab.scratch.pool import AvgPool, MaxPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10
CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def test_stages_follow_the_arguments():
    def layers(**kw):
        return [s.layer for s in conv_sandwich(**kw).stages]

    assert layers() == [Conv, ReLU, MaxPool]
    assert layers(norm="batchnorm", pool=False) == [Conv, SpatialBatchNorm, ReLU]
    assert layers(norm="groupnorm", pool="avg", activation="tanh") == [Conv, GroupNormStage,
                                                                       Tanh, AvgPool]


@pytest.mark.parametrize("norm", [None, "batchnorm", "groupnorm"])
@pytest.mark.parametrize("pool", [True, False, "avg"])
def test_matches_torch(rng, norm, pool):
    x = rng.standard_normal((3, 2, 6, 4))
    params = {"W": rng.standard_normal((4, 2, 3, 3)), "b": rng.standard_normal(4)}
    if norm:
        params |= {"gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)}
    options = {"conv": CONV, "norm": {"mode": "train", "G": 2}, "pool": POOL}
    sandwich = conv_sandwich(norm, pool)
    out, cache = sandwich.forward(x, params, options)
    dout = rng.standard_normal(out.shape)
    dx, grads = sandwich.backward(dout, cache)

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in {"x": x, **params}.items()}
    t = F.conv2d(tensors["x"], tensors["W"], tensors["b"], padding=1)
    if norm == "batchnorm":
        t = F.batch_norm(t, None, None, tensors["gamma"], tensors["beta"], training=True)
    elif norm == "groupnorm":
        t = F.group_norm(t, 2, tensors["gamma"], tensors["beta"])
    t = F.relu(t)
    if pool:
        t = (F.avg_pool2d if pool == "avg" else F.max_pool2d)(t, 2, 2)
    t.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, t.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(dx, tensors["x"].grad.numpy(), rtol=TOL, atol=TOL)
    assert set(grads) == set(params)
    for name, g in grads.items():
        np.testing.assert_allclose(g, tensors[name].grad.numpy(), rtol=TOL, atol=TOL)


def test_unknown_choices_are_named():
    with pytest.raises(ValueError, match="unknown normalization 'layernorm'.*batchnorm"):
        conv_sandwich("layernorm")
    with pytest.raises(ValueError, match="unknown pool 'min'"):
        conv_sandwich(pool="min")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        conv_sandwich(activation="gelu")
    with pytest.raises(ValueError, match="needs 'G'"):
        conv_sandwich("groupnorm").forward(
            np.zeros((1, 2, 4, 4)), {"W": np.zeros((2, 2, 3, 3)), "b": np.zeros(2),
                                     "gamma": np.ones(2), "beta": np.zeros(2)},
            {"conv": CONV, "norm": {"mode": "train"}, "pool": POOL})
