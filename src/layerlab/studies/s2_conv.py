"""S2 convolutional networks from scratch (scratch conv engine, CIFAR-10).

Three experiments:

- `conv-speed` (S2.1 + S2.2): naive (one Python loop iteration per output pixel) vs fast
  (im2col + one matrix product) convolution, forward and backward timed separately, on the
  course's shape x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1, and on two more shapes
  (the first layer of the three-layer conv net of S2.4, and a mid-size 3x3 layer with 32
  channels); the fast passes at 1 and 2 BLAS threads. Max pooling naive vs fast on a 2x2
  stride-2 window (windows tile the input) and a 3x3 stride-2 window (windows overlap). Every
  timing is a grid cell, so a resumed run keeps the finished timings; the naive cells also
  measure the largest difference between the naive and fast results (forward and every
  gradient), in float64.
- `spatial-batchnorm` (S2.3): per-channel statistics over N, H, W. After a train-mode forward
  the per-channel output means equal beta and the stds gamma (up to eps); in test mode, after
  warm-up passes, the running statistics give means close to beta and stds close to gamma
  (within sampling noise, which the report computes); `SpatialBatchNorm` equals `BatchNorm`
  on the (N*H*W, C) matrix of pixels (forward, both backward passes, running statistics) and
  PyTorch's `F.batch_norm`; a numerical gradient check of both backward passes.
- `conv-nets` (S2.4): (a) `ThreeLayerConvNet` overfits 100 CIFAR-10 training images; (b) the
  course's one-epoch run on 49,000 training / 1,000 validation images (32 filters 7x7, hidden
  500, weight scale 1e-3, reg 1e-3, Adam lr 1e-3, batch 50) against the > 40% reference, with
  its loss curve and wall time; (c) `DeepConvNet` with and without spatial batchnorm, with
  Kaiming and with small Gaussian initial weights, over seeds, on a CIFAR-10 subset.

Timing follows benchmarks/conv.py and benchmarks/timing.py (warm-up calls, repeats, median and
spread, each call's result kept until the next returns); `benchmarks/` is not a package, so the
small timing function lives here (`time_calls`) rather than being imported from there.

Pixel scale (conv-nets): the course's `get_CIFAR10_data` subtracts the mean image from pixels
in 0-255 and does not divide by 255; its weight scales (1e-2 for the overfit run, 1e-3 for the
one-epoch run) were chosen for inputs of that size. A pixel scale of 255 reproduces that (our
loader gives [0, 1]); part (a) also trains on [0, 1] pixels to show what the scale does.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

import numpy as np

from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.references import (
    S2_1_CONV_SPEEDUP,
    S2_1_SPEEDUP_TOLERANCE,
    S2_3_GRADCHECK_ERROR,
    S2_3_TEST_MEAN_DEVIATION,
    S2_3_TEST_STD_DEVIATION,
    S2_3_TRAIN_STD_SHORTFALL,
    S2_4_DEEP_CLAIM,
    S2_4_ONE_EPOCH_VAL_ACC,
    S2_4_OVERFIT_TRAIN_ACC,
)
from layerlab.scratch.conv import Conv
from layerlab.scratch.conv_models import DeepConvNet, ThreeLayerConvNet
from layerlab.scratch.gradcheck import numerical_gradient_array, rel_error
from layerlab.scratch.norm import BatchNorm
from layerlab.scratch.pool import MaxPool
from layerlab.scratch.spatial_norm import SpatialBatchNorm
from layerlab.trainers.solver_cell import downsample, mean_std, train_solver

SOURCE_S2_1 = "shared/STUDIES.md S2.1 (course notebook ConvolutionalNetworks: fast layers)"
SOURCE_S2_3 = "shared/STUDIES.md S2.3 (course notebook ConvolutionalNetworks: spatial BN)"
SOURCE_S2_4 = "shared/STUDIES.md S2.4 (course notebook ConvolutionalNetworks)"
PASSES = ("forward", "backward")


# --- timing ---------------------------------------------------------------------------------


def time_calls(fn, repeats, warmup=0):
    """Wall time of `fn()`: `warmup` untimed calls, then `repeats` timed ones.

    Each call's result is kept until the next call returns (as a training step keeps its
    outputs), as in benchmarks/conv.py.

    Returns:
        ({'median', 'min', 'max', 'spread', 'n'} in seconds, spread = (max - min) / median;
        the last call's result).
    """
    if repeats < 1:
        raise ValueError("time_calls needs at least one timed call")
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"median": median, "min": min(times), "max": max(times),
            "spread": (max(times) - min(times)) / median if median > 0 else 0.0,
            "n": repeats}, result


def blas_threads():
    """{'blas': 'openblas 0.3.x', 'threads': n} of NumPy's BLAS as threadpoolctl sees it now."""
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not blas:
        return {"blas": "unknown", "threads": None}
    return {"blas": f"{blas[0].get('internal_api')} {blas[0].get('version')}",
            "threads": blas[0].get("num_threads")}


def source_fingerprint(*objects):
    """{file name: first 12 hex digits of its SHA-256, plus ' (differs from git HEAD)' when the
    working tree has uncommitted changes to it} for the source files defining `objects`:
    what exactly was timed, when an engine file is being edited."""
    import hashlib
    import inspect
    import subprocess
    from pathlib import Path

    out = {}
    for obj in objects:
        path = Path(inspect.getsourcefile(obj))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        try:
            changed = subprocess.run(["git", "-C", str(path.parent), "diff", "--quiet", "HEAD",
                                      "--", path.name], capture_output=True,
                                     timeout=10).returncode == 1
        except (OSError, subprocess.TimeoutExpired):
            changed = False
        out[path.name] = digest + (" (differs from git HEAD)" if changed else "")
    return out


def speedup(naive, fast):
    """Ratio of two median times (naive / fast)."""
    return naive["median"] / fast["median"]


def max_abs_diff(a, b):
    """Largest |a - b| over all entries (float64)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)),
                        initial=0.0))


# --- conv-speed (S2.1, S2.2) ----------------------------------------------------------------


@dataclass
class ConvSpeedConfig:
    """conv_cases: (label, x shape, w shape, stride, pad); pool_cases: (label, x shape,
    (pool_height, pool_width), stride). The first conv case is the study's shape and carries
    the claims. threads: BLAS thread counts for the fast passes (the naive passes are Python
    loops over small element-wise operations and run with 1 BLAS thread). All in float64."""

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


def _conv_case(case):
    label, x_shape, w_shape, stride, pad = case
    return str(label), tuple(int(v) for v in x_shape), tuple(int(v) for v in w_shape), \
        int(stride), int(pad)


def _pool_case(case):
    label, x_shape, window, stride = case
    return str(label), tuple(int(v) for v in x_shape), tuple(int(v) for v in window), int(stride)


def conv_inputs(x_shape, w_shape, stride, pad, seed):
    """Random float64 x, w, b, conv_param and an upstream gradient of the output's shape."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    param = {"stride": stride, "pad": pad}
    H_out = (x_shape[2] + 2 * pad - w_shape[2]) // stride + 1
    W_out = (x_shape[3] + 2 * pad - w_shape[3]) // stride + 1
    dout = rng.standard_normal((x_shape[0], w_shape[0], H_out, W_out))
    return x, w, b, param, dout


def _time_conv(case, impl, threads, cfg):
    """One timing cell: forward and backward (on one cached forward) of one implementation."""
    from threadpoolctl import threadpool_limits

    label, x_shape, w_shape, stride, pad = _conv_case(case)
    x, w, b, param, dout = conv_inputs(x_shape, w_shape, stride, pad, cfg.seed)
    load_before = os.getloadavg()[0]
    with threadpool_limits(limits=threads, user_api="blas"):
        actual = blas_threads()
        if impl == "naive":
            fwd, (out, cache) = time_calls(lambda: Conv.forward_naive(x, w, b, param),
                                           cfg.naive_repeats)
            bwd, grads = time_calls(lambda: Conv.backward_naive(dout, cache), cfg.naive_repeats)
            fast_out, fast_cache = Conv.forward(x, w, b, param)
            fast_grads = Conv.backward(dout, fast_cache)
            diff = {"out": max_abs_diff(out, fast_out),
                    **{name: max_abs_diff(g, f) for name, g, f in
                       zip(("dx", "dw", "db"), grads, fast_grads, strict=True)}}
        else:
            cache = Conv.forward(x, w, b, param)[1]
            fwd, _ = time_calls(lambda: Conv.forward(x, w, b, param), cfg.fast_repeats,
                                cfg.fast_warmup)
            bwd, _ = time_calls(lambda: Conv.backward(dout, cache), cfg.fast_repeats,
                                cfg.fast_warmup)
            diff = None
    return {"case": label, "impl": impl, "threads_requested": threads,
            "source": source_fingerprint(Conv),
            "threads": actual["threads"], "blas": actual["blas"], "forward": fwd,
            "backward": bwd, "max_abs_diff": diff,
            "load_average": [load_before, os.getloadavg()[0]]}


def _time_pool(case, impl, cfg):
    """One max-pool timing cell (pooling uses no BLAS); naive cells also measure agreement."""
    label, x_shape, (ph, pw), stride = _pool_case(case)
    rng = np.random.default_rng(cfg.seed)
    x = rng.standard_normal(x_shape)
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, fast_cache = MaxPool.forward(x, param)
    dout = rng.standard_normal(out.shape)
    load_before = os.getloadavg()[0]
    if impl == "naive":
        fwd, (n_out, cache) = time_calls(lambda: MaxPool.forward_naive(x, param),
                                         cfg.naive_repeats)
        bwd, n_dx = time_calls(lambda: MaxPool.backward_naive(dout, cache), cfg.naive_repeats)
        diff = {"out": max_abs_diff(n_out, out),
                "dx": max_abs_diff(n_dx, MaxPool.backward(dout, fast_cache))}
    else:
        fwd, _ = time_calls(lambda: MaxPool.forward(x, param), cfg.fast_repeats,
                            cfg.fast_warmup)
        bwd, _ = time_calls(lambda: MaxPool.backward(dout, fast_cache), cfg.fast_repeats,
                            cfg.fast_warmup)
        diff = None
    return {"case": label, "impl": impl, "forward": fwd, "backward": bwd,
            "source": source_fingerprint(MaxPool),
            "max_abs_diff": diff, "load_average": [load_before, os.getloadavg()[0]]}


def _describe_conv(case):
    _, x_shape, w_shape, stride, pad = _conv_case(case)
    return f"x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"


def _ms(stats):
    return stats["median"] * 1e3


@experiment("conv-speed", study="S2.1, S2.2",
            title="naive vs fast convolution and max pooling, forward and backward",
            estimate="3 min", config=ConvSpeedConfig,
            quick={"conv_cases": (("tiny", (4, 3, 9, 9), (4, 3, 3, 3), 2, 1),),
                   "pool_cases": (("2x2 stride 2", (4, 4, 8, 8), (2, 2), 2),
                                  ("3x3 stride 2", (4, 4, 7, 7), (3, 3), 2)),
                   "naive_repeats": 1, "fast_repeats": 3, "fast_warmup": 1})
def conv_speed(cfg, run):
    """S2.1 and S2.2: the speed table, the agreement of naive and fast, the machine."""
    machine = blas_threads()
    load_start = os.getloadavg()
    conv_cells = []
    for case in cfg.conv_cases:
        label = _conv_case(case)[0]
        conv_cells.append({"case": label, "impl": "naive", "threads": 1})
        conv_cells += [{"case": label, "impl": "fast", "threads": int(t)} for t in cfg.threads]
    by_label = {_conv_case(c)[0]: c for c in cfg.conv_cases}
    conv = grid(run, "conv", conv_cells,
                lambda c: _time_conv(by_label[c["case"]], c["impl"], c["threads"], cfg))
    pool_cells = [{"case": _pool_case(c)[0], "impl": impl} for c in cfg.pool_cases
                  for impl in ("naive", "fast")]
    pools_by_label = {_pool_case(c)[0]: c for c in cfg.pool_cases}
    pool = grid(run, "maxpool", pool_cells,
                lambda c: _time_pool(pools_by_label[c["case"]], c["impl"], cfg))

    results = {(r["case"], r["impl"], r.get("threads_requested")): r for r in conv}
    threads = [int(t) for t in cfg.threads]

    # the speed table: one row per case and pass (forward, backward, their sum)
    rows, heat = [], []
    for case in cfg.conv_cases:
        label = _conv_case(case)[0]
        naive = results[(label, "naive", 1)]
        heat_row = []
        for t in threads:
            fast = results[(label, "fast", t)]
            heat_row += [speedup(naive[p], fast[p]) for p in PASSES]
            heat_row.append((_ms(naive["forward"]) + _ms(naive["backward"]))
                            / (_ms(fast["forward"]) + _ms(fast["backward"])))
        heat.append(heat_row)
        for p in (*PASSES, "forward+backward"):
            n_ms = _ms(naive["forward"]) + _ms(naive["backward"]) if p == "forward+backward" \
                else _ms(naive[p])
            row = [label if p == "forward" else "", p, n_ms / 1e3]
            for t in threads:
                fast = results[(label, "fast", t)]
                f_ms = _ms(fast["forward"]) + _ms(fast["backward"]) \
                    if p == "forward+backward" else _ms(fast[p])
                spread = "" if p == "forward+backward" else f" ({fast[p]['spread']:.0%})"
                row += [f"{f_ms:.3f}{spread}", n_ms / f_ms]
            rows.append(row)
    header = ["case", "pass", "naive s"]
    for t in threads:
        actual = results[(_conv_case(cfg.conv_cases[0])[0], "fast", t)]["threads"]
        header += [f"fast ms, {t} thread(s)", f"speed-up, {t} thread(s)"]
        if actual != t:
            header[-1] += f" [BLAS reported {actual}]"
    run.table("conv_speed", header, rows,
              title="Convolution, float64: naive vs fast (median wall time per call)",
              note="The fast columns give the median and, in brackets, its spread. Cases: "
              + "; ".join(f"{_conv_case(c)[0]}: {_describe_conv(c)}" for c in cfg.conv_cases)
              + f". Naive: median of {cfg.naive_repeats} calls, no warm-up; fast: median of "
              f"{cfg.fast_repeats} calls after {cfg.fast_warmup} warm-up calls; spread = "
              "(max - min) / median; the backward pass is timed on one cached forward; "
              "forward+backward is the sum of the two medians.")
    run.plot("conv_speedup", "heatmap", title="Fast vs naive convolution: speed-up (x)",
             values=heat, row_labels=[_conv_case(c)[0] for c in cfg.conv_cases],
             col_labels=[f"{p}\n{t} thread{'s' if t > 1 else ''}" for t in threads
                         for p in ("forward", "backward", "fwd+bwd")],
             xlabel="pass and BLAS threads of the fast conv", ylabel="case")

    first = _conv_case(cfg.conv_cases[0])[0]
    naive = results[(first, "naive", 1)]
    for t in threads:
        fast = results[(first, "fast", t)]
        for p in PASSES:
            run.claim(f"conv {p} speed-up, fast vs naive, {_describe_conv(cfg.conv_cases[0])}, "
                      f"{t} BLAS thread(s)", speedup(naive[p], fast[p]), S2_1_CONV_SPEEDUP,
                      better="higher", tolerance=S2_1_SPEEDUP_TOLERANCE, unit="x",
                      source=SOURCE_S2_1,
                      note=f"naive {_ms(naive[p]):.1f} ms, fast {_ms(fast[p]):.3f} ms "
                      f"(spread {fast[p]['spread']:.0%}); from the fastest calls instead of "
                      f"the medians: {naive[p]['min'] / fast[p]['min']:.0f}x; BLAS reported "
                      f"{fast['threads']} "
                      "thread(s); 'approximately 500x' counts as reproduced from 250x to "
                      "750x, above that as beaten")

    diffs = [[r["case"], *(r["max_abs_diff"][k] for k in ("out", "dx", "dw", "db"))]
             for r in conv if r["impl"] == "naive"]
    run.table("conv_agreement", ["case", "out", "dx", "dw", "db"],
              diffs, title="Naive vs fast convolution: largest absolute difference (float64)",
              note="Same random inputs and upstream gradient for both; measured in the naive "
                   "timing cell.")
    worst = max(max(d[1:]) for d in diffs)
    run.claim(f"naive and fast convolution agree (max abs difference <= "
              f"{cfg.agree_tolerance:g}, float64)", bool(worst <= cfg.agree_tolerance), True,
              better="equal", source="the definition: fast must compute the naive numbers",
              note=f"largest difference over every case, output and gradient: {worst:.3g}")

    # max pooling
    presults = {(r["case"], r["impl"]): r for r in pool}
    prow, pdiff = [], []
    for case in cfg.pool_cases:
        label, x_shape, (ph, pw), stride = _pool_case(case)
        naive, fast = presults[(label, "naive")], presults[(label, "fast")]
        for p in PASSES:
            prow.append([f"{label}, x {x_shape}" if p == "forward" else "", p, _ms(naive[p]),
                         f"{_ms(fast[p]):.3f} ({fast[p]['spread']:.0%})",
                         speedup(naive[p], fast[p])])
            run.claim(f"max pool {label} {p} speed-up, fast vs naive, x {x_shape}",
                      speedup(naive[p], fast[p]), None, unit="x", source="shared/STUDIES.md "
                      "S2.2 (no figure quoted)",
                      note=f"naive {_ms(naive[p]):.1f} ms, fast {_ms(fast[p]):.3f} ms")
        pdiff.append([label, naive["max_abs_diff"]["out"], naive["max_abs_diff"]["dx"]])
    run.table("pool_speed", ["case", "pass", "naive ms", "fast ms (spread)", "speed-up"], prow,
              title="Max pooling, float64: naive vs fast (median wall time per call)",
              note=f"Naive: median of {cfg.naive_repeats} calls; fast: median of "
                   f"{cfg.fast_repeats} after {cfg.fast_warmup} warm-up calls. Pooling is "
                   "element-wise NumPy code (no BLAS), so the thread count does not apply.")
    run.table("pool_agreement", ["case", "out", "dx"], pdiff,
              title="Naive vs fast max pooling: largest absolute difference (float64)")
    pworst = max(max(d[1:]) for d in pdiff)
    run.claim(f"naive and fast max pooling agree (max abs difference <= "
              f"{cfg.agree_tolerance:g})", bool(pworst <= cfg.agree_tolerance), True,
              better="equal", source="the definition",
              note=f"largest difference: {pworst:.3g}")

    loads = [r["load_average"] for r in conv + pool]
    if len(threads) > 1:
        one, more = min(threads), max(threads)
        slower = [f"{_conv_case(c)[0]} {p}" for c in cfg.conv_cases for p in PASSES
                  if results[(_conv_case(c)[0], "fast", more)][p]["median"]
                  > results[(_conv_case(c)[0], "fast", one)][p]["median"]]
        run.note("More threads", (
            f"The fast passes with {more} BLAS threads were slower than with {one} in "
            f"{len(slower)} of {len(cfg.conv_cases) * len(PASSES)} (case, pass) timings"
            + (f" ({', '.join(slower)})" if slower else "") + ". On a two-core machine that "
            "other jobs share, a second BLAS thread mostly waits for a core; training here "
            "therefore pins BLAS to one thread (conv-nets `threads`)."))
    run.note("Machine and threads", (
        f"NumPy's BLAS: {machine['blas']}, {machine['threads']} "
        f"thread(s) at the start of the run; {os.cpu_count()} CPUs. The naive passes are "
        "Python loops over small element-wise NumPy operations (no BLAS; timed with BLAS "
        "limited to 1 thread); the fast passes were timed with BLAS limited to "
        f"{', '.join(map(str, threads))} thread(s) (threadpoolctl), and the count BLAS "
        "reported inside the limit is in each cell's result and in the claims. Load average "
        f"(1 min) at the start: {load_start[0]:.2f}; over the timing cells it ranged "
        f"{min(min(v) for v in loads):.2f}-{max(max(v) for v in loads):.2f}. This machine is "
        "shared: a busy machine makes every time slower and noisier, and hurts two-thread "
        "BLAS most (idle BLAS threads spin and compete for the two cores). "
        "benchmarks/conv.py measures the same passes with PyTorch beside them."))
    versions = sorted({f"{k} {v}" for r in conv + pool for k, v in r["source"].items()})
    run.note("What was timed", (
        "SHA-256 (first 12 digits) of the engine source files the timing cells ran: "
        + "; ".join(versions) + ". A file that 'differs from git HEAD' was timed with "
        "uncommitted edits in the working tree; the source revision under Environment "
        "does not show those. Re-run the experiment to time a newer engine."))


# --- spatial-batchnorm (S2.3) ---------------------------------------------------------------


@dataclass
class SpatialBatchnormConfig:
    """The course's checks: train mode on (2, 3, 4, 5) inputs 4 randn + 10 with gamma
    (3, 4, 5), beta (6, 7, 8); test mode on (10, 4, 11, 12) inputs 2.3 randn + 13 after 50
    train-mode warm-up passes (here with non-trivial gamma and beta too, so that 'means close
    to beta, stds close to gamma' is tested, not only 0 and 1); the comparison with BatchNorm
    and PyTorch on a larger map; a numerical gradient check on the course's (2, 3, 4, 5)."""

    train_shape: tuple = (2, 3, 4, 5)
    train_loc: float = 10.0
    train_scale: float = 4.0
    gamma: tuple = (3.0, 4.0, 5.0)
    beta: tuple = (6.0, 7.0, 8.0)
    test_shape: tuple = (10, 4, 11, 12)
    test_loc: float = 13.0
    test_scale: float = 2.3
    test_gamma: tuple = (0.5, 1.0, 2.0, 3.0)
    test_beta: tuple = (-1.0, 0.0, 1.0, 2.0)
    warmup_passes: int = 50
    momentum: float = 0.9
    test_tolerance: float = 0.15
    compare_shape: tuple = (8, 6, 7, 9)
    gradcheck_shape: tuple = (2, 3, 4, 5)
    seed: int = 0


def channel_stats(out):
    """Per-channel mean and (biased) std over N, H, W of an (N, C, H, W) array."""
    return out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))


