"""Gradient checks of the convolutional engine: conv, pooling, spatial norms, sandwiches, models.

Shapes are small so that the whole table stays fast: a centred difference runs the forward pass
twice per input entry, and the naive layers loop in Python.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.checks import NORM_THRESHOLD, check_layer, check_model, compare, register
from layerlab.scratch.conv import Conv
from layerlab.scratch.conv_models import DeepConvNet, LeNet5, ThreeLayerConvNet
from layerlab.scratch.conv_sandwich import conv_sandwich
from layerlab.scratch.gradcheck import sparse_check
from layerlab.scratch.pool import AvgPool, MaxPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm

XWB = [("x", 0), ("w", 1), ("b", 2)]
XGB = [("x", 0), ("gamma", 1), ("beta", 2)]
NORM_LIMITS = {"x": NORM_THRESHOLD}

# (x shape, w shape, conv_param): square and rectangular, stride 1 and 2, symmetric and
# per-side padding
CONV_CASES = [
    ((2, 3, 5, 5), (3, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((2, 2, 7, 6), (3, 2, 3, 2), {"stride": 2, "pad": (1, 1, 0, 2)}),
]
# (x shape, pool_param): windows that tile the input, and overlapping windows
POOL_CASES = [
    ((2, 2, 4, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    ((2, 2, 5, 7), {"pool_height": 3, "pool_width": 3, "stride": 2}),
]


def distinct(rng, shape, gap=0.1):
    """Random values at least `gap` apart: no near-ties in a max pool for a step h to cross."""
    return gap * rng.permutation(int(np.prod(shape))).reshape(shape) - gap * np.prod(shape) / 2


def _describe(param):
    return ", ".join(f"{k}={v}" for k, v in param.items())


@register("conv")
def conv_checks():
    rng = np.random.default_rng(241)
    rows = []
    for x_shape, w_shape, conv_param in CONV_CASES:
        for name, forward, backward in (
                ("backward_naive", Conv.forward_naive, Conv.backward_naive),
                ("backward", Conv.forward, Conv.backward)):
            args = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
                    rng.standard_normal(w_shape[0]), conv_param]
            what = f"Conv.{name} x{x_shape} w{w_shape} {_describe(conv_param)}"
            rows += check_layer("conv", what, forward, backward, args, XWB, rng)
    return rows


@register("pool")
def pool_checks():
    rng = np.random.default_rng(242)
    rows = []
    for layer in (MaxPool, AvgPool):
        for x_shape, pool_param in POOL_CASES:
            for name, forward, backward in (
                    ("backward_naive", layer.forward_naive, layer.backward_naive),
                    ("backward", layer.forward, layer.backward)):
                what = f"{layer.__name__}.{name} x{x_shape} {_describe(pool_param)}"
                rows += check_layer("pool", what, forward, backward,
                                    [distinct(rng, x_shape), pool_param], [("x", 0)], rng)
    return rows


@register("norm")
def spatial_norm_checks():
    rng = np.random.default_rng(243)
    rows = []
    N, C, H, W = 3, 4, 3, 2

    def bn_args(mode):
        return [4 * rng.standard_normal((N, C, H, W)) + 10, rng.standard_normal(C),
                rng.standard_normal(C), {"mode": mode, "running_mean": rng.standard_normal(C),
                                         "running_var": rng.random(C) + 0.5}]

    for name in ("backward", "backward_alt"):
        for mode in ("train", "test"):
            rows += check_layer("norm", f"SpatialBatchNorm.{name} ({mode})",
                                SpatialBatchNorm.forward, getattr(SpatialBatchNorm, name),
                                bn_args(mode), XGB, rng, NORM_LIMITS)
    for G in (1, 2, 4):
        args = [4 * rng.standard_normal((N, C, H, W)) + 10, rng.standard_normal(C),
                rng.standard_normal(C), G, {}]
        rows += check_layer("norm", f"SpatialGroupNorm.backward G={G}", SpatialGroupNorm.forward,
                            SpatialGroupNorm.backward, args, XGB, rng, NORM_LIMITS)
    return rows


@register("sandwich")
def conv_sandwich_checks():
    rng = np.random.default_rng(246)
    rows = []
    configs = [(None, True, "relu"), (None, False, "tanh"), ("batchnorm", True, "relu"),
               ("groupnorm", True, "relu"), ("batchnorm", "avg", "tanh")]
    for norm, pool, activation in configs:
        sandwich = conv_sandwich(norm, pool, activation)
        names = ["W", "b"] + (["gamma", "beta"] if norm else [])
        params = {"W": rng.standard_normal((4, 2, 3, 3)), "b": rng.standard_normal(4),
                  "gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)}
        params = {k: params[k] for k in names}
        options = {"conv": {"stride": 1, "pad": 1}, "norm": {"mode": "train", "G": 2},
                   "pool": {"pool_height": 2, "pool_width": 2, "stride": 2}}

        def forward(x, *arrays, names=names, sandwich=sandwich, options=options):
            return sandwich.forward(x, dict(zip(names, arrays, strict=True)), options)

        def backward(dout, cache, names=names, sandwich=sandwich):
            dx, grads = sandwich.backward(dout, cache)
            return (dx, *(grads[n] for n in names))

        what = f"Conv-{norm or 'nonorm'}-{activation}-{'pool ' + str(pool) if pool else 'nopool'}"
        wrt = [("x", 0)] + [(n, i + 1) for i, n in enumerate(names)]
        rows += check_layer("sandwich", what, forward, backward,
                            [rng.standard_normal((2, 2, 4, 4)), *params.values()], wrt, rng,
                            NORM_LIMITS if norm else None)
    return rows


def check_model_sparse(group, what, model, X, y, num_checks=12, seed=0):
    """Like `check_model`, at `num_checks` random entries of each parameter (for big models)."""
    _, grads = model.loss(X, y)
    rows = []
    for name in sorted(model.params):
        checked = sparse_check(lambda: model.loss(X, y)[0], model.params[name], grads[name],
                               num_checks, seed=seed)
        numeric = [r[1] for r in checked]
        analytic = [r[2] for r in checked]
        rows.append(compare(group, what, name, numeric, analytic, criterion="norm"))
    return rows


@register("models")
def conv_model_checks():
    rng = np.random.default_rng(245)
    rows = []
    X, y = rng.standard_normal((3, 3, 8, 8)), rng.integers(10, size=3)
    model = ThreeLayerConvNet((3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10,
                              weight_scale=1e-1, reg=0.1, dtype=np.float64, seed=1)
    rows += check_model("models", "ThreeLayerConvNet 3x8x8 reg=0.1", model, X, y)
    for batchnorm in (False, True):
        model = DeepConvNet((3, 8, 8), num_filters=[4, 4, 4], max_pools=[0, 2],
                            batchnorm=batchnorm, weight_scale="kaiming", reg=0.1, l1=0.01,
                            dtype=np.float64, seed=2)
        rows += check_model("models", f"DeepConvNet 4-4-4 batchnorm={batchnorm} reg=0.1 l1=0.01",
                            model, X, y)
    # LeNet-5 has 60k parameters: check a random sample of entries of each
    model = LeNet5(batchnorm=True, dropout=0.25, reg=0.1, dtype=np.float64, seed=3)
    model.dropout_param["seed"] = 4  # the same mask on every call
    X, y = rng.standard_normal((2, 1, 28, 28)), rng.integers(10, size=2)
    rows += check_model_sparse("models", "LeNet5 batchnorm dropout=0.25 reg=0.1 (12 entries)",
                               model, X, y)
    return rows
