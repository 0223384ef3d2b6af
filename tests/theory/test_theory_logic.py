"""OR/XOR with ReLU units, and the exact feasibility checks behind linear separability."""

from fractions import Fraction

import numpy as np

from layerlab.theory import feasibility, logic

TRUTH = {"or": lambda a, b: a | b, "and": lambda a, b: a & b, "xor": lambda a, b: a ^ b}


def truth_table(op):
    return np.array([TRUTH[op](int(a), int(b)) for a, b in logic.INPUTS])


def test_the_truth_tables_match_their_definitions():
    assert np.array_equal(logic.OR, truth_table("or"))
    assert np.array_equal(logic.AND, truth_table("and"))
    assert np.array_equal(logic.XOR, truth_table("xor"))


def test_hand_set_or_and_xor_on_all_four_inputs():
    # OR as a classifier (output > 0) with no hidden unit; exactly 0/1 with one
    assert np.array_equal(logic.evaluate(logic.OR_NO_HIDDEN, logic.INPUTS) > 0, truth_table("or"))
    assert logic.hidden_units(logic.OR_NO_HIDDEN) == 0
    assert np.array_equal(logic.evaluate(logic.OR_ONE_HIDDEN, logic.INPUTS), truth_table("or"))
    assert logic.hidden_units(logic.OR_ONE_HIDDEN) == 1
    # XOR exactly, with two layers (one hidden layer of two ReLU units)
    assert np.array_equal(logic.evaluate(logic.XOR_TWO_LAYERS, logic.INPUTS), truth_table("xor"))
    assert len(logic.XOR_TWO_LAYERS) == 2


def test_or_and_are_separable_and_xor_is_not():
    for op in ("or", "and"):
        result = logic.separable(logic.INPUTS, truth_table(op))
        assert result.feasible
        w1, w2, b = result.point
        z = [w1 * int(x) + w2 * int(y) + b for x, y in logic.INPUTS]
        assert all((v >= 1) if t else (v <= 0) for v, t in zip(z, truth_table(op), strict=True))
    result = logic.separable(logic.INPUTS, truth_table("xor"))
    assert not result.feasible
    assert any(result.certificate)  # non-negative weights of the four points ...


def test_the_xor_certificate_proves_infeasibility():
    # ... which combine the four constraints into 0 <= negative: checked by `check`, and by
    # hand here: rows of A x <= b in (w1, w2, b) and the certificate's combination
    result = logic.separable(logic.INPUTS, truth_table("xor"))
    A = [[0, 0, 1], [0, -1, -1], [-1, 0, -1], [1, 1, 1]]
    bound = [0, -1, -1, 0]
    assert feasibility.check(A, bound, result)
    y = result.certificate
    assert [sum(y[i] * A[i][j] for i in range(4)) for j in range(3)] == [0, 0, 0]
    assert sum(yi * bi for yi, bi in zip(y, bound, strict=True)) < 0


def test_no_network_without_hidden_layer_outputs_exact_or():
    for output in ("relu", "linear"):
        result = logic.fit_without_hidden(logic.INPUTS, truth_table("or"), output)
        assert not result.feasible
    # but exact AND is a single ReLU unit: relu(x1 + x2 - 1)
    result = logic.fit_without_hidden(logic.INPUTS, truth_table("and"), "relu")
    assert result.feasible
    w1, w2, b = (float(v) for v in result.point)
    net = [(np.array([[w1], [w2]]), np.array([b]), "relu")]
    assert np.array_equal(logic.evaluate(net, logic.INPUTS), truth_table("and"))


def test_fourier_motzkin_against_scipy_linprog(rng):
    from scipy.optimize import linprog  # a dev dependency (pyproject.toml), the oracle here

    for _ in range(40):
        m, n = rng.integers(2, 7), rng.integers(1, 4)
        A = rng.integers(-3, 4, (m, n)).tolist()
        b = rng.integers(-3, 4, m).tolist()
        result = feasibility.solve(A, b)
        assert feasibility.check(A, b, result)
        lp = linprog(np.zeros(n), A_ub=A, b_ub=b, bounds=[(None, None)] * n, method="highs")
        assert result.feasible == (lp.status == 0)


def test_feasibility_is_exact():
    result = feasibility.solve([[3, 0], [-3, 0], [0, 1]], [1, -1, 0])  # x = 1/3 exactly
    assert result.feasible and result.point[0] == Fraction(1, 3)


def test_a_trained_net_finds_xor():
    solved = [logic.train_xor(hidden=4, seed=s, iterations=1500) for s in range(4)]
    assert any(r["solved"] for r in solved)
    for r in solved:  # a solution is a solution: the net's own predictions
        if r["solved"]:
            assert np.array_equal(r["model"].loss(logic.INPUTS).argmax(1), truth_table("xor"))
