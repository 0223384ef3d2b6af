"""Reliability probes: hostile-but-fair uses of layerlab, each outcome classified.

    python scripts/reliability.py                          # print the page
    python scripts/reliability.py --write docs/reliability.md

Every probe runs `python -m layerlab ...` (or a short `python -c` on the package) as a
subprocess in one temporary folder, with LAYERLAB_LEDGER=off (nothing reaches the repository's
test-set ledger), XDG_CACHE_HOME in the temporary folder (the user's decoded-data cache is not
touched) and one BLAS/OpenMP thread. Runs are `--quick` (the built-in data) and every command
has a timeout, so the whole page takes a few minutes on a 2-core machine.

Outcome classes (`classify`):
  clear error     exit code != 0, no "Traceback" in stderr, and the message names the problem
  correct result  the command succeeded and the result was checked to be right
  traceback       a Python traceback (for a user's mistake, or a fair use)
  silent wrong    exit 0 but the result is wrong (a diverged run judged, damaged data accepted)
  data loss       something that had finished was lost (or trained again)
  hang            the command did not end within its timeout
  unclear error   exit code != 0 without a traceback, but the message does not name the problem
                  (or the exit code is not the one the command documents)
  not run         the probe could not be set up here (e.g. the staged Gurmukhi copy is absent)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
STAGED_GURMUKHI = Path("/work/shared/data/gurmukhi")
FAULT_TESTS = ("tests/lab/test_run_faults.py", "tests/test_checkpoint_faults.py",
               "tests/data/test_data_integrity.py", "tests/test_divergence.py",
               "tests/test_input_validation.py", "tests/test_fault_injection.py")

CLEAR, CORRECT, TRACEBACK, SILENT, LOSS, HANG = (
    "clear error", "correct result", "traceback", "silent wrong", "data loss", "hang")
UNCLEAR, NOT_RUN = "unclear error", "not run"
CLASSES = (CLEAR, CORRECT, TRACEBACK, SILENT, LOSS, HANG, UNCLEAR, NOT_RUN)
MUST_BE_ZERO = (SILENT, LOSS, TRACEBACK, HANG)
GOAL = ("zero silent wrong, zero data loss, zero tracebacks for a user's mistake, zero hangs")


# --------------------------------------------------------------------------- classification

@dataclass
class Outcome:
    """What one command did: its exit code (None when it was stopped at its timeout)."""

    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    seconds: float = 0.0


@dataclass
class Check:
    """What was checked of a result, and whether it held; `wrong` is the class when not."""

    ok: bool
    what: str
    wrong: str = SILENT


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _short(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def classify(outcome: Outcome, *, expect: str = "error", names: Sequence[str] = (),
             exit_code: int | None = None, check: Check | None = None) -> tuple[str, str]:
    """Returns (class, evidence) of one outcome.

    expect "error": a user's mistake, which should be refused; `names` are words (any case)
    the message must contain to name the problem, `exit_code` the code it must exit with (any
    non-zero when None). expect "result": a fair use, which should succeed; `check` is what was
    verified of its result. The evidence is the one line the user saw, or what was checked.
    """
    if outcome.timed_out:
        return HANG, f"no end after {outcome.seconds:.0f} s (stopped at the timeout)"
    err = outcome.stderr or ""
    if "Traceback" in err:
        last = _lines(err)[-1] if _lines(err) else "Traceback"
        return TRACEBACK, _short(last)
    if expect == "error":
        if outcome.returncode == 0:
            seen = _lines(outcome.stdout)[-1:] or ["(no output)"]
            return SILENT, _short(f"exit 0 (accepted): {seen[0]}")
        lines = _lines(err) or _lines(outcome.stdout)
        hit = next((line for line in lines
                    if names and all(n.lower() in line.lower() for n in names)), None)
        if hit is None:
            text = " ".join(lines).lower()
            if names and all(n.lower() in text for n in names):
                hit = next((line for line in lines if names[0].lower() in line.lower()),
                           lines[-1])
        shown = hit or (lines[-1] if lines else "(no message)")
        if names and hit is None:
            return UNCLEAR, _short(f"exit {outcome.returncode}; message names no "
                                   f"{'/'.join(names)}: {shown}")
        if exit_code is not None and outcome.returncode != exit_code:
            return UNCLEAR, _short(f"exit {outcome.returncode}, not {exit_code}: {shown}")
        return CLEAR, _short(shown)
    # a fair use: it must succeed, and what it produced must be right
    if outcome.returncode != 0:
        lines = _lines(err) or _lines(outcome.stdout)
        return CLEAR, _short(f"exit {outcome.returncode} on a fair use: "
                             + (lines[-1] if lines else "(no message)"))
    if check is None:
        return CORRECT, "exit 0 (nothing further checked)"
    return (CORRECT if check.ok else check.wrong), _short(check.what, 400)


# --------------------------------------------------------------------------- running commands

@dataclass
class Row:
    probe: str
    action: str
    expected: str
    outcome: str
    evidence: str


class Lab:
    """The temporary folder, the environment of every command, and the rows found."""

    def __init__(self, root: Path):
        self.root = root
        self.rows: list[Row] = []
        self.started = 0  # background commands, each logging into its own file
        self.env = {**os.environ, "LAYERLAB_LEDGER": "off",
                    "XDG_CACHE_HOME": str(root / "cache"), "OMP_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.env.pop("LAYERLAB_DATA", None)

    def layerlab(self, *args: str, timeout: float = 120) -> Outcome:
        return self.command([sys.executable, "-m", "layerlab", *map(str, args)], timeout)

    def python(self, code: str, *args: str, timeout: float = 120) -> Outcome:
        return self.command([sys.executable, "-c", code, *map(str, args)], timeout)

    def command(self, argv: list[str], timeout: float, cwd: Path | None = None,
                env: dict | None = None) -> Outcome:
        start = time.perf_counter()
        try:
            done = subprocess.run(argv, cwd=cwd or self.root, env=env or self.env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:  # subprocess.run has killed the child
            return Outcome(None, _text(err.stdout), _text(err.stderr), True,
                           time.perf_counter() - start)
        return Outcome(done.returncode, done.stdout, done.stderr, False,
                       time.perf_counter() - start)

    def start(self, *args: str) -> subprocess.Popen:
        """Starts a command in the background (its output into files, never a full pipe)."""
        self.started += 1
        log = self.root / f"background-{self.started}.log"
        with open(log, "w") as handle:
            return subprocess.Popen([sys.executable, "-m", "layerlab", *map(str, args)],
                                    cwd=self.root, env=self.env, stdout=handle,
                                    stderr=subprocess.STDOUT)

    def add(self, probe: str, action: str, expected: str, outcome: str, evidence: str):
        self.rows.append(Row(probe, action, expected, outcome, evidence))
        print(f"  {outcome:15s} {probe}: {_short(evidence, 120)}", file=sys.stderr, flush=True)

    def record(self, probe: str, action: str, outcome: Outcome, **how):
        expected = CORRECT if how.get("expect") == "result" else CLEAR
        self.add(probe, action, expected, *classify(outcome, **how))


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def cmd(*args: str) -> str:
    return "`layerlab " + shlex.join(args) + "`"


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_until(predicate: Callable[[], bool], proc: subprocess.Popen, timeout: float) -> str:
    """Polls `predicate` every 20 ms: "yes", "ended" (the process ended first) or "timeout"."""
    deadline = time.time() + timeout
    while True:
        if predicate():
            return "yes"
        if proc.poll() is not None:
            return "ended"
        if time.time() > deadline:
            return "timeout"
        time.sleep(0.02)


def stop(proc: subprocess.Popen) -> None:
    """SIGKILL one process this script started (by its own handle), and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def metrics(run_dir: Path) -> list[dict]:
    rows = []
    try:
        for line in (run_dir / "metrics.jsonl").read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a kill
    except OSError:
        pass
    return rows


