"""The models of the PyTorch studies as `nn.Module`s, and the budget checker of S8.

Every model has `count_params()` (trainable parameters) and `hidden_units()` (S8's definition:
the output widths of every Linear layer but the last, in module order), and keeps the keyword
arguments it was built with in `.config`, so a checkpoint can rebuild it (see checkpoint.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from layerlab.pytorch.api_styles import (
    FunctionalNet,
    SequentialConv,
    SequentialFC,
    ThreeLayerConvNet,
    TwoLayerFC,
)

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid,
               "leaky_relu": nn.LeakyReLU}  # LeakyReLU's slope 0.01, as in the scratch engine


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (buffers such as batchnorm running means excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """(name, module) of every nn.Linear, in module order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]


def hidden_units(model: nn.Module) -> int:
    """S8's hidden units: the sum of out_features of every Linear layer but the last."""
    return sum(m.out_features for _, m in linear_layers(model)[:-1])


class _Counted:
    """count_params() and hidden_units() as methods."""

    def count_params(self) -> int:
        return count_params(self)

    def hidden_units(self) -> int:
        return hidden_units(self)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {name!r}")
    return ACTIVATIONS[name]()


class LeNet5(_Counted, nn.Module):
    """LeNet-5 for 28x28 inputs (S4), the twin of `layerlab.scratch.conv_models.LeNet5`.

        conv1 6@5x5 pad 2 - [bn1] - act - pool 2x2    -> (6, 14, 14)
        conv2 16@5x5      - [bn2] - act - pool 2x2    -> (16, 5, 5)
        fc1 400 -> 120 - act - [dropout if 'fc1' in dropout_after]
        fc2 120 -> 84  - act - [dropout if 'fc2' in dropout_after]
        fc3 84 -> num_classes

    Input (N, in_channels, 28, 28), output logits (N, num_classes). pool: 'avg' (LeNet's
    subsampling, the scratch default) or 'max'. dropout: drop probability in the FC part;
    dropout_after: the FC layers whose outputs it drops (both by default).
    Attribute names follow the scratch twin's parameter mapping (W1 -> conv1.weight,
    W3 -> fc1.weight.T, gamma1 -> bn1.weight, ...); `load_scratch_params` copies them over.
    """

    def __init__(self, activation: str = "tanh", dropout: float = 0.0, batchnorm: bool = False,
                 in_channels: int = 1, num_classes: int = 10, pool: str = "avg",
                 dropout_after: Sequence[str] = ("fc1", "fc2")):
        super().__init__()
        dropout_after = tuple(dropout_after)
        self.config = dict(activation=activation, dropout=dropout, batchnorm=batchnorm,
                           in_channels=in_channels, num_classes=num_classes, pool=pool,
                           dropout_after=list(dropout_after))
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', not {pool!r}")
        if not set(dropout_after) <= {"fc1", "fc2"}:
            raise ValueError(f"dropout_after names FC layers 'fc1' and/or 'fc2', not "
                             f"{dropout_after!r}")
        pool_cls = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=2)
        # absent options are None, not Identity: the module list shows only what computes
        self.bn1 = nn.BatchNorm2d(6) if batchnorm else None
        self.act1, self.pool1 = _activation(activation), pool_cls(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16) if batchnorm else None
        self.act2, self.pool2 = _activation(activation), pool_cls(2)
        self.flatten = nn.Flatten()
        self.fc1, self.act3 = nn.Linear(400, 120), _activation(activation)
        self.drop1 = nn.Dropout(dropout) if dropout > 0 and "fc1" in dropout_after else None
        self.fc2, self.act4 = nn.Linear(120, 84), _activation(activation)
        self.drop2 = nn.Dropout(dropout) if dropout > 0 and "fc2" in dropout_after else None
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.pool1(self.act1(self.bn1(x) if self.bn1 is not None else x))
        x = self.conv2(x)
        x = self.pool2(self.act2(self.bn2(x) if self.bn2 is not None else x))
        x = self.act3(self.fc1(self.flatten(x)))
        x = self.act4(self.fc2(self.drop1(x) if self.drop1 is not None else x))
        x = self.drop2(x) if self.drop2 is not None else x
        return self.fc3(x)

    @torch.no_grad()
    def load_scratch_params(self, params: dict, bn_params: Sequence[dict] = ()) -> None:
        """Copy a scratch LeNet5's `params` (W1, b1, ..., gamma1, beta1, ...) into this model.

        bn_params: the scratch model's per-layer batchnorm state (running_mean, running_var),
        if any. Scratch FC weights are (in, out); nn.Linear keeps (out, in), hence the .T.
        """
        def put(tensor, value):
            tensor.copy_(torch.as_tensor(value, dtype=tensor.dtype))

        for i, conv in ((1, self.conv1), (2, self.conv2)):
            put(conv.weight, params[f"W{i}"])
            put(conv.bias, params[f"b{i}"])
        for i, fc in ((3, self.fc1), (4, self.fc2), (5, self.fc3)):
            put(fc.weight, params[f"W{i}"].T)
            put(fc.bias, params[f"b{i}"])
        for i, bn in ((1, self.bn1), (2, self.bn2)):
            if bn is not None:
                put(bn.weight, params[f"gamma{i}"])
                put(bn.bias, params[f"beta{i}"])
                if len(bn_params) >= i and "running_mean" in bn_params[i - 1]:
                    put(bn.running_mean, bn_params[i - 1]["running_mean"])
                    put(bn.running_var, bn_params[i - 1]["running_var"])


