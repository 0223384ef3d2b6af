"""Output shapes and parameter counts of a stack of layers, by formula.

A model is an input shape for one sample, (D,) or (C, H, W), and a list of layer specs. Each
spec computes, from the shape it receives, the shape it gives and the parameters it owns:

    rows = summarize([Conv2d(8, 5)], (3, 32, 32))
    rows.total          # 608
    rows.rows[-1].shape # (8, 28, 28)

Conventions (stated because sources differ):
- shapes are channels first, (C, H, W), as in PyTorch and the scratch engine; `hwc` prints
  the H×W×C form the studies quote;
- Linear weights are (in, out), as in the scratch engine and the studies (x @ W); PyTorch's
  nn.Linear stores the transpose (out, in), with the same count;
- Linear flattens every axis of a sample (as the scratch `Linear` does);
- output sizes are floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1, as
  PyTorch computes them; when the windows do not fit exactly, the row says how many input
  rows/columns are never read (the scratch engine refuses such shapes instead);
- 'same' padding is TensorFlow's: output ceil(in / stride), the padding split with the odd
  pixel at the bottom/right (for stride 1 this is PyTorch's padding='same' too); 'valid' is 0;
- normalisation layers own a scale and a shift (gamma, beta) per normalised feature: per
  channel for batchnorm and group norm on images, per feature otherwise; layer norm normalises
  the whole sample and owns one pair per element (PyTorch's elementwise affine). Running
  statistics are buffers, not parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _pair(value, what):
    """(h, w) from an int or a pair of ints."""
    pair = (value, value) if isinstance(value, int) else \
        tuple(value) if isinstance(value, tuple | list) else ()
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                 for v in pair):
        raise ValueError(f"{what} must be a positive int or a pair of them, got {value!r}")
    return pair


def _positive(value, what):
    """value, an int >= 1 (never a bool), or a ValueError naming `what` and the rule."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    return value


def _sides(p):
    """(top, bottom, left, right) of a conv padding given as an int, (pad_h, pad_w) or four
    sides; a ValueError unless every side is an int >= 0."""
    sides = (p,) * 4 if isinstance(p, int) else tuple(p) if isinstance(p, tuple | list) else ()
    if len(sides) == 2:
        sides = (sides[0], sides[0], sides[1], sides[1])
    if len(sides) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                  for v in sides):
        raise ValueError(f"conv padding must be an int >= 0, (pad_h, pad_w), (top, bottom, "
                         f"left, right), 'same' or 'valid'; got {p!r}")
    return sides


def _size(shape):
    return math.prod(shape)


def _image(shape, what):
    if len(shape) != 3:
        raise ValueError(f"{what} needs an image input (C, H, W), but receives {shape}; "
                         "give the input as CxHxW, or put it before the flatten/linear layers")
    return shape


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding along one axis: (before, after) so that the output has
    ceil(size / stride) positions; the odd pixel goes after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def window_positions(size, kernel, stride, before, after, dilation=1):
    """(positions, unread): output size along one axis, as PyTorch computes it, and how many
    padded input pixels at the end no window reaches (0 when the windows fit exactly)."""
    span = dilation * (kernel - 1) + 1
    padded = size + before + after
    if span > padded:
        raise ValueError(f"a window of {span} does not fit an input of {size} padded to "
                         f"{padded}; use a smaller kernel or dilation, or more padding")
    positions = (padded - span) // stride + 1
    return positions, padded - ((positions - 1) * stride + span)


@dataclass(frozen=True)
class Row:
    """One line of a summary. shape: output of one sample; params: {name: shape}."""

    label: str
    shape: tuple
    params: dict = field(default_factory=dict)
    note: str = ""

    @property
    def count(self):
        return sum(_size(s) for s in self.params.values())


class Spec:
    """A layer: `apply(shape)` -> (output shape, {parameter name: shape}, note)."""

    label = "layer"

    def apply(self, shape):
        raise NotImplementedError


@dataclass(frozen=True)
class Linear(Spec):
    """out = flatten(x) @ W + b: W (D, out), b (out,)."""

    out: int
    bias: bool = True

    def __post_init__(self):
        _positive(self.out, "the width (outputs of a linear layer)")

    @property
    def label(self):
        return f"linear {self.out}" + ("" if self.bias else " (no bias)")

    def apply(self, shape):
        params = {"W": (_size(shape), self.out)}
        if self.bias:
            params["b"] = (self.out,)
        return (self.out,), params, "flattens " + "×".join(map(str, shape)) \
            if len(shape) > 1 else ""


