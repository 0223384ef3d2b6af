"""Experiments by name: each study registers itself with `@experiment(...)`.

An experiment is a function `run(config, run)` with a dataclass config whose defaults are the
study's settings, and a dict of overrides that make its `--quick` version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field


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
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name not in OPTIONAL:
                raise
            UNAVAILABLE[module] = err.name
    return dict(_EXPERIMENTS)


def unavailable_note() -> str:
    """One line naming the study modules left out for a missing package, and the fix."""
    if not UNAVAILABLE:
        return ""
    missing = sorted(set(UNAVAILABLE.values()))
    modules = ", ".join(m.rsplit(".", 1)[-1] for m in sorted(UNAVAILABLE))
    fixes = "; ".join(OPTIONAL[p] for p in missing)
    return (f"not shown: the experiments of {modules} need {', '.join(missing)}, which is not "
            f"installed ({fixes} adds it)")


def get(name) -> Experiment:
    """The experiment called `name`; a ValueError lists the known names otherwise."""
    experiments = all_experiments()
    if name not in experiments:
        raise ValueError(f"no experiment {name!r}; `layerlab list` shows them: "
                         f"{', '.join(sorted(experiments))}"
                         + (f". {unavailable_note()}" if UNAVAILABLE else ""))
    return experiments[name]
