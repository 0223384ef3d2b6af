"""`sleepy`: a toy experiment for sweep tests across processes: 12 cells of about a second.

Each cell sleeps SECONDS, then draws a number from its own seed (so a cell run again, by any
process, gives the same number). When LAYERLAB_TEST_MARKERS names a folder, a cell leaves a
file there when it starts and another when it finishes, named with the cell and the process,
so a test can count which process ran each cell to completion.

Registered (`register()`) in the `layerlab` subprocesses the test starts, by the
sitecustomize.py it writes; never in the test process, whose other tests list every
registered experiment.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layerlab.analysis.verdict import from_seeds
from layerlab.lab import registry, sweep

CELLS = 12
SECONDS = 1.0


@dataclass
class SleepyConfig:
    seed: int = 0


def _mark(event, cell):
    folder = os.environ.get("LAYERLAB_TEST_MARKERS")
    if folder:
        Path(folder, f"{event}-{cell['i']}-{os.getpid()}-{time.monotonic_ns()}").touch()


def sleepy(cfg, run):
    """Twelve slow cells; a table of their numbers and a measured mean."""

    def train(cell):
        _mark("start", cell)
        time.sleep(SECONDS)
        value = float(np.random.default_rng([cfg.seed, cell["i"]]).normal())
        _mark("finish", cell)
        return {"value": value}

    results = sweep.grid(run, "cells", [{"i": i} for i in range(CELLS)], train,
                         objective="value")
    values = [r["value"] for r in results]
    run.table("values", ["cell", "value"], [[i, v] for i, v in enumerate(values)])
    run.plot("values", "curves", title="values by cell", xlabel="cell", ylabel="value",
             series={"value": [list(range(CELLS)), values]})
    run.judge("mean value", "measured", from_seeds(values))


def register():
    """Make `sleepy` known to this process (the layerlab subprocesses of the tests only: the
    test processes' own registry stays that of the package)."""
    if "sleepy" not in registry._EXPERIMENTS:
        registry.experiment("sleepy", study="-", title="twelve slow cells", estimate="12 s",
                            config=SleepyConfig)(sleepy)