def _train_stats(cfg):
    rng = np.random.default_rng(cfg.seed)
    x = cfg.train_scale * rng.standard_normal(cfg.train_shape) + cfg.train_loc
    gamma, beta = np.asarray(cfg.gamma, float), np.asarray(cfg.beta, float)
    out, _ = SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})
    in_mean, in_std = channel_stats(x)
    mean, std = channel_stats(out)
    eps = 1e-5  # BatchNorm's default
    predicted = gamma * np.sqrt(in_std ** 2 / (in_std ** 2 + eps))  # the eps shortfall
    return {"in_mean": in_mean.tolist(), "in_std": in_std.tolist(), "mean": mean.tolist(),
            "std": std.tolist(), "predicted_std": predicted.tolist()}


def _test_stats(cfg):
    rng = np.random.default_rng(cfg.seed + 1)
    N, C, H, W = cfg.test_shape
    gamma, beta = np.asarray(cfg.test_gamma, float), np.asarray(cfg.test_beta, float)
    bn_param = {"mode": "train", "momentum": cfg.momentum}
    mean_err, std_err = [], []
    for _ in range(cfg.warmup_passes):
        x = cfg.test_scale * rng.standard_normal((N, C, H, W)) + cfg.test_loc
        SpatialBatchNorm.forward(x, gamma, beta, bn_param)
        mean_err.append(float(np.max(np.abs(bn_param["running_mean"] - cfg.test_loc))
                              / cfg.test_scale))
        std_err.append(float(np.max(np.abs(np.sqrt(bn_param["running_var"]) - cfg.test_scale))
                             / cfg.test_scale))
    bn_param["mode"] = "test"
    x = cfg.test_scale * rng.standard_normal((N, C, H, W)) + cfg.test_loc
    out, _ = SpatialBatchNorm.forward(x, gamma, beta, bn_param)
    mean, std = channel_stats(out)
    return {"mean": mean.tolist(), "std": std.tolist(), "running_mean_error": mean_err,
            "running_std_error": std_err,
            "running_mean": np.asarray(bn_param["running_mean"]).tolist(),
            "running_var": np.asarray(bn_param["running_var"]).tolist()}


