"""Convolutional classifiers: ThreeLayerConvNet, DeepConvNet and LeNet5.

Each model is a chain of sandwiches (conv -> [norm] -> activation -> [pool], or
Linear -> activation -> [dropout], and a last Linear) followed by a softmax loss. Block i owns
the parameters 'W{i}', 'b{i}' (and 'gamma{i}', 'beta{i}' with a norm), so the penalty
convention of `models.py` applies unchanged: loss = data_loss + 0.5 * reg * sum(W ** 2)
+ l1 * sum(|W|) over the weights only.

Linear weights are stored (D, M) (x @ W), PyTorch's nn.Linear stores (M, D): transpose when
copying. Conv weights are (F, C, HH, WW) in both. Flattening before the first Linear is
row-major over (C, H, W), as `torch.flatten(x, 1)`.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.conv import conv_geometry
from layerlab.scratch.conv_sandwich import conv_sandwich
from layerlab.scratch.init import init_weight
from layerlab.scratch.layers import Linear
from layerlab.scratch.losses import softmax_loss
from layerlab.scratch.models import Model
from layerlab.scratch.pool import pool_geometry
from layerlab.scratch.sandwich import Sandwich, Stage, fc_sandwich

POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


class ConvNetBase(Model):
    """A chain of sandwich blocks with a softmax loss; subclasses call `_add_*` in order.

    Block options are resolved on every call ('norm' from `norm_params[k]`), because
    `load_state_dict` replaces the `norm_params` list.
    """

    def _start(self, input_dim, reg, l1, weight_scale, dtype, seed):
        if len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        self.input_dim = tuple(int(d) for d in input_dim)
        self.reg, self.l1, self.dtype = reg, l1, dtype
        if isinstance(weight_scale, str):  # e.g. 'kaiming', as in the course's DeepConvNet
            self.init, self.weight_scale = weight_scale, 1e-2
        else:
            self.init, self.weight_scale = "gaussian", weight_scale
        self.rng = np.random.default_rng(seed)
        self.params = {}
        self.norm_params = []
        self.dropout_param = {"mode": "train", "p": 0.0}
        self.blocks = []  # (sandwich, {option key: option dict or ('norm', k)})
        self._shape = self.input_dim  # shape of one sample after the blocks added so far

    def _weight(self, i, shape):
        self.params[f"W{i}"] = init_weight(shape, self.rng, self.init, self.weight_scale,
                                           self.dtype)
        self.params[f"b{i}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1],
                                        dtype=self.dtype)

    def _norm(self, i, width):
        self.params[f"gamma{i}"] = np.ones(width, dtype=self.dtype)
        self.params[f"beta{i}"] = np.zeros(width, dtype=self.dtype)
        self.norm_params.append({"mode": "train"})
        return len(self.norm_params) - 1

    def _add_conv(self, filters, size, pad, norm=None, pool=False, activation="relu",
                  pool_param=POOL_2X2):
        """conv (stride 1) -> [norm] -> activation -> [pool]; pad as in `Conv`'s conv_param."""
        i = len(self.blocks) + 1
        C, H, W = self._shape
        self._weight(i, (filters, C, size, size))
        options = {"conv": {"stride": 1, "pad": pad}}
        if norm:
            options["norm"] = ("norm", self._norm(i, filters))
        # check the shapes now, so a bad configuration fails at construction, not in loss()
        _, _, (H, W) = conv_geometry((1, C, H, W), (filters, C, size, size), options["conv"])
        if pool:
            options["pool"] = dict(pool_param)
            H, W = pool_geometry((1, filters, H, W), pool_param)[2]
        self.blocks.append((conv_sandwich(norm, pool, activation), options))
        self._shape = (filters, H, W)

    def _add_fc(self, width, activation="relu", dropout=False):
        """Linear -> activation -> [dropout]."""
        i = len(self.blocks) + 1
        self._weight(i, (int(np.prod(self._shape)), width))
        options = {"dropout": self.dropout_param} if dropout else {}
        self.blocks.append((fc_sandwich(activation, None, dropout), options))
        self._shape = (width,)

    def _add_scores(self, num_classes):
        """The last Linear, producing class scores."""
        i = len(self.blocks) + 1
        self._weight(i, (int(np.prod(self._shape)), num_classes))
        self.blocks.append((Sandwich([Stage(Linear, ("W", "b"))]), {}))
        self._shape = (num_classes,)

    def _block_params(self, i):
        names = ("W", "b", "gamma", "beta")
        return {n: self.params[f"{n}{i}"] for n in names if f"{n}{i}" in self.params}

    def _options(self, options):
        return {k: self.norm_params[v[1]] if isinstance(v, tuple) else v
                for k, v in options.items()}

    def loss(self, X, y=None):
        """
        Args:
            X: (N, C, H, W) images with (C, H, W) = input_dim.
            y: (N,) int labels, or None for test mode.
        Returns:
            scores (N, num_classes) if y is None, else (loss, grads) with grads[name] shaped
            as params[name].
        """
        X = np.asarray(X, dtype=self.dtype)
        if X.shape[1:] != self.input_dim:
            raise ValueError(f"{type(self).__name__} expects inputs (N, *{self.input_dim}), "
                             f"got {X.shape}")
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        self.dropout_param["rng"] = self.rng
        for p in self.norm_params:
            p["mode"] = mode

        out, caches = X, []
        for i, (block, options) in enumerate(self.blocks, start=1):
            out, cache = block.forward(out, self._block_params(i), self._options(options))
            caches.append(cache)
        if y is None:
            return out

        loss, dout = softmax_loss(out, y)
        grads = {}
        for i in range(len(self.blocks), 0, -1):
            # the first block's input gradient would be the image's: skip computing it
            dout, block_grads = self.blocks[i - 1][0].backward(dout, caches[i - 1],
                                                               need_dx=i > 1)
            grads.update({f"{n}{i}": g for n, g in block_grads.items()})
        return self.add_penalty(loss, grads)


