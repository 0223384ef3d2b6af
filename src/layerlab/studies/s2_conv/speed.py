"""conv-speed (S2.1, S2.2): naive (a Python loop per output pixel) vs fast (im2col and one
matrix product; pooling by reshapes) convolution and max pooling, forward and backward, and
how far the two agree; one grid cell per timing, float64."""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from layerlab.analysis import count, verdict
from layerlab.lab.config import count_of, count_or_zero, rows, shape, text
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.references import S2_1_CONV_SPEEDUP
from layerlab.scratch.conv import Conv
from layerlab.scratch.pool import MaxPool
from layerlab.timing import describe_machine, machine, measure

SOURCE = "S2.1 (course notebook ConvolutionalNetworks: fast layers)"
PASSES = ("forward", "backward")
BOTH = "forward+backward"


@dataclass
class ConvSpeedConfig:
    """conv_cases: (label, x shape, w shape, stride, pad), the first the study's (it carries the
    claims); pool_cases: (label, x shape, (pool_height, pool_width), stride); threads: BLAS
    thread counts of the fast conv (naive: 1; pooling uses no BLAS). All in float64."""

    checks = {"conv_cases": rows(text, shape, shape, count_of, count_or_zero),
              "pool_cases": rows(text, shape, shape, count_of)}

    conv_cases: tuple = (("study", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
                         ("conv-net layer 1", (50, 3, 32, 32), (32, 3, 7, 7), 1, 3),
                         ("mid-size 3x3", (64, 32, 16, 16), (64, 32, 3, 3), 1, 1))
    pool_cases: tuple = (("2x2 stride 2", (100, 25, 16, 16), (2, 2), 2),
                         ("3x3 stride 2", (100, 25, 15, 15), (3, 3), 2))
    threads: tuple = (1, 2)
    naive_repeats: int = 3
    fast_repeats: int = 30
    fast_warmup: int = 3
    agree_tolerance: float = 1e-9
    seed: int = 0


def timed(fn, repeats, warmup):
    """`measure(fn, keep_result=True)` (each result alive until the next call returns, as in
    training) and fn's last result."""
    last = [None]

    def call():
        last[0] = fn()
        return last[0]

    return measure(call, repeats=repeats, warmup=warmup, keep_result=True), last[0]


def source_fingerprint(*objects):
    """{file name: first 12 hex digits of its SHA-256, plus ' (differs from git HEAD)' when the
    working tree changes it} of the files defining `objects`: exactly what was timed."""
    out = {}
    for path in (Path(inspect.getsourcefile(obj)) for obj in objects):
        try:
            changed = subprocess.run(["git", "-C", str(path.parent), "diff", "--quiet", "HEAD",
                                      "--", path.name], capture_output=True,
                                     timeout=10).returncode == 1
        except (OSError, subprocess.TimeoutExpired):
            changed = False
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] + (
            " (differs from git HEAD)" if changed else "")
    return out


