"""The from-scratch NumPy engine: layers as forward/backward pairs, models, update rules, Solver.

Every layer is a class with static `forward(...) -> (out, cache)` and
`backward(dout, cache) -> grads`; a model has a `params` dict and `loss(X, y=None)`; an update
rule is `update(w, dw, config) -> (next_w, config)`.
"""

from layerlab.scratch.conv import Conv
from layerlab.scratch.conv_models import DeepConvNet, LeNet5, ThreeLayerConvNet
from layerlab.scratch.conv_sandwich import conv_sandwich
from layerlab.scratch.dropout import Dropout
from layerlab.scratch.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from layerlab.scratch.losses import softmax_loss, svm_loss
from layerlab.scratch.models import FullyConnectedNet, TwoLayerNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.scratch.optim import adam, rmsprop, sgd, sgd_momentum
from layerlab.scratch.pool import AvgPool, MaxPool
from layerlab.scratch.sandwich import Sandwich, Stage, fc_sandwich
from layerlab.scratch.solver import Solver
from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm

__all__ = [
    "AvgPool", "BatchNorm", "Conv", "DeepConvNet", "Dropout", "FullyConnectedNet", "LayerNorm",
    "LeNet5", "LeakyReLU", "Linear", "MaxPool", "ReLU", "Sandwich", "Sigmoid", "Solver",
    "SpatialBatchNorm", "SpatialGroupNorm", "Stage", "Tanh", "ThreeLayerConvNet", "TwoLayerNet",
    "adam", "conv_sandwich", "fc_sandwich", "rmsprop", "sgd", "sgd_momentum", "softmax_loss",
    "svm_loss",
]
