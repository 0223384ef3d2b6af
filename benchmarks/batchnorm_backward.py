"""BatchNorm backward, step by step vs the simplified closed form (study S1.6 d).

    python benchmarks/batchnorm_backward.py [--quick]

The course claims the closed form is faster. Both give the same gradients (tested to 1e-10),
so the choice can change speed, never accuracy. Prints the machine first (BLAS kernel, CPU SIMD
sets, a WARNING if OPENBLAS_CORETYPE forces an older kernel than the CPU supports); the last
line is one JSON object with the figures. `--quick` times only the smallest shape, a few calls
each (about a second: for tests of the benchmark itself, not for figures).
"""

from __future__ import annotations

import argparse

import numpy as np

from layerlab.scratch.norm import BatchNorm
from layerlab.timing import machine, measure, print_json, print_machine, print_table

SHAPES = [(64, 100), (256, 512), (1024, 1024), (4096, 256)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smallest shape only, few calls (checks the benchmark runs)")
    args = parser.parse_args(argv)
    shapes, timing = SHAPES, {"min_time": 0.2}
    if args.quick:
        shapes, timing = SHAPES[:1], {"repeats": 3, "warmup": 1}
    info = print_machine(machine())
    rng = np.random.default_rng(0)
    rows, ratios = [], {}
    for dtype in (np.float32, np.float64):
        for N, D in shapes:
            x = rng.standard_normal((N, D)).astype(dtype)
            gamma, beta = np.ones(D, dtype), np.zeros(D, dtype)
            _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
            dout = rng.standard_normal((N, D)).astype(dtype)
            graph = measure(lambda dout=dout, cache=cache: BatchNorm.backward(dout, cache),
                            **timing)
            closed = measure(lambda dout=dout, cache=cache: BatchNorm.backward_alt(dout, cache),
                             **timing)
            ratio = graph["median"] / closed["median"]
            name = f"{N}x{D} {np.dtype(dtype).name}"
            ratios[name] = round(ratio, 3)
            rows.append([name, f"{graph['median'] * 1e3:.3f}", f"{closed['median'] * 1e3:.3f}",
                         f"{ratio:.2f}x", f"{max(graph['spread'], closed['spread']):.0%}"])
    print_table(["shape", "backward ms", "backward_alt ms", "alt speed-up", "spread (IQR)"],
                rows)
    values = list(ratios.values())
    print_json({"benchmark": "batchnorm_backward",
                "alt_speedup_geomean": round(float(np.exp(np.mean(np.log(values)))), 3),
                "alt_speedup": ratios, "blas_threads": info.get("blas_threads"),
                "quick": args.quick, "machine": info})


if __name__ == "__main__":
    main()
