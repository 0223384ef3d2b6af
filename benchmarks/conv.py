"""Convolution and max pooling: naive vs fast vs PyTorch, forward and backward (study S2.1, S2.2).

    python benchmarks/conv.py [--threads N]

`--threads N` limits NumPy's BLAS and PyTorch to N threads each (default: as the libraries
start, usually one per core).
Prints the machine (`layerlab.timing.print_machine`: BLAS, its kernel and threads, the CPU and
its SIMD instruction sets, and a WARNING when OPENBLAS_CORETYPE forces an older kernel than the
CPU supports) and the load average, a table per question, a table of layerlab's goals, and as
its last line one JSON object with the ratios, the machine and the goals. Every timing is the
median over repeated calls after warm-up calls (`layerlab.timing.measure`); 'spread' is the
interquartile range over the median. Each call's
result is kept until the next call returns, as a training step keeps its outputs. NumPy and
PyTorch runs are grouped, with a pause between the groups, because idle OpenMP/OpenBLAS worker
threads spin for a while and would steal the other library's cores on a two-core machine. A busy
machine (see the load average printed at the start and the end) makes every figure slower and
noisier.

(a) fast vs naive conv on the study's shape x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2,
    pad 1, float64; the naive passes take seconds, so they run three times without warm-up and
    their forward+backward is the sum of the two;
(b) fast vs PyTorch (F.conv2d + autograd) on that shape and on a mid-size layer
    x (64, 32, 16, 16), w (64, 32, 3, 3), pad 1, in float32 and float64; for the mid-size
    float32 layer, the time NumPy's matrix product needs for the same floating-point operations
    (three products of the im2col size) is the bound the fast conv is measured against; the
    same bound for all four cells, with PyTorch's time over it (below 1: PyTorch finishes before
    NumPy's matrix products alone would, so no im2col + BLAS design can match it here);
(c) max pool 2x2 stride 2 (windows tile) and 3x3 stride 2 (windows overlap): naive, fast, PyTorch;
(d) peak memory allocated by the fast conv forward+backward (tracemalloc), relative to the input.

layerlab's goals: fast vs naive forward+backward >= 1,000x (study shape, float64); fast / PyTorch
forward+backward <= 1.0x in float64 on the study shape and on the mid layer; mid float32 fast
forward+backward <= 3x NumPy's three-product bound. Without PyTorch its goals are not measured.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from layerlab.references import S2_1_CONV_SPEEDUP  # the study's "approximately 500x"
from layerlab.scratch.conv import Conv, conv_geometry
from layerlab.scratch.pool import MaxPool
from layerlab.timing import machine, print_machine, print_table
from layerlab.timing import measure as _measure

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the PyTorch columns are skipped
    torch = None

# every timing keeps each call's result until the next call returns, as a training step does
measure = functools.partial(_measure, keep_result=True)

STUDY = ((100, 3, 31, 31), (25, 3, 3, 3), {"stride": 2, "pad": 1})
MID = ((64, 32, 16, 16), (64, 32, 3, 3), {"stride": 1, "pad": 1})
POOLS = [("2x2 s2 (tiles)", (100, 25, 16, 16), {"pool_height": 2, "pool_width": 2, "stride": 2}),
         ("3x3 s2 (overlaps)", (100, 25, 15, 15),
          {"pool_height": 3, "pool_width": 3, "stride": 2})]
PASSES = ("forward", "backward", "forward+backward")


def settle():
    """Let the worker threads of the library just used go idle."""
    time.sleep(1.0)


def fmt(t):
    if t is None:
        return "-"
    return f"{t['median'] * 1e3:9.3f} ms (spread {100 * t['spread']:3.0f}%, n={t['n']})"


def load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def conv_inputs(shapes, dtype):
    rng = np.random.default_rng(0)
    x_shape, w_shape, param = shapes
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out_shape = (x_shape[0], w_shape[0], *conv_geometry(x_shape, w_shape, param)[2])
    dout = rng.standard_normal(out_shape).astype(dtype)
    return x, w, b, param, dout


def time_numpy_conv(forward, backward, shapes, dtype, repeats, warmup=2, together=True):
    """Forward, backward (on one cached forward: backward only reads its cache) and
    forward+backward (timed as one call, or with `together=False` the sum of the two)."""
    x, w, b, param, dout = conv_inputs(shapes, dtype)
    cache = forward(x, w, b, param)[1]
    fwd = measure(lambda: forward(x, w, b, param), repeats, warmup)
    bwd = measure(lambda: backward(dout, cache), repeats, warmup)
    if together:
        both = measure(lambda: backward(dout, forward(x, w, b, param)[1]), repeats, warmup)
    else:
        both = {"median": fwd["median"] + bwd["median"],
                "spread": max(fwd["spread"], bwd["spread"]), "n": repeats}
    return fwd, bwd, both


def time_torch_conv(shapes, dtype, repeats):
    """The same three passes with F.conv2d; the input, weight and bias all need gradients."""
    x, w, b, param, dout = conv_inputs(shapes, dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdout = torch.tensor(dout)
    kw = {"stride": param["stride"], "padding": param["pad"]}

    def forward():
        with torch.no_grad():
            return F.conv2d(tx, tw, tb, **kw)

    def graph():
        for t in (tx, tw, tb):
            t.grad = None
        return F.conv2d(tx, tw, tb, **kw)

    def both():
        graph().backward(tdout)

    return (measure(forward, repeats, 3), measure(lambda out: out.backward(tdout), repeats, 3,
                                                  setup=graph), measure(both, repeats, 3))


def matmul_bound(shapes, dtype, repeats):
    """Time NumPy needs for the three matrix products of a conv forward+backward (each of the
    im2col size), and the floating-point operations of one."""
    (N, C, _, _), (Fo, _, HH, WW), param = shapes
    H_out, W_out = conv_geometry(shapes[0], shapes[1], param)[2]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((Fo, C * HH * WW)).astype(dtype)
    bmat = rng.standard_normal((C * HH * WW, N * H_out * W_out)).astype(dtype)
    t = measure(lambda: a @ bmat, repeats, 3)
    return 3 * t["median"], 2 * Fo * C * HH * WW * N * H_out * W_out


def time_numpy_pool(x_shape, param):
    """(forward, backward) of naive and of fast MaxPool, float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    out, fast_cache = MaxPool.forward(x, param)
    dout = rng.standard_normal(out.shape)
    naive_cache = MaxPool.forward_naive(x, param)[1]
    naive = (measure(lambda: MaxPool.forward_naive(x, param), 3, 0),
             measure(lambda: MaxPool.backward_naive(dout, naive_cache), 3, 0))
    fast = (measure(lambda: MaxPool.forward(x, param), 30),
            measure(lambda: MaxPool.backward(dout, fast_cache), 30))
    return naive, fast


