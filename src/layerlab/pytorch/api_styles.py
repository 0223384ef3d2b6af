"""One network written three ways (S3 `pytorch-apis`): functional, `nn.Module`, `nn.Sequential`.

The course notebook's two-layer FC net (3072 -> hidden -> ReLU -> 10) and three-layer conv net
(conv c1@k1 pad k1//2 - ReLU - conv c2@k2 pad k2//2 - ReLU - FC 10), each

- functional: raw weight tensors and `torch.nn.functional`, held in `FunctionalNet` (an
  nn.Module only so that an optimizer and `fit` can see them: its forward is the functional
  code);
- as `nn.Module` subclasses (`TwoLayerFC`, `ThreeLayerConvNet`);
- as `nn.Sequential` (`SequentialFC`, `SequentialConv`).

`three_styles` builds all three from the same weights. Every class keeps its constructor
arguments in `.config` and is in `models.MODELS`, so `checkpoint.load` rebuilds it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STYLES = ("functional", "module", "sequential")


def random_weight(shape, generator):
    """The course's init: normal with std sqrt(2 / fan_in), fan_in = prod(shape[1:]) for
    weights stored (out, in, ...) as torch stores them (FC (out, in), conv (out, in, kh, kw))."""
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)


def fc_params(hidden=4000, in_features=3072, num_classes=10, seed=0):
    """{'w1' (H, D), 'b1' (H,), 'w2' (C, H), 'b2' (C,)} for `two_layer_fc`."""
    g = torch.Generator().manual_seed(seed)
    return {"w1": random_weight((hidden, in_features), g), "b1": torch.zeros(hidden),
            "w2": random_weight((num_classes, hidden), g), "b2": torch.zeros(num_classes)}


def conv_params(channels=(32, 16), kernels=(5, 3), in_channels=3, image_size=32,
                num_classes=10, seed=0):
    """{'conv_w1' (C1, 3, k1, k1), 'conv_b1', 'conv_w2' (C2, C1, k2, k2), 'conv_b2',
    'fc_w' (C, C2*H*W), 'fc_b'} for `three_layer_convnet`."""
    g = torch.Generator().manual_seed(seed)
    (c1, c2), (k1, k2) = channels, kernels
    return {"conv_w1": random_weight((c1, in_channels, k1, k1), g), "conv_b1": torch.zeros(c1),
            "conv_w2": random_weight((c2, c1, k2, k2), g), "conv_b2": torch.zeros(c2),
            "fc_w": random_weight((num_classes, c2 * image_size * image_size), g),
            "fc_b": torch.zeros(num_classes)}


def two_layer_fc(x, params):
    """Functional two-layer net: x (N, ...) -> logits (N, C) = relu(x W1^T + b1) W2^T + b2.

    F.linear with weights stored (out, in), as nn.Linear stores them, so that the three styles
    run the very same kernels (x.mm(W) with W (in, out) sums in another order and differs in
    float32 by about 1e-5 on these logits; in float64 both agree to 1e-14)."""
    x = x.flatten(1)
    return F.linear(F.relu(F.linear(x, params["w1"], params["b1"])), params["w2"], params["b2"])


def three_layer_convnet(x, params):
    """Functional conv net: x (N, 3, H, W) -> logits (N, C); 'same' padding in both convs."""
    w1, w2 = params["conv_w1"], params["conv_w2"]
    x = F.relu(F.conv2d(x, w1, params["conv_b1"], padding=w1.shape[-1] // 2))
    x = F.relu(F.conv2d(x, w2, params["conv_b2"], padding=w2.shape[-1] // 2))
    return F.linear(x.flatten(1), params["fc_w"], params["fc_b"])


FUNCTIONS = {"fc": two_layer_fc, "conv": three_layer_convnet}


class FunctionalNet(nn.Module):
    """Holds raw tensors as parameters so an optimizer (and `fit`) can train them; forward is
    the functional code itself (`two_layer_fc` or `three_layer_convnet`).

    params: {name: tensor} (copied); or shapes: {name: shape} for zero tensors of those shapes
    (how `checkpoint.load` builds the empty net before loading the saved weights).
    """

    def __init__(self, kind, params=None, shapes=None):
        super().__init__()
        if kind not in FUNCTIONS:
            raise ValueError(f"kind must be one of {sorted(FUNCTIONS)}, not {kind!r}")
        if params is None:
            params = {k: torch.zeros(s) for k, s in shapes.items()}
        self.kind = kind
        self.config = dict(kind=kind, shapes={k: list(v.shape) for k, v in params.items()})
        self.params = nn.ParameterDict({k: nn.Parameter(v.clone()) for k, v in params.items()})

    def forward(self, x):
        return FUNCTIONS[self.kind](x, self.params)


class TwoLayerFC(nn.Module):
    """nn.Module style: flatten - fc1 - ReLU - fc2."""

    def __init__(self, in_features=3072, hidden=4000, num_classes=10):
        super().__init__()
        self.config = dict(in_features=in_features, hidden=hidden, num_classes=num_classes)
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def _conv_config(in_channels, channels, kernels, image_size, num_classes):
    return dict(in_channels=in_channels, channels=list(channels), kernels=list(kernels),
                image_size=image_size, num_classes=num_classes)


class ThreeLayerConvNet(nn.Module):
    """nn.Module style: conv1 - ReLU - conv2 - ReLU - fc3 ('same' padding)."""

    def __init__(self, in_channels=3, channels=(32, 16), kernels=(5, 3), image_size=32,
                 num_classes=10):
        super().__init__()
        self.config = _conv_config(in_channels, channels, kernels, image_size, num_classes)
        (c1, c2), (k1, k2) = channels, kernels
        self.conv1 = nn.Conv2d(in_channels, c1, k1, padding=k1 // 2)
        self.conv2 = nn.Conv2d(c1, c2, k2, padding=k2 // 2)
        self.fc3 = nn.Linear(c2 * image_size * image_size, num_classes)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc3(x.flatten(1))


class SequentialFC(nn.Sequential):
    """nn.Sequential style: Flatten - Linear - ReLU - Linear."""

    def __init__(self, in_features=3072, hidden=4000, num_classes=10):
        super().__init__(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))
        self.config = dict(in_features=in_features, hidden=hidden, num_classes=num_classes)


class SequentialConv(nn.Sequential):
    """nn.Sequential style: Conv - ReLU - Conv - ReLU - Flatten - Linear ('same' padding)."""

    def __init__(self, in_channels=3, channels=(32, 16), kernels=(5, 3), image_size=32,
                 num_classes=10):
        (c1, c2), (k1, k2) = channels, kernels
        super().__init__(nn.Conv2d(in_channels, c1, k1, padding=k1 // 2), nn.ReLU(),
                         nn.Conv2d(c1, c2, k2, padding=k2 // 2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(c2 * image_size * image_size, num_classes))
        self.config = _conv_config(in_channels, channels, kernels, image_size, num_classes)


@torch.no_grad()
def load_functional(model, kind, params):
    """Copy functional params into a Module/Sequential model (same layouts, layer by layer)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    names = (("w1", "b1"), ("w2", "b2")) if kind == "fc" else \
        (("conv_w1", "conv_b1"), ("conv_w2", "conv_b2"), ("fc_w", "fc_b"))
    if len(layers) != len(names):
        raise ValueError(f"{type(model).__name__} has {len(layers)} weighted layers, the "
                         f"{kind} params {len(names)}")
    for layer, (w, b) in zip(layers, names, strict=True):
        weight = params[w]
        if layer.weight.shape != weight.shape:
            raise ValueError(f"{w}: shape {tuple(weight.shape)} does not fit "
                             f"{tuple(layer.weight.shape)}")
        layer.weight.copy_(weight)
        layer.bias.copy_(params[b])
    return model


def three_styles(kind, params, **shape):
    """{'functional', 'module', 'sequential'}: the same net and the same weights, three ways.

    kind: 'fc' (shape: hidden, ...) or 'conv' (shape: channels, kernels, ...)."""
    module = TwoLayerFC(**shape) if kind == "fc" else ThreeLayerConvNet(**shape)
    seq = SequentialFC(**shape) if kind == "fc" else SequentialConv(**shape)
    return {"functional": FunctionalNet(kind, params),
            "module": load_functional(module, kind, params),
            "sequential": load_functional(seq, kind, params)}


def max_output_difference(models, x):
    """Largest |logit difference| of every style against the functional one on x (N, ...)."""
    with torch.no_grad():
        ref = models["functional"](x)
        return {k: float((m(x) - ref).abs().max()) for k, m in models.items()
                if k != "functional"}
