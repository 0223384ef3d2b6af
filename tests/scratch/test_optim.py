"""Update rules against torch.optim over 10 steps, and where the formulas differ."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from layerlab.scratch import optim  # noqa: E402

STEPS = 10


def run_ours(rule, w0, grads, config):
    w, config = w0.copy(), dict(config)
    for g in grads:
        w, config = rule(w, g, config)
    return w


def run_torch(opt_class, w0, grads, **kwargs):
    w = torch.tensor(w0.copy(), requires_grad=True)
    opt = opt_class([w], **kwargs)
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
    return w.detach().numpy()


@pytest.fixture
def problem(rng):
    w0 = rng.standard_normal((5, 4))
    grads = [rng.standard_normal((5, 4)) * 10 ** rng.uniform(-3, 1) for _ in range(STEPS)]
    return w0, grads


CASES = [
    ("sgd", {"learning_rate": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    ("sgd_momentum", {"learning_rate": 0.05, "momentum": 0.9}, torch.optim.SGD,
     {"lr": 0.05, "momentum": 0.9}),
    ("sgd_momentum", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
     torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
     torch.optim.RMSprop, {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}),
    ("adam", {"learning_rate": 1e-2}, torch.optim.Adam, {"lr": 1e-2}),
    ("adam", {"learning_rate": 1e-2, "weight_decay": 0.1}, torch.optim.AdamW,
     {"lr": 1e-2, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("name,config,opt_class,kwargs", CASES,
                         ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_matches_torch(problem, name, config, opt_class, kwargs):
    w0, grads = problem
    ours = run_ours(optim.UPDATE_RULES[name], w0, grads, config)
    theirs = run_torch(opt_class, w0, grads, **kwargs)
    assert not np.allclose(ours, w0)  # the rule moved the weights
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-7)


def test_adam_epsilon_on_v_differs_as_documented(problem):
    """The paper's efficient form puts epsilon on sqrt(v) instead of sqrt(v_hat)."""
    w0, _ = problem
    g = np.full_like(w0, 1e-7)  # small gradients: sqrt(v_hat) ~ eps, where the forms differ
    eps, b2 = 1e-8, 0.999
    a, _ = optim.adam(w0, g, {"learning_rate": 1.0, "epsilon": eps})
    b, _ = optim.adam(w0, g, {"learning_rate": 1.0, "epsilon": eps, "epsilon_on": "v"})
    # after one step v_hat = g^2 and m_hat = g: step = g / (|g| + eps) vs
    # g / (|g| + eps / sqrt(1 - b2))
    np.testing.assert_allclose(w0 - a, 1e-7 / (1e-7 + eps), rtol=1e-9)
    np.testing.assert_allclose(w0 - b, 1e-7 / (1e-7 + eps / np.sqrt(1 - b2)), rtol=1e-9)
    assert np.all(np.abs((w0 - a) - (w0 - b)) > 0.1)
    # with large gradients the two forms agree closely
    g = np.full_like(w0, 1.0)
    a, _ = optim.adam(w0, g, {"learning_rate": 1.0})
    b, _ = optim.adam(w0, g, {"learning_rate": 1.0, "epsilon_on": "v"})
    np.testing.assert_allclose(a, b, atol=2 * eps / np.sqrt(1 - b2))


def test_momentum_differs_from_torch_after_a_learning_rate_change(problem):
    """Documented: our velocity is in weight units (course form), torch's in gradient units."""
    w0, grads = problem
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w = w0.copy()
    for i, g in enumerate(grads):
        if i == 5:
            config["learning_rate"] = 0.01
        w, config = optim.sgd_momentum(w, g, config)
    t = torch.tensor(w0.copy(), requires_grad=True)
    opt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    for i, g in enumerate(grads):
        if i == 5:
            opt.param_groups[0]["lr"] = 0.01
        t.grad = torch.tensor(g)
        opt.step()
    assert not np.allclose(w, t.detach().numpy(), rtol=1e-3)


def test_rules_do_not_modify_inputs_and_keep_dtype(rng):
    w = rng.standard_normal((3, 3)).astype(np.float32)
    g = rng.standard_normal((3, 3)).astype(np.float32)
    w_copy, g_copy = w.copy(), g.copy()
    for rule in optim.UPDATE_RULES.values():
        next_w, _ = rule(w, g, None)
        assert next_w.dtype == np.float32
        assert next_w is not w
        assert np.array_equal(w, w_copy) and np.array_equal(g, g_copy)


def test_adam_rejects_unknown_epsilon_form(rng):
    with pytest.raises(ValueError, match="epsilon_on"):
        optim.adam(np.ones(2), np.ones(2), {"epsilon_on": "w"})
