"""Checks of the convolutional layers: convolution, max pooling, spatial batch and group norm.

The cases combine strides and paddings, odd and non-square sizes, overlapping pooling windows,
ties in max pooling, a batch of one, and group counts from 1 (layernorm over C, H, W) to C.
Gradient checks run on the smaller cases only: the student's naive loops are slow.
"""

from __future__ import annotations

import copy

import numpy as np

from layerlab.grade.checks_dense import NORM_GRADS, NORM_NAMES, norm_forward
from layerlab.grade.compare import compare, unchanged
from layerlab.grade.probes import backward, forward, run_cases
from layerlab.grade.table import register


def _conv_cases():
    rng = np.random.default_rng(7)
    specs = [  # label, x shape, w shape, stride, pad, gradient-checked
        ("x (2, 3, 5, 5), w (4, 3, 3, 3), stride 1, pad 1", (2, 3, 5, 5), (4, 3, 3, 3), 1, 1,
         False),
        ("odd sizes: x (1, 2, 5, 7), w (3, 2, 3, 3), stride 2, pad 1", (1, 2, 5, 7),
         (3, 2, 3, 3), 2, 1, True),
        ("x (2, 1, 4, 4), w (2, 1, 2, 2), stride 2, pad 0", (2, 1, 4, 4), (2, 1, 2, 2), 2, 0,
         True),
        ("1x1 kernel: x (1, 3, 3, 3), w (2, 3, 1, 1)", (1, 3, 3, 3), (2, 3, 1, 1), 1, 0, True),
        ("non-square kernel: x (2, 2, 4, 6), w (3, 2, 3, 5), stride 1, pad 1", (2, 2, 4, 6),
         (3, 2, 3, 5), 1, 1, False),
    ]
    return [{"label": label, "seed": i, "numeric": numeric,
             "args": [rng.standard_normal(xs), rng.standard_normal(ws),
                      rng.standard_normal(ws[0]), {"stride": stride, "pad": pad}]}
            for i, (label, xs, ws, stride, pad, numeric) in enumerate(specs)]


@register("conv_forward_naive")
def conv_forward_naive(impl, ref, numeric):
    """Cross-correlation over stride and padding combinations, odd and non-square sizes."""
    return run_cases(_conv_cases(), lambda c: forward(impl, ref, "conv_forward_naive", c,
                                                      ("x", "w", "b"))[0])


@register("conv_backward_naive", needs=("conv_forward_naive",))
def conv_backward_naive(impl, ref, numeric):
    """dx, dw, db against the engine; gradient-checked on the smaller cases."""
    grads = [("dx", 0), ("dw", 1), ("db", 2)]
    return run_cases(_conv_cases(), lambda c: backward(
        impl, ref, "conv_forward_naive", "conv_backward_naive", c, grads,
        numeric and c["numeric"]))


def _pool_cases():
    rng = np.random.default_rng(8)
    ties = rng.integers(0, 3, (2, 2, 4, 4)).astype(np.float64)  # every window has repeats
    return [
        {"label": "x (2, 3, 4, 4), 2x2 windows, stride 2", "seed": 0,
         "args": [rng.standard_normal((2, 3, 4, 4)),
                  {"pool_height": 2, "pool_width": 2, "stride": 2}]},
        {"label": "overlapping: x (1, 2, 5, 7), 3x3 windows, stride 2", "seed": 1,
         "args": [rng.standard_normal((1, 2, 5, 7)),
                  {"pool_height": 3, "pool_width": 3, "stride": 2}]},
        {"label": "x (2, 1, 3, 4), 2x3 windows, stride 1", "seed": 2,
         "args": [rng.standard_normal((2, 1, 3, 4)),
                  {"pool_height": 2, "pool_width": 3, "stride": 1}]},
        {"label": "ties: x (2, 2, 4, 4) of the integers 0..2, 2x2 windows, stride 2", "seed": 3,
         "ties": True, "args": [ties, {"pool_height": 2, "pool_width": 2, "stride": 2}]},
    ]


@register("max_pool_forward_naive")
def max_pool_forward_naive(impl, ref, numeric):
    """Window maxima: tiling and overlapping windows, non-square windows, ties."""
    return run_cases(_pool_cases(), lambda c: forward(impl, ref, "max_pool_forward_naive", c,
                                                      ("x",))[0])