def time_torch_pool(x_shape, param):
    rng = np.random.default_rng(0)
    tx = torch.tensor(rng.standard_normal(x_shape), requires_grad=True)
    k, s = (param["pool_height"], param["pool_width"]), param["stride"]
    tdout = torch.tensor(rng.standard_normal(F.max_pool2d(tx, k, s).shape))

    def forward():
        with torch.no_grad():
            return F.max_pool2d(tx, k, s)

    return (measure(forward, 30, 3),
            measure(lambda out: out.backward(tdout), 30, 3,
                    setup=lambda: F.max_pool2d(tx, k, s)))


def peak_memory(shapes, dtype):
    """Peak bytes NumPy allocates during one fast forward+backward, and the input's bytes."""
    x, w, b, param, dout = conv_inputs(shapes, dtype)
    tracemalloc.start()
    out, cache = Conv.forward(x, w, b, param)
    Conv.backward(dout, cache)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, x.nbytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads (default: theirs)")
    args = parser.parse_args(argv)
    if args.threads:
        threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    print(f"conv benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}, {platform.node()}, "
          f"load average {load()}")
    info = print_machine(machine())
    if torch is not None:
        print(f"torch oneDNN (mkldnn) {'on' if torch.backends.mkldnn.is_available() else 'off'}")
    else:
        print("torch is not installed: the PyTorch columns are skipped")
    result = {"benchmark": "conv", "reference_fast_vs_naive": S2_1_CONV_SPEEDUP, "machine": info}
    result["threads"] = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
    if torch is not None:
        result["threads"]["torch"] = torch.get_num_threads()

    # (a)
    print("\n(a) conv x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1, float64: "
          "naive vs fast")
    naive = time_numpy_conv(Conv.forward_naive, Conv.backward_naive, STUDY, np.float64, 3, 0,
                            together=False)
    fast = time_numpy_conv(Conv.forward, Conv.backward, STUDY, np.float64, 30)
    print(f"{'':18s}{'naive':>38s}{'fast':>38s}{'fast vs naive':>15s}")
    for name, n, f in zip(PASSES, naive, fast, strict=True):
        ratio = n["median"] / f["median"]
        print(f"{name:18s}{fmt(n):>38s}{fmt(f):>38s}{ratio:14.0f}x")
        result[f"fast_vs_naive_{name.replace('+', '_')}"] = round(ratio)
    vs_naive = naive[2]["median"] / fast[2]["median"]  # forward+backward
    print(f"(the study quotes about {S2_1_CONV_SPEEDUP}x; layerlab's goal is >= 1000x for "
          "forward+backward)")

    # (b)
    cells = [(label, shapes, dtype) for label, shapes in (("study", STUDY), ("mid", MID))
             for dtype in (np.float32, np.float64)]
    ours = {c[0] + np.dtype(c[2]).name: time_numpy_conv(Conv.forward, Conv.backward, c[1], c[2],
                                                        20) for c in cells}
    bounds = {c[0] + np.dtype(c[2]).name: matmul_bound(c[1], c[2], 20) for c in cells}
    bound, flops = bounds["midfloat32"]
    mid32 = time_numpy_conv(Conv.forward, Conv.backward, MID, np.float32, 20)[2]
    if torch is not None:
        settle()
        theirs = {c[0] + np.dtype(c[2]).name: time_torch_conv(c[1], c[2], 20) for c in cells}
        settle()
        print("\n(b) fast vs PyTorch F.conv2d + autograd; ratio = fast time / torch time "
              "(<= 1: at least as fast)")
        print(f"{'case':34s}{'pass':18s}{'fast':>38s}{'torch':>38s}{'ratio':>8s}")
        for label, shapes, dtype in cells:
            key = label + np.dtype(dtype).name
            case = f"{label} x{shapes[0]} {np.dtype(dtype).name}"
            for name, o, t in zip(PASSES, ours[key], theirs[key], strict=True):
                ratio = o["median"] / t["median"]
                print(f"{case:34s}{name:18s}{fmt(o):>38s}{fmt(t):>38s}{ratio:8.2f}")
                case = ""
                result[f"fast_over_torch_{name.replace('+', '_')}_{label}_"
                       f"{np.dtype(dtype).name}"] = round(ratio, 2)
    ratio = mid32["median"] / bound
    print(f"mid float32: the three matrix products ({flops / 1e6:.0f} MFLOP each) take "
          f"{bound * 1e3:.2f} ms in NumPy alone ({3 * flops / bound / 1e9:.0f} GFLOP/s); the fast "
          f"conv forward+backward takes {mid32['median'] * 1e3:.2f} ms = {ratio:.2f}x that "
          "(layerlab's goal <= 3x)")
    result["mid_float32_matmul_bound_ms"] = round(bound * 1e3, 3)
    result["mid_float32_fast_over_matmul_bound"] = round(ratio, 2)
    over_bound = ratio
    # Whether "at least as fast as PyTorch" is within reach of any design that does the same
    # arithmetic through NumPy's matrix product: if PyTorch's whole forward+backward takes less
    # time than NumPy's three products alone (torch / bound < 1), no im2col + BLAS layout can
    # match it on this machine; only fewer operations (e.g. Winograd) or other kernels could.
    print("\nthe three matrix products alone (NumPy, one product of the im2col size, timed x3):")
    print(f"{'case':34s}{'MFLOP':>8s}{'bound':>11s}{'GFLOP/s':>9s}{'fast/bound':>12s}"
          f"{'torch/bound':>13s}")
    for label, shapes, dtype in cells:
        key = label + np.dtype(dtype).name
        t_bound, f_one = bounds[key]
        ours_both = ours[key][2]["median"]
        torch_over = theirs[key][2]["median"] / t_bound if torch is not None else float("nan")
        print(f"{label + ' x' + str(shapes[0]) + ' ' + np.dtype(dtype).name:34s}"
              f"{3 * f_one / 1e6:8.0f}{t_bound * 1e3:8.2f} ms{3 * f_one / t_bound / 1e9:9.0f}"
              f"{ours_both / t_bound:12.2f}{torch_over:13.2f}")
        result[f"torch_over_matmul_bound_{label}_{np.dtype(dtype).name}"] = round(torch_over, 2)

    # (c)
    pools = {label: time_numpy_pool(x_shape, param) for label, x_shape, param in POOLS}
    if torch is not None:
        settle()
        torch_pools = {label: time_torch_pool(x_shape, param) for label, x_shape, param in POOLS}
        settle()
    print("\n(c) max pool, float64: naive vs fast vs PyTorch F.max_pool2d")
    print(f"{'case':38s}{'pass':10s}{'naive':>38s}{'fast':>38s}{'torch':>38s}"
          f"{'vs naive':>10s}{'/ torch':>9s}")
    for label, x_shape, _ in POOLS:
        case = f"{label} x{x_shape}"
        for i, name in enumerate(PASSES[:2]):
            n, f = pools[label][0][i], pools[label][1][i]
            t = torch_pools[label][i] if torch is not None else None
            over_torch = f["median"] / t["median"] if t else float("nan")
            print(f"{case:38s}{name:10s}{fmt(n):>38s}{fmt(f):>38s}{fmt(t):>38s}"
                  f"{n['median'] / f['median']:9.0f}x{over_torch:9.2f}")
            case = ""
            tag = label.split()[0]
            result[f"maxpool_{tag}_fast_vs_naive_{name}"] = round(n["median"] / f["median"], 1)
            if t:
                result[f"maxpool_{tag}_fast_over_torch_{name}"] = round(over_torch, 2)

    # (d)
    print("\n(d) peak memory NumPy allocates in one fast conv forward+backward (tracemalloc)")
    for label, shapes, dtype in cells:
        peak, x_bytes = peak_memory(shapes, dtype)
        name = np.dtype(dtype).name
        print(f"{label:6s}{name:8s}{peak / 2**20:7.1f} MiB = {peak / x_bytes:5.1f}x the input "
              f"({x_bytes / 2**20:.2f} MiB)")
        result[f"peak_memory_over_input_{label}_{name}"] = round(peak / x_bytes, 1)

    # layerlab's goals: (name, label, measured value or None if not measured, limit, at least?)
    over_torch = {label: (ours[label + "float64"][2]["median"]
                          / theirs[label + "float64"][2]["median"] if torch is not None else None)
                  for label in ("study", "mid")}
    goals = [("fast_vs_naive_forward_backward_study_float64",
              "fast vs naive, forward+backward, study float64", vs_naive, 1000, True),
             ("fast_over_torch_forward_backward_study_float64",
              "fast / PyTorch, forward+backward, study float64", over_torch["study"], 1.0, False),
             ("fast_over_torch_forward_backward_mid_float64",
              "fast / PyTorch, forward+backward, mid float64", over_torch["mid"], 1.0, False),
             ("mid_float32_fast_over_matmul_bound",
              "fast / NumPy's 3-product bound, forward+backward, mid float32", over_bound, 3.0,
              False)]
    result["goals"], rows = {}, []
    for name, label, value, limit, at_least in goals:
        met = None if value is None else (value >= limit if at_least else value <= limit)
        result["goals"][name] = {"value": None if value is None else round(value, 2),
                                 "limit": limit, "met": met}
        rows.append([label, "-" if value is None else f"{value:.{0 if at_least else 2}f}x",
                     f"{'>=' if at_least else '<='} {limit:,}x",
                     {True: "met", False: "not met", None: "not measured (no torch)"}[met]])
    print("\nlayerlab's goals")
    print_table(["goal", "measured", "limit", "result"], rows)

    print(f"\nload average at the end: {load()}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
