"""Fixtures of the report tests: real run folders (a quick run made by the CLI, copies of
published results, a folder written by hand)."""

import shutil

import pytest
from report_helpers import PUBLISHED, claim, layerlab

from layerlab.analysis.verdict import VERDICTS
from layerlab.runfiles import write_json


@pytest.fixture(scope="session")
def quick_folder(tmp_path_factory):
    """A real quick run of quickstart, made by `layerlab run`."""
    out = tmp_path_factory.mktemp("quick") / "run"
    layerlab("run", "quickstart", "--quick", "--out", out)
    return out


@pytest.fixture(scope="session")
def published_copy(tmp_path_factory):
    """published_copy(name): a copy of docs/results/NAME with its report rebuilt by
    `layerlab report` (skips when that result is not published)."""
    made = {}

    def copy(name):
        if name not in made:
            source = PUBLISHED / name
            if not (source / "results.json").exists():
                pytest.skip(f"docs/results/{name} is not published")
            dest = tmp_path_factory.mktemp("published") / name
            shutil.copytree(source, dest)
            layerlab("report", dest)
            made[name] = dest
        return made[name]

    return copy


@pytest.fixture
def made_folder(tmp_path):
    """A run folder written by hand with what the renderer must handle: a claim of every
    verdict, a long table, None and lists of None, integers stored as floats, a note of log
    lines, a nested config."""
    folder = tmp_path / "made"
    (folder / "plots").mkdir(parents=True)
    claims = {f"figure {v}": claim(f"figure {v}", v) for v in VERDICTS}
    claims["figure reproduced"]["reason"] = ("inside the interval; " + "a long reason " * 20)
    write_json(folder / "config.json", {
        "experiment": "made", "study": "S0", "title": "made: a folder written by hand",
        "run_id": "made-1", "created": "2026-12-07 10:00:00", "quick": False,
        "config": {"seed": 7, "hidden_dims": [100, 50], "schedule": {"kind": "one-cycle",
                                                                     "peak": 0.003}}})
    write_json(folder / "status.json", {"state": "finished", "wall_time": 12.5})
    write_json(folder / "env.json", {"python": "3.11", "platform": "Linux", "cpu_count": 2,
                                     "packages": {"numpy": "2"}, "source_revision": "abc"})
    write_json(folder / "results.json", {
        "claims": claims,
        "tables": {
            "long": {"title": "A long table", "header": ["epoch", "val acc", "loss", "lr"],
                     "rows": [[float(e), 0.5 + e / 100, 2.0 / (e + 1), 10.0 ** -e]
                              for e in range(13)], "note": ""},
            "short": {"title": "A short table", "header": ["seed", "first epoch", "count"],
                      "rows": [[0, None, 24.0], [1, [None, None], 3.0],
                               [2, "None, None, None", 1000.0]],
                      "note": "Read `first epoch` as:\n\n- none: never\n- a number"}},
        "plots": {}, "datasets": {"d:train": {"description": "train/<class>/ images"}},
        "notes": {"Log lines": "Epoch 1/2, Loss: 2.1\nEpoch 2/2, Loss: 1.2\nEpoch 3/2, x"}})
    return folder
