"""Faults around a run folder: nothing wrong reported as right, nothing lost, one clear message.

Each test names the fault it guards against; each failed before its fix.
"""

import json
import math
import os
import subprocess
import sys
import threading
from dataclasses import dataclass

import pytest

from layerlab.lab import registry, runner, sweep
from layerlab.lab.rundir import Run, RunError
from layerlab.runfiles import read_json, read_metrics


@dataclass
class FaultConfig:
    seed: int = 0
    fail_report: bool = False


def fault_experiment(cfg, run):
    values = sweep.grid(run, "g", [{"i": i} for i in range(3)],
                        lambda c: {"loss": [1.0, math.nan, math.inf][c["i"]]})
    run.log("g", "epoch", epoch=1, loss=math.nan)
    run.table("losses", ["i", "loss"], [[i, v["loss"]] for i, v in enumerate(values)])
    if cfg.fail_report:  # a plot the renderer cannot draw: the report fails after training
        run.plot("broken", "no-such-kind", title="broken")


@pytest.fixture(scope="module", autouse=True)
def registered():
    registry.experiment("fault-toy", study="-", title="t", estimate="1 s",
                        config=FaultConfig)(fault_experiment)
    yield
    registry._EXPERIMENTS.pop("fault-toy")


def quiet_run(path, *overrides):
    return runner.create("fault-toy", overrides=list(overrides), out=path,
                         stream=open(os.devnull, "w"))


def test_files_are_strict_json_and_non_finite_values_survive(tmp_path):
    # fault 10: results.json and metrics.jsonl held bare NaN / Infinity tokens
    run = quiet_run(tmp_path / "r")
    runner.execute(run)
    for name in ("results.json", "cells.json", "status.json"):
        json.loads((run.path / name).read_text(), parse_constant=pytest.fail)  # strict
    for line in (run.path / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=pytest.fail)
    rows = read_json(run.path / "results.json")["tables"]["losses"]["rows"]
    assert rows[0][1] == 1.0 and math.isnan(rows[1][1]) and rows[2][1] == math.inf
    assert math.isnan(read_metrics(run.path / "metrics.jsonl")[0]["loss"])


def test_a_failed_report_is_not_finished_and_report_completes_it(tmp_path):
    # fault 4: "finished" was written before the report existed
    run = quiet_run(tmp_path / "r", "fail_report=true")
    with pytest.raises(ValueError, match="unknown plot kind"):
        runner.execute(run)
    status = read_json(run.path / "status.json")
    assert status["state"] == "report failed" and "unknown plot kind" in status["error"]
    assert not (run.path / "report.md").exists()
    results = read_json(run.path / "results.json")  # the cause is fixed: the plot goes
    del results["plots"]["broken"]
    (run.path / "results.json").write_text(json.dumps(results))
    runner.report(run.path)
    assert read_json(run.path / "status.json")["state"] == "finished"
    assert (run.path / "report.md").exists()


def test_two_processes_creating_one_folder_one_wins(tmp_path):
    # fault 6: Run.create checked, then created: both processes "created" the folder
    meta = {"experiment": "fault-toy", "config": {"seed": 0}}
    outcomes = []

    def create(i):
        try:
            Run.create(tmp_path / "same", {**meta, "run_id": f"r{i}"})
            outcomes.append("created")
        except RunError as err:
            outcomes.append(str(err))

    for _ in range(20):
        outcomes.clear()
        threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert outcomes.count("created") == 1
        assert all("already holds a run" in o for o in outcomes if o != "created")
        for f in (tmp_path / "same").iterdir():
            f.unlink()


def test_a_second_process_on_a_run_in_use_stops_with_one_line(tmp_path):
    # fault 6: two `layerlab run --resume D` at once trained the same cell twice
    run = runner.create("quickstart", quick=True, out=tmp_path / "r")
    run.lock()  # this process is using the run
    done = subprocess.run([sys.executable, "-m", "layerlab", "run", "--resume", str(run.path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"in use by process {os.getpid()}" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_lock_dies_with_its_holder(tmp_path):
    run = quiet_run(tmp_path / "r")
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom layerlab.lab.rundir import Run\n"
                               "r = Run(sys.argv[1])\nr.lock()\nprint('locked', flush=True)\n"
                               "time.sleep(60)", str(run.path)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunError, match="in use"):
        Run(run.path).lock()
    holder.kill()  # SIGKILL: no clean-up runs
    holder.wait()
    Run(run.path).lock()  # free again


@pytest.mark.parametrize("make", ["file", "under-file"])
def test_out_on_or_under_a_file_is_one_clear_line(tmp_path, make):
    # fault 8: --out on a file or under a file gave a traceback
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if make == "file" else tmp_path / "f" / "run"
    done = subprocess.run([sys.executable, "-m", "layerlab", "run", "quickstart", "--quick",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "a file is in the way" in done.stderr or "is a file" in done.stderr


def test_report_on_a_folder_that_is_not_a_run_is_one_clear_line(tmp_path):
    # fault 8: `report` on an empty or random folder gave a traceback
    done = subprocess.run([sys.executable, "-m", "layerlab", "report", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not a run folder" in done.stderr


def test_the_wall_time_of_a_killed_attempt_is_kept(tmp_path):
    # fault 10: the wall time dropped a SIGKILLed attempt (it was written only at the end)
    run = quiet_run(tmp_path / "r")
    run.start_clock()
    sweep.grid(run, "slow", [{"i": 0}], lambda c: {"x": sum(range(3_000_000))})
    # ... the process is killed here: only what the heartbeat wrote is left
    assert read_json(run.path / "status.json")["wall_time"] > 0
