"""Layers written on the command line, and the models the studies describe.

One word per layer, `NAME[:ARG,KEY=VALUE,...]`:

    fc:50            linear layer with 50 outputs (also `linear:50`; `bias=0` drops the bias)
    conv:8,k=5       8 filters 5x5, stride 1, no padding (k=3x5 for a non-square kernel)
    conv:100,k=3,s=2,p=same    stride 2, TensorFlow 'same' padding (p=1, p=1x2, p=0x1x2x3 or
                     p=valid; d=2 dilation; bias=0)
    maxpool:2        2x2 max pooling, stride 2 (also `avgpool:3,s=2`, `p=1` padding)
    bn  ln  gn:4     batchnorm, layer norm, group norm in 4 groups
    relu sigmoid tanh leaky_relu softmax dropout:0.5 flatten

An input shape is `10` (a vector) or `3x32x32` (channels x height x width).
"""

from __future__ import annotations

from layerlab.theory.shapes import (
    BatchNorm,
    Conv2d,
    Flatten,
    GroupNorm,
    LayerNorm,
    Linear,
    Pool2d,
    Same,
)

EXAMPLES = "e.g. fc:50, conv:8,k=5,s=1,p=same, maxpool:2, bn, relu, dropout:0.5, flatten"
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax", "identity")

# The models the studies' theory questions describe (their quoted answers are reference
# figures in layerlab.references): input shape and layers.
STUDY_MODELS = {
    "s4-mlp": ("10", ["fc:50", "relu", "fc:3"],
               "S4: MLP with input 10, hidden 50, output 3"),
    "s4-conv": ("3x200x300", ["conv:100,k=3,s=2,p=same", "conv:200,k=3,s=2,p=same",
                              "conv:400,k=3,s=2,p=same"],
                "S4: three 3x3 conv layers, stride 2, SAME padding, on a 200x300 RGB image"),
    "s8-conv": ("3x32x32", ["conv:8,k=5"],
                "S8: a 5x5x3 conv with 8 filters on 32x32x3, stride 1, no padding"),
}


def parse_shape(text):
    """'3x32x32' -> (3, 32, 32); '10' -> (10,). Also accepts '×' and ','."""
    parts = str(text).replace("×", "x").replace(",", "x").lower().split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) not in (1, 3) or min(shape, default=0) < 1:
        raise ValueError(f"input shape {text!r}: write D for a vector (e.g. 10) or CxHxW for an "
                         "image, channels first (e.g. 3x32x32)")
    return shape


def _ints(text, what, word):
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"layer {word!r}: {what} must be an int or ints joined by x, got "
                         f"{text!r}") from None
    return values[0] if len(values) == 1 else values


def _flag(text, word):
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise ValueError(f"layer {word!r}: bias must be 0 or 1, got {text!r}")


def _probability(text, word):
    """The p of `dropout:p`: a number in [0, 1)."""
    try:
        p = float(text)
    except ValueError:
        p = float("nan")
    if not 0 <= p < 1:
        raise ValueError(f"layer {word!r}: the drop probability must be a number in [0, 1), "
                         f"got {text!r}")
    return text


def parse_layer(word):
    """One command-line layer word -> a spec of layerlab.theory.shapes (see module docstring).

    A ValueError names the word, what is wrong, and what the layer takes (or the rule a value
    breaks: widths, filters and groups >= 1, windows, strides and dilations >= 1, padding >= 0,
    a drop probability in [0, 1)).
    """
    try:
        return _parse_layer(word)
    except ValueError as err:
        if str(err).startswith(("layer ", "unknown layer")):
            raise
        raise ValueError(f"layer {word!r}: {err}") from None


def _parse_layer(word):
    name, _, rest = word.strip().partition(":")
    name = name.lower()
    args = [a for a in rest.split(",") if a] if rest else []
    positional = [a for a in args if "=" not in a]
    options = dict(a.split("=", 1) for a in args if "=" in a)

    def take(allowed, max_positional, usage):
        unknown = sorted(set(options) - set(allowed))
        if unknown or len(positional) > max_positional:
            what = f"unknown option {unknown[0]!r}" if unknown else "too many values"
            raise ValueError(f"layer {word!r}: {what}; {name} takes {usage}")

    if name in ("fc", "linear"):
        take({"bias"}, 1, "the output width and bias=0|1, e.g. fc:50")
        if not positional:
            raise ValueError(f"layer {word!r}: say how many outputs, e.g. fc:50")
        return Linear(_ints(positional[0], "the width", word),
                      _flag(options.get("bias", "1"), word))
    if name == "conv":
        take({"k", "s", "p", "d", "bias"}, 1, "filters and k, s, p, d, bias, e.g. "
             "conv:8,k=5,s=1,p=same")
        if not positional:
            raise ValueError(f"layer {word!r}: say how many filters, e.g. conv:8,k=5")
        pad = options.get("p", "0")
        return Conv2d(_ints(positional[0], "the filter count", word),
                      _ints(options.get("k", "3"), "k", word),
                      _ints(options.get("s", "1"), "s", word),
                      pad.lower() if pad.lower() in ("same", "valid") else
                      _ints(pad, "p", word),
                      _ints(options.get("d", "1"), "d", word),
                      _flag(options.get("bias", "1"), word))
    if name in ("maxpool", "avgpool", "pool"):
        take({"k", "s", "p"}, 1, "the window and s, p, e.g. maxpool:2 or avgpool:3,s=2")
        k = positional[0] if positional else options.get("k", "2")
        s = options.get("s")
        return Pool2d("avg" if name == "avgpool" else "max", _ints(k, "the window", word),
                      _ints(s, "s", word) if s else None, _ints(options.get("p", "0"), "p", word))
    if name in ("bn", "batchnorm"):
        take(set(), 0, "nothing")
        return BatchNorm()
    if name in ("ln", "layernorm"):
        take(set(), 0, "nothing")
        return LayerNorm()
    if name in ("gn", "groupnorm"):
        take(set(), 1, "the number of groups, e.g. gn:4")
        if not positional:
            raise ValueError(f"layer {word!r}: say how many groups, e.g. gn:4")
        return GroupNorm(_ints(positional[0], "the groups", word))
    if name == "flatten":
        take(set(), 0, "nothing")
        return Flatten()
    if name == "dropout":
        take(set(), 1, "the drop probability, e.g. dropout:0.5")
        return Same(f"dropout {_probability(positional[0], word)}" if positional else "dropout")
    if name in ACTIVATIONS:
        take(set(), 0, "nothing")
        return Same(name)
    raise ValueError(f"unknown layer {word!r}; layers are written like {EXAMPLES}")


def parse_layers(words):
    """A list of layer words -> a list of specs."""
    return [parse_layer(w) for w in words]
