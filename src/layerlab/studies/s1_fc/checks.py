"""S1.1 `layer-checks`: the gradient-check table of every layer, loss and model, with the
course's printed errors beside ours."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from layerlab import references
from layerlab.analysis import verdict
from layerlab.lab.config import words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell
from layerlab.scratch.checks import group_names

EXPECTED = {"Linear.forward": references.S1_1_LINEAR_FORWARD_EXPECTED,
            "ReLU.forward": references.S1_1_RELU_FORWARD_EXPECTED}


def course_formula_forward_errors():
    """The forward checks against the course's printed outputs with its error formula,
    max|a - b| / max(|a| + |b|) (ours is the elementwise max of |a - b| / (|a| + |b|)).
    Returns {'Linear.forward', 'ReLU.forward', 'Linear.forward float32': error}."""
    from layerlab.scratch.layers import Linear, ReLU

    def course_error(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.abs(a - b).max() / max(float((np.abs(a) + np.abs(b)).max()), 1e-10))

    x = np.linspace(-0.1, 0.5, 240).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, 360).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, 3)
    linear = np.asarray(EXPECTED["Linear.forward"])
    out64, _ = Linear.forward(x, w, b)
    out32, _ = Linear.forward(*(v.astype(np.float32) for v in (x, w, b)))
    relu, _ = ReLU.forward(np.linspace(-0.5, 0.5, 12).reshape(3, 4))
    return {"Linear.forward": course_error(out64, linear),
            "ReLU.forward": course_error(relu, EXPECTED["ReLU.forward"]),
            "Linear.forward float32": course_error(out32, linear)}


def forward_note(table_error, ours, expected, float32=None, reference=None):
    """The note of a forward check against the course's `expected` output (printed to 8
    decimals, which alone allow an error up to half the 8th decimal over max(|a| + |b|)):
    ours beside that and, given `float32`, whether that is near the course's figure."""
    bound = 0.5e-8 / (2 * float(np.abs(np.asarray(expected, np.float64)).max()))
    note = (f"max|a-b| / max(|a|+|b|), the course's formula, in float64; elementwise (the "
            f"table's) {table_error:.2e}. The expected values are printed to 8 decimals, which "
            f"alone allow up to {bound:.2e}: this error is "
            + ("within that" if ours <= bound else "beyond that, more than rounding"))
    if float32 is not None:
        near = 0.5 <= float32 / reference <= 2
        note += (f"; computed in float32 it is {float32:.2e}, " + (
            f"within a factor of 2 of the course's {reference:.2e}, which looks like a float32 "
            "run" if near else f"not near the course's {reference:.2e}"))
    return note


@dataclass
class LayerChecksConfig:
    """S1.1. groups: the groups of the gradient-check table to run (empty: all)."""

    checks = {"groups": words(group_names, empty=True)}

    groups: tuple = ()
    limit: float = 1e-7  # the course's limit for the referenced rows


@experiment("layer-checks", study="S1.1", title="gradient checks of every layer, loss and model",
            estimate="10 s", config=LayerChecksConfig,
            quick={"groups": ("layers", "losses")})
def layer_checks(cfg, run):
    """The gradient-check table (float64, random upstream gradients) with verdicts."""
    from layerlab.scratch.checks import run_checks

    def compute():
        rows = run_checks(set(cfg.groups) if cfg.groups else None)
        return {"rows": [asdict(r) | {"passed": r.passed} for r in rows],
                "course_formula": course_formula_forward_errors()}

    result = cell(run, "checks", compute)
    rows = result["rows"]
    passed = sum(r["passed"] for r in rows)
    run.judge("gradient-check rows that pass their limit", "figure", verdict.exact(passed),
              len(rows), better="equal", source="the study: every layer, loss and model passes",
              note=f"{len(rows) - passed} failed", key=True)
    course = result["course_formula"]
    for r in (r for r in rows if r["reference"] is not None):  # the course's figure, and the goal
        ours = course.get(r["what"], r["rel_error"])  # forward checks: the course's formula
        if r["what"] in course:
            note = forward_note(r["rel_error"], ours, EXPECTED[r["what"]],
                                course.get(f"{r['what']} float32"), r["reference"])
        else:
            note = ("elementwise maximum relative error, an upper bound of the course's "
                    "max-normalised formula; inputs and upstream gradients are random on both "
                    "sides, so only the order of magnitude compares, not the digits")
        name = f"{r['what']} {r['parameter']} relative error"
        run.judge(f"{name} under the limit", "goal", verdict.exact(ours), cfg.limit,
                  better="lower", note=note,
                  source=f"layerlab's goal: the course's criterion, error < {cfg.limit:g}")
        run.judge(f"{name}, beside the course's printed error", "figure", verdict.exact(ours),
                  r["reference"], better="lower", source="the course's printed error", note=note)
    run.table("checks", ["group", "what", "parameter", "rel error", "norm error", "pass if",
                         "course's figure", "result"],
              [[r["group"], r["what"], r["parameter"], r["rel_error"], r["norm_error"],
                f"{r['criterion']} < {r['threshold']:.0e}",
                "" if r["reference"] is None else r["reference"],
                "pass" if r["passed"] else "FAIL"] for r in rows],
              title=f"Every gradient check ({passed}/{len(rows)} pass)",
              note="float64, centred differences, random upstream gradients. Layers and losses "
                   "are judged by the elementwise relative error (< 1e-7; < 1e-6 for the input "
                   "gradient of normalisation layers); whole models by the normwise error "
                   "(< 1e-7), because near-zero entries and ReLU kinks set their elementwise "
                   "maximum (docs/scratch.md).")
