"""The student's definitions read as the course's functions, whatever the style.

Style 'cs231n': the names themselves (`affine_forward`, ..., `FullyConnectedNet`).
Style 'layerlab': layerlab's classes (`Linear.forward`, `BatchNorm.backward_alt`, `Conv`, ...)
and functions (`softmax_loss`, `adam`, ...); dropout's p and the network's `dropout` are drop
probabilities there, so the adapters convert the course's keep probability.
"""

from __future__ import annotations

from types import SimpleNamespace

# Every name graded, in the course's order.
COURSE_NAMES = (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
    "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
    "max_pool_backward_naive", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward", "softmax_loss", "svm_loss",
    "sgd", "sgd_momentum", "rmsprop", "adam", "FullyConnectedNet",
)

# course name -> (layerlab class, method); a class of None means a module-level function.
LAYERLAB_NAMES = {
    "affine_forward": ("Linear", "forward"), "affine_backward": ("Linear", "backward"),
    "relu_forward": ("ReLU", "forward"), "relu_backward": ("ReLU", "backward"),
    "batchnorm_forward": ("BatchNorm", "forward"), "batchnorm_backward": ("BatchNorm", "backward"),
    "batchnorm_backward_alt": ("BatchNorm", "backward_alt"),
    "layernorm_forward": ("LayerNorm", "forward"), "layernorm_backward": ("LayerNorm", "backward"),
    "dropout_forward": ("Dropout", "forward"), "dropout_backward": ("Dropout", "backward"),
    "conv_forward_naive": ("Conv", "forward_naive"),
    "conv_backward_naive": ("Conv", "backward_naive"),
    "max_pool_forward_naive": ("MaxPool", "forward_naive"),
    "max_pool_backward_naive": ("MaxPool", "backward_naive"),
    "spatial_batchnorm_forward": ("SpatialBatchNorm", "forward"),
    "spatial_batchnorm_backward": ("SpatialBatchNorm", "backward"),
    "spatial_groupnorm_forward": ("SpatialGroupNorm", "forward"),
    "spatial_groupnorm_backward": ("SpatialGroupNorm", "backward"),
    "softmax_loss": (None, "softmax_loss"), "svm_loss": (None, "svm_loss"),
    "sgd": (None, "sgd"), "sgd_momentum": (None, "sgd_momentum"), "rmsprop": (None, "rmsprop"),
    "adam": (None, "adam"), "FullyConnectedNet": (None, "FullyConnectedNet"),
}


def _dropout_forward(forward):
    """A layerlab-style Dropout.forward (p = drop) called with the course's p = keep."""
    return lambda x, dropout_param: forward(x, {**dropout_param, "p": 1 - dropout_param["p"]})


def _net(cls):
    """A layerlab-style FullyConnectedNet (dropout = drop) built with the course's arguments."""

    def build(hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
              **kwargs):
        return cls(hidden_dims, input_dim, num_classes, dropout=1 - dropout_keep_ratio, **kwargs)

    return build


def _layerlab_style(lookup):
    found = {}
    for name, (cls, attr) in LAYERLAB_NAMES.items():
        owner = lookup(cls) if cls else None
        value = getattr(owner, attr, None) if cls else lookup(attr)
        if value is None:
            continue
        if name == "dropout_forward":
            value = _dropout_forward(value)
        elif name == "FullyConnectedNet":
            value = _net(value)
        found[name] = value
    return found


def student_names(lookup, style):
    """The course's names the student defines, as {name: callable in the course's form}.

    lookup(name) returns the student's object of that name, or None.
    """
    if style == "layerlab":
        return _layerlab_style(lookup)
    return {name: lookup(name) for name in COURSE_NAMES if lookup(name) is not None}


def namespace(found):
    """The student's names as attributes (a missing name is a missing attribute)."""
    return SimpleNamespace(**found)