class ThreeLayerConvNet(ConvNetBase):
    """conv - ReLU - 2x2 max pool - Linear - ReLU - Linear - softmax.

    The convolution has stride 1 and 'same' zero padding (output as large as the input; an
    even filter size pads one more row/column at the bottom/right).

    Args:
        input_dim: (C, H, W), H and W even; num_filters: F; filter_size: odd or even;
        hidden_dim, num_classes: widths of the two Linear layers;
        weight_scale: std of the Gaussian init, or an init name such as 'kaiming';
        reg: L2 strength; l1: L1 strength; dtype; seed: seeds the initial weights.
    Params: W1 (F, C, filter_size, filter_size), b1 (F,), W2 (F * H/2 * W/2, hidden_dim),
        b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None,
                 l1=0.0):
        self._start(input_dim, reg, l1, weight_scale, dtype, seed)
        top, bottom = (filter_size - 1) // 2, filter_size // 2  # 'same' padding
        self._add_conv(num_filters, filter_size, (top, bottom, top, bottom), pool=True)
        self._add_fc(hidden_dim)
        self._add_scores(num_classes)


class DeepConvNet(ConvNetBase):
    """{conv 3x3 (pad 1) - [batchnorm] - ReLU - [2x2 max pool]} x (L - 1) - Linear - softmax.

    Args:
        input_dims: (C, H, W).
        num_filters: filters of each of the L - 1 conv layers.
        max_pools: indices (from 0) of the conv layers followed by a 2x2 max pool; the map size
            must stay even where a pool follows.
        batchnorm: spatial batchnorm after every conv.
        num_classes, reg, l1, dtype, seed: as for ThreeLayerConvNet.
        weight_scale: std of the Gaussian init, or an init name ('kaiming' for He init).
    Params: W1..W{L-1} (F_i, F_{i-1}, 3, 3), b1..b{L-1}, gamma/beta 1..L-1 with batchnorm
        (F_i,), W{L} (F_{L-1} * H' * W', num_classes), b{L}.
    """

    def __init__(self, input_dims=(3, 32, 32), num_filters=(8, 8, 8), max_pools=(0, 1, 2),
                 batchnorm=False, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32, seed=None, l1=0.0):
        bad = [k for k in max_pools if not 0 <= k < len(num_filters)]
        if bad:
            raise ValueError(f"max_pools {list(max_pools)} names conv layers {bad} that do not "
                             f"exist; there are {len(num_filters)} (indices from 0)")
        self._start(input_dims, reg, l1, weight_scale, dtype, seed)
        self.batchnorm = batchnorm
        for k, filters in enumerate(num_filters):
            self._add_conv(filters, 3, 1, "batchnorm" if batchnorm else None, k in max_pools)
        self._add_scores(num_classes)


class LeNet5(ConvNetBase):
    """LeNet-5 for 28x28 inputs.

        conv1 6@5x5 pad 2 - [bn] - act - pool 2x2     -> (6, 14, 14)
        conv2 16@5x5      - [bn] - act - pool 2x2     -> (16, 5, 5)
        fc1 400 -> 120 - act - [dropout]
        fc2 120 -> 84  - act - [dropout]
        fc3 84 -> num_classes

    Args:
        input_dim: (C, 28, 28) (other sizes work if the pools fit).
        activation: 'tanh' (default, as in the study), 'relu', 'sigmoid', 'leaky_relu'.
        pool: 'avg' (LeNet's subsampling, default) or 'max'.
        batchnorm: spatial batchnorm after both convs (the S4 variant).
        dropout: drop probability in the FC part (0 disables it).
        weight_scale: init name (default 'xavier') or Gaussian std.
        num_classes, reg, l1, dtype, seed: as for ThreeLayerConvNet.
    Params and their PyTorch twins (nn.Conv2d / nn.Linear attributes):
        W1 (6, C, 5, 5), b1 -> conv1.weight, conv1.bias
        W2 (16, 6, 5, 5), b2 -> conv2.weight, conv2.bias
        W3 (400, 120), b3 -> fc1.weight.T, fc1.bias
        W4 (120, 84), b4 -> fc2.weight.T, fc2.bias
        W5 (84, num_classes), b5 -> fc3.weight.T, fc3.bias
        gamma1, beta1 / gamma2, beta2 -> bn1.weight, bn1.bias / bn2.weight, bn2.bias
    """

    def __init__(self, input_dim=(1, 28, 28), num_classes=10, activation="tanh", pool="avg",
                 batchnorm=False, dropout=0.0, weight_scale="xavier", reg=0.0, l1=0.0,
                 dtype=np.float32, seed=None):
        self._start(input_dim, reg, l1, weight_scale, dtype, seed)
        norm = "batchnorm" if batchnorm else None
        self._add_conv(6, 5, 2, norm, pool, activation)
        self._add_conv(16, 5, 0, norm, pool, activation)
        self.dropout_param["p"] = dropout
        for width in (120, 84):
            self._add_fc(width, activation, dropout > 0)
        self._add_scores(num_classes)
