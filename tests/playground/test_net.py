"""The playground's net is the engine's: its 'playground' init draws S7's weights, its 'linear'
activation is the engine's identity, and regression trains one output on square_loss. A
session's record of epochs stays bounded."""

from __future__ import annotations

import numpy as np

from layerlab.playground import net
from layerlab.playground import setup as setups
from layerlab.scratch.losses import square_loss
from layerlab.studies.s7_playground.measure import playground_net


def test_the_playground_init_draws_the_s7_studies_random_weights():
    ours = net.PlaygroundNet(2, [4, 2], 2, "relu", "playground", False, 0.0, 0.0, 0.0, seed=7)
    study = playground_net([4, 2], "relu", "random", seed=7)
    assert set(ours.params) == set(study.params)
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
