"""Known bugs, each as a copy of the reference with that one bug: the diagnoses.

When a check fails, it is run again with the reference replaced by each copy that concerns it;
if the student's numbers match a copy (every comparison with the reference within its limit),
the student has that bug, and its label is the diagnosis. A bug is a `Bug` whose `variants`
returns (label, {course name: replacement}) pairs: most bugs have one form, some two (a
learning rate inside the velocity can be written two ways), and the SVM margin is read from
the student's own loss first.

An in-place change of an input, and a softmax that overflows, are recognised directly by
their probes (`compare.unchanged`, `checks_training`), not here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from layerlab.scratch.conv import Conv
from layerlab.scratch.layers import Linear
from layerlab.scratch.losses import softmax_loss, svm_loss
from layerlab.scratch.norm import BatchNorm
from layerlab.scratch.pool import AvgPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm


@dataclass(frozen=True)
class Bug:
    """A known bug: the checks it shows in, and the reference copies that have it."""

    key: str
    checks: tuple[str, ...]
    variants: Callable  # (ref, impl) -> [(label, {name: replacement}), ...]


def _one(label, **replacements):
    return lambda ref, impl: [(label, replacements)]


def _relu_mask_from_dout(dout, cache):
    return np.where(dout > 0, dout, 0.0)


def _adam_uncorrected(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1, b2 = config.setdefault("beta1", 0.9), config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    config.update(m=m, v=v, t=config.get("t", 0) + 1)
    return w - lr * m / (np.sqrt(v) + eps), config


def _rmsprop_no_one_minus(w, dw, config=None):
    config = {} if config is None else config
    lr, decay = config.setdefault("learning_rate", 1e-2), config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    config["cache"] = decay * config.get("cache", np.zeros_like(w)) + dw * dw
    return w - lr * dw / (np.sqrt(config["cache"]) + eps), config


def _momentum(lr_inside_velocity):
    def rule(w, dw, config=None):
        config = {} if config is None else config
        lr, mu = config.setdefault("learning_rate", 1e-2), config.setdefault("momentum", 0.9)
        v = config.get("velocity", np.zeros_like(w))
        if lr_inside_velocity:  # v = lr * (mu * v - dw): the old velocity shrinks by lr too
            v = lr * (mu * v - dw)
            next_w = w + v
        else:  # the learning rate applied twice: in the velocity and again in the step
            v = mu * v - lr * dw
            next_w = w + lr * v
        config["velocity"] = v
        return next_w, config

    return rule


def _batch_stats_at_test(forward):
    """`forward`, except that test mode normalises with the batch's own statistics."""

    def course_forward(x, gamma, beta, bn_param):
        if bn_param.get("mode") != "test":
            return forward(x, gamma, beta, bn_param)
        scratch = {k: v for k, v in bn_param.items() if k not in ("running_mean", "running_var")}
        return forward(x, gamma, beta, {**scratch, "mode": "train"})

    return course_forward


def _bn_backward_no_mean(dout, cache):
    _, xhat, gamma, _, _, istd = cache
    N = dout.shape[0]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return (gamma * istd / N) * (N * dout - xhat * dgamma), dgamma, dbeta


def _layernorm_axis0_forward(x, gamma, beta, ln_param=None):
    eps = (ln_param or {}).get("eps", 1e-5)
    xc = x - x.mean(axis=0)
    istd = 1 / np.sqrt((xc * xc).mean(axis=0) + eps)
    return gamma * xc * istd + beta, (xc * istd, gamma, istd)


def _layernorm_axis0_backward(dout, cache):
    xhat, gamma, istd = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (istd / N) * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _spatial_no_transpose(ref, impl):
    def forward(x, gamma, beta, bn_param):
        out, cache = ref.batchnorm_forward(x.reshape(-1, x.shape[1]), np.ravel(gamma),
                                           np.ravel(beta), bn_param)
        return out.reshape(x.shape), (cache, x.shape)

    def backward(dout, cache):
        bn_cache, shape = cache
        dx, dgamma, dbeta = BatchNorm.backward(dout.reshape(-1, shape[1]), bn_cache)
        return dx.reshape(shape), dgamma, dbeta

    return [("spatial batchnorm reshaped without transposing: x.reshape(-1, C) mixes "
             "channels; move C last first: x.transpose(0, 2, 3, 1).reshape(-1, C), and back",
             {"spatial_batchnorm_forward": forward, "spatial_batchnorm_backward": backward})]


