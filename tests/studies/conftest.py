import json
import os

import pytest

from layerlab.lab import runner


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
