"""One training step of a 3072-512-256-10 ReLU net, batch 256, float32: ours vs PyTorch.

    python benchmarks/fc_step.py

Prints the machine first (BLAS kernel, CPU SIMD sets, a WARNING if OPENBLAS_CORETYPE forces an
older kernel than the CPU supports); the last line is one JSON object with the figures.
A step is forward, backward and an Adam update of every parameter. Both run on the same
threads. The machine's own matrix-product peak is measured in the same run, so the step's
achieved FLOP rate can be read as a fraction of what this CPU can do. Goal: ours <= 1.25x
PyTorch's time.
"""

from __future__ import annotations

import time

import numpy as np

from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.optim import adam
from layerlab.timing import machine, measure, print_json, print_machine, print_table

DIMS = [3072, 512, 256, 10]
BATCH = 256


def step_flops():
    """Multiply-adds x 2 of one step: forward, weight grads, input grads (not the first's)."""
    products = [DIMS[i] * DIMS[i + 1] for i in range(len(DIMS) - 1)]
    forward = 2 * BATCH * sum(products)
    weight_grads = 2 * BATCH * sum(products)
    input_grads = 2 * BATCH * sum(products[1:])
    return forward + weight_grads + input_grads


def matmul_peak(dtype=np.float32, n=2048):
    """FLOP/s of one large NumPy matrix product (the BLAS's practical peak here): the fastest of
    the repeats, since a peak is what the machine can do when nothing else interferes."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    t = measure(lambda: a @ a, repeats=10, warmup=2)
    return 2 * n**3 / t["min"]


def ours(X, y):
    model = FullyConnectedNet(DIMS[1:-1], input_dim=DIMS[0], num_classes=DIMS[-1],
                              weight_scale="kaiming", dtype=np.float32, seed=0)
    configs = {k: {"learning_rate": 1e-3} for k in model.params}

    def step():
        _, grads = model.loss(X, y)
        for k, w in model.params.items():
            model.params[k], configs[k] = adam(w, grads[k], configs[k])

    return step


def theirs(X, y):
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(DIMS[0], DIMS[1]), torch.nn.ReLU(),
        torch.nn.Linear(DIMS[1], DIMS[2]), torch.nn.ReLU(),
        torch.nn.Linear(DIMS[2], DIMS[3]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(tX), ty).backward()
        opt.step()

    return step


def main():
    info = machine()
    try:
        import torch

        torch.set_num_threads(info.get("blas_threads") or torch.get_num_threads())
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        raise SystemExit("this benchmark compares with PyTorch: pip install torch==2.13.0") \
            from None
    print_machine(info)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, DIMS[0])).astype(np.float32)
    y = rng.integers(DIMS[-1], size=BATCH)
    peak = matmul_peak()
    flops = step_flops()
    # Blocks, not interleaved calls: each library's idle threads spin after a call (OpenMP,
    # OpenBLAS) and would slow the other one. Three rounds of blocks with pauses between; each
    # engine keeps its best block, since a burst of other work on this shared machine can only
    # make a block slower.
    steps = {"layerlab": ours(X, y), "pytorch": theirs(X, y)}
    results = {}
    for _ in range(3):
        for name, step in steps.items():
            time.sleep(0.5)
            t = measure(step, repeats=30, warmup=5, min_time=1.0)
            if name not in results or t["median"] < results[name]["median"]:
                results[name] = t
    rows = []
    for name, t in results.items():
        rate = flops / t["median"]
        rows.append([name, f"{t['median'] * 1e3:.2f}", f"{t['spread']:.0%}",
                     f"{rate / 1e9:.1f}", f"{rate / peak:.0%}"])
    print(f"step: {DIMS} batch {BATCH} float32, {flops / 1e9:.2f} GFLOP; "
          f"matmul peak {peak / 1e9:.1f} GFLOP/s (2048^3 float32)")
    print_table(["engine", "median ms (best of 3 blocks)", "spread (IQR)", "GFLOP/s", "of peak"],
                rows)
    ratio = results["layerlab"]["median"] / results["pytorch"]["median"]
    print(f"ours / pytorch time: {ratio:.2f}x (goal <= 1.25x)")
    print_json({"benchmark": "fc_step", "ours_vs_torch_time": round(ratio, 3),
                "goal": 1.25, "met": ratio <= 1.25,
                "ours_ms": round(results["layerlab"]["median"] * 1e3, 3),
                "torch_ms": round(results["pytorch"]["median"] * 1e3, 3),
                "ours_fraction_of_peak": round(flops / results["layerlab"]["median"] / peak, 3),
                "torch_fraction_of_peak": round(flops / results["pytorch"]["median"] / peak, 3),
                "matmul_peak_gflops": round(peak / 1e9, 1), "threads": info.get("blas_threads"),
                "blas": info.get("blas"), "machine": info})


if __name__ == "__main__":
    main()
