"""Generic probes: run one case of a forward pass, a backward pass or a gradient check on the
student's code and on a reference, and return `Measure` rows.

`impl` is the student's namespace, `ref` the reference's (the engine, or a copy with one known
bug when a diagnosis is being looked for). Inputs are deep-copied for every call, so that
neither side sees what the other wrote; the copies handed to the student are compared with
the originals afterwards (an in-place change is a bug of its own).
"""

from __future__ import annotations

import copy
import math
import traceback

import numpy as np

from layerlab.grade.compare import (
    CALL,
    GRAD_LIMIT,
    NUMERIC,
    REF_LIMIT,
    Measure,
    compare,
    unchanged,
)
from layerlab.scratch.gradcheck import numerical_gradient, numerical_gradient_array

# The case being run, for the report of an exception that escapes a check.
current_case = ""

# Where the student's code lives (set by the child), so that an exception's report names
# the student's line rather than NumPy's.
student_files: set[str] = set()


def describe_exception(exc):
    """'ValueError: message (file.py line 12, in affine_forward)', naming the student's line."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename in student_files] or frames[-1:]
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
    if mine:
        f = mine[-1]
        text += f" ({f.filename.rsplit('/', 1)[-1]} line {f.lineno}, in {f.name})"
    return text


def run_cases(cases, probe):
    """probe(case) -> list of Measures, for every case; an exception fails its case only."""
    global current_case
    rows = []
    for case in cases:
        current_case = case["label"]
        try:
            rows.extend(probe(case))
        except Exception as exc:  # the student's code failed: this case fails, the rest go on
            rows.append(Measure(case["label"], "call", math.inf, 0.0, CALL,
                                where="raised " + describe_exception(exc), judged=False))
    return rows


def as_tuple(grads):
    """A backward's result as a tuple (a layer without parameters returns dx alone)."""
    return grads if isinstance(grads, tuple | list) else (grads,)


def _array_args(args):
    return [(i, a) for i, a in enumerate(args) if isinstance(a, np.ndarray)]


def inputs_unchanged(label, names, originals, given):
    """Measures that the arrays handed to the student were not written to."""
    return [unchanged(label, names[i], a, given[i]) for i, a in _array_args(originals)
            if i < len(names)]


def forward(impl, ref, fname, case, names, limit=REF_LIMIT):
    """Compare the student's forward output with the reference's on case['args'].

    Returns (measures, the student's args after the call, the reference's args after the
    call): the caller compares what the layers wrote into their param dicts.
    """
    args = case["args"]
    mine, theirs = copy.deepcopy(args), copy.deepcopy(args)
    out = getattr(impl, fname)(*mine)[0]
    expected = getattr(ref, fname)(*theirs)[0]
    rows = [compare(case["label"], "out", out, expected, limit)]
    rows += inputs_unchanged(case["label"], names, args, mine)
    return rows, mine, theirs


def backward(impl, ref, fwd, bwd, case, grads, numeric, limit=REF_LIMIT):
    """Compare the student's backward pass with the reference's and, if `numeric`, with a
    float64 centred-difference gradient of the student's own forward pass.

    grads: [(label, index of the forward argument it is the gradient of), ...] in the order
        backward returns them, e.g. [('dx', 0), ('dw', 1), ('db', 2)].
    The upstream gradient is random (seeded by the case).
    """
    label, args = case["label"], case["args"]
    mine = copy.deepcopy(args)
    out, cache = getattr(impl, fwd)(*mine)
    dout = np.random.default_rng(case.get("seed", 0)).standard_normal(np.shape(out))
    given = dout.copy()
    got = as_tuple(getattr(impl, bwd)(given, cache))
    rows = [unchanged(label, "dout", dout, given)]
    if len(got) != len(grads):
        names = ", ".join(g for g, _ in grads)
        return rows + [Measure(label, "returned values", math.inf, 0.0, CALL, judged=False,
                               where=f"returned {len(got)} values, expected ({names})")]
    theirs = copy.deepcopy(args)
    _, ref_cache = getattr(ref, fwd)(*theirs)
    expected = as_tuple(getattr(ref, bwd)(dout.copy(), ref_cache))
    for (name, _), g, e in zip(grads, got, expected, strict=True):
        rows.append(compare(label, name, g, e, limit))
    if numeric:
        for (name, index), g in zip(grads, got, strict=True):
            probe_args = copy.deepcopy(args)
            f = getattr(impl, fwd)
            num = numerical_gradient_array(lambda a=probe_args, f=f: f(*a)[0], probe_args[index],
                                           dout)
            rows.append(compare(label, name, g, num, GRAD_LIMIT, NUMERIC))
    return rows


def loss_probe(impl, ref, fname, case, numeric, limit=REF_LIMIT):
    """A loss function `f(scores, y) -> (loss, dscores)`: loss and gradient against the
    reference and, if `numeric`, the gradient against centred differences of the loss."""
    label, (scores, y) = case["label"], case["args"]
    given = scores.copy()
    loss, dscores = getattr(impl, fname)(given, y.copy())
    exp_loss, exp_d = getattr(ref, fname)(scores.copy(), y.copy())
    rows = [compare(label, "loss", loss, exp_loss, limit), compare(label, "dx", dscores, exp_d,
                                                                    limit)]
    rows.append(unchanged(label, "x", scores, given))
    if numeric:
        probe = scores.copy()
        f = getattr(impl, fname)
        num = numerical_gradient(lambda: f(probe, y)[0], probe)
        rows.append(compare(label, "dx", dscores, num, GRAD_LIMIT, NUMERIC))
    return rows