def expected_test_deviation(cfg):
    """Noise to expect in test mode, in units of gamma: the bias of the running mean left from
    its start at 0 (momentum ** passes * loc / scale) plus 4 standard errors of a channel mean
    over N*H*W values."""
    N, _, H, W = cfg.test_shape
    bias = cfg.momentum ** cfg.warmup_passes * abs(cfg.test_loc) / cfg.test_scale
    return bias + 4 / np.sqrt(N * H * W)


def _compare(cfg):
    """SpatialBatchNorm vs BatchNorm on the (N*H*W, C) pixel matrix and vs PyTorch."""
    rng = np.random.default_rng(cfg.seed + 2)
    N, C, H, W = cfg.compare_shape
    x = 3 * rng.standard_normal((N, C, H, W)) + 5
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    dout = rng.standard_normal((N, C, H, W))
    p_sp, p_bn = {"mode": "train"}, {"mode": "train"}
    out, cache = SpatialBatchNorm.forward(x, gamma, beta, p_sp)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # one row per pixel
    out_bn, cache_bn = BatchNorm.forward(rows, gamma, beta, p_bn)
    back = lambda a: a.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # noqa: E731
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    result = {"forward": max_abs_diff(out, back(out_bn)),
              "running_mean": max_abs_diff(p_sp["running_mean"], p_bn["running_mean"]),
              "running_var": max_abs_diff(p_sp["running_var"], p_bn["running_var"])}
    for name, sp, bn in (("backward", SpatialBatchNorm.backward, BatchNorm.backward),
                         ("backward_alt", SpatialBatchNorm.backward_alt,
                          BatchNorm.backward_alt)):
        dx, dgamma, dbeta = sp(dout, cache)
        dx_bn, dgamma_bn, dbeta_bn = bn(drows, cache_bn)
        result[name] = {"dx": max_abs_diff(dx, back(dx_bn)),
                        "dgamma": max_abs_diff(dgamma, dgamma_bn),
                        "dbeta": max_abs_diff(dbeta, dbeta_bn)}
    result["torch"] = _torch_compare(x, gamma, beta, dout, out, cache)
    # statistics are per channel over N, H, W: not per (c, h, w) position
    per_position = out.mean(axis=0)  # (C, H, W): means over N only
    result["per_position_mean_spread"] = float(np.max(np.abs(
        per_position - beta[:, None, None])))
    return result


