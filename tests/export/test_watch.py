"""`layerlab watch RUN_DIR` following a run folder that another process writes into."""

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time

from export_helpers import BLOCKED, layerlab, layerlab_env, one_line_error

from layerlab.lab.watch import sparkline


def watch_process(run_dir, stdout=subprocess.PIPE):
    """`layerlab watch RUN_DIR --interval 0.1` started in the background."""
    # A background job (CI's shell, a pytest-xdist worker) may start with SIGINT ignored, and a
    # child inherits that: restore the default so Ctrl-C reaches the child's Python as in a
    # terminal.
    return subprocess.Popen([sys.executable, "-c", BLOCKED, "", "watch", str(run_dir),
                             "--interval", "0.1"], stdout=stdout, stderr=subprocess.PIPE,
                            text=True, env=layerlab_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


class Output:
    """What a stream says, collected by a thread, so a test can wait for a line."""

    def __init__(self, read):
        self.text = ""
        self._chunks = queue.Queue()
        threading.Thread(target=self._pump, args=(read,), daemon=True).start()

    def _pump(self, read):
        while True:
            try:
                chunk = read()
            except OSError:  # a terminal whose other end closed
                chunk = ""
            self._chunks.put(chunk)
            if not chunk:
                return

    def wait_for(self, text, timeout=30.0):
        """Collect until `text` appears; fails after `timeout` seconds."""
        end = time.monotonic() + timeout
        while text not in self.text:
            try:
                self.text += self._chunks.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {self.text!r}") from None
        return self.text


def fake_run(tmp_path):
    """A run folder as `layerlab run` starts one: config.json, status running, metrics."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"experiment": "fake", "config": {}}))
    set_state(run, "running")
    append(run, {"cell": "lr=0.1", "kind": "iter", "epoch": 1, "iteration": 1, "loss": 2.5})
    return run


def set_state(run, state, **extra):
    """Write status.json as a run does: whole, by a rename."""
    (run / "status.tmp").write_text(json.dumps({"state": state, **extra}))
    os.replace(run / "status.tmp", run / "status.json")


def append(run, row, cut=None):
    """Append one metrics line; with `cut`, in two writes `cut` characters apart, as a writer
    caught half way would."""
    text = json.dumps(row) + "\n"
    with open(run / "metrics.jsonl", "a") as f:
        f.write(text[:cut])
        f.flush()
        if cut is not None:
            time.sleep(0.3)  # several looks of the watcher see half a line
            f.write(text[cut:])


def test_watch_shows_new_figures_and_ends_when_the_run_finishes(tmp_path):
    run = fake_run(tmp_path)
    proc = watch_process(run)
    out = Output(proc.stdout.readline)
    try:
        out.wait_for("lr=0.1 · epoch 1, iteration 1: iter loss 2.5")
        append(run, {"cell": "lr=0.1", "kind": "epoch", "epoch": 1, "val_acc": 0.4321},
                   cut=25)
        out.wait_for("epoch val_acc 0.4321")
        for i in range(2, 6):
            append(run, {"cell": "lr=0.01", "kind": "iter", "epoch": 1, "iteration": i,
                         "loss": 3.0 - i / 10})
        out.wait_for("lr=0.01 · epoch 1, iteration 5: iter loss 2.5")
        assert proc.poll() is None  # still following while the run runs
        set_state(run, "finished", wall_time=75.0)
        assert proc.wait(timeout=30) == 0
        text = out.wait_for("fake finished after 1 min\n")
    finally:
        proc.kill()
        proc.wait()
    assert text.endswith("fake finished after 1 min\n")
    assert "Traceback" not in proc.stderr.read()
    assert '{"cell"' not in text  # the half-written line was read once, whole
    # at the end, the whole view once: both cells, their curves (a falling loss) and ranges
    final = text[text.index("fake · "):]
    assert "fake · " in final and "· finished · 2 cell(s)" in final
    loss_line = next(line for line in final.splitlines() if "iter loss" in line
                     and "2.5  " in line and "(4 points)" in line)
    assert "█▆▃▁" in loss_line and "2.5 .. 2.8" in loss_line


def test_watch_redraws_in_place_on_a_terminal(tmp_path):
    run = fake_run(tmp_path)
    master, slave = pty.openpty()
    proc = watch_process(run, stdout=slave)
    os.close(slave)
    out = Output(lambda: os.read(master, 4096).decode(errors="replace"))
    try:
        out.wait_for("iter loss")
        append(run, {"cell": "lr=0.1", "kind": "iter", "epoch": 1, "iteration": 2,
                     "loss": 1.5})
        out.wait_for("(2 points)")
        set_state(run, "failed", wall_time=3.0, error="ValueError: bad")
        assert proc.wait(timeout=30) == 0
        text = out.wait_for("fake failed after 3 s: ValueError: bad")
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    assert "\x1b[J" in text and "F\x1b[J" in text  # cursor up over the last view, cleared
    assert "█▁" in text  # the loss fell from 2.5 to 1.5


def test_ctrl_c_stops_watching_cleanly(tmp_path):
    run = fake_run(tmp_path)
    proc = watch_process(run)
    out = Output(proc.stdout.readline)
    try:
        out.wait_for("iter loss 2.5")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
        proc.wait()
    err = proc.stderr.read().strip()
    assert "Traceback" not in err
    assert err == f"stopped watching; the run goes on (follow it again: layerlab watch {run})"


def test_watch_refuses_a_folder_that_holds_no_run(tmp_path):
    done = layerlab("watch", tmp_path)
    assert done.returncode == 2
    assert "is not a run folder (no config.json)" in one_line_error(done)
    done = layerlab("watch", tmp_path / "nothing")
    assert done.returncode == 2
    assert "no such folder" in one_line_error(done)
    done = layerlab("watch", tmp_path, "--interval", "0")
    assert done.returncode == 2 and "'0' is not a number of seconds above 0" in done.stderr


def test_sparkline_scales_to_the_range_and_marks_what_is_not_finite():
    assert sparkline(list(range(8)), 20) == "▁▂▃▄▅▆▇█"
    assert sparkline(list(range(16)), 8) == "▁▂▃▄▅▆▇█"  # means of pairs
    assert sparkline([1.0, float("nan"), 3.0], 10) == "▁×█"
    assert sparkline([2.0, 2.0], 10) == "▄▄"
    assert sparkline([], 10) == ""