# --------------------------------------------------------------------------- the probes

def probe_divergence(lab: Lab) -> None:
    cases = [("quickstart", ["--set", "learning_rates=(1e6,)"]),
             ("two-layer-solver", ["--set", "learning_rates=(1e6,)"]),
             ("mnist-dropout-sweep", ["--set", "lr=1e30"])]
    for name, settings in cases:
        out = f"div-{name}"
        args = ["run", name, "--quick", *settings, "--out", out]
        done = lab.layerlab(*args, timeout=180)
        lab.record(f"divergence: {name}", cmd(*args[:-2]), done, expect="result",
                   check=_diverged_not_judged(lab.root / out))


def _diverged_not_judged(run_dir: Path) -> Check:
    results = read_json(run_dir / "results.json")
    report = (run_dir / "report.md").read_text() if (run_dir / "report.md").exists() else ""
    if results is None:
        return Check(False, "no readable results.json")
    claims = results.get("claims", {})
    judged = [f"{k!r}: {v.get('verdict')}" for k, v in claims.items()
              if v.get("verdict") != "not judged"]
    said = "## Diverged cells" in report or "diverged" in report.lower()
    if judged or not said or not claims:
        return Check(False, f"report says diverged: {said}; claims judged on a diverged run: "
                     f"{'; '.join(judged) or 'none'} (of {len(claims)})")
    line = next((ln for ln in report.splitlines() if ln[:1].isdigit() and "diverged (" in ln),
                "")
    said = line.split(" (")[0].strip() or "a Diverged cells section"
    return Check(True, f"report.md says {said!r}; all {len(claims)} claim(s) in results.json "
                 "'not judged'")


