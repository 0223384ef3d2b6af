"""The gradient-check table: every layer, loss and model, checked in float64.

Check functions register themselves with `@register(group)` and return `CheckResult` rows.
`run_checks()` runs them all; `layerlab gradcheck` prints the table and exits non-zero when a
row fails; the test suite asserts on the same rows, so the table and the tests cannot drift.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from layerlab.scratch.gradcheck import norm_error, numerical_gradient, numerical_gradient_array
from layerlab.scratch.gradcheck import rel_error as _rel_error

# Thresholds from the issue: relative error < 1e-7 in general, < 1e-6 for the input gradient
# of normalisation layers (dividing by a batch std loses a few digits).
THRESHOLD = 1e-7
NORM_THRESHOLD = 1e-6

# Modules whose import registers more checks (the conv engine adds its own).
CHECK_MODULES = ["layerlab.scratch.layer_checks", "layerlab.scratch.conv_checks"]

_REGISTRY: list[tuple[str, object]] = []


@dataclass
class CheckResult:
    """One row of the table: `what` was checked for `parameter`."""

    group: str
    what: str
    parameter: str
    rel_error: float
    norm_error: float
    threshold: float
    reference: float | None = None
    criterion: str = "rel"  # which error must be below the threshold: 'rel' or 'norm'

    @property
    def passed(self):
        error = self.rel_error if self.criterion == "rel" else self.norm_error
        return bool(error < self.threshold)


def register(group):
    """Decorator: add a function returning a list of CheckResult to the table under `group`."""

    def wrap(fn):
        _REGISTRY.append((group, fn))
        return fn

    return wrap


# Entries where both gradients are below this are zero as far as a centred difference can tell
# (its rounding error is ~1e-16 * |f| / h ~ 1e-11): the relative error of two such numbers is
# noise, so they are left out of it. Example: the bias before a batchnorm, whose true gradient
# is exactly 0 because the batch mean removes it.
ZERO_FLOOR = 1e-9


def compare(group, what, parameter, expected, actual, threshold=THRESHOLD, reference=None,
            criterion="rel"):
    """A CheckResult row comparing two arrays (entries that are both ~0 count as equal)."""
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    judged = np.abs(expected) + np.abs(actual) >= ZERO_FLOOR
    return CheckResult(group, what, parameter, _rel_error(expected[judged], actual[judged]),
                       norm_error(expected[judged], actual[judged]), threshold, reference,
                       criterion)


def check_layer(group, what, forward, backward, args, wrt, rng, thresholds=None,
                references=None):
    """Gradient-check a layer on a random upstream gradient.

    Args:
        forward: forward(*args) -> (out, cache); backward: backward(dout, cache) -> grads.
        args: forward's arguments; the arrays to check must be float64.
        wrt: names of the gradients `backward` returns, in order, each with the index in
            `args` of the array it is the gradient of, e.g. [('x', 0), ('w', 1), ('b', 2)].
        thresholds / references: optional per-name overrides.
    Returns:
        one CheckResult per name in wrt.
    """
    out, cache = forward(*args)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    rows = []
    for (name, index), analytic in zip(wrt, grads, strict=True):
        numeric = numerical_gradient_array(lambda: forward(*args)[0], args[index], dout)
        rows.append(compare(group, what, name, numeric, analytic,
                            (thresholds or {}).get(name, THRESHOLD),
                            (references or {}).get(name)))
    return rows


def check_model(group, what, model, X, y):
    """Gradient-check every parameter of a model's `loss(X, y)`; one row per parameter.

    A whole model is judged by the normwise error: its elementwise maximum is set by a few
    entries near zero, where rounding in a loss of ~2.3 (about 1e-11 after dividing by 2h) is
    as large as the entry, and by ReLU kinks that a step of h happens to cross. Both errors are
    printed; the layers beneath are judged elementwise in their own rows.
    """
    _, grads = model.loss(X, y)
    rows = []
    for name in sorted(model.params):
        numeric = numerical_gradient(lambda: model.loss(X, y)[0], model.params[name])
        rows.append(compare(group, what, name, numeric, grads[name], criterion="norm"))
    return rows


def group_names():
    """The names of the groups of registered checks, in order ('affine', 'relu', ...)."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return tuple(dict.fromkeys(group for group, _ in _REGISTRY))


def run_checks(groups=None):
    """Run every registered check (or only those whose group is in `groups`)."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    rows = []
    for group, fn in _REGISTRY:
        if groups is None or group in groups:
            rows.extend(fn())
    return rows


def format_table(rows):
    """The rows as an aligned text table."""
    header = ("group", "what", "parameter", "rel error", "norm error", "pass if", "reference", "")
    body = [(r.group, r.what, r.parameter, f"{r.rel_error:.2e}", f"{r.norm_error:.2e}",
             f"{r.criterion}<{r.threshold:.0e}",
             "" if r.reference is None else f"{r.reference:.2e}",
             "pass" if r.passed else "FAIL") for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _run(args):
    start = time.perf_counter()
    rows = run_checks(set(args.group) if args.group else None)
    if not rows:
        print(f"no checks in group(s) {args.group}; groups are: "
              f"{sorted({g for g, _ in _REGISTRY})}", file=sys.stderr)
        return 2
    failed = [r for r in rows if not r.passed]
    if args.json:
        print(json.dumps([asdict(r) | {"passed": r.passed} for r in rows], indent=1))
    else:
        print(format_table(rows))
        print(f"\n{len(rows) - len(failed)}/{len(rows)} checks passed in "
              f"{time.perf_counter() - start:.1f}s (float64, random upstream gradients; "
              "'reference' is the figure the course printed)")
    return 1 if failed else 0


def add_parser(subparsers):
    """Register `layerlab gradcheck`."""
    p = subparsers.add_parser(
        "gradcheck", help="gradient-check every layer, loss and model; print the table",
        description="Compare every analytic backward pass with centred differences in "
                    "float64 on random upstream gradients, and print the table (study S1.1).")
    p.add_argument("--group", action="append", help="only this group (repeatable)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_run)
