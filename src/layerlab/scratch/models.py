"""Fully-connected classifiers: any depth, optional normalisation and dropout.

Penalty convention (course material differs, so it is fixed here and tested):
    loss = data_loss + 0.5 * reg * sum(W ** 2) + l1 * sum(|W|)
over the weight matrices only (not biases, gamma or beta), so that d/dW of the L2 term is
reg * W. At W = 0 the L1 subgradient is taken as 0.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from layerlab.scratch.init import INITS, init_weight
from layerlab.scratch.layers import ACTIVATIONS, Linear
from layerlab.scratch.losses import LOSSES
from layerlab.scratch.norm import NORMS
from layerlab.scratch.sandwich import fc_sandwich


def _count(value, name, minimum=1):
    """An int >= minimum (NumPy ints too, never a bool), or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _choice(value, name, known):
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; choose one of {sorted(known)}")


def _check_fc_args(hidden_dims, input_dim, num_classes, dropout, normalization, activation,
                   weight_scale, init, reg, l1):
    """The arguments of FullyConnectedNet that have a rule; a ValueError names the first one
    that breaks it. Returns (hidden widths as ints, input_dim, num_classes)."""
    if isinstance(hidden_dims, str | bytes) or not hasattr(hidden_dims, "__iter__"):
        raise ValueError(f"hidden_dims must be a list of widths, got {hidden_dims!r}")
    hidden = [_count(h, f"hidden_dims[{i}]") for i, h in enumerate(hidden_dims)]
    input_dim = _count(input_dim, "input_dim")
    num_classes = _count(num_classes, "num_classes", 2)
    if not (isinstance(dropout, numbers.Real) and 0 <= dropout < 1):
        raise ValueError(f"dropout (a drop probability) must lie in [0, 1), got {dropout!r}")
    if normalization is not None:
        _choice(normalization, "normalization", NORMS)
    _choice(activation, "activation", ACTIVATIONS)
    if isinstance(weight_scale, str):
        if weight_scale not in INITS:
            raise ValueError(f"unknown init {weight_scale!r} given as weight_scale; choose one "
                             f"of {sorted(INITS)}, or a number >= 0 (the Gaussian std)")
    elif not (isinstance(weight_scale, numbers.Real) and math.isfinite(weight_scale)
              and weight_scale >= 0):
        raise ValueError(f"weight_scale must be a number >= 0 or an init word, got "
                         f"{weight_scale!r}")
    _choice(init, "init", INITS)
    for name, value in (("reg", reg), ("l1", l1)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return hidden, input_dim, num_classes


class Model:
    """What every scratch model shares: a `params` dict, penalties and a saveable state.

    Subclasses set `params`, `reg`, `l1`, `rng` and `norm_params`, and implement
    `loss(X, y=None)`.
    """

    params: dict
    norm_params: list
    reg: float = 0.0
    l1: float = 0.0

    def penalty(self):
        """The L2 + L1 penalty on the weights, and its gradient per weight name."""
        loss, grads = 0.0, {}
        if not (self.reg or self.l1):  # skip two passes over every weight when unused
            return loss, grads
        for name, w in self.params.items():
            if not name.startswith("W"):
                continue
            grads[name] = np.zeros_like(w)
            if self.reg:
                loss += 0.5 * self.reg * float(np.sum(w * w))
                grads[name] += self.reg * w
            if self.l1:
                loss += self.l1 * float(np.sum(np.abs(w)))
                grads[name] += self.l1 * np.sign(w)
        return loss, grads

    def add_penalty(self, loss, grads):
        """(loss + penalty, grads with the penalty's gradients added in place)."""
        penalty, penalty_grads = self.penalty()
        for name, g in penalty_grads.items():
            grads[name] += g
        return loss + penalty, grads

    def state_dict(self):
        """Everything needed to continue training: params, running statistics, RNG state."""
        return {
            "params": {k: v.copy() for k, v in self.params.items()},
            "norm_params": copy.deepcopy(self.norm_params),
            "rng": copy.deepcopy(self.rng.bit_generator.state),
        }

    def load_state_dict(self, state):
        """Restore what `state_dict` returned; names and shapes must match."""
        missing = set(self.params) ^ set(state["params"])
        if missing:
            raise ValueError("state does not fit this model: parameters differ in "
                             f"{sorted(missing)}")
        for k, v in state["params"].items():
            if v.shape != self.params[k].shape:
                raise ValueError(f"state does not fit this model: {k} is {v.shape}, "
                                 f"the model has {self.params[k].shape}")
            self.params[k] = v.copy()
        self.norm_params = copy.deepcopy(state["norm_params"])
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])


