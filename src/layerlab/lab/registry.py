"""Experiments by name: each study registers itself with `@experiment(...)`.

An experiment is a function `run(config, run)` with a dataclass config whose defaults are the
study's settings, and a dict of overrides that make its `--quick` version.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Experiment:
    """A named, runnable study.

    name: what `layerlab run NAME` takes. study: the study's id (e.g. 'S1.2').
    title: one line. estimate: wall time of the full run on the reference machine (2 cores).
    config: dataclass type; its defaults are the study's settings. quick: overrides for --quick.
    fn: fn(config, run) does the work through the `Run` it is given.
    """

    name: str
    study: str
    title: str
    estimate: str
    config: type
    quick: dict = field(default_factory=dict)
    fn: Callable | None = None


_EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name, *, study, title, estimate, config, quick=None):
    """Decorator registering `fn(config, run)` as the experiment `name`."""

    def wrap(fn):
        if name in _EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        _EXPERIMENTS[name] = Experiment(name, study, title, estimate, config, quick or {}, fn)
        return fn

    return wrap


class UnknownExperiment(ValueError):
    """A name that is no experiment here: the message names the closest ones, or the package
    an experiment needs and the command that installs it."""


# Study modules that could not be imported because an optional dependency (PyTorch) is not
# installed: {module: missing package}. The engine's experiments run without it.
UNAVAILABLE: dict[str, str] = {}
OPTIONAL = {"torch": "pip install -e '.[torch]'"}


def all_experiments() -> dict[str, Experiment]:
    """Every registered experiment, by name (imports the experiment modules).

    A study module that needs PyTorch when it is not installed is left out and noted in
    `UNAVAILABLE`, so that `layerlab run quickstart` works with the engine's install alone.
    """
    from layerlab.studies import STUDY_MODULES

    for module in STUDY_MODULES:
        _import_study(module)
    return dict(_EXPERIMENTS)


def _import_study(module):
    """Import a study module; one that needs a missing optional package is noted instead."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name not in OPTIONAL:
            raise
        UNAVAILABLE[module] = err.name


def unavailable_note() -> str:
    """One line naming the study modules left out for a missing package, and the fix."""
    if not UNAVAILABLE:
        return ""
    missing = sorted(set(UNAVAILABLE.values()))
    modules = ", ".join(m.rsplit(".", 1)[-1] for m in sorted(UNAVAILABLE))
    fixes = "; ".join(OPTIONAL[p] for p in missing)
    return (f"not shown: the experiments of {modules} need {', '.join(missing)}, which is not "
            f"installed ({fixes} adds it)")


def declared_names(module) -> list[str]:
    """The experiment names a study module (or package) declares with `@experiment("NAME",
    ...)`, read from its source without importing it (it may need a missing package)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return []
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    names = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _called(node.func) == "experiment" and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return names


def _called(func):
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def needs(name) -> str | None:
    """The missing package the experiment `name` needs, when it is one of those left out."""
    for module, package in UNAVAILABLE.items():
        if name in declared_names(module):
            return package
    return None


def _import_declaring(name):
    """Import the study module that declares `name` (read from the sources), if one does."""
    from layerlab.studies import STUDY_MODULES

    for module in STUDY_MODULES:
        if name in declared_names(module):
            _import_study(module)
            return


def get(name) -> Experiment:
    """The experiment called `name`. An UnknownExperiment otherwise: for an experiment whose
    module needs a package that is not installed, the package and its install command; for
    a misspelt name, the closest names; else the list of names."""
    if name not in _EXPERIMENTS:
        _import_declaring(name)  # only the module that declares it: a command starts fast
    if name in _EXPERIMENTS:
        return _EXPERIMENTS[name]
    experiments = all_experiments()
    if name in experiments:
        return experiments[name]
    package = needs(name)
    if package:
        raise UnknownExperiment(f"{name} needs {package}, which is not installed: "
                                f"{OPTIONAL[package]}")
    left_out = [n for module in UNAVAILABLE for n in declared_names(module)]
    close = difflib.get_close_matches(str(name), list(experiments) + left_out, n=3)
    note = f"; {unavailable_note()}" if set(close) & set(left_out) else ""
    if close:
        raise UnknownExperiment(f"no experiment {name!r}; did you mean "
                                f"{' or '.join(close)}? (`layerlab list` shows them all){note}")
    raise UnknownExperiment(f"no experiment {name!r}; `layerlab list` shows them: "
                            f"{', '.join(sorted(experiments))}"
                            + (f". {unavailable_note()}" if UNAVAILABLE else ""))