class BudgetMLP(_Counted, nn.Sequential):
    """An MLP of S8 made only of Linear, ReLU and Dropout (softmax is in the loss).

        [Linear(in, h_k) - ReLU - [Dropout(p)]] for h_k in hidden_sizes, then Linear(h_last, C)

    Input (N, in_features) or (N, C, H, W) (flattened in forward, not by a layer, so the
    allowed-layer check sees only the three kinds); output logits (N, num_classes).
    """

    def __init__(self, hidden_sizes: Sequence[int], dropout: float = 0.0,
                 in_features: int = 784, num_classes: int = 10):
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)
        self.config = dict(hidden_sizes=list(hidden_sizes), dropout=dropout,
                           in_features=in_features, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))


class SmallCNN(_Counted, nn.Sequential):
    """The S8 CNN: conv stages, then an MLP head.

        for each stage in channels: [Conv2d(k, pad k//2) - [BatchNorm2d] - ReLU] per conv,
                                    MaxPool2d(2)
        Flatten - [Dropout(p) - Linear - ReLU] per width in fc - Dropout(p) - Linear(C)

    channels: one int per stage (one conv) or a tuple per stage (several convs before the
    pool), e.g. (32, 64) or ((32, 32), (64, 64)). Input (N, in_channels, image_size,
    image_size), output logits (N, num_classes). Uses only the layers S8 allows.
    """

    def __init__(self, channels: Sequence = (32, 64), fc: Sequence[int] = (128,),
                 dropout: float = 0.25, batchnorm: bool = True, kernel_size: int = 3,
                 in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
        layers: list[nn.Module] = []
        c, size = in_channels, image_size
        for stage in channels:
            for out in (stage if isinstance(stage, Iterable) else (stage,)):
                layers.append(nn.Conv2d(c, out, kernel_size, padding=kernel_size // 2))
                if batchnorm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU())
                c = out
            layers.append(nn.MaxPool2d(2))
            size //= 2
        layers.append(nn.Flatten())
        width = c * size * size
        for h in fc:
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)
        self.config = dict(channels=[list(s) if isinstance(s, Iterable) else s
                                     for s in channels],
                           fc=list(fc), dropout=dropout, batchnorm=batchnorm,
                           kernel_size=kernel_size, in_channels=in_channels,
                           num_classes=num_classes, image_size=image_size)


_VANISHING_ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class OpenModel(_Counted, nn.Module):
    """S3's open model. Input (N, 3, 32, 32), logits (N, 10).

    conv1 (3 -> c1, k1, pad k1//2) - bn1 - ReLU - maxpool 2; conv2 (c1 -> c2, k2, pad k2//2) -
    bn2 - ReLU - maxpool 2; flatten; [Linear - ReLU - Dropout] per FC width; Linear (10).
    """

    def __init__(self, kernels=(5, 3), fc=(256, 128), channels=(64, 32), dropout=0.5,
                 in_channels=3, image_size=32, num_classes=10):
        super().__init__()
        (k1, k2), (c1, c2) = kernels, channels
        self.config = dict(kernels=list(kernels), fc=list(fc), channels=list(channels),
                           dropout=dropout, in_channels=in_channels, image_size=image_size,
                           num_classes=num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, k1, padding=k1 // 2), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, k2, padding=k2 // 2), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.MaxPool2d(2))
        head, width = [], c2 * (image_size // 4) ** 2
        for h in fc:
            head += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        head.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class VanishingNet(_Counted, nn.Module):
    """S5's FC net: [Linear - [BatchNorm1d] - activation] per hidden width, then
    Linear(widths[-1], C).

    Input (N, 3, 32, 32) or (N, 3072), flattened in forward; output logits (N, C). Linear
    layers are `fc1`, `fc2`, ... (the last one is the output layer), batchnorms `bn1`, ...
    init: 'default' (PyTorch's), 'he' (Kaiming normal, fan-in, ReLU gain) or 'xavier'
    (Glorot normal with the activation's gain); 'he' and 'xavier' zero the biases.
    """

    def __init__(self, widths, activation="relu", batchnorm=False, init="default",
                 in_features=3072, num_classes=10):
        super().__init__()
        if activation not in _VANISHING_ACT:
            raise ValueError(f"activation must be one of {sorted(_VANISHING_ACT)}, "
                             f"not {activation!r}")
        if init not in ("default", "he", "xavier"):
            raise ValueError(f"init must be 'default', 'he' or 'xavier', not {init!r}")
        self.config = dict(widths=list(widths), activation=activation, batchnorm=batchnorm,
                           init=init, in_features=in_features, num_classes=num_classes)
        layers, width = [], in_features
        for i, h in enumerate([*widths, num_classes], start=1):
            fc = nn.Linear(width, h)
            self._init(fc, init, activation if i <= len(widths) else None)
            layers.append((f"fc{i}", fc))
            if i <= len(widths):
                if batchnorm:
                    layers.append((f"bn{i}", nn.BatchNorm1d(h)))
                layers.append((f"act{i}", _VANISHING_ACT[activation]()))
            width = h
        self.net = nn.Sequential()
        for name, layer in layers:
            self.net.add_module(name, layer)

    @staticmethod
    def _init(fc, init, activation):
        if init == "default":
            return
        if init == "he":
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
        else:  # xavier; the output layer (activation None) gets gain 1
            gain = nn.init.calculate_gain(activation) if activation else 1.0
            nn.init.xavier_normal_(fc.weight, gain=gain)
        nn.init.zeros_(fc.bias)

    def forward(self, x):
        return self.net(x.flatten(1))

    def linear_names(self):
        """Module names of the Linear layers, first to last (as Probes names them)."""
        return [f"net.{n}" for n, m in self.net.named_children() if isinstance(m, nn.Linear)]


# every model a study saves: checkpoint.load rebuilds a saved model by its class name from here
MODELS = {m.__name__: m for m in (LeNet5, BudgetMLP, SmallCNN, OpenModel, VanishingNet,
                                  FunctionalNet, TwoLayerFC, ThreeLayerConvNet, SequentialFC,
                                  SequentialConv)}

S8_MLP_LAYERS = ("Linear", "ReLU", "Softmax", "Dropout")
S8_CNN_LAYERS = ("Linear", "Conv2d", "MaxPool2d", "BatchNorm2d", "Dropout", "ReLU", "Softmax",
                 "Flatten")


def _names(layers) -> set[str]:
    return {x if isinstance(x, str) else x.__name__ for x in layers}


def check_budget(model: nn.Module, max_hidden: int | None = None,
                 min_hidden_layers: int | None = None,
                 allowed_layers: Iterable | None = None, max_params: int | None = None,
                 required_layers: Iterable = ()) -> dict:
    """Check a model against a budget before training; raise ValueError naming what fails.

    max_hidden: at most this many hidden units (see `hidden_units`). min_hidden_layers: at
    least this many hidden layers (Linear layers but the last). allowed_layers: class names or
    classes; every leaf module must be one of them. max_params: at most this many trainable
    parameters (S8's "fewer than 1,000,000" is max_params=999_999). required_layers: each must
    occur at least once (S8's CNN: Dropout and BatchNorm2d).
    Returns {'params', 'hidden_units', 'hidden_layers'}.
    """
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    if allowed_layers is not None:
        allowed = _names(allowed_layers)
        for name, m in leaves:
            if type(m).__name__ not in allowed:
                raise ValueError(f"layer {name!r} ({type(m).__name__}) is not allowed "
                                 f"(allowed: {', '.join(sorted(allowed))})")
    present = {type(m).__name__ for _, m in leaves}
    for kind in sorted(_names(required_layers)):
        if kind not in present:
            raise ValueError(f"the model needs at least one {kind} layer and has none")
    summary = {"params": count_params(model), "hidden_units": hidden_units(model),
               "hidden_layers": max(len(linear_layers(model)) - 1, 0)}
    if max_hidden is not None and summary["hidden_units"] > max_hidden:
        widths = [m.out_features for _, m in linear_layers(model)[:-1]]
        raise ValueError(f"{summary['hidden_units']} hidden units {widths} exceed the limit "
                         f"of {max_hidden}")
    if min_hidden_layers is not None and summary["hidden_layers"] < min_hidden_layers:
        raise ValueError(f"{summary['hidden_layers']} hidden layers, fewer than the required "
                         f"{min_hidden_layers}")
    if max_params is not None and summary["params"] > max_params:
        raise ValueError(f"{summary['params']:,} parameters exceed the limit of "
                         f"{max_params:,}")
    return summary