class FullyConnectedNet(Model):
    """{Linear - [norm] - activation - [dropout]} x (L - 1) - Linear - softmax (or SVM).

    Args:
        hidden_dims: list of hidden layer widths.
        input_dim: D, size of one flattened input.
        num_classes: C.
        dropout: probability of dropping a hidden unit (0 disables dropout).
        normalization: None, 'batchnorm' or 'layernorm'.
        activation: 'relu', 'leaky_relu', 'sigmoid', 'tanh' or 'linear'.
        reg: L2 strength (see the module docstring for the convention); l1: L1 strength.
        weight_scale: std of the 'gaussian' init; a string here names the init instead
            (e.g. 'kaiming'), so `weight_scale='kaiming'` works as in the course's DeepConvNet.
        init: 'gaussian', 'xavier', 'xavier_uniform', 'kaiming', 'kaiming_uniform' or 'zeros'.
        dtype: float32 for training, float64 for gradient checks.
        seed: seeds the initial weights and the dropout masks, so a run is repeatable.
            To freeze the dropout mask across calls (gradient checks), set
            `model.dropout_param['seed']`.
        loss_fn: 'softmax' or 'svm'.
        inverted_dropout: True (default) for inverted dropout, False for vanilla.

    A ValueError names the argument that breaks its rule: widths and input_dim ints >= 1,
    num_classes >= 2, dropout in [0, 1), reg and l1 >= 0, a known normalization, activation,
    init or weight_scale word, a numeric weight_scale >= 0.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=0.0,
                 normalization=None, activation="relu", reg=0.0, l1=0.0, weight_scale=1e-2,
                 init="gaussian", dtype=np.float32, seed=None, loss_fn="softmax",
                 inverted_dropout=True):
        hidden_dims, input_dim, num_classes = _check_fc_args(
            hidden_dims, input_dim, num_classes, dropout, normalization, activation,
            weight_scale, init, reg, l1)
        if isinstance(weight_scale, str):
            init, weight_scale = weight_scale, 1e-2
        if loss_fn not in LOSSES:
            raise ValueError(f"unknown loss_fn {loss_fn!r}; choose one of {sorted(LOSSES)}")
        self.num_layers = len(hidden_dims) + 1
        self.normalization = normalization
        self.reg, self.l1 = reg, l1
        self.dtype = dtype
        self.loss_fn = LOSSES[loss_fn]
        self.rng = np.random.default_rng(seed)
        self.hidden = fc_sandwich(activation, normalization, dropout > 0)

        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = init_weight((dims[i], dims[i + 1]), self.rng, init,
                                                   weight_scale, dtype)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1], dtype=dtype)
            if normalization and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1], dtype=dtype)
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1], dtype=dtype)

        self.dropout_param = {"mode": "train", "p": dropout, "inverted": inverted_dropout}
        self.norm_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def _layer_params(self, i):
        names = ("W", "b", "gamma", "beta")
        return {n: self.params[f"{n}{i}"] for n in names if f"{n}{i}" in self.params}

    def loss(self, X, y=None):
        """
        Args:
            X: (N, d1, ..., dk) inputs with d1 * ... * dk = input_dim.
            y: (N,) int labels, or None for test mode.
        Returns:
            scores (N, C) if y is None, else (loss, grads) with grads[name] shaped as params[name].
        """
        X = np.asarray(X, dtype=self.dtype)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        self.dropout_param["rng"] = self.rng
        for p in self.norm_params:
            p["mode"] = mode

        out, caches = X, []
        for i in range(1, self.num_layers):
            options = {"norm": self.norm_params[i - 1], "dropout": self.dropout_param}
            out, cache = self.hidden.forward(out, self._layer_params(i), options)
            caches.append(cache)
        L = self.num_layers
        scores, last_cache = Linear.forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        loss, dout = self.loss_fn(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = Linear.backward(dout, last_cache,
                                                               need_dx=L > 1)
        for i in range(L - 1, 0, -1):
            dout, layer_grads = self.hidden.backward(dout, caches[i - 1], need_dx=i > 1)
            grads.update({f"{n}{i}": g for n, g in layer_grads.items()})

        return self.add_penalty(loss, grads)


class TwoLayerNet(FullyConnectedNet):
    """Linear - ReLU - Linear - softmax, with L2 regularisation.

    Args:
        input_dim: D; hidden_dim: H; num_classes: C; weight_scale: std of the Gaussian init;
        reg: L2 strength (0.5 * reg * sum(W ** 2)); dtype; seed.
    Params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0, dtype=np.float32, seed=None):
        super().__init__([hidden_dim], input_dim, num_classes, reg=reg,
                         weight_scale=weight_scale, dtype=dtype, seed=seed)
