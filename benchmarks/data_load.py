"""Load times of the data layer: MNIST from gzip, CIFAR-10 cold (decode) and warm (cache).

    python benchmarks/data_load.py

Cold CIFAR-10 decodes into a fresh temporary cache (measured once: it is the cost a machine
pays on first use); warm loads read that cache. Goals: full MNIST (train + test) <= 1 s,
cached CIFAR-10 (train + test) <= 0.5 s. Datasets not on the machine are reported as missing.
Prints the machine first (BLAS kernel, CPU SIMD sets, a WARNING if OPENBLAS_CORETYPE forces an
older kernel than the CPU supports); the last line is one JSON object with the figures.
"""

from __future__ import annotations

import os
import tempfile
import time

from layerlab.data import DataNotFoundError, load
from layerlab.timing import machine, measure, print_json, print_machine, print_table

GOALS = {"mnist gzip": 1.0, "cifar10 warm": 0.5}


def both(name):
    """Load train and test of `name`; returns the total number of examples."""
    return len(load(name, "train")) + len(load(name, "test"))


def main() -> None:
    rows, figures = [], {"benchmark": "data_load", "machine": print_machine(machine())}
    try:
        n = both("mnist")
        m = measure(lambda: both("mnist"), repeats=5, warmup=1)
        rows.append(["mnist gzip", n, f"{m['median']:.3f}", f"{m['spread']:.0%}", "<= 1.0"])
        figures["mnist_s"] = m["median"]
    except DataNotFoundError:
        rows.append(["mnist gzip", "missing", "-", "-", "<= 1.0"])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp  # an empty cache: the first load decodes
        try:
            t0 = time.perf_counter()
            n = both("cifar10")
            cold = time.perf_counter() - t0
            m = measure(lambda: both("cifar10"), repeats=5, warmup=1)
            rows.append(["cifar10 cold (decode)", n, f"{cold:.3f}", "1 run", "-"])
            rows.append(["cifar10 warm (cache)", n, f"{m['median']:.3f}", f"{m['spread']:.0%}",
                         "<= 0.5"])
            figures.update(cifar10_cold_s=cold, cifar10_warm_s=m["median"],
                           cifar10_source=load("cifar10", "test").source)
        except DataNotFoundError:
            rows.append(["cifar10", "missing", "-", "-", "<= 0.5"])
    print_table(["load (train + test)", "examples", "seconds", "spread", "goal"], rows)
    print_json(figures)


if __name__ == "__main__":
    main()