def probe_damaged_data(lab: Lab) -> None:
    probe = "damaged data: gurmukhi copy"
    if not (STAGED_GURMUKHI / "train").is_dir():
        lab.add(probe, "copy of the staged gurmukhi tree", CLEAR, NOT_RUN,
                f"{STAGED_GURMUKHI} is absent here")
        return
    root = lab.root / "groot"
    tree = root / "gurmukhi"
    for split in ("train", "val"):
        shutil.copytree(STAGED_GURMUKHI / split, tree / split)
    verify = ["data", "verify", "gurmukhi", "--root", "groot"]
    done = lab.layerlab(*verify, timeout=120)
    lab.record("damaged data: intact copy verifies", cmd(*verify), done, expect="result",
               check=Check("VERIFIED" in done.stdout,
                           _short(next((ln for ln in _lines(done.stdout) if "gurmukhi:" in ln),
                                       done.stdout))))
    # one class folder emptied
    emptied = tree / "train" / "3"
    for image in emptied.iterdir():
        image.unlink()
    done = lab.layerlab(*verify, timeout=120)
    lab.record("damaged data: a class folder emptied", f"empty train/3/, then {cmd(*verify)}",
               done, names=("train/3",))
    emptied.rmdir()
    shutil.copytree(STAGED_GURMUKHI / "train" / "3", emptied)
    # one image's bytes changed, after a load that filled the decoded cache
    warm = lab.python(LOAD, "gurmukhi", "train", "groot", timeout=180)
    if warm.returncode != 0:
        lab.add("damaged data: one image's bytes changed", "load before the change",
                CORRECT, *classify(warm, expect="result"))
        return
    image = tree / "train" / "5" / "1.bmp"
    _flip_last_byte(image)
    done = lab.python(LOAD, "gurmukhi", "train", "groot", timeout=180)
    lab.record("damaged data: one image's bytes changed (cache warm)",
               "flip the last byte of train/5/1.bmp, then "
               "`load('gurmukhi', 'train', root=ROOT)`", done, names=("checksum",))
    done = lab.layerlab(*verify, timeout=120)
    lab.record("damaged data: one image's bytes changed", f"the same, then {cmd(*verify)}",
               done, names=("mismatch",))


LOAD = """
import sys
from layerlab.data import load
from layerlab.data.errors import DataError
try:
    ds = load(sys.argv[1], sys.argv[2], root=sys.argv[3] if len(sys.argv) > 3 else None)
except DataError as err:
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
print(f"loaded {len(ds)} images, checksum {ds.checksum}")
"""


