"""Timing for benchmarks and timing experiments: warm-up, repeats, median and spread, and what
the numbers ran on.

Benchmarks (`benchmarks/`) print ratios measured side by side in one run, never absolute goals;
each prints a table and, as its last line, one JSON object with its figures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

import numpy as np


def measure(fn, repeats=20, warmup=3, min_time=0.0):
    """Call fn() `warmup` times, then time `repeats` calls (more if under min_time seconds).

    Returns a dict with median, min, max and relative spread (IQR / median) in seconds.
    """
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    median = statistics.median(times)
    return {"median": median, "min": min(times), "max": max(times),
            "spread": (q[2] - q[0]) / median, "n": len(times)}


def time_interleaved(fns, repeats=20, warmup=3, min_time=0.0):
    """Time several functions round by round (a, b, a, b, ...) so that load from other
    processes falls on all of them alike (warm-up, repeats, median and IQR spread as in
    `measure`).

    Returns (one dict per fn with median, spread (IQR / median) and n; the list of per-round
    time ratios fns[0] / fns[i] for every i > 0).
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < repeats or time.perf_counter() - start < min_time:
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    stats = []
    for ts in times:
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
        median = statistics.median(ts)
        stats.append({"median": median, "spread": (q[2] - q[0]) / median, "n": len(ts)})
    ratios = [[a / b for a, b in zip(times[0], ts, strict=True)] for ts in times[1:]]
    return stats, ratios


def machine():
    """What the benchmark ran on: CPU, cores, NumPy's BLAS and its thread count."""
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            info["blas"] = f"{blas[0]['internal_api']} {blas[0].get('version')}"
            info["blas_threads"] = blas[0]["num_threads"]
            info["blas_arch"] = blas[0].get("architecture")
    except ImportError:
        info["blas"] = "unknown (pip install threadpoolctl)"
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def print_table(header, rows):
    """Print rows (lists of cells) as an aligned table under `header`."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_json(figures):
    """The last line of every benchmark: one JSON object."""
    print(json.dumps(figures, sort_keys=False))
