"""What a run ran on: versions, BLAS and threads, machine, source revision."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_revision():
    """The source checkout's commit, '(modified)' when the package's sources differ from it."""
    package = Path(__file__).resolve().parent.parent  # src/layerlab
    try:
        out = subprocess.run(["git", "-C", str(package), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(package), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + (" (modified)" if dirty.stdout.strip() else "")


def environment():
    """A JSON-able description of the machine and software of this process."""
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": {p: _version(p) for p in
                     ("layerlab", "numpy", "torch", "optuna", "matplotlib", "pillow")},
        "source_revision": _git_revision(),
    }
    try:
        from threadpoolctl import threadpool_info

        env["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                      "num_threads", "architecture")}
                              for p in sorted(threadpool_info(),  # one order in every process
                                              key=lambda p: (p.get("user_api") or "",
                                                             p.get("internal_api") or ""))]
    except ImportError:
        env["threadpools"] = "unknown (threadpoolctl not installed)"
    try:  # what PyTorch can train on here: the device `auto` picks, GPUs, torchrun processes
        from layerlab.pytorch.device import describe

        env["torch_devices"] = describe()
    except ImportError:  # the engine's install, without PyTorch
        pass
    return env