def _flip_last_byte(path: Path) -> None:
    """Change one byte of pixel data in place, keeping the size and the modification time."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


STALE = """
import json, sys
import numpy as np
from layerlab.data import load
ds = load("imagefolder:" + sys.argv[1], "train")
flat = ds.images.reshape(len(ds), -1)
white = [ds.classes[int(ds.labels[i])] for i in np.flatnonzero(flat.min(axis=1) == 255)]
print(json.dumps({"n": len(ds), "white": white, "checksum": ds.checksum}))
"""


def probe_stale_cache(lab: Lab) -> None:
    from PIL import Image

    tree = lab.root / "stale" / "tree"
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tree / "train" / label).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 200, (8, 8), dtype="uint8")
            Image.fromarray(pixels, "L").save(tree / "train" / label / f"{i}.bmp")
    action = ("load `imagefolder:PATH` (cache filled), rewrite train/a/0.bmp as all white "
              "with the same size and mtime, load again")
    first = lab.python(STALE, tree, timeout=120)
    if first.returncode != 0:
        lab.record("stale cache: in-place edit", action, first, expect="result")
        return
    target = tree / "train" / "a" / "0.bmp"
    before = target.stat()
    Image.fromarray(np.full((8, 8), 255, "uint8"), "L").save(target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    same = after.st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns
    second = lab.python(STALE, tree, timeout=120)
    try:
        old, new = json.loads(first.stdout), json.loads(second.stdout)
        ok = same and old["white"] == [] and new["white"] == ["a"]
        what = (f"size and mtime kept: {same}; white images before {old['white']}, after "
                f"{new['white']} (expected ['a'])")
    except (ValueError, KeyError):
        ok, what = False, f"unreadable output: {_short(second.stdout)}"
    lab.record("stale cache: in-place edit keeping size and mtime", action, second,
               expect="result", check=Check(ok, what))


REPORT_FAILS = """
import json, os, sys
from dataclasses import dataclass
from layerlab.lab import registry, runner, sweep

@dataclass
class ToyConfig:
    seed: int = 0

def toy(cfg, run):
    sweep.grid(run, "g", [{"i": 0}], lambda c: {"loss": 1.0})
    run.table("t", ["i", "loss"], [[0, 1.0]])
    run.plot("broken", "no-such-kind", title="broken")  # the report cannot draw it

registry.experiment("reliability-toy", study="-", title="t", estimate="1 s",
                    config=ToyConfig)(toy)
run = runner.create("reliability-toy", overrides=[], out=sys.argv[1],
                    stream=open(os.devnull, "w"))
try:
    runner.execute(run)
    raised = None
except Exception as err:
    raised = f"{type(err).__name__}: {err}"
status = json.load(open(os.path.join(sys.argv[1], "status.json")))
print(json.dumps({"state": status.get("state"), "raised": raised,
                  "report": os.path.exists(os.path.join(sys.argv[1], "report.md"))}))
