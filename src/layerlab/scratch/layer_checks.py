"""Gradient checks of the fully-connected engine: layers, losses, sandwiches and models."""

from __future__ import annotations

import numpy as np

from layerlab import references
from layerlab.scratch.checks import (
    NORM_THRESHOLD,
    check_layer,
    check_model,
    compare,
    register,
)
from layerlab.scratch.dropout import Dropout
from layerlab.scratch.gradcheck import numerical_gradient
from layerlab.scratch.layers import Identity, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from layerlab.scratch.losses import softmax_loss, square_loss, svm_loss
from layerlab.scratch.models import FullyConnectedNet, TwoLayerNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.sandwich import fc_sandwich

XWB = [("x", 0), ("w", 1), ("b", 2)]
XGB = [("x", 0), ("gamma", 1), ("beta", 2)]
NORM_LIMITS = {"x": NORM_THRESHOLD}


def away_from_zero(rng, shape, margin=0.05):
    """Random float64 values with |x| >= margin, so kinks at 0 do not spoil centred differences."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + margin, x - margin)


@register("layers")
def linear_checks():
    """Linear: the course's forward figures and the backward of x, w, b."""
    rng = np.random.default_rng(231)
    S11 = references.S1_1_LAYER_CHECKS
    x = np.linspace(-0.1, 0.5, 240).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, 360).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, 3)
    out, _ = Linear.forward(x, w, b)
    rows = [compare("layers", "Linear.forward", "out", references.S1_1_LINEAR_FORWARD_EXPECTED,
                    out, reference=S11[("Linear.forward", "out")])]
    args = [rng.standard_normal((10, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)]
    refs = {p: S11[("Linear.backward", p)] for p in "xwb"}
    return rows + check_layer("layers", "Linear.backward", Linear.forward, Linear.backward,
                              args, XWB, rng, references=refs)


@register("layers")
def activation_checks():
    """ReLU's forward figures; the backward of every activation."""
    rng = np.random.default_rng(232)
    out, _ = ReLU.forward(np.linspace(-0.5, 0.5, 12).reshape(3, 4))
    rows = [compare("layers", "ReLU.forward", "out", references.S1_1_RELU_FORWARD_EXPECTED, out,
                    reference=references.S1_1_LAYER_CHECKS[("ReLU.forward", "out")])]
    rows += check_layer("layers", "ReLU.backward", ReLU.forward, ReLU.backward,
                        [away_from_zero(rng, (10, 10))], [("x", 0)], rng,
                        references={"x": references.S1_1_LAYER_CHECKS[("ReLU.backward", "x")]})
    rows += check_layer("layers", "LeakyReLU.backward", LeakyReLU.forward, LeakyReLU.backward,
                        [away_from_zero(rng, (10, 10)), 0.1], [("x", 0)], rng)
    for layer in (Sigmoid, Tanh, Identity):
        rows += check_layer("layers", f"{layer.__name__}.backward", layer.forward,
                            layer.backward, [rng.standard_normal((10, 10))], [("x", 0)], rng)
    return rows


@register("layers")
def dropout_checks():
    """Dropout's backward, inverted and vanilla, in train and test mode."""
    rng = np.random.default_rng(233)
    rows = []
    for inverted in (True, False):
        for mode in ("train", "test"):
            param = {"mode": mode, "p": 0.3, "seed": 123, "inverted": inverted}
            what = f"Dropout.backward ({'inverted' if inverted else 'vanilla'}, {mode})"
            rows += check_layer("layers", what, Dropout.forward, Dropout.backward,
                                [rng.standard_normal((10, 10)) + 10, param], [("x", 0)], rng)
    return rows


@register("norm")
def norm_checks():
    """BatchNorm (both backward passes, train and test) and LayerNorm."""
    rng = np.random.default_rng(234)
    rows = []
    N, D = 4, 5

    def bn_args(mode):
        return [5 * rng.standard_normal((N, D)) + 12, rng.standard_normal(D),
                rng.standard_normal(D), {"mode": mode, "running_mean": rng.standard_normal(D),
                                         "running_var": rng.random(D) + 0.5}]

    for name, backward in (("backward", BatchNorm.backward),
                           ("backward_alt", BatchNorm.backward_alt)):
        for mode in ("train", "test"):
            rows += check_layer("norm", f"BatchNorm.{name} ({mode})", BatchNorm.forward,
                                backward, bn_args(mode), XGB, rng, NORM_LIMITS)
    ln_args = [5 * rng.standard_normal((N, D)) + 12, rng.standard_normal(D),
               rng.standard_normal(D), {}]
    rows += check_layer("norm", "LayerNorm.backward", LayerNorm.forward, LayerNorm.backward,
                        ln_args, XGB, rng, NORM_LIMITS)
    return rows


@register("losses")
def loss_checks():
    """The gradient of every loss with respect to its scores."""
    rng = np.random.default_rng(235)
    rows = []
    N, C = 50, 10
    y = rng.integers(C, size=N)
    for fn in (softmax_loss, svm_loss):
        x = 0.001 * rng.standard_normal((N, C)) if fn is svm_loss else rng.standard_normal((N, C))
        _, dx = fn(x, y)
        numeric = numerical_gradient(lambda fn=fn, x=x: fn(x, y)[0], x, h=1e-4, order=4)
        rows.append(compare("losses", fn.__name__, "x", numeric, dx))
    # regression: one output with (N,) targets, and several outputs with (N, C) targets. The
    # loss is quadratic, so a centred difference is exact for any h: a larger h than above only
    # cuts the rounding error (which would otherwise near the threshold on the smallest entries)
    for what, targets in (("square_loss", rng.standard_normal(N)),
                          ("square_loss (C outputs)", rng.standard_normal((N, C)))):
        x = rng.standard_normal((N, 1 if targets.ndim == 1 else C))
        _, dx = square_loss(x, targets)
        numeric = numerical_gradient(lambda x=x, t=targets: square_loss(x, t)[0], x, h=1e-2,
                                     order=4)
        rows.append(compare("losses", what, "x", numeric, dx))
    return rows


@register("sandwich")
def sandwich_checks():
    """Linear-[norm]-activation-dropout sandwiches, every parameter."""
    rng = np.random.default_rng(236)
    rows = []
    for norm in (None, "batchnorm", "layernorm"):
        for activation in ("relu", "tanh"):
            sandwich = fc_sandwich(activation, norm, dropout=True)
            names = ["W", "b"] + (["gamma", "beta"] if norm else [])
            params = {"W": rng.standard_normal((6, 7)), "b": rng.standard_normal(7),
                      "gamma": rng.standard_normal(7), "beta": rng.standard_normal(7)}
            params = {k: params[k] for k in names}
            x = rng.standard_normal((4, 2, 3))
            options = {"norm": {"mode": "train"},
                       "dropout": {"mode": "train", "p": 0.25, "seed": 1}}

            def forward(x, *arrays, names=names, sandwich=sandwich, options=options):
                return sandwich.forward(x, dict(zip(names, arrays, strict=True)), options)

            def backward(dout, cache, names=names, sandwich=sandwich):
                dx, grads = sandwich.backward(dout, cache)
                return (dx, *(grads[n] for n in names))

            what = f"Linear-{norm or 'nonorm'}-{activation}-dropout"
            wrt = [("x", 0)] + [(n, i + 1) for i, n in enumerate(names)]
            limits = NORM_LIMITS if norm else None
            rows += check_layer("sandwich", what, forward, backward,
                                [x, *params.values()], wrt, rng, limits)
    return rows


def _model_data(rng, N=5, D=15, C=10):
    return rng.standard_normal((N, D)), rng.integers(C, size=N)


@register("models")
def model_checks():
    """TwoLayerNet and FullyConnectedNet in several configurations, every parameter."""
    rng = np.random.default_rng(237)
    rows = []
    X, y = _model_data(rng)
    model = TwoLayerNet(input_dim=15, hidden_dim=20, num_classes=10, weight_scale=1e-1,
                        reg=0.7, dtype=np.float64, seed=1)
    rows += check_model("models", "TwoLayerNet reg=0.7", model, X, y)
    configs = [
        dict(reg=0.0),
        dict(reg=3.14, l1=0.05),
        dict(dropout=0.25),
        dict(dropout=0.5),
        dict(normalization="batchnorm", reg=0.1),
        dict(normalization="layernorm", reg=0.1),
        dict(activation="tanh", reg=0.1),
        dict(activation="sigmoid", reg=0.1),
        dict(activation="linear", reg=0.1),
    ]
    for config in configs:
        model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=5e-2,
                                  dtype=np.float64, seed=2, **config)
        model.dropout_param["seed"] = 3  # the same mask on every call
        what = "FC 15-20-30-10 " + " ".join(f"{k}={v}" for k, v in config.items())
        rows += check_model("models", what, model, X, y)
    return rows
