"""The measurements of the S7 playground experiments (s7_playground.measure), on small real
runs."""

import numpy as np
import pytest

from layerlab.analysis import first_epoch_reaching
from layerlab.data import load
from layerlab.studies.s7_playground.measure import (
    best_line_error,
    chance_error,
    dead_units,
    decision_grid,
    distinct_units,
    playground_net,
    train,
    unit_spread,
)


@pytest.fixture(scope="module")
def circle():
    return load("toy2d:circle", "train", n=120, seed=0)


def test_zero_init_keeps_every_unit_identical(circle):
    for act in ("relu", "sigmoid"):
        model = playground_net((4, 3), act, "zero", seed=0)
        history = train(model, circle.X, circle.y, epochs=15, learning_rate=0.3, batch_size=10,
                        order="shuffled", seed=0, record_every=6,
                        probe=lambda m: {"spread": unit_spread(m)})
        assert all(max(s) <= 1e-12 for s in history["spread"])
        assert distinct_units(model) == [1, 1]
        if act == "relu":  # no gradient reaches a hidden weight: they stay exactly zero
            assert not np.any(model.params["W1"]) and not np.any(model.params["W2"])
        else:  # sigmoid units do move, all together
            assert np.any(model.params["W2"])


def test_random_init_breaks_the_symmetry_and_learns(circle):
    model = playground_net((4, 2), "relu", "random", seed=0)
    assert min(unit_spread(model)) > 0.1 and distinct_units(model) == [4, 2]
    assert np.all(model.params["b1"] == 0.1) and np.abs(model.params["W1"]).max() <= 0.5
    history = train(model, circle.X, circle.y, epochs=80, learning_rate=0.1, batch_size=10,
                    order="shuffled", seed=0, record_every=12)
    assert history["train_error"][0] > 0.3 and history["train_error"][-1] < 0.05
    epoch = first_epoch_reaching(history["train_error"], 0.05, above=False,
                                 epochs=history["epoch"])
    assert epoch is not None and 0 < epoch <= 80
    assert history["step"][-1] == 80 * 6 and history["epoch"][-1] == 80


def test_dead_units_counts_units_silent_on_every_point(circle):
    model = playground_net((3, 2), "relu", "random", seed=1)
    before = dead_units(model, circle.X)
    model.params["b1"][1] = -100.0  # unit 2 of layer 1 can never fire on this canvas
    model.params["b2"][:] = -100.0  # every unit of layer 2 is silenced
    assert dead_units(model, circle.X) == [1, 2] and before[0] <= 1


def test_fixed_order_visits_points_in_the_given_order(circle):
    # with batch 1 and a fixed order, one epoch equals stepping through the rows by hand
    a = playground_net((3,), "relu", "random", seed=2)
    b = playground_net((3,), "relu", "random", seed=2)
    train(a, circle.X[:20], circle.y[:20], epochs=1, learning_rate=0.1, batch_size=1,
          order="fixed", seed=0, record_every=100)
    for i in range(20):
        _, grads = b.loss(circle.X[i:i + 1], circle.y[i:i + 1])
        for name, g in grads.items():
            b.params[name] = b.params[name] - 0.1 * g
    for name in a.params:
        np.testing.assert_allclose(a.params[name], b.params[name], rtol=0, atol=1e-12)


def test_sorted_data_and_chance(circle):
    data = load("toy2d:circle", "train", n=1000, test_fraction=0.0, order_by_label=True)
    assert list(np.bincount(data.y)) == [500, 500]
    assert not np.any(np.diff(data.y) < 0)  # every negative before any positive
    assert chance_error(data.y) == 0.5 and chance_error(np.array([0, 1, 1, 1])) == 0.25


def test_decision_grid_is_the_difference_of_the_class_probabilities(circle):
    model = playground_net((4,), "relu", "random", seed=0)
    values = np.array(decision_grid(model, steps=7))
    assert values.shape == (7, 7) and np.all(np.abs(values) <= 1)
    scores = model.loss(np.array([[-6.0, -6.0], [6.0, 6.0]]))  # two corners of the grid
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose([values[0, 0], values[-1, -1]], np.round(2 * p[:, 1] - 1, 3))


