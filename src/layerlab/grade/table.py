"""The check table: one check per graded name, registered by the `checks_*` modules.

A check is `run(impl, ref, numeric) -> list[Measure]`: it runs every case of its name on the
student's namespace `impl` and the reference `ref`; `numeric=False` skips the gradient checks
(a diagnosis re-runs the check against reference copies with a bug, where only the
comparisons with the reference count).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from layerlab.grade.styles import COURSE_NAMES

CHECK_MODULES = ("layerlab.grade.checks_dense", "layerlab.grade.checks_spatial",
                 "layerlab.grade.checks_training")


@dataclass(frozen=True)
class Check:
    """A graded name, the names it calls (its forward pass for a backward check) and its run."""

    name: str
    needs: tuple[str, ...]
    run: Callable
    about: str


_CHECKS: dict[str, Check] = {}


def register(name, needs=()):
    """Decorator: the function checks `name`, calling the student's `name` and `needs`."""

    def wrap(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        _CHECKS[name] = Check(name, tuple(dict.fromkeys((*needs, name))), fn,
                              doc[0] if doc else "")
        return fn

    return wrap


def checks():
    """Every check, in the course's order."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return [_CHECKS[name] for name in COURSE_NAMES if name in _CHECKS]


def get(name):
    """The check of `name`."""
    return {c.name: c for c in checks()}[name]
