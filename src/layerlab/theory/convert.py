"""Layer specs (layerlab.theory.shapes) of a scratch model or a PyTorch model.

`from_scratch(model)` reads a scratch model's sandwiches (their stages, option dicts and
weight shapes); `from_torch(model, input_shape)` reads a PyTorch module's leaf modules in
registration order, which must be the order `forward` applies them (true of nn.Sequential and
of the models in layerlab.pytorch). Both return (input shape of one sample, list of specs) for
`summarize`; a layer the calculator does not know raises a ValueError naming it.
"""

from __future__ import annotations

from layerlab.theory.shapes import (
    BatchNorm,
    Conv2d,
    Flatten,
    GroupNorm,
    LayerNorm,
    Linear,
    Pad2d,
    Pool2d,
    Same,
)

# --- scratch ---------------------------------------------------------------------------------


def _scratch_stage(stage, i, params, options, model):
    """The spec of one sandwich stage of block i (None for a stage that computes nothing)."""
    from layerlab.scratch import layers as L
    from layerlab.scratch.conv import Conv
    from layerlab.scratch.conv_sandwich import GroupNormStage
    from layerlab.scratch.dropout import Dropout
    from layerlab.scratch.norm import BatchNorm as ScratchBN
    from layerlab.scratch.norm import LayerNorm as ScratchLN
    from layerlab.scratch.pool import AvgPool, MaxPool
    from layerlab.scratch.spatial_norm import SpatialBatchNorm

    layer = stage.layer
    if layer is L.Linear:
        w = params[f"W{i}"]
        return Linear(int(w.shape[1]), f"b{i}" in params)
    if layer is Conv:
        w, conv = params[f"W{i}"], options.get("conv", {})
        pad = conv.get("pad", 0)
        return Conv2d(int(w.shape[0]), (int(w.shape[2]), int(w.shape[3])),
                      conv.get("stride", 1), pad if isinstance(pad, int) else tuple(pad))
    if layer in (MaxPool, AvgPool):
        pool = options.get("pool", {})
        kernel = (pool.get("pool_height", 2), pool.get("pool_width", 2))
        return Pool2d("max" if layer is MaxPool else "avg", kernel, pool.get("stride", kernel))
    if layer in (ScratchBN, SpatialBatchNorm):
        return BatchNorm()
    if layer is ScratchLN:
        return LayerNorm()
    if layer is GroupNormStage:
        norm = options.get("norm")
        if isinstance(norm, tuple):  # ConvNetBase keeps ('norm', k) into model.norm_params
            norm = model.norm_params[norm[1]]
        return GroupNorm(int(norm["G"]))
    if layer is Dropout:
        return Same(f"dropout {model.dropout_param.get('p', '')}".strip())
    for name, cls in L.ACTIVATIONS.items():
        if layer is cls:
            return Same(name)
    raise ValueError(f"the shape calculator does not know the scratch layer {layer.__name__}")


def from_scratch(model):
    """(input shape, specs) of a scratch FullyConnectedNet / TwoLayerNet or conv model
    (ThreeLayerConvNet, DeepConvNet, LeNet5: anything built on conv_models.ConvNetBase)."""
    from layerlab.scratch.conv_models import ConvNetBase
    from layerlab.scratch.models import FullyConnectedNet

    specs = []
    if isinstance(model, ConvNetBase):
        for i, (block, options) in enumerate(model.blocks, start=1):
            specs += [_scratch_stage(s, i, model.params, options, model) for s in block.stages]
        return model.input_dim, specs
    if isinstance(model, FullyConnectedNet):
        for i in range(1, model.num_layers):
            specs += [_scratch_stage(s, i, model.params, {}, model) for s in model.hidden.stages]
        specs.append(Linear(int(model.params[f"W{model.num_layers}"].shape[1])))
        return (int(model.params["W1"].shape[0]),), specs
    raise ValueError(f"from_scratch reads FullyConnectedNet and the conv models, not "
                     f"{type(model).__name__}")


# --- PyTorch ---------------------------------------------------------------------------------