def max_abs_diff(a, b):
    """Largest |a - b| over all entries (float64)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)),
                        initial=0.0))


def _case(case):
    """A case with its shapes as tuples of ints (JSON gives lists; claim names show them)."""
    return tuple(tuple(int(v) for v in f) if isinstance(f, (list, tuple)) else f for f in case)


def conv_inputs(x_shape, w_shape, stride, pad, seed):
    """((x, w, b, conv_param), upstream gradient of the output's shape), random float64."""
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[0]))
    out = [(x_shape[i] + 2 * pad - w_shape[i]) // stride + 1 for i in (2, 3)]
    dout = rng.standard_normal((x_shape[0], w_shape[0], *out))
    return (x, w, b, {"stride": stride, "pad": pad}), dout


def _pool_inputs(x_shape, window, stride, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    param = {"pool_height": window[0], "pool_width": window[1], "stride": stride}
    return (x, param), rng.standard_normal(MaxPool.forward(x, param)[0].shape)


def _time_cell(layer, case, impl, threads, cfg):
    """One timing cell: forward, and backward on one cached forward, of one implementation
    with BLAS limited to `threads` (None: no limit). Naive cells also measure agreement."""
    _, *shape = _case(case)
    args, dout = (conv_inputs if layer is Conv else _pool_inputs)(*shape, cfg.seed)
    load_before = os.getloadavg()[0]
    with threadpool_limits(limits=threads, user_api="blas"):
        info, diff = machine(), None
        if impl == "naive":
            fwd, (out, cache) = timed(lambda: layer.forward_naive(*args), cfg.naive_repeats, 0)
            bwd, grads = timed(lambda: layer.backward_naive(dout, cache), cfg.naive_repeats, 0)
            fast_out, fast_cache = layer.forward(*args)
            fast = layer.backward(dout, fast_cache)
            grads, fast = (grads, fast) if layer is Conv else ((grads,), (fast,))
            diff = {"out": max_abs_diff(out, fast_out), **{
                name: max_abs_diff(g, f) for name, g, f in
                zip(("dx", "dw", "db")[:len(grads)], grads, fast, strict=True)}}
        else:
            cache = layer.forward(*args)[1]
            fwd, _ = timed(lambda: layer.forward(*args), cfg.fast_repeats, cfg.fast_warmup)
            bwd, _ = timed(lambda: layer.backward(dout, cache), cfg.fast_repeats,
                           cfg.fast_warmup)
    return {"case": case[0], "impl": impl, "threads_requested": threads,
            "threads": info["blas_threads"], "blas": info["blas"], "forward": fwd,
            "backward": bwd, "max_abs_diff": diff, "source": source_fingerprint(layer),
            "load_average": [load_before, os.getloadavg()[0]]}


def _ms(result, p):
    """Median milliseconds of one pass of a timing cell (BOTH: the sum of the two)."""
    return sum(_ms(result, q) for q in PASSES) if p == BOTH else result[p]["median"] * 1e3


def _fast_ms(fast, p):
    """'0.123 (5%)': a fast median and its spread (BOTH: the median alone)."""
    return f"{_ms(fast, p):.3f}" + ("" if p == BOTH else f" ({fast[p]['spread']:.0%})")


def _speedup_claim(run, name, kind, naive, fast, p, reference=None, note="", **claim):
    """A speed-up claim: the ratio of the medians, an exact figure (cells keep no per-call
    times); its note gives both medians, their spreads and the ratio of the fastest calls."""
    run.judge(name, kind, verdict.exact(_ms(naive, p) / _ms(fast, p)), reference, unit="x",
              note=f"ratio of medians: naive {_ms(naive, p):.1f} ms (spread "
              f"{naive[p]['spread']:.0%} over {naive[p]['n']} calls), fast {_ms(fast, p):.3f} "
              f"ms (spread {fast[p]['spread']:.0%} over {fast[p]['n']} calls; spread = IQR / "
              f"median); from the fastest calls: {naive[p]['min'] / fast[p]['min']:.0f}x{note}",
              **claim)


def _describe(case):
    _, x_shape, w_shape, stride, pad = _case(case)
    return f"x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"


def _conv_speed(cfg, run, results, threads):
    """The conv speed table, heatmap and claims (the claims on the first, the study's, case)."""
    labels = [c[0] for c in cfg.conv_cases]
    rows, heat = [], []
    for label in labels:
        naive, fasts = results[(label, "naive", 1)], [results[(label, "fast", t)] for t in threads]
        heat.append([_ms(naive, p) / _ms(f, p) for f in fasts for p in (*PASSES, BOTH)])
        rows += [[label if p == "forward" else "", p, _ms(naive, p) / 1e3, *(
            v for f in fasts for v in (_fast_ms(f, p), _ms(naive, p) / _ms(f, p)))]
            for p in (*PASSES, BOTH)]
    header = ["case", "pass", "naive s"]
    for t in threads:
        actual = results[(labels[0], "fast", t)]["threads"]
        header += [f"fast ms, {count(t, 'thread')}", f"speed-up, {count(t, 'thread')}"
                   + ("" if actual == t else f" [BLAS reported {actual}]")]
    run.table("conv_speed", header, rows,
              title="Convolution, float64: naive vs fast (median wall time per call)",
              note="Fast: the median and, in brackets, its spread (interquartile range / "
              "median). Cases: " + "; ".join(f"{c[0]}: {_describe(c)}" for c in cfg.conv_cases)
              + f". Naive: median of {cfg.naive_repeats} calls, no warm-up; fast: of "
              f"{cfg.fast_repeats} calls after {cfg.fast_warmup} warm-up calls; backward on one "
              "cached forward; forward+backward is the sum of the two medians.")
    run.plot("conv_speedup", "heatmap", title="Fast vs naive convolution: speed-up (x)",
             values=heat, row_labels=labels, xlabel="pass and BLAS threads of the fast conv",
             col_labels=[f"{p}\n{t} thread{'s' if t > 1 else ''}" for t in threads
                         for p in ("forward", "backward", "fwd+bwd")], ylabel="case")
    for t, p in ((t, p) for t in threads for p in PASSES):
        fast = results[(labels[0], "fast", t)]
        _speedup_claim(
            run, f"conv {p} speed-up, fast vs naive, {_describe(cfg.conv_cases[0])}, "
            f"{count(t, 'BLAS thread')}", "figure", results[(labels[0], "naive", 1)], fast, p,
            reference=S2_1_CONV_SPEEDUP, key=(t, p) == (threads[0], "forward"),
            source=SOURCE, note=f"; BLAS reported {count(fast['threads'], 'thread')}; the "
            f"study's 'approximately {S2_1_CONV_SPEEDUP:.0f}x' is an order of magnitude, not "
            "a measurement")


def _pool_speed(cfg, run, results):
    rows = []
    for label, x_shape, *_ in map(_case, cfg.pool_cases):
        naive, fast = results[(label, "naive", None)], results[(label, "fast", None)]
        for p in PASSES:
            rows.append([f"{label}, x {x_shape}" if p == "forward" else "", p, _ms(naive, p),
                         _fast_ms(fast, p), _ms(naive, p) / _ms(fast, p)])
            _speedup_claim(run, f"max pool {label} {p} speed-up, fast vs naive, x {x_shape}",
                           "measured", naive, fast, p, source="S2.2 (no figure quoted)")
    run.table("pool_speed", ["case", "pass", "naive ms", "fast ms (spread)", "speed-up"], rows,
              title="Max pooling, float64: naive vs fast (median wall time per call)",
              note="Repeats as for the convolution. Pooling is element-wise NumPy code (no "
                   "BLAS), so the thread count does not apply.")


def _agreement(cfg, run, name, what, naive_cells, keys, **text):
    """The table and claim of the largest naive-vs-fast difference over every case."""
    rows = [[r["case"], *(r["max_abs_diff"][k] for k in keys)] for r in naive_cells]
    run.table(f"{name}_agreement", ["case", *keys], rows, **text,
              title=f"Naive vs fast {what}: largest absolute difference (float64)")
    run.judge(f"naive vs fast {what}: largest absolute difference"
              + (" (float64)" if name == "conv" else ""), "goal",
              verdict.exact(max(max(r[1:]) for r in rows)), cfg.agree_tolerance, better="lower",
              source=f"layerlab's goal: round-off only (<= {cfg.agree_tolerance:g}); the "
              "definition: fast must compute the naive numbers",
              note="largest difference over every case, output and gradient")


def _notes(cfg, run, start, cells, results, threads):
    """Threads, machine and engine versions: what the timings depend on besides the code."""
    if len(threads) > 1:
        one, more = min(threads), max(threads)
        slower = [f"{c[0]} {p}" for c in cfg.conv_cases for p in PASSES
                  if _ms(results[(c[0], "fast", more)], p) > _ms(results[(c[0], "fast", one)], p)]
        run.note("More threads", (
            f"The fast passes with {more} BLAS threads were slower than with {one} in "
            f"{len(slower)} of {len(cfg.conv_cases) * len(PASSES)} (case, pass) timings"
            + (f" ({', '.join(slower)})" if slower else "") + ". conv-nets trains with BLAS "
            "limited to its `threads` setting, for a machine shared with other jobs."))
    loads = [v for r in cells for v in r["load_average"]]
    run.note("Machine and threads", "; ".join(describe_machine(start)) + (
        f" (at the start; load average {start['load_average']:.2f}, "
        f"{min(loads):.2f}-{max(loads):.2f} over the timing cells). BLAS was limited by "
        "threadpoolctl; each cell keeps the thread count BLAS reported inside the limit. A busy "
        "machine makes times slower and noisier: the load averages say how busy this one was. "
        "benchmarks/conv.py times the same passes beside PyTorch."))
    run.note("What was timed", "SHA-256 (first 12 digits) of the engine files the timing cells "
             "ran: " + "; ".join(sorted({f"{k} {v}" for r in cells for k, v in
                                         r["source"].items()}))
             + ". 'differs from git HEAD': timed with uncommitted edits, which the source "
             "revision under Environment does not show.")


@experiment("conv-speed", study="S2.1, S2.2",
            title="naive vs fast convolution and max pooling, forward and backward",
            estimate="3 min", config=ConvSpeedConfig,
            quick={"conv_cases": (("tiny", (4, 3, 9, 9), (4, 3, 3, 3), 2, 1),),
                   "pool_cases": (("2x2 stride 2", (4, 4, 8, 8), (2, 2), 2),
                                  ("3x3 stride 2", (4, 4, 7, 7), (3, 3), 2)),
                   "naive_repeats": 1, "fast_repeats": 3, "fast_warmup": 1})
def conv_speed(cfg, run):
    """S2.1 and S2.2: the speed tables, the agreement of naive and fast, the machine."""
    start = cell(run, "machine", lambda: {**machine(), "load_average": os.getloadavg()[0]})
    threads = [int(t) for t in cfg.threads]
    convs, pools = ({c[0]: c for c in cases} for cases in (cfg.conv_cases, cfg.pool_cases))
    conv = grid(run, "conv", [{"case": label, "impl": impl, "threads": t} for label in convs
                              for impl, t in (("naive", 1), *(("fast", t) for t in threads))],
                lambda c: _time_cell(Conv, convs[c["case"]], c["impl"], c["threads"], cfg))
    pool = grid(run, "maxpool", [{"case": label, "impl": impl} for label in pools
                                 for impl in ("naive", "fast")],
                lambda c: _time_cell(MaxPool, pools[c["case"]], c["impl"], None, cfg))
    results = {(r["case"], r["impl"], r["threads_requested"]): r for r in conv + pool}
    _conv_speed(cfg, run, results, threads)
    _agreement(cfg, run, "conv", "convolution", [r for r in conv if r["impl"] == "naive"],
               ("out", "dx", "dw", "db"), note="Same random inputs and upstream gradient for "
               "both; measured in the naive timing cell.")
    _pool_speed(cfg, run, results)
    _agreement(cfg, run, "pool", "max pooling", [r for r in pool if r["impl"] == "naive"],
               ("out", "dx"))
    _notes(cfg, run, start, conv + pool, results, threads)