"""


def probe_report_fails(lab: Lab) -> None:
    done = lab.python(REPORT_FAILS, "toy-report", timeout=120)
    try:
        seen = json.loads(_lines(done.stdout)[-1])
        ok = seen["state"] != "finished" and not seen["report"] and seen["raised"]
        what = (f"status.json state {seen['state']!r}, report.md written: {seen['report']}, "
                f"execute raised {seen['raised']!r}")
    except (ValueError, KeyError, IndexError):
        ok, what = False, f"unreadable output: {_short(done.stdout + done.stderr)}"
    lab.record("report fails: not 'finished'", "a toy experiment whose plot cannot be drawn, "
               "`runner.execute`", done, expect="result", check=Check(ok, what))


def probe_corrupt_weights(lab: Lab) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        lab.add("corrupt weights", "`layerlab eval`", CLEAR, NOT_RUN, "PyTorch is not installed")
        return
    args = ["run", "lenet-fashion", "--quick", "--out", "lenet"]
    done = lab.layerlab(*args, timeout=240)
    weights = sorted((lab.root / "lenet" / "weights").glob("*.pt"))
    if done.returncode != 0 or not weights:
        lab.record("corrupt weights: setup", cmd(*args), done, expect="result",
                   check=Check(False, "no weights/*.pt written"))
        return
    done = lab.layerlab("eval", "lenet", timeout=120)
    lab.record("corrupt weights: intact weights re-check", cmd("eval", "lenet"), done,
               expect="result", check=Check("every split matches" in done.stdout,
                                            (_lines(done.stdout) or ["(no output)"])[-1]))
    for how in ("garbage", "truncated"):
        copy = lab.root / f"lenet-{how}"
        shutil.copytree(lab.root / "lenet", copy)
        target = copy / "weights" / weights[0].name
        if how == "garbage":
            target.write_bytes(np.random.default_rng(0).bytes(4096))  # same every run
        else:
            with open(target, "r+b") as handle:
                handle.truncate(target.stat().st_size // 2)
        done = lab.layerlab("eval", copy.name, timeout=120)
        lab.record(f"corrupt weights: {how} .pt", f"{how} weights/{weights[0].name}, then "
                   f"{cmd('eval', copy.name)}", done, names=(weights[0].name,))


def probe_lock(lab: Lab) -> None:
    out = lab.root / "locked"
    first = lab.start("run", "quickstart", "--quick", "--set", "epochs=20", "--out", "locked")
    state = wait_until(lambda: any(r.get("kind") == "epoch" for r in metrics(out)), first, 120)
    stop(first)
    if state != "yes":
        lab.add("locks: two resumes at once", "setup", CLEAR, NOT_RUN,
                f"the first run did not reach an epoch ({state})")
        return
    holder = lab.start("run", "--resume", "locked")
    lock = out / "run.lock"
    state = wait_until(lambda: lock.exists() and lock.read_text().strip()
                       == f"process {holder.pid}", holder, 120)
    if state != "yes":
        stop(holder)
        lab.add("locks: two resumes at once", "setup", CLEAR, NOT_RUN,
                f"the first resume never held the lock ({state})")
        return
    second = lab.layerlab("run", "--resume", "locked", timeout=120)
    lab.record("locks: two resumes at once", "`layerlab run --resume locked` while another "
               "`run --resume locked` trains", second, names=("in use",), exit_code=2)
    try:
        holder.wait(timeout=180)
    except subprocess.TimeoutExpired:
        stop(holder)
        lab.add("locks: the first resume after the refused one", "wait for it", CORRECT, HANG,
                "no end after 180 s")
        return
    epochs = [r["epoch"] for r in metrics(out) if r.get("kind") == "epoch"]
    status = (read_json(out / "status.json") or {}).get("state")
    ok = holder.returncode == 0 and status == "finished" and sorted(set(epochs)) == list(
        range(21)) and (out / "report.md").exists()
    lab.add("locks: the first resume after the refused one", "wait for the first resume",
            CORRECT, CORRECT if ok else SILENT,
            f"exit {holder.returncode}, status {status!r}, epochs logged 0..{max(epochs)} "
            f"({len(set(epochs))} distinct), report.md: {(out / 'report.md').exists()}")


def probe_last_batch(lab: Lab) -> None:
    args = ["run", "quickstart", "--quick", "--set", "val=499", "--out", "val499"]
    done = lab.layerlab(*args, timeout=180)
    out = lab.root / "val499"
    results = read_json(out / "results.json") or {}
    try:
        row = results["tables"]["results"]["rows"][0]
        per_epoch = {}
        for r in metrics(out):
            if r.get("kind") == "iter":
                per_epoch[r["epoch"]] = per_epoch.get(r["epoch"], 0) + 1
        val_acc = float(row[2])
        correct = val_acc * 499
        ok = (abs(correct - round(correct)) < 1e-6 and 0.1 < val_acc <= 1
              and set(per_epoch.values()) == {30}
              and all(c.get("verdict") != "not judged" for c in results["claims"].values()))
        what = (f"1501 training images, batch 50: {sorted(set(per_epoch.values()))} steps per "
                f"epoch (30 expected, the last batch of one joined); best val acc "
                f"{val_acc:.4f} = {round(correct)}/499; claims judged: "
                f"{[c.get('verdict') for c in results['claims'].values()]}")
    except (KeyError, IndexError, TypeError, ValueError) as err:
        ok, what = False, f"results unreadable: {err!r}"
    lab.record("last batch of one", cmd(*args[:-2]), done, expect="result",
               check=Check(ok, what))


BAD_INPUTS: list[tuple[list[str], tuple[str, ...]]] = [
    (["run", "quickstart", "--quick", "--set", "epochs=-1"], ("epochs",)),
    (["run", "quickstart", "--quick", "--set", "batch_size=0"], ("batch",)),
    (["run", "quickstart", "--quick", "--set", "val=-5"], ("val",)),
    (["run", "quickstart", "--quick", "--set", "hidden_dims=[-5]"], ("hidden_dims",)),
    (["run", "quickstart", "--quick", "--set", "learning_rates=[]"], ("learning_rates",)),
    (["run", "quickstart", "--quick", "--set", "normalization=foo"], ("normalization",)),
    (["run", "quickstart", "--quick", "--set", "dataset=nosuch"], ("dataset",)),
    (["run", "quickstart", "--quick", "--set", "epochs=True"], ("epochs",)),
    (["run", "quickstart", "--quick", "--out", "afile"], ("afile",)),
    (["run", "quickstart", "--quick", "--out", "afile/run"], ("afile",)),
    (["report", "empty"], ("not a run folder",)),
    (["pool", "1 nan; 3 4"], ("nan",)),
    (["pool", "--stride", "0"], ("stride",)),
    (["pool", "--size", "0"], ("size",)),
    (["summary", "--input", "3x32x32", "conv:-8,k=5"], ("conv",)),
    (["summary", "--input", "3x32x32", "fc:-5"], ("fc:-5",)),
    (["summary", "--input", "3x32x32", "dropout:1.5"], ("dropout",)),
    (["run", "quickstart", "--quick", "--threads", "-1"], ("threads",)),
    (["run", "quickstart", "--quick", "--threads", "100000"], ("threads",)),
    (["run", "nosuchexperiment"], ("nosuchexperiment",)),
    (["run", "lenet-fashion", "--quick", "--set", "activation=gelu"], ("activation",)),
    (["run", "mnist-cnn", "--quick", "--set", "channels=[[32, 0]]"], ("channels",)),
    (["run", "open-model", "--quick", "--set", "schedule=cosine"], ("schedule",)),
]


def probe_bad_inputs(lab: Lab) -> None:
    (lab.root / "afile").write_text("a file, not a folder\n")
    (lab.root / "empty").mkdir()
    for i, (args, names) in enumerate(BAD_INPUTS):
        extra = ["--out", f"bad-{i}"] if args[0] == "run" and "--out" not in args else []
        done = lab.layerlab(*args, *extra, timeout=120)
        label = shlex.join(a for a in args if a not in ("quickstart", "--quick", "--set"))
        lab.record(f"bad input: {label}", cmd(*args), done, names=names, exit_code=2)


def probe_kill_resume(lab: Lab) -> None:
    settings = ["--quick", "--set", "epochs=4", "--set", "learning_rates=(1e-3,3e-3)"]
    action = f"SIGKILL {cmd('run', 'quickstart', *settings)} once lr=0.003 started, then " \
             "`layerlab run --resume`"
    straight = lab.layerlab("run", "quickstart", *settings, "--out", "straight", timeout=180)
    if straight.returncode != 0:
        lab.record("kill and resume: the uninterrupted run", cmd("run", "quickstart", *settings),
                   straight, expect="result")
        return
    out = lab.root / "killed"
    proc = lab.start("run", "quickstart", *settings, "--out", "killed")
    state = wait_until(lambda: any(r.get("cell") == "lr=0.003" for r in metrics(out)), proc,
                       120)
    stop(proc)
    status = (read_json(out / "status.json") or {}).get("state")
    if state != "yes" or status == "finished":
        lab.add("kill and resume", action, CORRECT, NOT_RUN,
                f"the run was not interrupted after its first cell ({state}, {status})")
        return
    before = [r for r in metrics(out) if r.get("kind") == "epoch"]
    done = lab.layerlab("run", "--resume", "killed", timeout=180)
    after = metrics(out)
    lost = [r for r in before if r not in after]
    starts = [r["cell"] for r in after if r.get("kind") == "epoch" and r.get("epoch") == 0]
    ours = ((read_json(out / "results.json") or {}).get("tables", {})
            .get("results", {}).get("rows"))
    ref = read_json(lab.root / "straight" / "results.json")["tables"]["results"]["rows"]
    if lost or starts.count("lr=0.001") != 1:
        check = Check(False, f"finished cell lr=0.001 started {starts.count('lr=0.001')} "
                      f"time(s); {len(lost)} epoch line(s) from before the kill missing", LOSS)
    elif ours is None or [r[:-1] for r in ours] != [r[:-1] for r in ref]:
        check = Check(False, f"results table {ours} differs from the uninterrupted run's {ref} "
                      "(train-time column aside)")
    else:
        check = Check(True, f"killed in cell lr=0.003 ({len(before)} epoch lines kept, lr=0.001 "
                      f"not trained again); results rows equal the uninterrupted run's: "
                      f"{[[round(v, 4) for v in r[:-1]] for r in ours]}")
    lab.record("kill and resume", action, done, expect="result", check=check)


def probe_strict_json(lab: Lab) -> None:
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")

    for run_dir in sorted(p.parent for p in lab.root.glob("*/config.json")):
        bad, count = [], 0
        for path in sorted([*run_dir.rglob("*.json"), *run_dir.rglob("*.jsonl")]):
            lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [
                path.read_text()]
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                count += 1
                try:
                    json.loads(line, parse_constant=refuse)
                except ValueError as err:
                    bad.append(f"{path.relative_to(run_dir)}:{number}: {err}")
        lab.add(f"strict JSON: {run_dir.name}", "every .json/.jsonl parsed with NaN/Infinity "
                "refused", CORRECT, CORRECT if not bad else SILENT,
                f"{count} document(s) strict" if not bad else _short("; ".join(bad[:3])))


def probe_fault_tests(lab: Lab) -> None:
    junit = lab.root / "fault-tests.xml"
    env = {**os.environ, "LAYERLAB_LEDGER": "off"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}", *FAULT_TESTS]
    done = lab.command(argv, timeout=1500, cwd=REPO, env=env)
    action = "`python -m pytest -q " + " ".join(FAULT_TESTS) + "`"
    if done.timed_out:
        lab.add("fault-injection tests", action, CORRECT, HANG, "no end after 1500 s")
        return
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
    except (OSError, ET.ParseError):
        lab.add("fault-injection tests", action, CORRECT, TRACEBACK,
                _short((_lines(done.stdout + done.stderr) or ["no output"])[-1]))
        return
    per_file: dict[str, list[int]] = {}
    for case in cases:
        name = case.get("classname", "").replace(".", "/") + ".py"
        tally = per_file.setdefault(name, [0, 0, 0])
        failure, error = case.find("failure"), case.find("error")
        if case.find("skipped") is not None:
            tally[2] += 1
        elif failure is None and error is None:
            tally[0] += 1
        else:
            tally[1] += 1
            node = failure if failure is not None else error
            message = node.get("message") or ""
            kind = SILENT if (failure is not None and "AssertionError" in (
                message + (node.text or "")[:2000]) and error is None) else TRACEBACK
            lab.add(f"fault test fails: {case.get('name')}", f"`pytest {name}`", CORRECT, kind,
                    _short(message or (node.text or "")))
    for name, (passed, failed, skipped) in per_file.items():
        lab.add(f"fault-injection tests: {name}", f"`pytest -q {name}`", CORRECT,
                CORRECT if not failed and passed else SILENT if failed else NOT_RUN,
                f"{passed} passed, {failed} failed, {skipped} skipped")


PROBES = (probe_divergence, probe_damaged_data, probe_stale_cache, probe_report_fails,
          probe_corrupt_weights, probe_lock, probe_last_batch, probe_bad_inputs,
          probe_kill_resume, probe_strict_json, probe_fault_tests)


# --------------------------------------------------------------------------- the page

def totals(rows: Sequence[Row]) -> dict[str, int]:
    return {name: sum(r.outcome == name for r in rows) for name in CLASSES}


def goal_met(counts: dict[str, int]) -> bool:
    return all(counts.get(name, 0) == 0 for name in MUST_BE_ZERO)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def page(rows: Sequence[Row], revision: str, date: str, seconds: float) -> str:
    counts = totals(rows)
    met = goal_met(counts)
    off = [r for r in rows if r.outcome != r.expected]
    lines = [
        "# Reliability probes",
        "",
        f"**Goal: {GOAL}.** "
        + ("**Met**" if met else "**Not met**")
        + f" on this run: {', '.join(f'{counts[c]} {c}' for c in MUST_BE_ZERO)}.",
        "",
        "Each probe is a hostile-but-fair use of layerlab (a diverged run, damaged data, a "
        "killed run, two processes on one run, bad input), run as a subprocess in a temporary "
        "folder with `LAYERLAB_LEDGER=off` and `--quick` runs; its outcome is classified as "
        "*clear error* (exit code != 0, no traceback, the message names the problem), *correct "
        "result* (it succeeded and the result was checked), *traceback*, *silent wrong* (exit 0, "
        "wrong result), *data loss* (something finished was lost), *hang* (timeout), and here "
        "also *unclear error* (refused, but the message names no problem or the exit code is "
        "not the documented one) and *not run* (the probe could not be set up). The evidence is "
        "the one line the user saw, or what was checked. Bad input runs add `--quick` and an "
        "`--out` folder, so that input let through would not start a full run.",
        "",
        "Regenerate this page (a few minutes on 2 cores; it changes nothing in the checkout):",
        "",
        "    python scripts/reliability.py --write docs/reliability.md",
        "",
        f"Generated {date} from source revision {revision}, in {seconds:.0f} s.",
        "",
        "| probe | command or action | expected | outcome | evidence |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {_cell(r.probe)} | {_cell(r.action)} | {r.expected} | **{r.outcome}** | "
              f"{_cell(r.evidence)} |" for r in rows]
    lines += ["", "## Totals", "", "| outcome | probes |", "| --- | --- |"]
    lines += [f"| {name} | {counts[name]} |" for name in CLASSES]
    lines += ["", f"{len(rows)} probes; goal {'met' if met else 'not met'}."]
    lines += ["", "## Outcomes other than expected", ""]
    lines += ([f"- {r.probe}: expected {r.expected}, got **{r.outcome}**: {r.evidence}"
               for r in off] or ["None: every probe ended as expected."])
    return "\n".join(lines) + "\n"


def revision() -> str:
    try:
        from layerlab.lab.environment import environment

        return str(environment().get("source_revision") or "unknown")
    except Exception:  # the page is still worth writing
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", metavar="PATH", help="write the page there (default: print)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="layerlab-reliability-"))
    lab = Lab(root)
    try:
        for probe in PROBES:
            print(f"{probe.__name__} ...", file=sys.stderr, flush=True)
            try:
                probe(lab)
            except Exception as err:  # a fault of this script, not of layerlab: say so
                lab.add(probe.__name__, "(the probe itself failed)", CORRECT, NOT_RUN,
                        _short(f"{type(err).__name__}: {err}"))
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = page(lab.rows, revision(), date, time.perf_counter() - start)
    if args.write:
        Path(args.write).write_text(text)
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        print(text)
    counts = totals(lab.rows)
    print(", ".join(f"{counts[c]} {c}" for c in CLASSES if counts[c]), file=sys.stderr)
    return 0 if goal_met(counts) else 1


if __name__ == "__main__":
    sys.exit(main())
