"""A sweep shared through one PostgreSQL server by workers started independently (as on several
machines, each with its own run folder): every cell runs to completion exactly once, a worker
killed in the middle of a cell has its cell handed to another, and the report gathered from the
database equals the report of a single-process run with the same seed.

The server is a throwaway one (pg_server.py); the experiment is `sleepy` (sleepy_study.py: 12
cells of a second, each leaving start and finish markers). The `layerlab` subprocesses know it
through a sitecustomize.py on their PYTHONPATH, so they are the real `python -m layerlab`.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import sleepy_study
from pg_server import postgres_server

HERE = Path(__file__).parent
RUN = ["sleepy", "--seed", "5"]


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as url:
        yield url


@pytest.fixture
def env(tmp_path):
    """The environment of the test's layerlab processes: they register `sleepy` at start."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport sleepy_study\n"
        "sleepy_study.register()\n")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, LAYERLAB_LEDGER="off")


def start(env, markers, *args):
    markers.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "layerlab", *map(str, args)],
                            env={**env, "LAYERLAB_TEST_MARKERS": str(markers)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def layerlab(env, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "layerlab", *map(str, args)], env=env,
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"layerlab {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def events(markers):
    """[(event, cell, pid, monotonic ns)] from the markers the cells left."""
    found = []
    for path in markers.iterdir():
        event, cell, pid, ns = path.name.split("-")
        found.append((event, int(cell), int(pid), int(ns)))
    return found


def cell_in_progress(markers, pid):
    """The cell `pid` started 0.2 to 0.6 s ago (of its SECONDS) and has not finished, or None."""
    seen = events(markers)
    finished = {(c, p) for e, c, p, _ in seen if e == "finish"}
    for event, cell, who, ns in seen:
        if event == "start" and who == pid and (cell, pid) not in finished \
                and 0.2e9 < time.monotonic_ns() - ns < 0.6e9:
            return cell
    return None


def comparable(report):
    """report.md without what differs between two runs of the same study and seed: the line
    `- run: ID, created DATE, status, wall time` (the id, the time it was made and its wall
    time), and the order of the thread pools in the Environment line (the order in which
    threadpoolctl lists the loaded libraries varies between processes)."""
    lines = []
    for line in report.read_text().splitlines():
        if line.startswith("- run: `"):
            continue
        if line.startswith("- thread pools: "):
            line = "- thread pools: " + ", ".join(sorted(line[16:].split(", ")))
        lines.append(line)
    return "\n".join(lines)


def trials(url, run_id):
    """The trials of the run's grid, read with Optuna directly (psycopg2 named: SQLAlchemy 2.1
    would read a bare postgresql:// as psycopg 3)."""
    storage = url.replace("postgresql://", "postgresql+psycopg2://")
    name = f"sleepy:{run_id}:cells"
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def test_three_workers_one_killed_every_cell_once_and_the_same_report(postgres, env, tmp_path):
    single = start(env, tmp_path / "single-markers", "run", *RUN, "--out", tmp_path / "single")
    markers = tmp_path / "markers"
    shared = ["--workers", 1, "--storage", postgres, "--run-id", "three", "--heartbeat", 1]

    def worker(i):
        return start(env, markers, "sweep", *RUN, *shared, "--out", tmp_path / f"w{i}")

    # the worker to kill starts first, so that it surely trains a cell whatever the machine's
    # load; the other two start once it has begun, and it dies in the middle of a cell
    victim = worker(0)
    deadline = time.time() + 60
    while not events(markers):
        assert victim.poll() is None and time.time() < deadline, victim.stdout.read()
        time.sleep(0.01)
    workers = [victim, worker(1), worker(2)]
    while (killed := cell_in_progress(markers, victim.pid)) is None:
        assert victim.poll() is None, "the victim ended before it was killed: " + \
            victim.stdout.read()
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for worker in (*workers[1:], single):
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out

    # every cell ran to completion exactly once; the killed cell, by another worker
    seen = events(markers)
    finishes = Counter(cell for event, cell, _, _ in seen if event == "finish")
    assert finishes == {i: 1 for i in range(sleepy_study.CELLS)}
    assert ("start", killed, victim.pid) in {(e, c, p) for e, c, p, _ in seen}
    assert [p for e, c, p, _ in seen if e == "finish" and c == killed] != [victim.pid]

    # in the database: one complete trial per cell; the killed cell's trial failed (its
    # heartbeat stopped) and Optuna's retry callback queued the copy that completed
    state = optuna.trial.TrialState
    grid = trials(postgres, "three")
    complete = [t for t in grid if t.state == state.COMPLETE]
    assert sorted(t.user_attrs["cell_key"] for t in complete) == sorted(
        f"cells/i={i}" for i in range(sleepy_study.CELLS))
    failed = [t for t in grid if t.state == state.FAIL and "cell_key" in t.user_attrs]
    assert [t.user_attrs["cell_key"] for t in failed] == [f"cells/i={killed}"]
    retried = [t for t in complete if t.user_attrs["cell_key"] == f"cells/i={killed}"]
    assert retried[0].system_attrs["failed_trial"] == failed[0].number

    # the report gathered from the database alone equals the single-process run's
    gathered = tmp_path / "gathered"
    shown = layerlab(env, "report", "--storage", postgres, "--run-id", "three",
                     "--out", gathered).stdout
    assert f"run folder: {gathered}" in shown and "1 claim: 1 measured" in shown
    assert comparable(gathered / "report.md") == comparable(tmp_path / "single" / "report.md")
    same = json.loads((tmp_path / "single" / "results.json").read_text())
    assert json.loads((gathered / "results.json").read_text()) == same
    meta = json.loads((gathered / "config.json").read_text())
    assert meta["run_id"] == "three" and meta["config"]["seed"] == 5
    for survivor in ("w1", "w2"):  # each surviving machine's own folder has it too
        assert json.loads((tmp_path / survivor / "results.json").read_text()) == same


BLOCK_DRIVERS = """
import sys

class NoDriver:  # `import psycopg2` fails as it does when the postgres extra is not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg2", "psycopg"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoDriver())
from layerlab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_clear_errors(postgres, env, tmp_path):
    with socket.socket() as s:  # a port nothing listens on (bound here, never listening)
        s.bind(("127.0.0.1", 0))
        down_url = f"postgresql://u:secret@127.0.0.1:{s.getsockname()[1]}/x"
        # commands that fail at once, run side by side
        checks = {"down": ["-m", "layerlab", "report", "--storage", down_url, "--run-id", "r"],
                  "no driver": ["-c", BLOCK_DRIVERS, "sweep", *RUN, "--storage", postgres,
                                "--run-id", "r", "--out", tmp_path / "d"],
                  "unknown": ["-m", "layerlab", "report", "--storage", postgres, "--run-id",
                              "nonesuch", "--out", tmp_path / "c"]}
        procs = {k: subprocess.Popen([sys.executable, *map(str, v)], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for k, v in checks.items()}
        # a run that started training, then lost its only worker
        markers = tmp_path / "markers"
        first = start(env, markers, "sweep", "sleepy", "--seed", 6, "--workers", 1,
                      "--storage", postgres, "--run-id", "mixed", "--out", tmp_path / "a")
        deadline = time.time() + 60
        while not events(markers):  # the run has started training
            assert first.poll() is None and time.time() < deadline, first.stdout.read()
            time.sleep(0.05)
        first.kill()  # the run stays unfinished
        first.wait()
        # a second machine with other settings under its run id (refused before training),
        # and its report (refused: the run is unfinished)
        checks = {"refused": ["sweep", *RUN, "--workers", 1, "--storage", postgres,
                              "--run-id", "mixed", "--out", tmp_path / "b"],
                  "unfinished": ["report", "--storage", postgres, "--run-id", "mixed",
                                 "--out", tmp_path / "e"]}
        procs |= {k: subprocess.Popen([sys.executable, "-m", "layerlab", *map(str, v)],
                                      env=env, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE) for k, v in checks.items()}
        errors = {k: (p.communicate(timeout=120)[1], p.returncode) for k, p in procs.items()}
    assert re.fullmatch(r"layerlab: run mixed in postgresql://postgres@[^ ]+ was started with "
                        r"another setting \(seed=6 there, 5 here\).*\n", errors["refused"][0])
    assert not (tmp_path / "b" / "cells.json").exists()
    assert re.match(r"layerlab: run mixed is not finished \([0-9]+ of the 12 cells",
                    errors["unfinished"][0])
    assert not (tmp_path / "e").exists()
    assert {pid for _, _, pid, _ in events(markers)} == {first.pid}  # b trained no cell
    for name, (err, code) in errors.items():  # one line each, no traceback
        assert code == 2 and len(err.splitlines()) == 1, (name, err)
    assert "no run 'nonesuch' in postgresql://postgres@" in errors["unknown"][0]
    assert "(runs there: " in errors["unknown"][0]
    down = errors["down"][0]
    assert "cannot reach the database" in down and "Connection refused" in down
    assert "secret" not in down  # the password is not printed
    assert "pip install 'layerlab[postgres]'" in errors["no driver"][0]
    assert not (tmp_path / "d").exists()  # refused before the run folder was made
