"""Checks of what training needs: the two losses, the update rules, FullyConnectedNet.

Update rules take 10 steps from one start on a fixed sequence of gradients; what is compared is
the displacement w_k - w_0 after each step (comparing w_k itself would hide a wrong step size
behind the size of w). The network is built with the course's constructor and then given fixed
weights (the engine's net gets the same ones), so loss and gradients can be compared directly.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from layerlab.grade.compare import CALL, GRAD_LIMIT, NUMERIC, Measure, compare
from layerlab.grade.probes import loss_probe, run_cases
from layerlab.grade.table import register
from layerlab.scratch.gradcheck import numerical_gradient

OVERFLOW = ("the softmax overflows for large scores: subtract each row's maximum from the "
            "scores before exp (the loss and gradient do not change)")


def _loss_cases():
    rng = np.random.default_rng(11)
    return [
        {"label": "x (5, 4)", "numeric": True,
         "args": (2 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5))},
        {"label": "a batch of one, x (1, 3)", "numeric": True,
         "args": (rng.standard_normal((1, 3)), np.array([2]))},
        {"label": "large scores (about 1000), x (3, 4)", "numeric": False, "large": True,
         "args": (1000 + 50 * rng.standard_normal((3, 4)), rng.integers(0, 4, 3))},
    ]


def _loss_case(impl, ref, fname, case, numeric):
    rows = loss_probe(impl, ref, fname, case, numeric and case["numeric"])
    if case.get("large"):
        for m in rows:
            if not m.passed and "NaN/inf" in m.where:
                m.diagnosis = OVERFLOW
    return rows


@register("softmax_loss")
def softmax_loss(impl, ref, numeric):
    """Mean cross-entropy and its gradient; a batch of one; large scores."""
    return run_cases(_loss_cases(), lambda c: _loss_case(impl, ref, "softmax_loss", c, numeric))


@register("svm_loss")
def svm_loss(impl, ref, numeric):
    """Mean multiclass hinge loss with margin 1 and its gradient."""
    return run_cases(_loss_cases(), lambda c: _loss_case(impl, ref, "svm_loss", c, numeric))


# The custom hyper-parameters of each rule (a second case runs with config=None: defaults).
CONFIGS = {
    "sgd": {"learning_rate": 0.05},
    "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.8},
    "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
}
STEPS = 10


def _rule_case(impl, ref, rule, case):
    rng = np.random.default_rng(12)
    w0 = rng.standard_normal((4, 5))
    dws = [rng.standard_normal((4, 5)) for _ in range(STEPS)]
    mine, theirs = w0.copy(), w0.copy()
    my_config, their_config = copy.deepcopy(case["config"]), copy.deepcopy(case["config"])
    m = None
    for k, dw in enumerate(dws, start=1):
        mine, my_config = getattr(impl, rule)(mine.copy(), dw.copy(), my_config)
        theirs, their_config = getattr(ref, rule)(theirs.copy(), dw.copy(), their_config)
        m = compare(case["label"], f"w - w0 after step {k}", np.asarray(mine) - w0,
                    theirs - w0)
        if not m.passed:
            break
    return [m]


def _rule_check(impl, ref, rule):
    cases = [{"label": f"{STEPS} steps, config=None (the defaults)", "config": None},
             {"label": f"{STEPS} steps, config {CONFIGS[rule]}", "config": CONFIGS[rule]}]
    return run_cases(cases, lambda c: _rule_case(impl, ref, rule, c))


@register("sgd")
def sgd(impl, ref, numeric):
    """w -= learning_rate * dw over 10 steps."""
    return _rule_check(impl, ref, "sgd")


@register("sgd_momentum")
def sgd_momentum(impl, ref, numeric):
    """v = momentum * v - learning_rate * dw; w += v, over 10 steps."""
    return _rule_check(impl, ref, "sgd_momentum")


@register("rmsprop")
def rmsprop(impl, ref, numeric):
    """cache = decay * cache + (1 - decay) * dw**2, over 10 steps."""
    return _rule_check(impl, ref, "rmsprop")


@register("adam")
def adam(impl, ref, numeric):
    """Bias-corrected moments, t counted from 1, over 10 steps."""
    return _rule_check(impl, ref, "adam")


NET = {"hidden_dims": [4, 3], "input_dim": 5, "num_classes": 3}


def _net_cases():
    return [{"label": "hidden [4, 3], no regularisation", "kwargs": {}},
            {"label": "hidden [4, 3], reg 0.7", "kwargs": {"reg": 0.7}},
            {"label": "hidden [4, 3], batchnorm", "kwargs": {"normalization": "batchnorm"}},
            {"label": "hidden [4, 3], layernorm, reg 0.1",
             "kwargs": {"normalization": "layernorm", "reg": 0.1}}]


def _fixed_params(params):
    """Fixed weights for every parameter name, the same in every run."""
    rng = np.random.default_rng(13)
    fixed = {}
    for name in sorted(params):
        noise = rng.standard_normal(params[name].shape)
        fixed[name] = 1 + 0.2 * noise if name.startswith("gamma") else 0.5 * noise
    return fixed


def _build(cls, case, fixed):
    net = cls(**NET, **case["kwargs"], weight_scale=0.1, dtype=np.float64, seed=0)
    got, want = set(getattr(net, "params", {})), set(fixed)
    if got != want:
        raise ValueError(f"params holds {sorted(got)}, expected {sorted(want)}")
    for name, value in fixed.items():
        if np.shape(net.params[name]) != value.shape:
            raise ValueError(f"params['{name}'] has shape {np.shape(net.params[name])}, "
                             f"expected {value.shape}")
        net.params[name] = value.copy()
    return net


def _net_case(impl, ref, case, numeric):
    label = case["label"]
    rng = np.random.default_rng(14)
    X, y = rng.standard_normal((4, NET["input_dim"])), rng.integers(0, NET["num_classes"], 4)
    fixed = _fixed_params(ref.FullyConnectedNet(**NET, **case["kwargs"], dtype=np.float64,
                                                seed=0).params)
    mine, theirs = _build(impl.FullyConnectedNet, case, fixed), \
        _build(ref.FullyConnectedNet, case, fixed)
    loss, grads = mine.loss(X.copy(), y.copy())
    exp_loss, exp_grads = theirs.loss(X.copy(), y.copy())
    rows = [compare(label, "loss", loss, exp_loss)]
    for name in sorted(fixed):
        if name not in grads:
            rows.append(Measure(label, name, math.inf, 0.0, CALL, judged=False,
                                where=f"grads has no '{name}'"))
            continue
        rows.append(compare(label, f"grads['{name}']", grads[name], exp_grads[name]))
        if numeric:
            num = numerical_gradient(lambda: mine.loss(X, y)[0], mine.params[name])
            rows.append(compare(label, f"grads['{name}']", grads[name], num, GRAD_LIMIT,
                                NUMERIC))
    scores = _build(impl.FullyConnectedNet, case, fixed).loss(X.copy())
    expected = _build(ref.FullyConnectedNet, case, fixed).loss(X.copy())
    rows.append(compare(label, "scores in test mode (y=None)", scores, expected))
    return rows


@register("FullyConnectedNet")
def fully_connected_net(impl, ref, numeric):
    """Loss, gradients and test-mode scores on fixed weights, with reg and both norms."""
    return run_cases(_net_cases(), lambda c: _net_case(impl, ref, c, numeric))

