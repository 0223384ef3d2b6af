"""Fault injection: runs, sweeps and resumes killed at random points, and a full disk at every
size of write. Each case ends in one of two outcomes, never a third: a clear one-line error, or
a correct result (equal to the run that met no fault) with nothing finished lost.

A full disk is made with the file-size limit (RLIMIT_FSIZE): a write past it fails with EFBIG
as a full disk fails with ENOSPC, and it needs no privileges. The limits below run from a few
hundred bytes (config.json) through the Optuna database, metrics and checkpoints to the plots
and the report, so each kind of write is the first to fail at one of them.
"""

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import pytest

RUN = ["quickstart", "--quick", "--set", "epochs=4"]


def layerlab(*args, limit=None, popen=False):
    """`python -m layerlab ARGS` in a subprocess; with `limit`, no file it writes may grow past
    that many bytes (and the signal that limit sends is ignored, so the write fails instead)."""
    def before():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgrp()  # its own process group: a sweep's workers are killed with it
        if limit:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    command = [sys.executable, "-m", "layerlab", *map(str, args)]
    if popen:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, preexec_fn=before)
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          preexec_fn=before)


def figures(run_dir):
    """What must not change: every claim's value and verdict, and every table row without its
    last column when that column is a time."""
    results = json.loads((run_dir / "results.json").read_text())
    claims = {name: (c["ours"], c["verdict"]) for name, c in results["claims"].items()}
    tables = {name: [row[:-1] if "time" in str(t["header"][-1]) else row for row in t["rows"]]
              for name, t in results["tables"].items()}
    return claims, tables


def state(run_dir):
    return json.loads((run_dir / "status.json").read_text())["state"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run that met no fault, and how long it took."""
    out = tmp_path_factory.mktemp("straight") / "run"
    began = time.perf_counter()
    result = layerlab("run", *RUN, "--out", out)
    assert result.returncode == 0, result.stderr
    return figures(out), time.perf_counter() - began


def assert_one_clear_line(result, *words):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("layerlab:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("limit", [300, 3_000, 30_000, 300_000, 3_000_000])
def test_a_full_disk_is_one_clear_line_and_resume_finishes_the_run(tmp_path, straight, limit):
    out = tmp_path / "run"
    first = layerlab("run", *RUN, "--out", out, limit=limit)
    if first.returncode == 0:  # nothing this run writes is as large as the limit
        assert figures(out) == straight[0]
        return
    assert_one_clear_line(first, "no room to write", str(out))
    if not (out / "config.json").exists():  # nothing was made: the message says start again
        assert "start the run again" in first.stderr
        second = layerlab("run", *RUN, "--out", out)
    else:
        assert "--resume" in first.stderr
        second = layerlab("run", "--resume", out)
    assert second.returncode == 0, second.stderr
    assert state(out) == "finished"
    assert figures(out) == straight[0]


def test_a_full_disk_while_writing_the_report_leaves_it_to_layerlab_report(tmp_path, straight):
    """The training finished; only the report could not be written: `layerlab report` makes
    it, without training again."""
    out = tmp_path / "run"
    assert layerlab("run", *RUN, "--out", out).returncode == 0
    (out / "report.html").unlink()
    (out / "status.json").write_text(json.dumps({"state": "reporting"}))
    failed = layerlab("report", out, limit=20_000)  # report.html embeds its plots: larger
    assert_one_clear_line(failed, "no room to write")
    assert state(out) == "report failed"
    done = layerlab("report", out)
    assert done.returncode == 0, done.stderr
    assert state(out) == "finished" and (out / "report.html").stat().st_size > 20_000
    assert figures(out) == straight[0]


def kill_at(proc, seconds):
    """SIGKILL the process group of `proc` after `seconds` (or when it ends, if sooner)."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_run_killed_at_a_random_point_resumes_to_the_same_result(tmp_path, straight, seed):
    figures_straight, seconds = straight
    out = tmp_path / "run"
    kill_at(layerlab("run", *RUN, "--out", out, popen=True),
            random.Random(seed).uniform(0.5, 0.9 * seconds))
    # killed before config.json existed, the folder holds no run: it is started again
    args = ("run", "--resume", out) if (out / "config.json").exists() else ("run", *RUN,
                                                                              "--out", out)
    result = layerlab(*args)
    assert result.returncode == 0, result.stderr
    assert figures(out) == figures_straight


def test_a_sweep_and_its_resume_killed_at_random_points_end_in_the_same_result(
        tmp_path, straight):
    figures_straight, seconds = straight
    out = tmp_path / "run"
    rng = random.Random(7)
    kill_at(layerlab("sweep", *RUN, "--workers", 2, "--out", out, popen=True),
            rng.uniform(2.0, 0.9 * seconds))
    if (out / "config.json").exists():
        kill_at(layerlab("sweep", "--resume", out, "--workers", 2, popen=True),
                rng.uniform(0.5, 0.5 * seconds))
        result = layerlab("sweep", "--resume", out, "--workers", 2)
    else:
        result = layerlab("sweep", *RUN, "--workers", 2, "--out", out)
    assert result.returncode == 0, result.stderr
    assert state(out) == "finished"
    assert figures(out) == figures_straight
