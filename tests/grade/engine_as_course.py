"""layerlab's own engine under the course's names, written as a student's file would be.

Grading this file must pass every check: it is the engine itself, seen through the course's
API (dropout's p is the keep probability; batchnorm's running variance uses the biased batch
variance, as the course's does).
"""

import numpy as np

from layerlab.scratch import optim
from layerlab.scratch.conv import Conv
from layerlab.scratch.dropout import Dropout
from layerlab.scratch.layers import Linear, ReLU
from layerlab.scratch.losses import softmax_loss, svm_loss  # noqa: F401 (graded names)
from layerlab.scratch.models import FullyConnectedNet as _EngineNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.pool import MaxPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm

affine_forward, relu_forward, relu_backward = Linear.forward, ReLU.forward, ReLU.backward
batchnorm_backward, batchnorm_backward_alt = BatchNorm.backward, BatchNorm.backward_alt
layernorm_forward, layernorm_backward = LayerNorm.forward, LayerNorm.backward
conv_forward_naive, conv_backward_naive = Conv.forward_naive, Conv.backward_naive
max_pool_forward_naive, max_pool_backward_naive = MaxPool.forward_naive, MaxPool.backward_naive
spatial_batchnorm_backward = SpatialBatchNorm.backward
spatial_groupnorm_forward, spatial_groupnorm_backward = (SpatialGroupNorm.forward,
                                                         SpatialGroupNorm.backward)
sgd, sgd_momentum, rmsprop, adam = optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam


def affine_backward(dout, cache):
    return Linear.backward(dout, cache)


def _course_running_var(forward, x, gamma, beta, bn_param):
    """The engine's forward, with the course's (biased) running variance."""
    rows = x if x.ndim == 2 else x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    old = np.array(bn_param.get("running_var", np.ones(rows.shape[1])), copy=True)
    out, cache = forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "train":
        m = bn_param["momentum"]
        bn_param["running_var"] = m * old + (1 - m) * rows.var(axis=0)
    return out, cache


def batchnorm_forward(x, gamma, beta, bn_param):
    return _course_running_var(BatchNorm.forward, x, gamma, beta, bn_param)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    return _course_running_var(SpatialBatchNorm.forward, x, gamma, beta, bn_param)


def dropout_forward(x, dropout_param):
    return Dropout.forward(x, {**dropout_param, "p": 1 - dropout_param["p"]})


def dropout_backward(dout, cache):
    return Dropout.backward(dout, cache)


class FullyConnectedNet(_EngineNet):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, dropout=1 - dropout_keep_ratio,
                         normalization=normalization, reg=reg, weight_scale=weight_scale,
                         dtype=dtype, seed=seed)