def _torch_compare(x, gamma, beta, dout, out, cache):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    t_out = F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    t_out.backward(torch.tensor(dout))
    dx, dgamma, dbeta = SpatialBatchNorm.backward(dout, cache)
    return {"forward": max_abs_diff(out, t_out.detach().numpy()),
            "dx": max_abs_diff(dx, tx.grad.numpy()),
            "dgamma": max_abs_diff(dgamma, tg.grad.numpy()),
            "dbeta": max_abs_diff(dbeta, tb.grad.numpy())}


def _gradcheck(cfg):
    """The course's check: numerical vs analytic gradients of both backward passes."""
    rng = np.random.default_rng(cfg.seed + 3)
    N, C, H, W = cfg.gradcheck_shape
    x = 5 * rng.standard_normal((N, C, H, W)) + 12
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    dout = rng.standard_normal((N, C, H, W))

    def f():
        return SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})[0]

    numeric = [numerical_gradient_array(f, a, dout) for a in (x, gamma, beta)]
    cache = SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})[1]
    out = {}
    for name, fn in (("backward", SpatialBatchNorm.backward),
                     ("backward_alt", SpatialBatchNorm.backward_alt)):
        grads = fn(dout, cache)
        out[name] = {k: rel_error(n, g) for k, n, g in
                     zip(("dx", "dgamma", "dbeta"), numeric, grads, strict=True)}
    return out


@experiment("spatial-batchnorm", study="S2.3",
            title="spatial batchnorm: per-channel statistics over N, H, W",
            estimate="5 s", config=SpatialBatchnormConfig,
            quick={"compare_shape": (4, 3, 5, 6)})
