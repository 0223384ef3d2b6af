"""The grading process: one child process per student module runs the checks, each within a
time limit; a check that overruns is a failure, the child is killed and a fresh one serves the
next check. A crash of the child (a segfault, os._exit) fails only the check that caused it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection

from layerlab.grade.child import outcome
from layerlab.grade.loader import GradeInputError, check_path
from layerlab.grade.table import checks

# The child's own start (Python, NumPy, layerlab) is not the student's time.
START_LIMIT = 120.0


class Child:
    """A child process serving checks of one student module.

    It is `python -m layerlab.grade.child`, started afresh (never forked: the grading process
    may hold threads, and a spawned multiprocessing child would re-run the caller's script),
    talking over a socket pair wrapped in multiprocessing's Connection (pickled messages).
    """

    def __init__(self, path, style, time_limit):
        self.path, self.style, self.time_limit = path, style, time_limit
        self.proc = self.conn = None

    def _receive(self, limit, what):
        if not self.conn.poll(limit):
            self.kill()
            raise TimeoutError(what)
        return self.conn.recv()

    def start(self):
        """Start a child and import the student's code in it; returns {present, skipped}."""
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")  # tiny matrices: one BLAS thread per process
        mine, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "layerlab.grade.child", str(theirs.fileno()), str(self.path),
             self.style], pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(mine.detach())
        try:
            self._receive(START_LIMIT, "start")
            kind, payload = self._receive(self.time_limit, "import")
        except TimeoutError as err:
            raise GradeInputError(
                f"importing {self.path} did not finish within {self.time_limit:g} s (a loop at "
                "module level?); move such work under `if __name__ == '__main__':`"
                if str(err) == "import" else "the grading process did not start") from None
        except EOFError:
            code = self.proc.wait(5)
            self.kill()
            raise GradeInputError(f"importing {self.path} ended the process (exit code "
                                  f"{code})") from None
        if kind == "error":
            self.kill()
            raise GradeInputError(payload)
        return payload

    def run(self, name):
        """The outcome of check `name`; a timeout or a crash is that check's failure."""
        if self.proc is None:
            self.start()
        start = time.perf_counter()
        self.conn.send(("run", name))
        if not self.conn.poll(self.time_limit):
            self.kill()
            return self._failed(name, f"timed out after {self.time_limit:g} s (an endless loop, "
                                      "or far too slow); the process was stopped", start)
        try:
            return self.conn.recv()[1]
        except EOFError:
            code = self.proc.wait(5)
            self.kill()
            return self._failed(name, f"the process running it died (exit code {code})", start)

    def _failed(self, name, message, start):
        result = outcome(name, [], "", time.perf_counter() - start)
        result.update(status="FAIL", error=float("inf"), message=message)
        return result

    def kill(self):
        """Stop the child now (its next run starts a fresh one)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.conn.close()
        self.proc = self.conn = None

    def close(self):
        """Ask the child to stop, and make sure it has."""
        if self.proc is not None:
            try:
                self.conn.send(None)
                self.proc.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.kill()


def not_attempted(name, message):
    """The outcome of a check whose name the student did not define."""
    result = outcome(name, [], "", 0.0)
    result.update(status="not attempted", message=message)
    return result


# The layers a FullyConnectedNet is built from: when they fail, so does the net.
NET_LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
              "batchnorm_forward", "batchnorm_backward", "layernorm_forward",
              "layernorm_backward", "softmax_loss")


def _net_hint(results):
    """A failed FullyConnectedNet without a diagnosis points at its failing layers, if any."""
    failed = [c["name"] for c in results if c["status"] == "FAIL" and c["name"] in NET_LAYERS]
    for c in results:
        if c["name"] == "FullyConnectedNet" and c["status"] == "FAIL" and failed \
                and not c["diagnosis"]:
            c["diagnosis"] = (f"the layers it is built from fail their own checks "
                              f"({', '.join(failed)}): fix those first")


def grade(path, style="cs231n", only=None, time_limit=10.0):
    """Grade the student's file or package; returns the result as plain data.

    only: the names to grade (default every name); time_limit: seconds per check.
    GradeInputError: the path cannot be graded (missing, a syntax error, its import fails).
    """
    shown, path = str(path), check_path(path)
    todo = [c for c in checks() if only is None or c.name in only]
    start = time.perf_counter()
    worker = Child(path, style, time_limit)
    try:
        info = worker.start()
        present = set(info["present"])
        results = []
        for check in todo:
            missing = [n for n in check.needs if n not in present]
            if check.name not in present:
                results.append(not_attempted(check.name, f"{check.name} is not defined"))
            elif missing:
                results.append(not_attempted(
                    check.name, f"needs {', '.join(missing)}, which is not defined"))
            else:
                results.append(worker.run(check.name))
    finally:
        worker.close()
    _net_hint(results)
    return {"path": shown, "style": style, "time_limit": time_limit,
            "skipped_modules": info["skipped"], "checks": results,
            "seconds": round(time.perf_counter() - start, 2)}
