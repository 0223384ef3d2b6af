"""Convolutional sandwiches: conv -> [norm] -> activation -> [pool], built from `Stage`s.

    block = conv_sandwich(norm="batchnorm", pool=True)
    out, cache = block.forward(x, {"W": w, "b": b, "gamma": g, "beta": be},
                               {"conv": conv_param, "norm": bn_param, "pool": pool_param})
    dx, grads = block.backward(dout, cache)
"""

from __future__ import annotations

from layerlab.scratch.conv import Conv
from layerlab.scratch.layers import ACTIVATIONS
from layerlab.scratch.pool import AvgPool, MaxPool
from layerlab.scratch.sandwich import Sandwich, Stage
from layerlab.scratch.spatial_norm import SpatialBatchNorm, SpatialGroupNorm


class GroupNormStage:
    """`SpatialGroupNorm` taking its group count from its option dict (key 'G'), because a
    `Stage` passes a layer exactly one option dict."""

    @staticmethod
    def forward(x, gamma, beta, gn_param):
        """x: (N, C, H, W); gamma, beta: (C,); gn_param: {'G': groups, 'eps': ...}."""
        if "G" not in gn_param:
            raise ValueError("the group-norm option dict needs 'G', the number of groups")
        return SpatialGroupNorm.forward(x, gamma, beta, gn_param["G"], gn_param)

    backward = staticmethod(SpatialGroupNorm.backward)


SPATIAL_NORMS = {"batchnorm": SpatialBatchNorm, "groupnorm": GroupNormStage}
POOLS = {"max": MaxPool, "avg": AvgPool}


def conv_sandwich(norm=None, pool=True, activation="relu"):
    """Conv -> [norm] -> activation -> [pool].

    Args:
        norm: None, 'batchnorm' or 'groupnorm' (its option dict carries 'G').
        pool: True or 'max' for max pooling, 'avg' for average pooling, False for none.
        activation: 'relu', 'leaky_relu', 'sigmoid' or 'tanh'.
    Returns:
        a Sandwich whose parameters are 'W' (F, C, HH, WW), 'b' (F,) (and 'gamma', 'beta' (F,)
        with a norm) and whose option dicts are 'conv' (and 'norm', 'pool').
    """
    if norm is not None and norm not in SPATIAL_NORMS:
        raise ValueError(f"unknown normalization {norm!r}; choose None or one of "
                         f"{sorted(SPATIAL_NORMS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    pool = "max" if pool is True else pool
    if pool not in (False, None, *POOLS):
        raise ValueError(f"unknown pool {pool!r}; choose True, False or one of {sorted(POOLS)}")
    stages = [Stage(Conv, ("W", "b"), "conv")]
    if norm is not None:
        stages.append(Stage(SPATIAL_NORMS[norm], ("gamma", "beta"), "norm"))
    stages.append(Stage(ACTIVATIONS[activation]))
    if pool:
        stages.append(Stage(POOLS[pool], (), "pool"))
    return Sandwich(stages)
