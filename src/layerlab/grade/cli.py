"""`layerlab grade PATH`: check a student's layers against layerlab's engine.

Exit status: 0 when every attempted check passes, 1 when one fails, 2 when the path cannot be
graded (missing, a syntax error, an import that fails, no graded name defined, an unknown
--only name); the reason is one line on stderr.
"""

from __future__ import annotations

import difflib
import sys

from layerlab.grade.loader import GradeInputError
from layerlab.grade.reference import STYLES
from layerlab.grade.report import (
    counts,
    format_table,
    gradescope,
    gradescope_error,
    write_gradescope,
    write_json,
)
from layerlab.grade.runner import grade
from layerlab.grade.styles import COURSE_NAMES


def _check_only(names):
    """A GradeInputError naming an unknown --only name and the closest known ones."""
    for name in names or ():
        if name not in COURSE_NAMES:
            close = difflib.get_close_matches(name, COURSE_NAMES, n=3) or COURSE_NAMES[:4]
            raise GradeInputError(f"--only {name}: not a graded name; did you mean "
                                  f"{', '.join(close)}? (`layerlab grade --help` lists them)")


def _fail(message, args):
    print(f"layerlab grade: {message}", file=sys.stderr)
    if args.gradescope:  # a course autograder still gets a results.json: 0 points, the reason
        write_gradescope(gradescope_error(message), args.gradescope)
    return 2


def _run(args):
    try:
        _check_only(args.only)
        if args.time_limit <= 0:
            raise GradeInputError(f"--time-limit must be > 0 seconds, got {args.time_limit:g}")
        result = grade(args.path, args.style, set(args.only) if args.only else None,
                       args.time_limit)
    except GradeInputError as err:
        return _fail(str(err), args)
    print(format_table(result))
    if args.json:
        write_json(result, args.json)
    if args.gradescope:
        write_gradescope(gradescope(result), args.gradescope)
    passed, failed, _ = counts(result)
    if passed + failed == 0:
        hint = " or try --style layerlab" if args.style == "cs231n" else ""
        print(f"layerlab grade: {args.path} defines none of the graded names (style "
              f"{args.style}); check the names against docs/grading.md{hint}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def add_parser(subparsers):
    """Register `layerlab grade`."""
    p = subparsers.add_parser(
        "grade", help="check a student's own layers against layerlab's engine",
        description="Run a student's layers, losses, update rules and FullyConnectedNet "
                    "against layerlab's engine over a table of shapes and edge cases, with "
                    "float64 gradient checks, each check in a child process with a time "
                    "limit; name the bug where the pattern is known. Graded names: "
                    + ", ".join(COURSE_NAMES) + ". See docs/grading.md.")
    p.add_argument("path", help="the student's .py file, or a package folder")
    p.add_argument("--style", choices=STYLES, default="cs231n",
                   help="cs231n: the course's function names, dropout p = keep probability, "
                        "biased running variance (default); layerlab: layerlab's classes "
                        "(Linear, BatchNorm, ...), p = drop probability, unbiased running "
                        "variance")
    p.add_argument("--only", nargs="+", metavar="NAME", help="grade only these names")
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    p.add_argument("--gradescope", metavar="FILE",
                   help="also write Gradescope's autograder results.json")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                   help="time limit of each check (default 10)")
    p.set_defaults(func=_run)
