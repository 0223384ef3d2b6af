"""Experiments by name: each study registers itself with `@experiment(...)`.

An experiment is a function `run(config, run)` with a dataclass config whose defaults are the
study's settings, and a dict of overrides that make its `--quick` version.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

# Modules whose import registers experiments: quickstart, and one module per study family,
# named after its study (s1_..., s2_..., ...), found in this package.
EXPERIMENT_MODULES = ["layerlab.experiments.quickstart"]


def _study_modules():
    from layerlab import experiments

    return sorted(f"layerlab.experiments.{m.name}" for m in pkgutil.iter_modules(
        experiments.__path__) if m.name[:1] == "s" and m.name[1:2].isdigit())


@dataclass(frozen=True)
class Experiment:
    """A named, runnable study.

    name: what `layerlab run NAME` takes. study: the id in shared/STUDIES.md (e.g. 'S1.2').
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


def all_experiments() -> dict[str, Experiment]:
    """Every registered experiment, by name (imports the experiment modules)."""
    for module in EXPERIMENT_MODULES + _study_modules():
        importlib.import_module(module)
    return dict(_EXPERIMENTS)


def get(name) -> Experiment:
    """The experiment called `name`; a ValueError lists the known names otherwise."""
    experiments = all_experiments()
    if name not in experiments:
        raise ValueError(f"no experiment {name!r}; `layerlab list` shows them: "
                         f"{', '.join(sorted(experiments))}")
    return experiments[name]
