"""The grading result as a table for people, as JSON, and as Gradescope's results.json.

Gradescope's autograder format: a top-level object with "tests", a list of
{"name", "score", "max_score", "output", "status" ("passed"/"failed"), "visibility"}, and the
optional "score", "output", "visibility", "stdout_visibility" and "execution_time".
Every graded name is one test worth 1 point; a name not attempted scores 0.
"""

from __future__ import annotations

import json
import math

from layerlab.atomic import atomic_write_bytes

PASS, FAIL, ABSENT = "PASS", "FAIL", "not attempted"


def counts(result):
    """(passed, failed, not attempted) among the result's checks."""
    statuses = [c["status"] for c in result["checks"]]
    return statuses.count(PASS), statuses.count(FAIL), statuses.count(ABSENT)


def summary(result):
    """One line: how many checks passed, failed, were not attempted."""
    passed, failed, absent = counts(result)
    return (f"{passed} passed, {failed} failed, {absent} not attempted "
            f"(of {len(result['checks'])} checks) in {result['seconds']:.1f} s")


def _number(x, digits=1):
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}e}"


def explain(check):
    """The lines under a failed check: what failed where, and the diagnosis."""
    if check["message"]:
        lines = [check["message"]]
    else:
        n_failed, n_cases = len(check["failed_cases"]), check["cases"]
        spread = f" (fails in {n_failed} of {n_cases} cases)" if n_cases > 1 else ""
        lines = [f"{check['quantity']} against {check['against']} in case '{check['case']}'"
                 f"{spread}: {check['where']}"]
    if check["diagnosis"]:
        lines.append(f"diagnosis: {check['diagnosis']}")
    return lines


def format_table(result):
    """The result as an aligned table with an explanation under each failure."""
    rows = [(c["name"], c["status"],
             "" if c["status"] == ABSENT else _number(c["error"]),
             "" if c["status"] == ABSENT or not c["limit"] else f"{c['limit']:.0e}",
             c["message"] if c["status"] == ABSENT else "") for c in result["checks"]]
    header = ("check", "result", "error", "limit", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [f"layerlab grade {result['path']} (style {result['style']}, "
             f"{result['time_limit']:g} s per check)", ""]
    for skipped in result.get("skipped_modules", []):
        lines.append(f"not imported: {skipped}")
    for i, row in enumerate([header, *rows]):
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False))
                     .rstrip() + ("  " + row[4] if row[4] else ""))
        if i and result["checks"][i - 1]["status"] == FAIL:
            lines.extend("    " + text for text in explain(result["checks"][i - 1]))
    lines += ["", summary(result)]
    return "\n".join(lines)


def _finite(value):
    """JSON has no inf or NaN: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(result, path):
    """The whole result as JSON (non-finite errors as null)."""
    atomic_write_bytes(path, (json.dumps(_finite(result), indent=1) + "\n").encode())


def gradescope(result):
    """The result in Gradescope's autograder format (module docstring)."""
    tests = []
    for c in result["checks"]:
        passed = c["status"] == PASS
        if c["status"] == FAIL:
            output = "\n".join(explain(c))
        elif passed:
            output = f"passed: error {_number(c['error'])} within {c['limit']:.0e}"
        else:
            output = f"not attempted: {c['message']}"
        tests.append({"name": c["name"], "score": 1.0 if passed else 0.0, "max_score": 1.0,
                      "status": "passed" if passed else "failed", "output": output,
                      "visibility": "visible"})
    return {"score": float(counts(result)[0]), "execution_time": result["seconds"],
            "output": f"layerlab grade: {summary(result)}", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def gradescope_error(message):
    """Gradescope's results for a submission that could not be graded: 0 points, the reason."""
    return {"score": 0.0, "output": f"layerlab grade could not grade the submission: {message}",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def write_gradescope(results, path):
    """Write Gradescope's results.json."""
    atomic_write_bytes(path, (json.dumps(results, indent=1) + "\n").encode())
