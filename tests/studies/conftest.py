import json
import os
from pathlib import Path

import pytest

from layerlab.lab import registry, runner

HERE = Path(__file__).parent


def study_package(item):
    """The study package (s1_fc, s8_mnist, ...) whose quick runs a test reads: its `name`
    parameter's experiment, else its module's name (test_s1_fc.py tests s1_fc)."""
    name = item.callspec.params.get("name") if hasattr(item, "callspec") else None
    if isinstance(name, str) and name in registry.all_experiments():
        return registry.get(name).fn.__module__.removeprefix("layerlab.studies.").split(".")[0]
    return item.module.__name__.rpartition(".")[2].removeprefix("test_")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (--dist loadgroup), the tests that read one study's quick runs share
    a worker: the session's cache of quick runs is per process, and each worker would make
    every run its tests read again."""
    for item in items:
        if "quick_run" in getattr(item, "fixturenames", ()) and HERE in item.path.parents:
            item.add_marker(pytest.mark.xdist_group(f"quick-runs-{study_package(item)}"))


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """quick_run(name, *overrides, fresh=False) -> (Run, results dict) of a finished --quick run.

    Each distinct run is made once per test session and shared by every test that reads it
    (the quick run of every experiment is checked by test_quick_all and again by the tests of
    its module); fresh=True makes a new run, e.g. to compare two runs.
    """
    made = {}

    def run(name, *overrides, fresh=False):
        key = (name, overrides)
        if fresh or key not in made:
            out = tmp_path_factory.mktemp(name) / "run"
            r = runner.create(name, overrides=list(overrides), quick=True, out=out,
                              stream=open(os.devnull, "w"))
            runner.execute(r)
            result = (r, json.loads((r.path / "results.json").read_text()))
            if fresh:
                return result
            made[key] = result
        return made[key]

    return run