def spatial_batchnorm(cfg, run):
    """S2.3: train- and test-mode statistics, equality with BatchNorm, gradient check."""
    train = cell(run, "train_mode", lambda: _train_stats(cfg))
    test = cell(run, "test_mode", lambda: _test_stats(cfg))
    comp = cell(run, "compare", lambda: _compare(cfg))
    gc = cell(run, "gradcheck", lambda: _gradcheck(cfg))

    gamma, beta = np.asarray(cfg.gamma), np.asarray(cfg.beta)
    run.table("train_mode", ["channel", "input mean", "input std", "output mean", "beta",
                             "output std", "gamma", "gamma * sqrt(var / (var + eps))"],
              [[c, train["in_mean"][c], train["in_std"][c], train["mean"][c], beta[c],
                train["std"][c], gamma[c], train["predicted_std"][c]]
               for c in range(len(gamma))],
              title=f"Train mode, x = {cfg.train_scale:g} randn + {cfg.train_loc:g} of shape "
                    f"{tuple(cfg.train_shape)}: statistics per channel over N, H, W",
              note="The output std falls short of gamma by the factor sqrt(var / (var + eps)), "
                   "eps = 1e-5, exactly as the last column predicts.")
    mean_dev = float(np.max(np.abs(np.asarray(train["mean"]) - beta)))
    shortfall = float(np.max(np.abs(np.asarray(train["std"]) / gamma - 1)))
    predicted = float(np.max(np.abs(np.asarray(train["std"])
                                    - np.asarray(train["predicted_std"]))))
    run.claim("train mode: per-channel output means equal beta (max |mean - beta|)", mean_dev,
              0.0, better="equal", tolerance=1e-9, source=SOURCE_S2_3,
              note="the course printed means [6, 7, 8] for beta (6, 7, 8)")
    run.claim("train mode: per-channel output stds equal gamma (max |std / gamma - 1|)",
              shortfall, S2_3_TRAIN_STD_SHORTFALL, better="equal", tolerance=1e-6,
              source=SOURCE_S2_3 + ": stds 2.99999885, 3.99999804, 4.99999798",
              note="the shortfall is eps / (2 var) and depends on the input's variance; "
                   f"ours equals gamma * sqrt(var / (var + eps)) to {predicted:.1e}")

    tg, tb = np.asarray(cfg.test_gamma), np.asarray(cfg.test_beta)
    t_mean_dev = np.abs(np.asarray(test["mean"]) - tb) / tg
    t_std_dev = np.abs(np.asarray(test["std"]) / tg - 1)
    run.table("test_mode", ["channel", "output mean", "beta", "abs(mean - beta) / gamma",
                            "output std", "gamma", "abs(std / gamma - 1)", "running mean",
                            "running std"],
              [[c, test["mean"][c], tb[c], t_mean_dev[c], test["std"][c], tg[c], t_std_dev[c],
                test["running_mean"][c], float(np.sqrt(test["running_var"][c]))]
               for c in range(len(tg))],
              title=f"Test mode after {cfg.warmup_passes} train-mode passes (momentum "
                    f"{cfg.momentum:g}), x = {cfg.test_scale:g} randn + {cfg.test_loc:g} of "
                    f"shape {tuple(cfg.test_shape)}",
              note=f"True input mean {cfg.test_loc:g}, std {cfg.test_scale:g}. Deviations are "
                   "in units of gamma, comparable with the course's run (gamma 1, beta 0), "
                   "whose largest were 0.080 (mean) and 0.033 (std).")
    bound = expected_test_deviation(cfg)
    run.claim("test mode: per-channel means close to beta (max |mean - beta| / gamma)",
              float(t_mean_dev.max()), 0.0, better="equal", tolerance=cfg.test_tolerance,
              source=SOURCE_S2_3 + f": largest printed deviation "
              f"{S2_3_TEST_MEAN_DEVIATION}",
              note=f"noise to expect here (start bias + 4 standard errors): {bound:.3f}")
    run.claim("test mode: per-channel stds close to gamma (max |std / gamma - 1|)",
              float(t_std_dev.max()), 0.0, better="equal", tolerance=cfg.test_tolerance,
              source=SOURCE_S2_3 + f": largest printed deviation "
              f"{S2_3_TEST_STD_DEVIATION}")
    passes = list(range(1, cfg.warmup_passes + 1))
    run.plot("running_stats", "curves",
             title="Running statistics during the warm-up passes", xlabel="train-mode pass",
             ylabel="max over channels, in input stds", logy=True, series={
                 "|running mean - true mean|": [passes, test["running_mean_error"]],
                 "|sqrt(running var) - true std|": [passes, test["running_std_error"]],
                 "predicted start bias momentum^k * mean / std": [
                     passes, [cfg.momentum ** k * abs(cfg.test_loc) / cfg.test_scale
                              for k in passes]]})

    parts = [("forward", comp["forward"]), ("running mean", comp["running_mean"]),
             ("running var", comp["running_var"])]
    for name in ("backward", "backward_alt"):
        parts += [(f"{name} {k}", v) for k, v in comp[name].items()]
    run.table("vs_batchnorm", ["quantity", "largest absolute difference"],
              parts, title=f"SpatialBatchNorm vs BatchNorm on the reshaped pixel matrix, x of "
                           f"shape {tuple(cfg.compare_shape)}",
              note="The rows of the (N*H*W, C) matrix are the pixels: x.transpose(0, 2, 3, 1)"
                   ".reshape(-1, C), done here by hand, independently of the layer.")
    worst = max(v for _, v in parts)
    run.claim("SpatialBatchNorm = BatchNorm on the (N*H*W, C) matrix (max abs difference over "
              "forward, both backwards, running statistics)", worst, 0.0, better="equal",
              tolerance=1e-12, source=SOURCE_S2_3 + ": 'built on batchnorm by reshaping'")
    if comp["torch"] is not None:
        tw = max(comp["torch"].values())
        run.table("vs_torch", ["quantity", "largest absolute difference"],
                  list(comp["torch"].items()),
                  title="SpatialBatchNorm vs torch.nn.functional.batch_norm (training mode)")
        run.claim("SpatialBatchNorm = PyTorch F.batch_norm (max abs difference, forward and "
                  "gradients)", tw, 0.0, better="equal", tolerance=1e-10,
                  source="PyTorch as an independent oracle (not a study figure)")
    run.note("Statistics per channel, not per position", (
        "In train mode the output mean over N "
        "alone, at a fixed (c, h, w), still differs from beta by up to "
        f"{comp['per_position_mean_spread']:.3f} (x of shape {tuple(cfg.compare_shape)}), "
        "while the mean over N, H and W equals beta to round-off: one mean and variance per "
        "channel, shared by every pixel of the feature map."))

    gc_rows = [[name, v["dx"], v["dgamma"], v["dbeta"]] for name, v in gc.items()]
    run.table("gradcheck", ["backward", "rel error dx", "rel error dgamma", "rel error dbeta"],
              gc_rows, title=f"Numerical gradient check, x = 5 randn + 12 of shape "
                             f"{tuple(cfg.gradcheck_shape)}, float64, random upstream gradient",
              note="The course printed dx 2.8e-7, dgamma 7.1e-12, dbeta 3.3e-12 and expects "
                   "errors between 1e-12 and 1e-6.")
    gworst = max(max(r[1:]) for r in gc_rows)
    run.claim(f"gradient check of both backward passes below {S2_3_GRADCHECK_ERROR:g}",
              bool(gworst < S2_3_GRADCHECK_ERROR), True, better="equal",
              source=SOURCE_S2_3 + ": 'errors of magnitudes between 1e-12 and 1e-06'",
              note=f"largest relative error {gworst:.2e}")


# --- conv-nets (S2.4) -----------------------------------------------------------------------


