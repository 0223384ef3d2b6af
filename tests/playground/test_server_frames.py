"""What makes a playground frame cheap keeps it true: the maps of one float32 pass over both
grids match the net in float64, a frame leaves training as it was (dropout's generator,
batchnorm's statistics), training in time slices follows the minibatches of whole epochs, a
frame in the middle of an epoch describes the net as it is, the curve is rounded only in the
frame, and the play loop keeps frames coming while training fills the rest of each period."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from layerlab.playground import measure
from layerlab.playground.data import features
from layerlab.playground.session import Session

SETUPS = {
    "two classes, tanh": {"hidden": "8,8", "activation": "tanh"},
    "three arms, relu, batchnorm": {"dataset": "spiral", "classes": 3, "hidden": "6,4",
                                    "activation": "relu", "batchnorm": 1,
                                    "features": "x1,x2,sinx1,x1x2"},
    "regression, sigmoid": {"dataset": "multigauss", "hidden": "5", "activation": "sigmoid"},
}


def float64_maps(session):
    """The output and unit maps computed the plain way: float64, one grid at a time."""
    names = session.setup["features"]
    _, scores = session.model.hidden_outputs(features(measure.plane(measure.OUTPUT_N), names))
    layers, _ = session.model.hidden_outputs(features(measure.plane(measure.UNIT_N), names))
    if session.regression:
        output = np.clip(scores[:, 0], -1, 1)
    else:
        p = measure.probabilities(scores)
        output = 2 * p[:, 1] - 1 if p.shape[1] == 2 else p.max(axis=1)
    return output, layers


@pytest.mark.parametrize("name", SETUPS)
def test_the_float32_maps_match_the_net_in_float64(name):
    s = Session(setup={**SETUPS[name], "points": 200, "seed": 3})
    for _ in range(3):
        s.step_epoch()
    running = copy.deepcopy(s.model.norm_params)
    frame = s.frame()
    output, layers = float64_maps(s)
    assert len(frame["output"]["values"]) == 50 * 50
    np.testing.assert_allclose(frame["output"]["values"], output, atol=2e-4)
    assert [len(layer) for layer in frame["units"]] == [a.shape[1] for a in layers]
    for shown, a in zip(frame["units"], layers, strict=True):
        for j, unit in enumerate(shown):
            assert unit["n"] == 20
            np.testing.assert_allclose(unit["values"], a[:, j], atol=2e-3)
    if s.setup["classes"] > 2:
        p = measure.probabilities(s.model.hidden_outputs(
            features(measure.plane(50), s.setup["features"]))[1])
        agree = np.mean(np.array(frame["output"]["classes"]) == p.argmax(axis=1))
        assert agree > 0.99  # only near-ties may differ
    for before, after in zip(running, s.model.norm_params, strict=True):  # untouched, float64
        for key in ("running_mean", "running_var") if s.model.normalization else ():
            assert after[key].dtype == np.float64
            np.testing.assert_array_equal(after[key], before[key])


def test_slices_of_training_with_frames_follow_the_minibatches_of_whole_epochs():
    setup = {"points": 120, "batch": 7, "hidden": "6,6", "dropout": 0.3, "batchnorm": 1,
             "optimizer": "adam", "seed": 5}
    whole, sliced = Session(setup=setup), Session(setup=setup)
    for _ in range(3):
        whole.step_epoch()
    while sliced.epoch < 3:
        sliced.advance(0)  # one minibatch, then a frame (gradient norms, maps, statistics)
    assert sliced.step == whole.step == 3 * 9  # 60 training points in batches of 7
    for key, value in whole.model.params.items():
        np.testing.assert_array_equal(sliced.model.params[key], value)
    for a, b in zip(whole.model.norm_params, sliced.model.norm_params, strict=True):
        np.testing.assert_array_equal(a["running_mean"], b["running_mean"])
    assert sliced.history == whole.history


def test_a_frame_in_the_middle_of_an_epoch_describes_the_net_as_it_is():
    s = Session(setup={"points": 200, "batch": 10, "hidden": "4"})
    frame = s.advance(0)[0]
    assert (frame["epoch"], frame["step"]) == (0, 1)  # one minibatch of ten
    loss, acc = measure.fit(s.model.loss(s.train_f), s.train.y, regression=False)
    assert frame["train_loss"] == pytest.approx(loss, rel=1e-12)
    assert frame["train_acc"] == acc
    assert frame["weights"][0] == np.round(s.model.params["W1"], 4).tolist()
    assert len(frame["history"]) == 1  # the curve holds epoch ends only


def test_the_frame_s_curve_is_rounded_and_the_record_keeps_every_digit():
    s = Session(setup={"points": 100, "hidden": "3"})
    for _ in range(5):
        s.step_epoch()
    curve = s.frame()["history"]
    assert [row[0] for row in curve] == [row[0] for row in s.history] == list(range(6))
    for shown, kept in zip(curve, s.history, strict=True):
        for value, exact in zip(shown[1:], kept[1:3], strict=True):
            assert value == float(f"{exact:.4g}")
            assert len(f"{value:e}".split("e")[0].rstrip("0").replace(".", "").lstrip("-")) <= 4
    assert any(len(repr(row[1])) > 8 for row in s.history)  # the record is not rounded


def test_the_play_loop_gives_training_the_period_less_the_frame_s_cost():
    server = pytest.importorskip("layerlab.playground.server")  # the playground extra
    period, least = server.PERIOD, server.LEAST_TRAINING
    assert 1 / period >= 30  # layerlab's goal: at least 30 frames a second
    assert server.next_slice(0.015, 0.015 + 0.004) == pytest.approx(period - 0.004)
    assert server.next_slice(0.015, 0.015) == pytest.approx(period)  # a free frame
    assert server.next_slice(0.015, 0.015 + period) == least  # a slow frame: training goes on
