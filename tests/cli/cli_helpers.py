"""Helpers of the CLI tests: the `layerlab` command run as a user runs it."""

import os
import subprocess
import sys

from without_torch import WITHOUT_TORCH


def layerlab(*args, cwd=None, torch=True):
    """Run `layerlab ARGS` (without PyTorch when torch=False); returns the CompletedProcess."""
    env = {**os.environ, "LAYERLAB_LEDGER": "off", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    head = [sys.executable, "-m", "layerlab"] if torch else [sys.executable, "-c", WITHOUT_TORCH]
    return subprocess.run([*head, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def one_line_error(done):
    """The stderr of a refused command: one line, no traceback, exit status not 0."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]
