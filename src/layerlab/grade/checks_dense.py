"""Checks of the fully-connected layers: affine, ReLU, batchnorm, layernorm, dropout.

Shapes are small (the gradient checks call the student's forward pass twice per entry) and
cover the edge cases a course's tests miss: extra input axes, a batch of one, the smallest
batch batchnorm accepts, a feature of zero variance, test mode with running statistics.
"""

from __future__ import annotations

import math

import numpy as np

from layerlab.grade.compare import ENGINE, RULE, Measure, compare, unchanged
from layerlab.grade.probes import backward, forward, run_cases
from layerlab.grade.table import register

NORM_NAMES = ("x", "gamma", "beta")
NORM_GRADS = [("dx", 0), ("dgamma", 1), ("dbeta", 2)]


def _affine_cases():
    rng = np.random.default_rng(1)
    specs = [("x (2, 3), 4 outputs", (2, 3), 4), ("x (3, 2, 3) flattened to 6, 5 outputs",
                                                  (3, 2, 3), 5),
             ("a batch of one, x (1, 4, 2)", (1, 4, 2), 3), ("one output, x (5, 7)", (5, 7), 1)]
    return [{"label": label, "seed": i,
             "args": [rng.standard_normal(shape), rng.standard_normal((math.prod(shape[1:]), m)),
                      rng.standard_normal(m)]}
            for i, (label, shape, m) in enumerate(specs)]


@register("affine_forward")
def affine_forward(impl, ref, numeric):
    """out = x.reshape(N, -1) @ w + b: extra input axes, a batch of one, one output."""
    return run_cases(_affine_cases(), lambda c: forward(impl, ref, "affine_forward", c,
                                                        ("x", "w", "b"))[0])


@register("affine_backward", needs=("affine_forward",))
def affine_backward(impl, ref, numeric):
    """dx, dw, db against the engine and a float64 gradient check."""
    grads = [("dx", 0), ("dw", 1), ("db", 2)]
    return run_cases(_affine_cases(), lambda c: backward(
        impl, ref, "affine_forward", "affine_backward", c, grads, numeric))


def _away_from_zero(rng, shape):
    """Values with |x| >= 0.1: a centred difference never crosses ReLU's kink."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def _relu_cases():
    rng = np.random.default_rng(2)
    return [{"label": "x (3, 4)", "seed": 0, "args": [_away_from_zero(rng, (3, 4))]},
            {"label": "x (2, 3, 4)", "seed": 1, "args": [_away_from_zero(rng, (2, 3, 4))]},
            {"label": "all negative, x (2, 5)", "seed": 2,
             "args": [-np.abs(_away_from_zero(rng, (2, 5)))]}]


@register("relu_forward")
def relu_forward(impl, ref, numeric):
    """max(0, x) over several shapes, and an input that is all negative."""
    return run_cases(_relu_cases(), lambda c: forward(impl, ref, "relu_forward", c, ("x",))[0])


@register("relu_backward", needs=("relu_forward",))
def relu_backward(impl, ref, numeric):
    """dx = dout where x > 0, against the engine and a gradient check."""
    return run_cases(_relu_cases(), lambda c: backward(
        impl, ref, "relu_forward", "relu_backward", c, [("dx", 0)], numeric))


def _batchnorm_cases(with_test=True):
    rng = np.random.default_rng(3)

    def data(n, d):
        return 2 * rng.standard_normal((n, d)) + 3, rng.uniform(0.5, 1.5, d), \
            rng.standard_normal(d)

    x1, g1, b1 = data(4, 5)
    x2, g2, b2 = data(2, 3)
    x3, g3, b3 = data(5, 3)
    x3[:, 1] = 7.0  # a feature of zero variance: eps keeps the division finite
    x4, g4, b4 = data(3, 4)
    cases = [
        {"label": "train, x (4, 5), fresh bn_param", "seed": 0,
         "args": [x1, g1, b1, {"mode": "train"}]},
        {"label": "train, the smallest batch x (2, 3), momentum 0.8, eps 1e-3", "seed": 1,
         "args": [x2, g2, b2, {"mode": "train", "momentum": 0.8, "eps": 1e-3,
                               "running_mean": rng.standard_normal(3),
                               "running_var": rng.uniform(0.5, 2, 3)}]},
        {"label": "train, x (5, 3) with a constant feature", "seed": 2,
         "args": [x3, g3, b3, {"mode": "train"}]},
    ]
    if with_test:
        cases.append({"label": "test mode, running statistics unlike the batch's", "seed": 3,
                      "args": [x4, g4, b4, {"mode": "test", "running_mean": rng.standard_normal(4),
                                            "running_var": rng.uniform(0.5, 2, 4)}]})
    return cases


def norm_forward(impl, ref, fname, case):
    """A normalisation's forward pass, and in train mode the running statistics it stores."""
    rows, mine, theirs = forward(impl, ref, fname, case, NORM_NAMES)
    param = case["args"][-1]
    if isinstance(param, dict) and param.get("mode") == "train":
        for key in ("running_mean", "running_var"):
            got = mine[-1].get(key)
            if got is None:
                rows.append(Measure(case["label"], key, math.inf, 0.0, ENGINE,
                                    where=f"bn_param['{key}'] was not stored"))
            else:
                rows.append(compare(case["label"], key, got, theirs[-1][key]))
    return rows


