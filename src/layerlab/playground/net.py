"""The playground's net: the scratch engine's FullyConnectedNet in float64 (any of the engine's
activations, 'linear' included), with one addition the engine's classifier lacks: one linear
output trained on squared error for regression.

Everything else is the engine's: Linear, the activations, BatchNorm, Dropout, the inits, the
L1/L2 penalties of `Model`, square_loss, and the update rules of `scratch.optim`.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.init import init_weight
from layerlab.scratch.layers import Linear
from layerlab.scratch.losses import square_loss
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.optim import UPDATE_RULES

GAUSSIAN_STD = 1.0  # init 'gaussian': N(0, 1), large enough to show saturated units
ENGINE_INIT = {"xavier": "xavier", "kaiming": "kaiming", "gaussian": "gaussian",
               "zeros": "zeros", "playground": "zeros"}
RULES = {"sgd": "sgd", "momentum": "sgd_momentum", "rmsprop": "rmsprop", "adam": "adam"}


class PlaygroundNet(FullyConnectedNet):
    """features -> hidden widths -> K class scores (softmax), or -> 1 output (squared error).

    init 'playground' is the TensorFlow Playground's (and S7's random init): weights uniform in
    [-0.5, 0.5], biases 0.1.
    """

    def __init__(self, inputs, hidden, outputs, activation, init, batchnorm, dropout,
                 l2, l1, seed):
        super().__init__(list(hidden), input_dim=inputs, num_classes=max(outputs, 2),
                         dropout=dropout, normalization="batchnorm" if batchnorm else None,
                         activation=activation, reg=l2, l1=l1, weight_scale=GAUSSIAN_STD,
                         init=ENGINE_INIT[init], dtype=np.float64, seed=seed)
        self.activation = activation  # what measure.py reads (dead ReLUs, saturated units)
        L = self.num_layers
        if outputs == 1:  # regression: one linear output on squared error
            fan_in = self.params[f"W{L}"].shape[0]
            self.params[f"W{L}"] = init_weight((fan_in, 1), self.rng, ENGINE_INIT[init],
                                               GAUSSIAN_STD, np.float64)
            self.params[f"b{L}"] = np.zeros(1)
            self.loss_fn = square_loss
        if init == "playground":
            rng = np.random.default_rng(seed)
            for i in range(1, L + 1):
                w = self.params[f"W{i}"]
                self.params[f"W{i}"] = rng.uniform(-0.5, 0.5, w.shape)
                self.params[f"b{i}"] = np.full(self.params[f"b{i}"].shape, 0.1)

    def hidden_outputs(self, X, dtype=None):
        """Each hidden layer's output (N, width) for X in test mode (no dropout, batchnorm's
        running statistics), and the output scores. `dtype` (e.g. float32, about 4 times
        faster for tanh and sigmoid over a plane of points) computes with copies of the weights
        and running statistics in that type; the net itself is left as it is."""
        self.dropout_param["mode"] = "test"
        for p in self.norm_params:
            p["mode"] = "test"
        dtype = np.dtype(dtype or self.dtype)
        params, norms = self.params, self.norm_params
        if dtype != self.dtype:  # copies: running statistics must never turn float32
            params = {k: v.astype(dtype) for k, v in params.items()}
            norms = [{k: v.astype(dtype) if isinstance(v, np.ndarray) else v
                      for k, v in p.items()} for p in norms]
        out, layers = np.asarray(X, dtype=dtype), []
        for i in range(1, self.num_layers):
            options = {"norm": norms[i - 1], "dropout": self.dropout_param}
            mine = {n: params[f"{n}{i}"] for n in ("W", "b", "gamma", "beta")
                    if f"{n}{i}" in params}
            out, _ = self.hidden.forward(out, mine, options)
            layers.append(out)
        L = self.num_layers
        scores, _ = Linear.forward(out, params[f"W{L}"], params[f"b{L}"])
        return layers, scores


def build(setup, inputs, outputs):
    """The net of a setup, its weights drawn from the setup's seed."""
    rate = setup["reg_rate"] if setup["reg"] != "none" else 0.0
    return PlaygroundNet(inputs, setup["hidden"], outputs, setup["activation"], setup["init"],
                         bool(setup["batchnorm"]), setup["dropout"],
                         l2=rate if setup["reg"] == "l2" else 0.0,
                         l1=rate if setup["reg"] == "l1" else 0.0, seed=setup["seed"])


class Optimizer:
    """The engine's update rule named by the setup, one config (with its state) per
    parameter."""

    def __init__(self, name, learning_rate):
        self.rule = UPDATE_RULES[RULES[name]]
        self.learning_rate = learning_rate
        self.configs = {}

    def step(self, params, grads):
        """Update every parameter in `params` by its gradient, in place of the dict entry."""
        for name, g in grads.items():
            config = self.configs.setdefault(name, {"learning_rate": self.learning_rate})
            params[name], self.configs[name] = self.rule(params[name], g, config)