@dataclass
class ConvNetsConfig:
    """(a) overfit: ThreeLayerConvNet (32 filters 7x7, hidden 100), 100 training images, 15
    epochs, batch 50, Adam 1e-3, variants (label, pixel scale, weight scale) over seeds.
    (b) one epoch: the course's run on 49,000 / 1,000 images (`epoch_num_train` None = all).
    (c) deep: DeepConvNet, variants (label, batchnorm, weight scale), on a subset.
    threads: BLAS threads for training (1: faster than 2 on this shared 2-core machine)."""

    dataset: str = "cifar10"
    val: int = 1000
    data_seed: int = 0
    threads: int = 1
    overfit_num_train: int = 100
    overfit_epochs: int = 15
    overfit_batch_size: int = 50
    overfit_variants: tuple = (("course: 0-255 pixels, std 1e-2", 255.0, 1e-2),
                               ("[0, 1] pixels, std 1e-2", 1.0, 1e-2),
                               ("[0, 1] pixels, Kaiming", 1.0, "kaiming"))
    overfit_seeds: tuple = (0, 1)
    epoch_num_train: int | None = None
    epoch_filters: int = 32
    epoch_filter_size: int = 7
    epoch_hidden: int = 500
    epoch_weight_scale: float = 1e-3
    epoch_reg: float = 1e-3
    epoch_lr: float = 1e-3
    epoch_batch_size: int = 50
    epoch_epochs: int = 1
    epoch_pixel_scales: tuple = (255.0,)
    epoch_seeds: tuple = (0, 1)
    deep_num_train: int = 1000
    deep_pixel_scale: float = 1.0
    deep_filters: tuple = (16, 32, 32, 64, 64)
    deep_max_pools: tuple = (0, 1, 2, 3, 4)
    deep_variants: tuple = (("batchnorm, Kaiming", True, "kaiming"),
                            ("no batchnorm, Kaiming", False, "kaiming"),
                            ("batchnorm, Gaussian 1e-3", True, 1e-3),
                            ("no batchnorm, Gaussian 1e-3", False, 1e-3))
    deep_epochs: int = 10
    deep_batch_size: int = 100
    deep_lr: float = 1e-3
    deep_reg: float = 1e-5
    deep_seeds: tuple = (0, 1, 2)


def _scaled(data, scale):
    """The Solver dict with every X multiplied by `scale` in place (no copy)."""
    for key in data:
        if key.startswith("X_") and scale != 1:
            data[key] *= np.float32(scale)
    return data


def loss_auc(loss_history):
    """Mean training loss over all iterations: the area under the loss curve per iteration
    (lower = converged faster); inf when training diverged."""
    losses = np.asarray(loss_history, dtype=float)
    return float(losses.mean()) if len(losses) and np.all(np.isfinite(losses)) else float("inf")


def moving_average(ys, window):
    """(xs, ys) of the trailing mean over `window` iterations (xs from 1)."""
    ys = np.asarray(ys, dtype=float)
    if len(ys) < window:
        window = max(len(ys), 1)
    kernel = np.ones(window) / window
    smooth = np.convolve(ys, kernel, mode="valid")
    return list(range(window, len(ys) + 1)), smooth.tolist()


def batchnorm_comparisons(by, variants):
    """Pair every batchnorm variant with the variant of the same init without batchnorm.

    Args:
        by: {variant: [(seed, summary), ...]} with loss_history and val_acc_history.
        variants: {variant: (batchnorm, weight_scale)}.
    Returns:
        one dict per pair: 'with', 'without', 'auc' [(seed, auc with, auc without)],
        'faster' [auc with < auc without per seed], 'val_gain' [final val acc difference].
        Seeds present in only one of the two are skipped.
    """
    out = []
    for a, (bn_a, init_a) in variants.items():
        for b, (bn_b, init_b) in variants.items():
            if not bn_a or bn_b or init_a != init_b or a not in by or b not in by:
                continue
            runs_a, runs_b = dict(by[a]), dict(by[b])
            seeds = [s for s in runs_a if s in runs_b]
            auc = [(s, loss_auc(runs_a[s]["loss_history"]),
                    loss_auc(runs_b[s]["loss_history"])) for s in seeds]
            out.append({"with": a, "without": b, "auc": auc,
                        "faster": [x < y for _, x, y in auc],
                        "val_gain": [runs_a[s]["val_acc_history"][-1]
                                     - runs_b[s]["val_acc_history"][-1] for s in seeds]})
    return out


def _threads(cfg):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=cfg.threads, user_api="blas")


def _overfit(cfg, run, train):
    data = {}

    def one(c):
        scale = c["pixel_scale"]
        if scale not in data:
            data[scale] = _scaled(transforms.solver_data(
                train, None, val=cfg.val, num_train=cfg.overfit_num_train, seed=cfg.data_seed),
                scale)
        ws = c["weight_scale"]
        with _threads(cfg):
            model = ThreeLayerConvNet(weight_scale=ws, seed=c["seed"])
            summary, _ = train_solver(
                run, cell_key("a_overfit", c), model, data[scale], update_rule="adam",
                optim_config={"learning_rate": 1e-3}, num_epochs=cfg.overfit_epochs,
                batch_size=cfg.overfit_batch_size, num_train_samples=None, print_every=0,
                seed=c["seed"])
        return summary

    variants = [(str(v[0]), float(v[1]), v[2] if isinstance(v[2], str) else float(v[2]))
                for v in cfg.overfit_variants]
    cells = [{"variant": label, "pixel_scale": scale, "weight_scale": ws, "seed": int(s)}
             for label, scale, ws in variants for s in cfg.overfit_seeds]
    results = grid(run, "a_overfit", cells, one, objective="best_val_acc")
    by_variant = {}
    for c, r in zip(cells, results, strict=True):
        by_variant.setdefault(c["variant"], []).append((c["seed"], r))

    rows = []
    for label, runs in by_variant.items():
        final_train = [r["train_acc_history"][-1] for _, r in runs]
        final_val = [r["val_acc_history"][-1] for _, r in runs]
        first_full = [next((e for e, a in enumerate(r["train_acc_history"]) if a >= 1.0), None)
                      for _, r in runs]
        rows.append([label, *mean_std(final_train), *mean_std(final_val),
                     ", ".join("-" if e is None else str(e) for e in first_full),
                     ", ".join(f"{a:.2f}" for a in final_train)])
    run.table("a_overfit", ["variant", "final train acc (mean)", "std", "final val acc (mean)",
                            "std", "first epoch at 100% train (per seed)",
                            "final train acc per seed"], rows,
              title=f"(a) ThreeLayerConvNet on {cfg.overfit_num_train} training images, "
                    f"{cfg.overfit_epochs} epochs, Adam 1e-3, batch {cfg.overfit_batch_size}, "
                    f"seeds {list(cfg.overfit_seeds)}",
              note=f"Validation: {cfg.val:,} held-out CIFAR-10 training images. The seeds "
                   "change the initial weights and the minibatch order; the "
                   f"{cfg.overfit_num_train} training images are the same.")
    epochs = list(range(cfg.overfit_epochs + 1))
    main_label = variants[0][0]
    main = by_variant[main_label]
    panels = [{"title": label, "ylabel": "accuracy", "series": {
        **{f"train, seed {s}": [epochs, r["train_acc_history"]] for s, r in runs},
        **{f"val, seed {s}": [epochs, r["val_acc_history"]] for s, r in runs}}}
        for label, runs in by_variant.items()]
    run.plot("a_overfit_accuracy", "curves", title="(a) Overfitting 100 images: train vs val "
             "accuracy per epoch", xlabel="epoch", panels=panels)
    run.plot("a_overfit_loss", "curves", title="(a) Training loss per iteration",
             xlabel="iteration", ylabel="loss", series={
                 f"{label}, seed {s}": downsample(r["loss_history"])
                 for label, runs in by_variant.items() for s, r in runs})
    final = [r["train_acc_history"][-1] for _, r in main]
    run.claim(f"(a) train accuracy after {cfg.overfit_epochs} epochs on "
              f"{cfg.overfit_num_train} images ({main_label}; lowest over seeds)", min(final),
              S2_4_OVERFIT_TRAIN_ACC, better="higher", source=SOURCE_S2_4 +
              " ('overfits 100 images'; the course's printed run: 0.99 train, 0.22 val)",
              note="per seed " + ", ".join(f"{a:.2f}" for a in final) + "; val accuracy "
              + ", ".join(f"{r['val_acc_history'][-1]:.3f}" for _, r in main))
    gap = [r["train_acc_history"][-1] - r["val_acc_history"][-1] for _, r in main]
    run.claim("(a) overfitting: train minus val accuracy at the end (mean over seeds)",
              float(np.mean(gap)), None, source=SOURCE_S2_4)
    return by_variant


