"""layerlab's engine under the course's names: the reference every check compares with.

The course (CS231n / EECS 498 function style) and layerlab agree on the maths and differ in two
conventions, which a style chooses:
- dropout's p: the course passes the KEEP probability in dropout_param['p']; layerlab's
  `Dropout` takes the DROP probability. The reference always speaks the course's form (keep);
  a student in layerlab's style is read through an adapter (`styles`).
- batchnorm's running variance: the course updates it with the biased batch variance
  (divide by N); layerlab with the unbiased one (divide by N - 1, as PyTorch). Style 'cs231n'
  expects the biased one, style 'layerlab' the unbiased one.

Dropout masks come from different random generators, so dropout is not compared mask for mask:
the reference says what the output must be given the student's own mask (`dropout_expected`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from layerlab.scratch import optim
from layerlab.scratch.conv import Conv
from layerlab.scratch.layers import Linear, ReLU
from layerlab.scratch.losses import softmax_loss, svm_loss
from layerlab.scratch.models import FullyConnectedNet as EngineNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.pool import MaxPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm

STYLES = ("cs231n", "layerlab")


def dropout_expected(x, p_keep, mode, kept):
    """Inverted dropout's output for the keep mask `kept`: x * kept / p at train time, x at
    test time (layerlab's `Dropout` with p_drop = 1 - p_keep)."""
    if mode == "test":
        return x
    return x * kept / p_keep


def dropout_backward_expected(dout, p_keep, mode, kept):
    """Inverted dropout's input gradient for the keep mask `kept`."""
    return dout if mode == "test" else dout * kept / p_keep


def dropout_keep_fraction(p_keep):
    """The expected fraction of kept units."""
    return p_keep


class FullyConnectedNet(EngineNet):
    """layerlab's `FullyConnectedNet` with the course's constructor (dropout as a keep ratio)."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, dropout=1 - dropout_keep_ratio,
                         normalization=normalization, reg=reg, weight_scale=weight_scale,
                         dtype=dtype, seed=seed)


def _rows(x):
    """The (samples, features) matrix a batchnorm normalises: x itself, or NCHW as pixels."""
    return x if x.ndim == 2 else x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def biased_running_var(forward):
    """`forward` with the course's running variance: momentum * old + (1 - momentum) * the
    biased batch variance (layerlab's engine uses the unbiased one)."""

    def course_forward(x, gamma, beta, bn_param):
        old = bn_param.get("running_var")
        old = None if old is None else np.array(old, copy=True)
        out, cache = forward(x, gamma, beta, bn_param)
        if bn_param["mode"] == "train":
            rows = _rows(x)
            old = np.ones(rows.shape[1], dtype=x.dtype) if old is None else old
            momentum = bn_param["momentum"]
            bn_param["running_var"] = momentum * old + (1 - momentum) * rows.var(axis=0)
        return out, cache

    return course_forward


def reference(style):
    """The engine under the course's names, with `style`'s conventions."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    bn_forward, sbn_forward = BatchNorm.forward, SpatialBatchNorm.forward
    if style == "cs231n":
        bn_forward, sbn_forward = biased_running_var(bn_forward), biased_running_var(sbn_forward)
    return SimpleNamespace(
        affine_forward=Linear.forward,
        affine_backward=lambda dout, cache: Linear.backward(dout, cache),
        relu_forward=ReLU.forward, relu_backward=ReLU.backward,
        batchnorm_forward=bn_forward, batchnorm_backward=BatchNorm.backward,
        batchnorm_backward_alt=BatchNorm.backward_alt,
        layernorm_forward=LayerNorm.forward, layernorm_backward=LayerNorm.backward,
        dropout_expected=dropout_expected, dropout_backward_expected=dropout_backward_expected,
        dropout_keep_fraction=dropout_keep_fraction,
        # the fast engine gives the naive loops' numbers (tested in tests/scratch), sooner
        conv_forward_naive=Conv.forward,
        conv_backward_naive=lambda dout, cache: Conv.backward(dout, cache),
        max_pool_forward_naive=MaxPool.forward, max_pool_backward_naive=MaxPool.backward,
        spatial_batchnorm_forward=sbn_forward, spatial_batchnorm_backward=SpatialBatchNorm.backward,
        spatial_groupnorm_forward=SpatialGroupNorm.forward,
        spatial_groupnorm_backward=SpatialGroupNorm.backward,
        softmax_loss=softmax_loss, svm_loss=svm_loss,
        sgd=optim.sgd, sgd_momentum=optim.sgd_momentum, rmsprop=optim.rmsprop, adam=optim.adam,
        FullyConnectedNet=FullyConnectedNet,
    )
