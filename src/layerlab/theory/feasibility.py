"""Exact feasibility of a small system of linear inequalities A x <= b (Fourier-Motzkin).

Used to prove what no network without a hidden layer can compute: the question "is there a
(w, b) such that ..." is a linear feasibility problem. Fourier-Motzkin elimination in exact
fractions answers it with no rounding and no solver to trust, and gives evidence either way:

- feasible: a point x (back-substituted from the eliminated systems) that satisfies every row;
- infeasible: a Farkas certificate, multipliers y >= 0 with y A = 0 and y b < 0, i.e. a
  non-negative combination of the rows that reads 0 <= (negative number).

Elimination may square the number of rows per variable, so this is for the handful of
variables and rows of the OR/XOR questions, not for general LPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Result:
    """feasible: True with `point` (A point <= b), or False with `certificate` (y >= 0,
    y A = 0, y b < 0). Values are Fractions."""

    feasible: bool
    point: tuple | None = None
    certificate: tuple | None = None


def _row(coeffs, bound, mult):
    return (tuple(coeffs), bound, tuple(mult))


def solve(A, b):
    """Decide A x <= b exactly.

    Args:
        A: m rows of n numbers (ints, floats or Fractions); b: m numbers.
    Returns:
        Result (see the class).
    """
    A = [[Fraction(v) for v in row] for row in A]
    b = [Fraction(v) for v in b]
    if not A or len(A) != len(b) or len({len(r) for r in A}) != 1:
        raise ValueError("solve needs m rows of equal length in A and m bounds in b")
    m, n = len(A), len(A[0])
    rows = [_row(A[i], b[i], [Fraction(int(i == k)) for k in range(m)]) for i in range(m)]
    systems = [rows]
    for k in range(n):  # eliminate x_k: pair every upper bound on it with every lower bound
        pos = [r for r in rows if r[0][k] > 0]
        neg = [r for r in rows if r[0][k] < 0]
        new = [r for r in rows if r[0][k] == 0]
        for p in pos:
            for q in neg:
                s, t = -q[0][k], p[0][k]  # s * p + t * q cancels x_k; both factors > 0
                coeffs = [s * a + t * c for a, c in zip(p[0], q[0], strict=True)]
                mult = [s * a + t * c for a, c in zip(p[2], q[2], strict=True)]
                new.append(_row(coeffs, s * p[1] + t * q[1], mult))
        rows = list({(r[0], r[1]): r for r in new}.values())  # drop repeated rows
        systems.append(rows)
    for _, bound, mult in rows:  # no variables left: each row reads 0 <= bound
        if bound < 0:
            return Result(False, certificate=mult)
    x = [Fraction(0)] * n
    for k in reversed(range(n)):  # systems[k] holds x_k..x_{n-1}; those after k are fixed
        low, high = None, None
        for coeffs, bound, _ in systems[k]:
            rest = bound - sum(coeffs[j] * x[j] for j in range(k + 1, n))
            if coeffs[k] > 0:
                high = rest / coeffs[k] if high is None else min(high, rest / coeffs[k])
            elif coeffs[k] < 0:
                low = rest / coeffs[k] if low is None else max(low, rest / coeffs[k])
        x[k] = (low + high) / 2 if low is not None and high is not None else \
            low if low is not None else high if high is not None else Fraction(0)
    return Result(True, point=tuple(x))


def check(A, b, result):
    """Verify a Result against A x <= b independently of how it was found (True if valid)."""
    A = [[Fraction(v) for v in row] for row in A]
    b = [Fraction(v) for v in b]
    if result.feasible:
        x = result.point
        return all(sum(a * v for a, v in zip(row, x, strict=True)) <= bi
                   for row, bi in zip(A, b, strict=True))
    y = result.certificate
    if any(v < 0 for v in y):
        return False
    combined = [sum(y[i] * A[i][j] for i in range(len(A))) for j in range(len(A[0]))]
    return all(c == 0 for c in combined) and sum(yi * bi for yi, bi in zip(y, b,
                                                                           strict=True)) < 0