def _one_epoch(cfg, run, train):
    data = {}

    def one(c):
        scale = c["pixel_scale"]
        if scale not in data:
            data.clear()  # one copy of the 49,000 images at a time (600 MB in float32)
            data[scale] = _scaled(transforms.solver_data(
                train, None, val=cfg.val, num_train=cfg.epoch_num_train, seed=cfg.data_seed),
                scale)
        start = time.perf_counter()
        with _threads(cfg):
            model = ThreeLayerConvNet(num_filters=cfg.epoch_filters,
                                      filter_size=cfg.epoch_filter_size,
                                      hidden_dim=cfg.epoch_hidden,
                                      weight_scale=cfg.epoch_weight_scale, reg=cfg.epoch_reg,
                                      seed=c["seed"])
            summary, _ = train_solver(
                run, cell_key("b_one_epoch", c), model, data[scale], update_rule="adam",
                optim_config={"learning_rate": cfg.epoch_lr}, num_epochs=cfg.epoch_epochs,
                batch_size=cfg.epoch_batch_size, num_train_samples=1000, print_every=0,
                seed=c["seed"])
        summary["num_train"] = int(len(data[scale]["X_train"]))
        summary["cell_wall_time"] = time.perf_counter() - start
        return summary

    cells = [{"pixel_scale": float(p), "seed": int(s)} for p in cfg.epoch_pixel_scales
             for s in cfg.epoch_seeds]
    results = grid(run, "b_one_epoch", cells, one, objective="best_val_acc")
    n = results[0]["num_train"]
    run.table("b_one_epoch", ["pixels", "seed", "iterations",
                              "final train acc (1,000 sampled)", "final val acc",
                              "mean loss, last 100 iterations", "train time per epoch (s)",
                              "cell wall time (s)"],
              [[_pixels(c["pixel_scale"]), c["seed"], len(r["loss_history"]),
                r["train_acc_history"][-1], r["val_acc_history"][-1],
                float(np.mean(r["loss_history"][-100:])),
                r["train_time"] / max(r["epochs"], 1), r["cell_wall_time"]]
               for c, r in zip(cells, results, strict=True)],
              title=f"(b) ThreeLayerConvNet, {cfg.epoch_epochs} epoch(s) on {n:,} training "
                    f"images, {cfg.val:,} validation",
              note=f"{cfg.epoch_filters} filters {cfg.epoch_filter_size}x"
                   f"{cfg.epoch_filter_size}, hidden {cfg.epoch_hidden}, weight scale "
                   f"{cfg.epoch_weight_scale:g}, reg {cfg.epoch_reg:g}, Adam lr "
                   f"{cfg.epoch_lr:g}, batch {cfg.epoch_batch_size}; pixels minus the mean "
                   "image. Train accuracy is measured on 1,000 sampled training images (the "
                   "Solver's default, as in the course). Train time includes the accuracy "
                   f"checks at the epoch ends; BLAS limited to {cfg.threads} thread(s).")
    raw, smooth = {}, {}
    for c, r in zip(cells, results, strict=True):
        tag = f"{_pixels(c['pixel_scale'])}, seed {c['seed']}"
        raw[tag] = [list(range(1, len(r["loss_history"]) + 1)), r["loss_history"]]
        smooth[tag] = moving_average(r["loss_history"], 50)
    run.plot("b_loss", "curves", title=f"(b) Training loss, {n:,} images, batch "
             f"{cfg.epoch_batch_size}", xlabel="iteration", panels=[
                 {"title": "per iteration", "ylabel": "loss", "series": raw},
                 {"title": "mean of the last 50 iterations", "ylabel": "loss",
                  "series": smooth}])
    for scale in dict.fromkeys(c["pixel_scale"] for c in cells):
        runs = [r for c, r in zip(cells, results, strict=True) if c["pixel_scale"] == scale]
        val = [r["val_acc_history"][-1] for r in runs]
        tr = [r["train_acc_history"][-1] for r in runs]
        run.claim(f"(b) val accuracy after {cfg.epoch_epochs} epoch(s) on {n:,} images, "
                  f"{_pixels(scale)} (lowest over {len(runs)} seed(s))", min(val),
                  S2_4_ONE_EPOCH_VAL_ACC, better="higher",
                  source=SOURCE_S2_4 + " ('> 40% val accuracy after one epoch')",
                  note="per seed " + ", ".join(f"{v:.3f}" for v in val)
                  + "; the notebook's own text says '> 40% accuracy on the training set'")
        run.claim(f"(b) train accuracy after {cfg.epoch_epochs} epoch(s), {_pixels(scale)} "
                  "(1,000 sampled training images, lowest over seeds)", min(tr),
                  S2_4_ONE_EPOCH_VAL_ACC, better="higher",
                  source="course notebook: '> 40% accuracy on the training set'",
                  note="per seed " + ", ".join(f"{v:.3f}" for v in tr))
    per_epoch = [r["train_time"] / max(r["epochs"], 1) for r in results]
    run.claim("(b) wall time per epoch (training and the epoch-end accuracy checks)",
              float(np.mean(per_epoch)), None, unit="s",
              note=f"mean over {len(results)} run(s), range {min(per_epoch):.0f}-"
                   f"{max(per_epoch):.0f} s; {n // cfg.epoch_batch_size} iterations per "
                   f"epoch; BLAS limited to {cfg.threads} thread(s) on a shared machine")
    return results


def _pixels(scale):
    """'0-255 pixels' (the course's scale) or '[0, 1] pixels' for a pixel scale factor."""
    return "0-255 pixels" if scale == 255 else "[0, 1] pixels" if scale == 1 \
        else f"pixels x{scale:g}"