@dataclass(frozen=True)
class Conv2d(Spec):
    """filters F of kernel (kh, kw) on (C, H, W): W (F, C, kh, kw), b (F,).

    padding: an int, (pad_h, pad_w), (top, bottom, left, right), 'same' or 'valid'.
    """

    filters: int
    kernel: int | tuple = 3
    stride: int | tuple = 1
    padding: int | tuple | str = 0
    dilation: int | tuple = 1
    bias: bool = True

    def __post_init__(self):
        _positive(self.filters, "the filter count of a conv layer")
        _pair(self.kernel, "conv kernel")
        _pair(self.stride, "conv stride")
        _pair(self.dilation, "conv dilation")
        if self.padding not in ("same", "valid"):
            _sides(self.padding)

    @property
    def label(self):
        kh, kw = _pair(self.kernel, "conv kernel")
        parts = [f"conv {self.filters} {kh}x{kw}"]
        sh, sw = _pair(self.stride, "conv stride")
        if (sh, sw) != (1, 1):
            parts.append(f"s{sh}" if sh == sw else f"s{sh}x{sw}")
        if _pad_label(self.padding) not in ("p0", "valid"):
            parts.append(_pad_label(self.padding))
        dh, dw = _pair(self.dilation, "conv dilation")
        if (dh, dw) != (1, 1):
            parts.append(f"d{dh}" if dh == dw else f"d{dh}x{dw}")
        if not self.bias:
            parts.append("(no bias)")
        return " ".join(parts)

    def pads(self, H, W):
        """(top, bottom, left, right) for an input of H x W."""
        (kh, kw), (sh, sw) = _pair(self.kernel, "conv kernel"), _pair(self.stride, "conv stride")
        dh, dw = _pair(self.dilation, "conv dilation")
        p = self.padding
        if p == "same":
            return same_padding(H, kh, sh, dh) + same_padding(W, kw, sw, dw)
        if p == "valid":
            return (0, 0, 0, 0)
        return _sides(p)

    def apply(self, shape):
        C, H, W = _image(shape, self.label)
        (kh, kw), (sh, sw) = _pair(self.kernel, "conv kernel"), _pair(self.stride, "conv stride")
        dh, dw = _pair(self.dilation, "conv dilation")
        top, bottom, left, right = self.pads(H, W)
        H_out, unread_h = window_positions(H, kh, sh, top, bottom, dh)
        W_out, unread_w = window_positions(W, kw, sw, left, right, dw)
        params = {"W": (self.filters, C, kh, kw)}
        if self.bias:
            params["b"] = (self.filters,)
        notes = []
        if self.padding == "same":
            notes.append(f"pad top/bottom/left/right {top}/{bottom}/{left}/{right}")
        notes += _unread(unread_h, unread_w)
        return (self.filters, H_out, W_out), params, "; ".join(notes)


def _pad_label(p):
    """'same', 'p1', 'p1x2' (height x width) or 'p0x1x2x3' (top x bottom x left x right)."""
    if isinstance(p, str):
        return p
    sides = (p,) * 4 if isinstance(p, int) else tuple(p)
    if len(sides) == 2:
        sides = (sides[0], sides[0], sides[1], sides[1])
    if len(set(sides)) == 1:
        return f"p{sides[0]}"
    if len(sides) == 4 and sides[0] == sides[1] and sides[2] == sides[3]:
        return f"p{sides[0]}x{sides[2]}"
    return "p" + "x".join(map(str, sides))


def _unread(unread_h, unread_w):
    notes = []
    if unread_h:
        notes.append(f"last {unread_h} row(s) unread")
    if unread_w:
        notes.append(f"last {unread_w} column(s) unread")
    return notes


@dataclass(frozen=True)
class Pool2d(Spec):
    """Max or average pooling: no parameters. stride defaults to the window."""

    kind: str = "max"
    kernel: int | tuple = 2
    stride: int | tuple | None = None
    padding: int = 0

    def __post_init__(self):
        if self.kind not in ("max", "avg"):
            raise ValueError(f"pool kind must be 'max' or 'avg', got {self.kind!r}")
        kh, kw = _pair(self.kernel, "pool kernel")
        if self.stride is not None:
            _pair(self.stride, "pool stride")
        p = self.padding
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= min(kh, kw) // 2:
            raise ValueError(f"pool padding p must be an int from 0 to half the window "
                             f"({min(kh, kw) // 2}), got {p!r}")

    @property
    def label(self):
        kh, kw = _pair(self.kernel, "pool kernel")
        sh, sw = _pair(self.kernel if self.stride is None else self.stride, "pool stride")
        text = f"{self.kind}pool {kh}x{kw}"
        if (sh, sw) != (kh, kw):
            text += f" s{sh}" if sh == sw else f" s{sh}x{sw}"
        return text + (f" p{self.padding}" if self.padding else "")

    def apply(self, shape):
        C, H, W = _image(shape, self.label)
        (kh, kw) = _pair(self.kernel, "pool kernel")
        (sh, sw) = _pair(self.kernel if self.stride is None else self.stride, "pool stride")
        p = self.padding
        H_out, unread_h = window_positions(H, kh, sh, p, p)
        W_out, unread_w = window_positions(W, kw, sw, p, p)
        return (C, H_out, W_out), {}, "; ".join(_unread(unread_h, unread_w))