def test_best_line_error():
    from layerlab.theory.logic import INPUTS, OR, XOR

    assert best_line_error(INPUTS, OR) == 0.0 and best_line_error(INPUTS, XOR) == 0.25
    gauss = load("toy2d:gauss", "train", n=200, seed=0)  # two far-apart clusters
    assert best_line_error(gauss.X, gauss.y) == 0.0
    ring = load("toy2d:circle", "train", n=400, seed=0)  # a line can only cut off a cap
    assert 0.2 < best_line_error(ring.X, ring.y) < chance_error(ring.y)


def test_the_dying_reading_follows_the_measured_comparisons():
    from layerlab.studies.s7_playground.dying import WHY_SORTED_KILLS, runs_show
    final = {(r, o): d for r, o, d in ((0.1, "sorted", [1, 2]), (0.1, "shuffled", [0, 0]),
                                       (1.0, "sorted", [9, 8]), (1.0, "shuffled", [1, 0]))}
    error = {(0.1, "sorted"): 0.07, (0.1, "shuffled"): 0.0, (1.0, "sorted"): 0.2,
             (1.0, "shuffled"): 0.1}
    text = runs_show(final, error, [1.0], [0.1])
    assert "at learning rates 1; at 0.1 it is not shown (no run there ends with more than 2 " \
           "dead units)" in text
    assert "costs accuracy instead (mean final train error, sorted against shuffled: 0.070 " \
           "against 0.000 at 0.1)" in text and text.endswith(WHY_SORTED_KILLS)
    cheap = runs_show(final, {**error, (0.1, "sorted"): 0.0, (1.0, "sorted"): 0.1}, [],
                      [0.1, 1.0])
    assert "at learning rates none" in cheap and "costs accuracy" not in cheap
    assert "Why sorted SGD" not in cheap


def test_the_zero_init_reading_follows_the_zero_runs():
    from layerlab.studies.s7_playground.init import zero_reading

    def runs(errors, iterations=60):
        return [{"history": {"train_error": e, "epoch": list(range(len(e)))},
                 "iterations": iterations} for e in errors]
    data = {"best_line": 0.276, "chance": 0.476}
    at_chance = {("relu", "zero"): runs([[0.476, 0.476]]),
                 ("sigmoid", "zero"): runs([[0.476, 0.476], [0.476, 0.476]])}
    text = zero_reading(at_chance, data, 0.02)
    assert text.startswith(" Why zero fails: with ReLU")
    assert text.endswith("here no seed's error left chance in 60 iterations.")
    left = zero_reading({**at_chance, ("sigmoid", "zero"): runs([[0.476, 0.33], [0.476, 0.476]])},
                        data, 0.02)
    assert "cut off part of the ring in 1 of 2 seeds" in left
    beaten = zero_reading({("relu", "zero"): runs([[0.476, 0.1]])}, data, 0.02)
    assert "Why zero fails" not in beaten and "does better than the best straight line" in beaten
    assert zero_reading({("relu", "random"): runs([[0.0]])}, data, 0.02) == ""


def test_the_xor_reading_says_wider_helps_only_when_it_does():
    from layerlab.studies.s7_playground.or_xor import trained_reading

    def runs(hidden, solved):
        return [{"hidden": hidden, "solved": s, "dead": 0 if s else 1} for s in solved]
    helps = trained_reading(runs(2, [True, False]) + runs(8, [True, True]))
    assert "Of the 1 failed runs, 1 have a hidden unit" in helps
    assert "The widest nets (8 units) solve 2 of 2 seeds, the narrowest (2) 1 of 2: wider" in helps
    same = trained_reading(runs(2, [True, False]) + runs(8, [True, False]))
    assert same.endswith("more units do not help here.")
    assert "widest" not in trained_reading(runs(4, [True]))


def test_the_pooling_reading_follows_the_pooled_matrices():
    from layerlab.studies.theory_questions import pooling_reading

    def pool(mx, avg):
        return {"max": {"hand": mx}, "avg": {"hand": avg}}
    ones = [[1.0, 1.0], [1.0, 1.0]]
    text = pooling_reading([pool(ones, [[1.0, 0.5], [0.5, 0.25]]),
                            pool(ones, [[0.5, 1.0], [0.25, 0.5]])])
    assert text.startswith("Max pooling maps all 2 matrices to ones")
    assert "gives each a different result" in text
    other = pooling_reading([pool(ones, [[1.0]]), pool([[0.0, 1.0], [1.0, 1.0]], [[1.0]])])
    assert other == ("Max pooling does not map every matrix to ones; average pooling gives some "
                     "of them the same result.")
