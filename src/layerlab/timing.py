"""Timing for benchmarks and timing experiments: warm-up, repeats, median and spread, and what
the numbers ran on (`machine`, printed by `print_machine`), with a warning when
OPENBLAS_CORETYPE forces a BLAS kernel older than the CPU supports.

Benchmarks (`benchmarks/`) print ratios measured side by side in one run, never absolute goals;
each prints a table and, as its last line, one JSON object with its figures.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np


def measure(fn, repeats=20, warmup=3, min_time=0.0, setup=None, keep_result=False):
    """Call fn() `warmup` times, then time `repeats` calls (more if under min_time seconds).

    setup: called (untimed) before every call; its result is passed to fn (fn(setup())).
    keep_result: hold each call's result until the next call returns, as a training step
    keeps its outputs (so a call does not find the previous call's memory freed for it).

    Returns a dict with median, min, max and relative spread (IQR / median) in seconds, and n.
    """
    result = None
    for _ in range(warmup):
        out = fn(setup()) if setup else fn()
        result = out if keep_result else None  # noqa: F841 (kept until the next call returns)
        del out
    times = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_time:
        arg = setup() if setup else None
        t0 = time.perf_counter()
        out = fn(arg) if setup else fn()
        times.append(time.perf_counter() - t0)
        result = out if keep_result else None  # noqa: F841 (kept until the next call returns)
        del out
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


# SIMD instruction sets that decide which OpenBLAS kernel an x86-64 CPU can run, in the names
# /proc/cpuinfo's `flags` line uses (except "pni", which is listed under its usual name sse3).
SIMD_FLAGS = ("sse", "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "sse4a", "avx", "fma", "fma4",
              "avx2", "avx_vnni", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")

# OpenBLAS's x86-64 kernels (OPENBLAS_CORETYPE names, matched in any case) by the instruction
# sets they are written for, oldest first: a later level is faster on a CPU that has it.
KERNEL_LEVELS = [
    (("sse",), ("Katmai", "Coppermine", "Athlon")),
    (("sse2",), ("Northwood", "Banias", "Opteron")),
    (("sse3",), ("Prescott", "Atom", "Opteron_SSE3", "Barcelona", "Nano")),
    (("ssse3",), ("Core2", "Bobcat")),
    (("sse4_1",), ("Penryn", "Dunnington")),
    (("sse4_2",), ("Nehalem",)),
    (("avx",), ("Sandybridge", "Bulldozer", "Piledriver", "Steamroller")),
    (("avx2", "fma"), ("Haswell", "Excavator", "Zen")),
    (("avx512f",), ("SkylakeX",)),
    (("avx512f", "avx512_bf16"), ("Cooperlake",)),
    (("avx512f", "amx_tile"), ("SapphireRapids",)),
]


def cpu_model_and_simd(path="/proc/cpuinfo"):
    """(CPU model name, list of the SIMD_FLAGS the CPU has) from /proc/cpuinfo; off Linux, or if
    the file has no such lines: (platform.processor() or the machine type, [])."""
    model, flags = None, set()
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    if "pni" in flags:
        flags.add("sse3")
    return (model or platform.processor() or platform.machine(),
            [f for f in SIMD_FLAGS if f in flags])


def machine():
    """What the benchmark ran on. Returns a dict: python, numpy, cpu (model), cpu_simd (list of
    SIMD_FLAGS, empty where unknown), cores, blas ("library version"), blas_threads,
    blas_kernel (threadpoolctl's architecture), blas_kernel_forced (OPENBLAS_CORETYPE or None),
    blas_l2_size_forced (OPENBLAS_L2_SIZE or None), blas_kernel_warning (str or None), and
    torch and torch_threads when PyTorch is installed."""
    cpu, simd = cpu_model_and_simd()
    info = {"python": platform.python_version(), "numpy": np.__version__, "cpu": cpu,
            "cpu_simd": simd, "cores": os.cpu_count(), "blas": None, "blas_threads": None,
            "blas_kernel": None,
            "blas_kernel_forced": os.environ.get("OPENBLAS_CORETYPE"),
            "blas_l2_size_forced": os.environ.get("OPENBLAS_L2_SIZE")}
    try:
        from threadpoolctl import threadpool_info

        # NumPy is imported above, so its BLAS is loaded and threadpool_info lists it; another
        # library's BLAS may be listed too, so NumPy's own (under its package) comes first.
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        blas.sort(key=lambda p: "numpy" not in p.get("filepath", ""))
        if blas:
            info["blas"] = f"{blas[0]['internal_api']} {blas[0].get('version')}"
            info["blas_threads"] = blas[0]["num_threads"]
            info["blas_kernel"] = blas[0].get("architecture")
    except ImportError:
        info["blas"] = "unknown (pip install threadpoolctl)"
    info["blas_kernel_warning"] = blas_kernel_warning(info)
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def kernel_level(name):
    """Index in KERNEL_LEVELS of OpenBLAS kernel `name` (any case), or None if unknown."""
    for i, (_, names) in enumerate(KERNEL_LEVELS):
        if name.lower() in (n.lower() for n in names):
            return i
    return None


def cpu_level(simd):
    """Index in KERNEL_LEVELS of the newest kernel level whose instruction sets are all in
    `simd`, or None if none is (for example when the CPU's flags are unknown)."""
    levels = [i for i, (needs, _) in enumerate(KERNEL_LEVELS) if set(needs) <= set(simd)]
    return max(levels) if levels else None


def blas_kernel_warning(info, argv=None):
    """A warning (str) when OPENBLAS_CORETYPE (info["blas_kernel_forced"]) forces an OpenBLAS
    kernel older than the CPU's SIMD flags (info["cpu_simd"]) support, else None. The warning
    gives the command that reruns `argv` (default sys.argv) natively."""
    forced = info.get("blas_kernel_forced")
    if not forced or not (info.get("blas") or "").startswith("openblas"):
        return None
    kernel, cpu = kernel_level(forced), cpu_level(info.get("cpu_simd") or [])
    # An unknown name or unknown CPU flags leave nothing to compare; which kernel OpenBLAS
    # would pick without the variable cannot be known from inside this process.
    if kernel is None or cpu is None or kernel >= cpu:
        return None
    argv = sys.argv if argv is None else argv
    command = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python " + shlex.join(argv)
    return (f"OPENBLAS_CORETYPE={forced} forces OpenBLAS's {forced} kernel (written for "
            f"{'+'.join(KERNEL_LEVELS[kernel][0])}; threadpoolctl reports "
            f"{info.get('blas_kernel')}), older than this CPU supports "
            f"({'+'.join(KERNEL_LEVELS[cpu][0])}, e.g. {KERNEL_LEVELS[cpu][1][0]}), so "
            "BLAS-bound timings are slower than native. Tests and CI must keep the environment "
            "as it is; only this one command, to measure natively, unsets the variables: "
            + command)


def describe_machine(info):
    """Human-readable lines for a machine() dict: the BLAS and its kernel, the CPU and its
    SIMD instruction sets, the Python side."""
    forced = [f"{var}={info[key]}" for var, key in (("OPENBLAS_CORETYPE", "blas_kernel_forced"),
                                                      ("OPENBLAS_L2_SIZE", "blas_l2_size_forced"))
              if info.get(key)]
    env = f" ({', '.join(forced)})" if forced else ""
    lines = [f"blas: {info.get('blas')}, kernel {info.get('blas_kernel')}{env}, "
             f"{info.get('blas_threads')} threads",
             f"cpu: {info.get('cpu')}, {info.get('cores')} cores "
             f"({' '.join(info.get('cpu_simd') or []) or 'SIMD flags unknown'})"]
    python = f"python {info.get('python')}, numpy {info.get('numpy')}"
    if "torch" in info:
        python += f", torch {info['torch']} ({info.get('torch_threads')} threads)"
    return lines + [python]


def print_machine(info):
    """Print describe_machine(info) and, if there is one, the BLAS kernel warning prefixed
    'WARNING:'. Returns info."""
    for line in describe_machine(info):
        print(line)
    if info.get("blas_kernel_warning"):
        print(f"WARNING: {info['blas_kernel_warning']}")
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