@dataclass(frozen=True)
class Pad2d(Spec):
    """Zero padding (top, bottom, left, right) of an image (PyTorch's ZeroPad2d)."""

    sides: tuple

    @property
    def label(self):
        return "pad " + "/".join(map(str, self.sides))

    def apply(self, shape):
        C, H, W = _image(shape, self.label)
        top, bottom, left, right = self.sides
        return (C, H + top + bottom, W + left + right), {}, ""


@dataclass(frozen=True)
class BatchNorm(Spec):
    """Batchnorm: gamma, beta per channel of an image, per feature of a vector."""

    label = "batchnorm"

    def apply(self, shape):
        width = shape[0]
        return shape, {"gamma": (width,), "beta": (width,)}, \
            "per channel" if len(shape) == 3 else ""


@dataclass(frozen=True)
class LayerNorm(Spec):
    """Layer norm over the whole sample: gamma, beta of the sample's shape."""

    label = "layernorm"

    def apply(self, shape):
        return shape, {"gamma": tuple(shape), "beta": tuple(shape)}, ""


@dataclass(frozen=True)
class GroupNorm(Spec):
    """Group norm of an image in `groups` groups of channels: gamma, beta per channel."""

    groups: int

    def __post_init__(self):
        _positive(self.groups, "the groups of a group norm")

    @property
    def label(self):
        return f"groupnorm {self.groups}"

    def apply(self, shape):
        C = _image(shape, self.label)[0]
        if C % self.groups:
            raise ValueError(f"groupnorm of {C} channels in {self.groups} groups: the groups "
                             "must divide the channels")
        return shape, {"gamma": (C,), "beta": (C,)}, ""


@dataclass(frozen=True)
class Flatten(Spec):
    label = "flatten"

    def apply(self, shape):
        return (_size(shape),), {}, ""


@dataclass(frozen=True)
class Same(Spec):
    """A layer that keeps the shape and owns nothing: activations, dropout, softmax."""

    name: str

    @property
    def label(self):
        return self.name

    def apply(self, shape):
        return shape, {}, ""


@dataclass(frozen=True)
class Summary:
    """input: one sample's shape; rows: one per layer; total: parameters of the model."""

    input: tuple
    rows: tuple

    @property
    def total(self):
        return sum(r.count for r in self.rows)

    @property
    def output(self):
        return self.rows[-1].shape if self.rows else self.input

    def format(self, batch="N"):
        """The summary as a text table; `batch` is the symbol of the batch axis."""
        header = ["layer", "output", "H×W×C", "params", "parameter shapes", "note"]
        lines = [["input", shape_text(self.input, batch), hwc(self.input), "0", "", ""]]
        for r in self.rows:
            shapes = ", ".join(f"{n} {shape_text(s)}" for n, s in r.params.items())
            lines.append([r.label, shape_text(r.shape, batch), hwc(r.shape), f"{r.count:,}",
                          shapes, r.note])
        lines.append(["total", "", "", f"{self.total:,}", "", ""])
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
        right = {3}
        out = []
        for row in [header, *lines]:
            cells = [c.rjust(w) if i in right else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths, strict=True))]
            out.append("  ".join(cells).rstrip())
        return "\n".join(out)


def shape_text(shape, batch=None):
    """'(m, 10)' for shape (10,) with batch 'm'; '(50,)' without a batch."""
    dims = ([batch] if batch else []) + [str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def hwc(shape):
    """'28×28×8' for a (C, H, W) = (8, 28, 28) image; '' for a vector."""
    if len(shape) != 3:
        return ""
    C, H, W = shape
    return f"{H}×{W}×{C}"


def summarize(layers, input_shape):
    """Shapes and parameters of `layers` applied in order to one sample of `input_shape`.

    Args:
        layers: list of specs (Linear, Conv2d, Pool2d, BatchNorm, ...).
        input_shape: (D,) or (C, H, W).
    Returns:
        Summary; a ValueError names the layer (by position and label) whose input does not fit.
    """
    shape = tuple(int(d) for d in input_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(f"input shape must be (D,) or (C, H, W) of positive sizes, got "
                         f"{tuple(input_shape)}")
    rows = []
    for i, layer in enumerate(layers, start=1):
        try:
            out, params, note = layer.apply(shape)
        except ValueError as err:
            raise ValueError(f"layer {i} ({layer.label}) on input {shape_text(shape)}: "
                             f"{err}") from None
        rows.append(Row(layer.label, tuple(out), params, note))
        shape = tuple(out)
    return Summary(tuple(int(d) for d in input_shape), tuple(rows))