def _deep(cfg, run, train):
    data = {}
    variants = {str(v[0]): (bool(v[1]), v[2] if isinstance(v[2], str) else float(v[2]))
                for v in cfg.deep_variants}

    def one(c):
        if "d" not in data:
            data["d"] = _scaled(transforms.solver_data(
                train, None, val=cfg.val, num_train=cfg.deep_num_train, seed=cfg.data_seed),
                cfg.deep_pixel_scale)
        bn, ws = variants[c["variant"]]
        with _threads(cfg):
            model = DeepConvNet(num_filters=tuple(cfg.deep_filters),
                                max_pools=tuple(cfg.deep_max_pools), batchnorm=bn,
                                weight_scale=ws, reg=cfg.deep_reg, seed=c["seed"])
            summary, _ = train_solver(
                run, cell_key("c_deep", c), model, data["d"], update_rule="adam",
                optim_config={"learning_rate": cfg.deep_lr}, num_epochs=cfg.deep_epochs,
                batch_size=cfg.deep_batch_size, num_train_samples=1000, print_every=0,
                seed=c["seed"])
        return summary

    cells = [{"variant": name, "seed": int(s)} for name in variants for s in cfg.deep_seeds]
    results = grid(run, "c_deep", cells, one, objective="best_val_acc")
    by = {}
    for c, r in zip(cells, results, strict=True):
        by.setdefault(c["variant"], []).append((c["seed"], r))

    rows = []
    for name, runs in by.items():
        bn, ws = variants[name]
        rows.append([name, *mean_std([r["train_acc_history"][-1] for _, r in runs]),
                     *mean_std([r["val_acc_history"][-1] for _, r in runs]),
                     *mean_std([loss_auc(r["loss_history"]) for _, r in runs]),
                     float(np.mean([r["train_time"] for _, r in runs]))])
    run.table("c_deep", ["variant", "final train acc", "std", "final val acc", "std",
                         "mean training loss (area under curve)", "std", "train time (s)"],
              rows, title=f"(c) DeepConvNet filters {list(cfg.deep_filters)}, 2x2 max pools "
                          f"after layers {list(cfg.deep_max_pools)}: {cfg.deep_num_train} "
                          f"training images, {cfg.deep_epochs} epochs, batch "
                          f"{cfg.deep_batch_size}, Adam {cfg.deep_lr:g}, reg {cfg.deep_reg:g}, "
                          f"seeds {list(cfg.deep_seeds)}",
              note="Mean and std over seeds (the seeds change initial weights and minibatch "
                   "order). Train accuracy on 1,000 sampled training images. Pixels [0, 1] "
                   "minus the mean image (as in EECS 498's DeepConvNet notebook, which scales "
                   "to [0, 1]). Area under the curve = mean loss over every iteration: lower "
                   "means it fell sooner.")
    epochs = list(range(cfg.deep_epochs + 1))

    def mean_curve(runs, key):
        return np.mean([r[key] for _, r in runs], axis=0).tolist()

    run.plot("c_deep_accuracy", "curves", title="(c) DeepConvNet: accuracy per epoch (mean "
             "over seeds)", xlabel="epoch", panels=[
                 {"ylabel": "train accuracy", "series": {
                     name: [epochs, mean_curve(runs, "train_acc_history")]
                     for name, runs in by.items()}},
                 {"ylabel": "val accuracy", "series": {
                     name: [epochs, mean_curve(runs, "val_acc_history")]
                     for name, runs in by.items()}}])
    run.plot("c_deep_loss", "curves", title="(c) DeepConvNet: training loss per iteration "
             "(mean over seeds)", xlabel="iteration", ylabel="loss", series={
                 name: downsample(mean_curve(runs, "loss_history")) for name, runs in by.items()})

    # the measured comparison: each batchnorm variant against the same init without it
    comparisons = batchnorm_comparisons(by, variants)
    for c in comparisons:
        m, sd = mean_std(c["val_gain"])
        run.claim(f"(c) final val accuracy gain from batchnorm ({c['with']} minus "
                  f"{c['without']})", m, None, source=SOURCE_S2_4 + " (no figure quoted)",
                  note=f"std over seeds {sd:.3f}; per seed "
                  + ", ".join(f"{g:+.3f}" for g in c["val_gain"]))
    if comparisons:
        faster = [f for c in comparisons for f in c["faster"]]
        run.claim("(c) batchnorm converges faster: lower mean training loss than the same init "
                  "without it, in every seed and init", bool(all(faster)), True,
                  better="equal", source=S2_4_DEEP_CLAIM + " (S1.6 a's expectation; "
                  "S2.4 quotes none)", note=f"{sum(faster)} of {len(faster)} pairs; " + "; ".join(
                      f"{c['with']} vs {c['without']}, seed {seed}: {a:.3f} vs {b:.3f}"
                      for c in comparisons for seed, a, b in c["auc"]))
    best = max(by, key=lambda n: np.mean([r["val_acc_history"][-1] for _, r in by[n]]))
    run.claim("(c) best variant by final val accuracy (mean over seeds)", best, None,
              source=SOURCE_S2_4)
    return by


@experiment("conv-nets", study="S2.4",
            title="three-layer conv net: overfit 100 images, one epoch > 40%; deep net with "
                  "and without batchnorm",
            estimate="9 min", config=ConvNetsConfig,
            quick={"dataset": "builtin", "val": 100, "overfit_num_train": 20,
                   "overfit_epochs": 2, "overfit_batch_size": 10,
                   "overfit_variants": (("course: 0-255 pixels, std 1e-2", 255.0, 1e-2),
                                        ("[0, 1] pixels, Kaiming", 1.0, "kaiming")),
                   "overfit_seeds": (0,), "epoch_num_train": 100, "epoch_hidden": 20,
                   "epoch_filters": 4, "deep_num_train": 40, "deep_filters": (4, 4),
                   "deep_max_pools": (0, 1), "deep_epochs": 2, "deep_batch_size": 20,
                   "deep_variants": (("batchnorm, Kaiming", True, "kaiming"),
                                     ("no batchnorm, Kaiming", False, "kaiming")),
                   "deep_seeds": (0, 1)})
def conv_nets(cfg, run):
    """S2.4 (a), (b), (c)."""
    train = load(cfg.dataset, "train")
    run.dataset(train)
    run.note("Settings chosen", (
        "The course notebook (CS231n ConvolutionalNetworks; its code checked, not recalled) "
        "trains (a) `ThreeLayerConvNet(weight_scale=1e-2)` on 100 images for 15 epochs, batch "
        "50, Adam 1e-3, and (b) `ThreeLayerConvNet(weight_scale=0.001, hidden_dim=500, "
        "reg=0.001)` for one epoch, batch 50, Adam 1e-3, on 49,000 training and 1,000 "
        "validation images, with the class defaults of 32 filters 7x7: these are the defaults "
        "here. Its data are pixels in 0-255 minus the mean image, so a pixel scale of 255 "
        "multiplies our [0, 1] pixels back. The validation images are a seeded random draw of "
        f"{cfg.val:,} CIFAR-10 training images and the rest (or a seeded subset of them) are "
        "the training set (our folder copy is ordered by class); the mean image is that of "
        "the training part used. (c) is not in the CS231n notebook: a DeepConvNet in the style "
        "of EECS 498-007 (3x3 convs, optional spatial batchnorm, Kaiming init) with convs of "
        f"{', '.join(map(str, cfg.deep_filters))} filters, on {cfg.deep_num_train:,} training "
        f"images for {cfg.deep_epochs} epochs over seeds {list(cfg.deep_seeds)} (our choice: "
        "long enough to separate the variants, short enough for this machine); the Gaussian "
        "variants use std 1e-3, the class default. BLAS was limited to "
        f"{cfg.threads} thread(s) for training. The CIFAR-10 here is a lossy JPEG copy of the "
        "original (see Data), so accuracies may differ slightly from the original's."))
    _overfit(cfg, run, train)
    _deep(cfg, run, train)
    _one_epoch(cfg, run, train)