@register("batchnorm_forward")
def batchnorm_forward(impl, ref, numeric):
    """Train mode (output and running statistics) and test mode (running statistics)."""
    return run_cases(_batchnorm_cases(), lambda c: norm_forward(impl, ref, "batchnorm_forward",
                                                                c))


@register("batchnorm_backward", needs=("batchnorm_forward",))
def batchnorm_backward(impl, ref, numeric):
    """dx, dgamma, dbeta in train mode, against the engine and a gradient check."""
    return run_cases(_batchnorm_cases(False), lambda c: backward(
        impl, ref, "batchnorm_forward", "batchnorm_backward", c, NORM_GRADS, numeric))


@register("batchnorm_backward_alt", needs=("batchnorm_forward",))
def batchnorm_backward_alt(impl, ref, numeric):
    """The closed-form backward: the same gradients as batchnorm_backward."""
    return run_cases(_batchnorm_cases(False), lambda c: backward(
        impl, ref, "batchnorm_forward", "batchnorm_backward_alt", c, NORM_GRADS, numeric))


def _layernorm_cases():
    rng = np.random.default_rng(4)

    def case(label, n, d, seed, param):
        return {"label": label, "seed": seed,
                "args": [2 * rng.standard_normal((n, d)) + 1, rng.uniform(0.5, 1.5, d),
                         rng.standard_normal(d), param]}

    return [case("x (4, 5)", 4, 5, 0, {}), case("a batch of one, x (1, 6)", 1, 6, 1, {}),
            case("x (3, 2), eps 1e-3, mode test (layernorm ignores it)", 3, 2, 2,
                 {"eps": 1e-3, "mode": "test"})]


@register("layernorm_forward")
def layernorm_forward(impl, ref, numeric):
    """Per-sample statistics over the features, a batch of one included."""
    return run_cases(_layernorm_cases(), lambda c: forward(impl, ref, "layernorm_forward", c,
                                                           NORM_NAMES)[0])


@register("layernorm_backward", needs=("layernorm_forward",))
def layernorm_backward(impl, ref, numeric):
    """dx, dgamma, dbeta against the engine and a gradient check."""
    return run_cases(_layernorm_cases(), lambda c: backward(
        impl, ref, "layernorm_forward", "layernorm_backward", c, NORM_GRADS, numeric))


# Dropout: masks come from different generators, so the student's own mask (the entries it
# kept) is read from its output and the reference says what the output must be for that mask.
DROPOUT_SHAPE = (40, 50)


def _dropout_x():
    rng = np.random.default_rng(5)
    return rng.choice([-1.0, 1.0], DROPOUT_SHAPE) * rng.uniform(0.5, 1.5, DROPOUT_SHAPE)


def _dropout_cases():
    return [{"label": f"{mode}, p = {p} (keep), x {DROPOUT_SHAPE}", "p": p, "mode": mode}
            for mode, p in (("train", 0.3), ("train", 0.7), ("train", 1.0), ("test", 0.3),
                            ("test", 1.0))]


def _kept(out):
    return np.isfinite(out) & (out != 0)


def _dropout_forward_case(impl, ref, case):
    x, p, mode, label = _dropout_x(), case["p"], case["mode"], case["label"]
    param = {"mode": mode, "p": p, "seed": 123}
    out = np.asarray(impl.dropout_forward(x.copy(), dict(param))[0], dtype=np.float64)
    if out.shape != x.shape:
        return [compare(label, "out", out, x)]
    kept = _kept(out)
    rows = [compare(label, "out", out, ref.dropout_expected(x, p, mode, kept))]
    if mode == "train":
        want = ref.dropout_keep_fraction(p)
        share = float(kept.mean())
        limit = 5 * math.sqrt(max(want * (1 - want), 0.0) / x.size) + 1e-12  # 5 binomial sds
        rows.append(Measure(label, "kept fraction", abs(share - want), limit, ENGINE,
                            where=f"kept {share:.3f} of the units, expected {want:.3g}"))
        again = np.asarray(impl.dropout_forward(x.copy(), dict(param))[0])
        same = bool(np.array_equal(again, out, equal_nan=True))
        rows.append(Measure(
            label, "same seed, same mask", 0.0 if same else 1.0, 0.0, RULE,
            where="" if same else "two calls with seed 123 kept different units",
            diagnosis="" if same else "the mask ignores dropout_param['seed']: call "
                                      "np.random.seed(seed) when a seed is given"))
    return rows


@register("dropout_forward")
def dropout_forward(impl, ref, numeric):
    """p is the keep probability: kept units scaled by 1/p, test mode the identity, p = 1."""
    return run_cases(_dropout_cases(), lambda c: _dropout_forward_case(impl, ref, c))


def _dropout_backward_case(impl, ref, case):
    x, p, mode, label = _dropout_x(), case["p"], case["mode"], case["label"]
    out, cache = impl.dropout_forward(x.copy(), {"mode": mode, "p": p, "seed": 123})
    dout = np.random.default_rng(6).standard_normal(x.shape)
    given = dout.copy()
    dx = impl.dropout_backward(given, cache)
    kept = _kept(np.asarray(out, dtype=np.float64))
    return [compare(label, "dx", dx, ref.dropout_backward_expected(dout, p, mode, kept)),
            unchanged(label, "dout", dout, given)]


@register("dropout_backward", needs=("dropout_forward",))
def dropout_backward(impl, ref, numeric):
    """dx = dout * mask / p with the forward pass's own mask; dout at test time."""
    return run_cases(_dropout_cases(), lambda c: _dropout_backward_case(impl, ref, c))
