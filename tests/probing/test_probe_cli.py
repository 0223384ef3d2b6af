"""`--set probes=every:K` on the real command line: probe files that read back, every
experiment takes the setting, a bad value is one clear line."""

import json
import os
import subprocess
import sys

import pytest

from layerlab.lab import config, registry
from layerlab.probing import store


def layerlab(*args):
    env = dict(os.environ, LAYERLAB_LEDGER="off", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_quickstart_with_probes_writes_files_that_read_back(tmp_path):
    out = tmp_path / "run"
    done = layerlab("run", "quickstart", "--quick", "--set", "probes=every:5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "config.json").read_text())["config"]["probes"] == "every:5"
    found = store.read_probes(out)
    assert list(found) == ["lr=0.001"]  # the quick run's one cell
    head, records = found["lr=0.001"]["header"], found["lr=0.001"]["records"]
    assert head["engine"] == "scratch" and head["every"] == 5
    assert [(x["name"], x["activation"], x["units"]) for x in head["layers"]] == \
        [("fc1", "relu", 100), ("fc2", "relu", 100), ("fc3", "linear", 10)]
    steps = [json.loads(line)["iteration"] for line in (out / "metrics.jsonl").open()
             if json.loads(line).get("kind") == "iter"]
    probed = sorted({r["step"] for r in records})
    assert probed == [s for s in steps if s % 5 == 0] and probed
    series = store.probe_series(records, "grad_norm")
    assert list(series) == ["fc1", "fc2", "fc3"] and series["fc1"][0] == probed
    assert all(v > 0 for _, values in series.values() for v in values)
    first = records[0]  # batch 50: fc1's activations are 50 x 100 values
    assert sum(first["hist"]["act"]) == 50 * 100 and len(first["hist"]["act"]) == \
        len(head["bins"]["act"]) - 1
    assert sum(first["hist"]["weight"]) == 3 * 32 * 32 * 100


def test_a_bad_probes_value_is_one_clear_line(tmp_path):
    done = layerlab("run", "quickstart", "--quick", "--set", "probes=every:0",
                    "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "probes=every:0" in lines[0] and "every:K" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["sometimes", "every:x", "5", "every:-1"])
def test_other_bad_values_are_refused_by_the_same_command_code(tmp_path, capsys, value):
    # the command's own entry point, in this process (one subprocess above is enough)
    from layerlab.cli import main

    assert main(["run", "quickstart", "--quick", "--set", f"probes={value}",
                 "--out", str(tmp_path / "run")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"probes={value}" in lines[0] and "every:K" in lines[0]
    assert not (tmp_path / "run").exists()


def test_every_experiment_takes_the_probes_setting_and_keeps_it_only_when_given():
    experiments = registry.all_experiments()
    assert len(experiments) > 10
    for exp in experiments.values():
        assert config.resolve(exp, ["probes=every:3"], quick=True)["probes"] == "every:3"
        assert "probes" not in config.resolve(exp, [], quick=True)