def _tie_summary(dx, x):
    """For 2x2 windows with stride 2: dx summed over each window's tied maxima, and dx off them.

    Where a window has several maxima any split of its gradient among them is a valid
    subgradient, so only the sum over the maxima is compared (and that nothing lands elsewhere).
    """
    N, C, H, W = x.shape
    x6 = x.reshape(N, C, H // 2, 2, W // 2, 2)
    is_max = x6 == x6.max(axis=(3, 5), keepdims=True)
    d6 = np.asarray(dx, dtype=np.float64).reshape(x6.shape)
    return (d6 * is_max).sum(axis=(3, 5)), np.where(is_max, 0.0, d6)


def _pool_backward_case(impl, ref, case, numeric):
    if not case.get("ties"):
        return backward(impl, ref, "max_pool_forward_naive", "max_pool_backward_naive", case,
                        [("dx", 0)], numeric)
    label, (x, param) = case["label"], case["args"]
    dout = np.random.default_rng(case["seed"]).standard_normal((2, 2, 2, 2))
    rows = []
    sums = []
    for side in (impl, ref):
        _, cache = side.max_pool_forward_naive(x.copy(), copy.deepcopy(param))
        given = dout.copy()
        dx = side.max_pool_backward_naive(given, cache)
        if side is impl:
            rows.append(unchanged(label, "dout", dout, given))
            if np.shape(dx) != x.shape:
                return rows + [compare(label, "dx", dx, x)]
        sums.append(_tie_summary(dx, x))
    rows.append(compare(label, "dx summed over each window's maxima", sums[0][0], sums[1][0]))
    rows.append(compare(label, "dx off the maxima", sums[0][1], sums[1][1]))
    return rows


@register("max_pool_backward_naive", needs=("max_pool_forward_naive",))
def max_pool_backward_naive(impl, ref, numeric):
    """Each window's gradient to its maximum; with ties, shared among the tied maxima."""
    return run_cases(_pool_cases(), lambda c: _pool_backward_case(impl, ref, c, numeric))


def _spatial_bn_cases(with_test=True):
    rng = np.random.default_rng(9)

    def data(shape):
        C = shape[1]
        return [3 * rng.standard_normal(shape) + 2, rng.uniform(0.5, 1.5, C),
                rng.standard_normal(C)]

    cases = [
        {"label": "train, x (2, 3, 4, 5), fresh bn_param", "seed": 0,
         "args": [*data((2, 3, 4, 5)), {"mode": "train"}]},
        {"label": "train, a batch of one, x (1, 2, 3, 3), momentum 0.8", "seed": 1,
         "args": [*data((1, 2, 3, 3)), {"mode": "train", "momentum": 0.8,
                                        "running_mean": rng.standard_normal(2),
                                        "running_var": rng.uniform(0.5, 2, 2)}]},
    ]
    if with_test:
        cases.append({"label": "test mode, running statistics unlike the batch's", "seed": 2,
                      "args": [*data((2, 3, 2, 2)), {"mode": "test",
                                                     "running_mean": rng.standard_normal(3),
                                                     "running_var": rng.uniform(0.5, 2, 3)}]})
    return cases


@register("spatial_batchnorm_forward")
def spatial_batchnorm_forward(impl, ref, numeric):
    """Per-channel statistics over N, H and W; running statistics; test mode."""
    return run_cases(_spatial_bn_cases(), lambda c: norm_forward(
        impl, ref, "spatial_batchnorm_forward", c))


@register("spatial_batchnorm_backward", needs=("spatial_batchnorm_forward",))
def spatial_batchnorm_backward(impl, ref, numeric):
    """dx, dgamma, dbeta in train mode, against the engine and a gradient check."""
    return run_cases(_spatial_bn_cases(False), lambda c: backward(
        impl, ref, "spatial_batchnorm_forward", "spatial_batchnorm_backward", c, NORM_GRADS,
        numeric))


def _groupnorm_cases():
    rng = np.random.default_rng(10)
    specs = [("x (2, 6, 3, 3), G = 2", (2, 6, 3, 3), 2), ("x (2, 6, 2, 2), G = 3", (2, 6, 2, 2), 3),
             ("G = 1 (one group: all of C, H, W), x (1, 4, 2, 3)", (1, 4, 2, 3), 1),
             ("G = C = 4 (a group per channel), x (2, 4, 2, 2)", (2, 4, 2, 2), 4)]
    # gamma and beta (1, C, 1, 1), as the course's notebook makes them
    return [{"label": label, "seed": i,
             "args": [2 * rng.standard_normal(shape) + 1,
                      rng.uniform(0.5, 1.5, (1, shape[1], 1, 1)),
                      rng.standard_normal((1, shape[1], 1, 1)), G, {}]}
            for i, (label, shape, G) in enumerate(specs)]


@register("spatial_groupnorm_forward")
def spatial_groupnorm_forward(impl, ref, numeric):
    """Per-sample statistics over each group of channels, G from 1 to C."""
    return run_cases(_groupnorm_cases(), lambda c: forward(
        impl, ref, "spatial_groupnorm_forward", c, NORM_NAMES)[0])


@register("spatial_groupnorm_backward", needs=("spatial_groupnorm_forward",))
def spatial_groupnorm_backward(impl, ref, numeric):
    """dx, dgamma, dbeta against the engine and a gradient check."""
    return run_cases(_groupnorm_cases(), lambda c: backward(
        impl, ref, "spatial_groupnorm_forward", "spatial_groupnorm_backward", c, NORM_GRADS,
        numeric))