def _dropout_not_inverted(ref, impl):
    label = ("non-inverted dropout: kept units are not divided by p at train time (and test "
             "time scales by p); use mask = (np.random.rand(*x.shape) < p) / p, identity at "
             "test time")
    train_only = {"dropout_expected": lambda x, p, mode, kept: x * p if mode == "test"
                  else x * kept,
                  "dropout_backward_expected": lambda d, p, mode, kept: d if mode == "test"
                  else d * kept}
    scaled_test = {**train_only, "dropout_backward_expected":
                   lambda d, p, mode, kept: d * p if mode == "test" else d * kept}
    return [(label, train_only), (label, scaled_test)]


def _p_as_drop(ref, impl):
    def divide(a, p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / (1 - p)

    return [("p read as the drop probability: dropout_param['p'] is the probability of KEEPING "
             "a unit; keep where np.random.rand(*x.shape) < p and divide by p",
             {"dropout_expected": lambda x, p, mode, kept: x if mode == "test"
              else divide(x * kept, p),
              "dropout_backward_expected": lambda d, p, mode, kept: d if mode == "test"
              else divide(d * kept, p),
              "dropout_keep_fraction": lambda p: 1 - p})]


def _conv_dw_flipped(dout, cache):
    dx, dw, db = Conv.backward(dout, cache)
    return dx, dw[:, :, ::-1, ::-1], db


def _pool_spread(ref, impl):
    def spread(scale_by_area):
        def backward(dout, cache):
            x, _, geometry = cache
            ph, pw = geometry[0]
            dx = AvgPool.backward(dout, (x.shape, geometry))  # dout / (ph * pw) on every pixel
            return dx * (ph * pw) if scale_by_area else dx

        return {"max_pool_backward_naive": backward}

    label = ("max-pool gradient spread over the whole window: only the window's maximum gets "
             "dout; keep a mask of where the max is (the first one when several tie)")
    return [(label, spread(True)), (label, spread(False))]


def _l2_no_half(ref, impl):
    def net(double_gradient):
        class Net(ref.FullyConnectedNet):
            def penalty(self):
                loss, grads = super().penalty()
                factor = 2 if double_gradient else 1
                return 2 * loss, {k: factor * g for k, g in grads.items()}

        return {"FullyConnectedNet": Net}

    label = ("L2 without the 0.5 factor: the course's penalty is 0.5 * reg * sum(W**2), whose "
             "gradient is reg * W")
    return [(label, net(True)), (label, net(False))]


def _softmax_summed(ref, impl):
    def summed(scale_gradient):
        def loss(x, y):
            value, dx = softmax_loss(x, y)
            return value * x.shape[0], dx * x.shape[0] if scale_gradient else dx

        return {"softmax_loss": loss}

    label = "softmax loss summed, not averaged: divide the loss and dx by N"
    return [(label, summed(True)), (label, summed(False))]


def _svm_margin(ref, impl):
    # with all scores equal every margin is exactly delta: the loss of one row is (C - 1) delta
    loss = impl.svm_loss(np.zeros((1, 3)), np.array([0]))[0]
    delta = float(loss) / 2
    if not math.isfinite(delta) or abs(delta - 1) < 1e-9:
        return []
    return [(f"SVM margin {delta:g} instead of 1: margins are max(0, s_j - s_y + 1)",
             {"svm_loss": lambda x, y: svm_loss(x, y, delta)})]


def _db_averaged(ref, impl):
    def affine(dout, cache):
        dx, dw, db = Linear.backward(dout, cache)
        return dx, dw, db / dout.shape[0]

    def conv(per_pixel):
        def backward(dout, cache):
            dx, dw, db = Conv.backward(dout, cache)
            n = dout.shape[0] * (dout.shape[2] * dout.shape[3] if per_pixel else 1)
            return dx, dw, db / n

        return {"conv_backward_naive": backward}

    label = "db averaged instead of summed: db = dout.sum(axis=0) (over N, H, W for a conv)"
    return [(label, {"affine_backward": affine}), (label, conv(False)), (label, conv(True))]


BUGS = (
    Bug("relu_mask_from_dout", ("relu_backward",), _one(
        "ReLU mask taken from dout instead of x: dx = dout * (x > 0)",
        relu_backward=_relu_mask_from_dout)),
    Bug("adam_no_bias_correction", ("adam",), _one(
        "Adam without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t "
        "(t counted from 1) before the step", adam=_adam_uncorrected)),
    Bug("rmsprop_no_one_minus_decay", ("rmsprop",), _one(
        "RMSProp without 1 - decay: cache = decay_rate * cache + (1 - decay_rate) * dw**2",
        rmsprop=_rmsprop_no_one_minus)),
    Bug("momentum_lr_inside", ("sgd_momentum",), lambda ref, impl: [
        ("momentum with the learning rate inside the velocity: v = momentum * v - "
         "learning_rate * dw, then w + v", {"sgd_momentum": _momentum(inside)})
        for inside in (True, False)]),
    Bug("bn_batch_stats_at_test", ("batchnorm_forward", "spatial_batchnorm_forward"),
        lambda ref, impl: [(
            "batch statistics at test time: in test mode normalise with bn_param's "
            "running_mean and running_var", {
                "batchnorm_forward": _batch_stats_at_test(ref.batchnorm_forward),
                "spatial_batchnorm_forward": _batch_stats_at_test(
                    ref.spatial_batchnorm_forward)})]),
    Bug("bn_backward_no_mean_term",
        ("batchnorm_backward", "batchnorm_backward_alt", "spatial_batchnorm_backward"),
        _one("batchnorm backward missing the mean term: x's mean depends on every x, so dx "
             "has a - dout.mean(axis=0) part (the closed form's - sum(dout))",
             batchnorm_backward=_bn_backward_no_mean, batchnorm_backward_alt=_bn_backward_no_mean,
             spatial_batchnorm_backward=lambda dout, cache: SpatialBatchNorm._backward(
                 _bn_backward_no_mean, dout, cache))),
    Bug("layernorm_wrong_axis", ("layernorm_forward", "layernorm_backward"), _one(
        "layernorm over the wrong axis: statistics are per sample, over the features "
        "(axis=1, keepdims=True), not over the batch",
        layernorm_forward=_layernorm_axis0_forward, layernorm_backward=_layernorm_axis0_backward)),
    Bug("spatial_bn_no_transpose", ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
        _spatial_no_transpose),
    Bug("dropout_not_inverted", ("dropout_forward", "dropout_backward"), _dropout_not_inverted),
    Bug("dropout_p_as_drop", ("dropout_forward", "dropout_backward"), _p_as_drop),
    Bug("conv_dw_flipped", ("conv_backward_naive",), _one(
        "flipped convolution weights in dw: the forward pass is a cross-correlation, so dw[f] "
        "sums x's window times dout without flipping", conv_backward_naive=_conv_dw_flipped)),
    Bug("maxpool_grad_spread", ("max_pool_backward_naive",), _pool_spread),
    Bug("l2_without_half", ("FullyConnectedNet",), _l2_no_half),
    Bug("softmax_summed", ("softmax_loss",), _softmax_summed),
    Bug("svm_margin_not_1", ("svm_loss",), _svm_margin),
    Bug("db_averaged", ("affine_backward", "conv_backward_naive"), _db_averaged),
)


def variants_for(check_name, ref, impl):
    """(label, reference copy with the bug) for every known bug of `check_name`."""
    found = []
    for bug in BUGS:
        if check_name not in bug.checks:
            continue
        try:
            pairs = bug.variants(ref, impl)
        except Exception:  # a probe of the student's code (the SVM margin) failed: no variant
            continue
        for label, replacements in pairs:
            found.append((label, SimpleNamespace(**{**vars(ref), **replacements})))
    return found
