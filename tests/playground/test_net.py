"""The playground's net is the engine's: its 'playground' init draws S7's weights, its 'linear'
activation is the engine's identity, and regression trains one output on square_loss. A
session's record of epochs stays bounded."""

from __future__ import annotations

import numpy as np

from layerlab.playground import net
from layerlab.playground import setup as setups
from layerlab.scratch.losses import square_loss
from layerlab.studies.s7_playground.measure import playground_net


def test_the_playground_init_draws_uniform_weights_and_biases_of_one_tenth():
    """The TensorFlow Playground's (and S7's) init: weights uniform in [-0.5, 0.5], biases 0.1,
    a new draw per seed; the S7 studies' random net is this net."""
    ours = net.PlaygroundNet(2, [200, 100], 2, "relu", "playground", False, 0.0, 0.0, 0.0,
                             seed=7)
    weights = np.concatenate([ours.params[f"W{i}"].ravel() for i in (1, 2, 3)])
    assert weights.min() >= -0.5 and weights.max() <= 0.5
    assert abs(weights.mean()) < 0.01 and abs(weights.var() - 1 / 12) < 0.005  # U(-0.5, 0.5)
    for i in (1, 2, 3):
        np.testing.assert_array_equal(ours.params[f"b{i}"], 0.1)
    other = net.PlaygroundNet(2, [200, 100], 2, "relu", "playground", False, 0.0, 0.0, 0.0,
                              seed=8)
    assert not np.array_equal(ours.params["W1"], other.params["W1"])
    study = playground_net([200, 100], "relu", "random", seed=7)
    for name, value in study.params.items():
        np.testing.assert_array_equal(ours.params[name], value)


def test_linear_hidden_units_pass_the_affine_output_on():
    model = net.build(setups.validate({"hidden": "3", "activation": "linear"}), 2, 2)
    X = np.random.default_rng(0).standard_normal((5, 2))
    (hidden,), scores = model.hidden_outputs(X)
    np.testing.assert_allclose(hidden, X @ model.params["W1"] + model.params["b1"])
    assert (hidden < 0).any()  # not clipped as a ReLU would
    np.testing.assert_allclose(scores, model.loss(X))


def test_a_regression_net_has_one_output_trained_on_square_loss():
    model = net.build(setups.validate({"dataset": "plane", "hidden": "4"}), 2, 1)
    X = np.random.default_rng(1).standard_normal((6, 2))
    y = np.linspace(-1, 1, 6)
    loss, grads = model.loss(X, y)
    assert model.params["W2"].shape == (4, 1) and grads["W2"].shape == (4, 1)
    assert loss == square_loss(model.loss(X), y)[0]


def test_a_long_session_keeps_a_bounded_evenly_spaced_record(monkeypatch):
    from layerlab.playground import session

    monkeypatch.setattr(session, "HISTORY_LIMIT", 8)
    s = session.Session(setup={"points": 50, "batch": 100, "hidden": "2"})
    for _ in range(40):
        s.step_epoch()
    epochs = [row[0] for row in s.history]
    assert len(epochs) <= 8 and epochs[0] == 0 and epochs[-1] == 40
    assert len(set(np.diff(epochs))) == 1  # one stride: every 8th epoch
