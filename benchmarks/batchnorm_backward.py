"""BatchNorm backward, step by step vs the simplified closed form (study S1.6 d).

    python benchmarks/batchnorm_backward.py

The course claims the closed form is faster. Both give the same gradients (tested to 1e-10),
so the choice can change speed, never accuracy.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.norm import BatchNorm
from layerlab.timing import machine, measure, print_json, print_table

SHAPES = [(64, 100), (256, 512), (1024, 1024), (4096, 256)]


def main():
    info = machine()
    print(f"machine: {info}")
    rng = np.random.default_rng(0)
    rows, ratios = [], {}
    for dtype in (np.float32, np.float64):
        for N, D in SHAPES:
            x = rng.standard_normal((N, D)).astype(dtype)
            gamma, beta = np.ones(D, dtype), np.zeros(D, dtype)
            _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train"})
            dout = rng.standard_normal((N, D)).astype(dtype)
            graph = measure(lambda dout=dout, cache=cache: BatchNorm.backward(dout, cache),
                            min_time=0.2)
            closed = measure(lambda dout=dout, cache=cache: BatchNorm.backward_alt(dout, cache),
                             min_time=0.2)
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
                "alt_speedup": ratios, "blas_threads": info.get("blas_threads")})


if __name__ == "__main__":
    main()