def _torch_padding(padding):
    return padding if isinstance(padding, str) else tuple(int(p) for p in padding)


def _torch_spec(name, m, shape):
    """The spec of one PyTorch leaf module; checks the widths it expects against `shape`."""
    from torch import nn

    def expect(got, want, what):
        if got != want:
            raise ValueError(f"module {name!r} ({type(m).__name__}) expects {what} {want} but "
                             f"receives {got} (the shape reaching it is {shape}); are the "
                             "modules registered in forward order, and is the input shape "
                             "right?")

    if isinstance(m, nn.Linear):
        size = 1
        for d in shape:
            size *= d
        expect(size, m.in_features, "in_features")
        return Linear(m.out_features, m.bias is not None)
    if isinstance(m, nn.Conv2d):
        expect(shape[0] if len(shape) == 3 else None, m.in_channels, "in_channels")
        if m.groups != 1:
            raise ValueError(f"module {name!r}: grouped convolutions (groups={m.groups}) are "
                             "not in the calculator")
        return Conv2d(m.out_channels, tuple(m.kernel_size), tuple(m.stride),
                      _torch_padding(m.padding), tuple(m.dilation), m.bias is not None)
    if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        if m.ceil_mode or (isinstance(m, nn.MaxPool2d) and m.dilation not in (1, (1, 1))):
            raise ValueError(f"module {name!r}: ceil_mode and pooling dilation are not in the "
                             "calculator")
        if not isinstance(m.padding, int):
            raise ValueError(f"module {name!r}: the calculator pools with one padding on all "
                             "sides")
        return Pool2d("max" if isinstance(m, nn.MaxPool2d) else "avg", m.kernel_size,
                      m.stride, m.padding)
    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
        expect(shape[0], m.num_features, "num_features")
        if not m.affine:
            raise ValueError(f"module {name!r}: batchnorm without affine parameters")
        return BatchNorm()
    if isinstance(m, nn.LayerNorm):
        expect(tuple(shape), tuple(m.normalized_shape), "normalized_shape")
        return LayerNorm()
    if isinstance(m, nn.GroupNorm):
        expect(shape[0], m.num_channels, "num_channels")
        return GroupNorm(m.num_groups)
    if isinstance(m, nn.Flatten):
        return Flatten()
    if isinstance(m, nn.ZeroPad2d):
        left, right, top, bottom = m.padding  # PyTorch's order
        return Pad2d((top, bottom, left, right))
    if isinstance(m, nn.Dropout):
        return Same(f"dropout {m.p}")
    simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
              nn.LeakyReLU: "leaky_relu", nn.Softmax: "softmax", nn.Identity: "identity"}
    for cls, label in simple.items():
        if isinstance(m, cls):
            return Same(label)
    raise ValueError(f"the shape calculator does not know module {name!r} "
                     f"({type(m).__name__})")


def torch_input_shape(model):
    """One sample's input shape of a layerlab.pytorch model, from its `.config` (or None)."""
    config = getattr(model, "config", None) or {}
    if "in_features" in config:
        return (int(config["in_features"]),)
    if "image_size" in config:
        return (int(config["in_channels"]), int(config["image_size"]),
                int(config["image_size"]))
    if "in_channels" in config:  # LeNet5: 28x28 inputs
        return (int(config["in_channels"]), 28, 28)
    return None


def from_torch(model, input_shape=None):
    """(input shape, specs) of a PyTorch module; input_shape defaults to what the layerlab
    model's config says (it is required for other modules)."""
    from layerlab.theory.shapes import summarize

    shape = tuple(input_shape) if input_shape is not None else torch_input_shape(model)
    if shape is None:
        raise ValueError(f"say the input shape of {type(model).__name__} (one sample, e.g. "
                         "3x32x32)")
    specs = []
    current = shape
    for name, m in model.named_modules():
        if list(m.children()):
            continue
        spec = _torch_spec(name, m, current)
        specs.append(spec)
        current = summarize([spec], current).output
    return shape, specs
