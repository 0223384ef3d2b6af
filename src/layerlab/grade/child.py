"""The child process that runs the student's code: it imports the student's file once, then
runs one check per request from the grading process and sends back the outcome.

Only this process ever executes the student's code; the grading process kills it when a check
overruns its time limit, and starts a fresh one for the next check.

Messages (over a multiprocessing pipe):
    child -> parent: ("started", None) once its own imports are done, then
                     ("ready", {"present": [...], "skipped": [...]}) or ("error", message)
    parent -> child: ("run", check name) ... and None to stop
    child -> parent: ("result", outcome dict) for each run
"""

from __future__ import annotations

import math
import os
import time
from multiprocessing.connection import Connection

from layerlab.grade import probes
from layerlab.grade.bugs import variants_for
from layerlab.grade.compare import ENGINE
from layerlab.grade.loader import load
from layerlab.grade.reference import reference
from layerlab.grade.styles import namespace, student_names
from layerlab.grade.table import checks


def _severity(m):
    """How far a measure is past its limit (failures first, the worst first)."""
    if m.passed:
        return -1.0
    if not math.isfinite(m.error):
        return math.inf
    return m.error / m.limit if m.limit > 0 else math.inf


def diagnose(check, impl, ref):
    """The label of the first known bug whose reference copy the student's numbers match."""
    for label, variant in variants_for(check.name, ref, impl):
        try:
            rows = check.run(impl, variant, False)
        except Exception:  # the copy does not fit this student's code: not this bug
            continue
        judged = [m for m in rows if m.against == ENGINE and m.judged]
        if judged and all(m.passed for m in judged):
            return label
    return ""


def outcome(name, rows, diagnosis, seconds):
    """The outcome of one check as plain data: status, the worst row, diagnosis or where."""
    failed = [m for m in rows if not m.passed]
    worst = max(rows, key=lambda m: (_severity(m), m.error)) if rows else None
    result = {"name": name, "status": "FAIL" if failed else "PASS",
              "error": worst.error if worst else 0.0, "limit": worst.limit if worst else 0.0,
              "case": "", "quantity": "", "against": "", "where": "", "diagnosis": diagnosis,
              "message": "", "failed_cases": sorted({m.case for m in failed}),
              "cases": len({m.case for m in rows}), "seconds": round(seconds, 3)}
    if failed:
        result.update(case=worst.case, quantity=worst.quantity, against=worst.against,
                      where=worst.where)
    return result


def run_check(check, impl, ref):
    """Run one check (and, if it fails against the engine, look for a known bug)."""
    start = time.perf_counter()
    rows = check.run(impl, ref, True)
    failed = [m for m in rows if not m.passed]
    diagnosis = next((m.diagnosis for m in failed if m.diagnosis), "")
    if not diagnosis and any(m.against == ENGINE for m in failed):
        diagnosis = diagnose(check, impl, ref)
    return outcome(check.name, rows, diagnosis, time.perf_counter() - start)


def _silence():
    """Send the student's prints and warnings to /dev/null: the table is the output."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def serve(conn, path, style):
    """The child's main loop (see the module docstring)."""
    _silence()
    table = {c.name: c for c in checks()}
    ref = reference(style)
    conn.send(("started", None))
    try:
        lookup, files, skipped = load(path)
        probes.student_files.update(files)
        impl = namespace(student_names(lookup, style))
    except BaseException as exc:  # the student's module-level code failed
        conn.send(("error", f"importing {path} raised {probes.describe_exception(exc)}"))
        return
    conn.send(("ready", {"present": sorted(vars(impl)), "skipped": skipped}))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        name = request[1]
        try:
            result = run_check(table[name], impl, ref)
        except Exception as exc:  # outside any case: the student's code broke the check itself
            result = outcome(name, [], "", 0.0)
            result.update(status="FAIL", error=math.inf,
                          message=f"raised {probes.describe_exception(exc)}")
        conn.send(("result", result))


def main(argv=None):
    """`python -m layerlab.grade.child FD PATH STYLE`: serve on the socket FD."""
    import sys

    fd, path, style = (argv or sys.argv[1:])[:3]
    serve(Connection(int(fd)), path, style)


if __name__ == "__main__":
    main()
