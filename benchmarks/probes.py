"""What per-layer probes cost: the S5 net's training step with probes off and every 10 steps.

    python benchmarks/probes.py

Both engines, one BLAS/torch thread. PyTorch: S5's deep sigmoid net (VanishingNet, widths
512-256-128-64-32-16 and ten more of 16: 17 Linear layers), batch 128 of the built-in CIFAR-10
images scaled as S5 scales them, Adam, through `fit`'s step. Scratch: the same layer widths as
a FullyConnectedNet, float32, Adam, through the Solver's step. Three ways, timed side by side
in rounds (a, b, c, a, b, c, ...) so that load from other processes falls on all alike:

    plain   the step as it was before probes existed (no probe code at all)
    off     the step with probes off (the code path every run takes by default)
    every10 probes on, every 10 steps, writing a probe file

A timed call is a block of 10 steps (one of them probed when on), so the probed step's cost is
spread as it is in training. A block's cost is this process's CPU time (one thread): on a
shared machine wall time mostly measures the other processes (both are printed). Goals: off
costs < 2% of the plain step, every 10 steps < 15%. Prints the machine first (the BLAS kernel
that ran), a table, and last one JSON line.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from layerlab.probing import scratch as scratch_probe
from layerlab.probing import stats, store
from layerlab.timing import machine, print_json, print_machine, print_table

WIDTHS = [512, 256, 128, 64, 32, 16] + [16] * 10
BATCH, EVERY, BLOCK = 128, 10, 10
GOALS = {"off": 0.02, "every10": 0.15}


def images():
    """BATCH built-in CIFAR-10 images as float32 (N, 3, 32, 32), pixels (x/255 - 0.5)/0.5, and
    their labels."""
    from layerlab.data import load

    train = load("builtin", "train")
    X = (train.images[:BATCH].astype(np.float32) / 255 - 0.5) / 0.5
    return X, train.labels[:BATCH].astype(np.int64)


def writer(folder, cell, engine, layers):
    head = store.header(cell, engine, EVERY, layers, stats.DEFAULT_BINS)
    return store.ProbeWriter(Path(folder) / f"{cell}.jsonl", head)


def torch_steps(X, y, folder):
    """The three block functions of the PyTorch engine."""
    import torch

    from layerlab.probing import torch as torch_probe
    from layerlab.pytorch import VanishingNet
    from layerlab.pytorch.train import _Step

    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def model_and_optimizer():
        torch.manual_seed(0)
        model = VanishingNet(WIDTHS, "sigmoid")
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    model, opt = model_and_optimizer()

    def plain():  # fit's step before probes: forward, loss, backward, update
        for _ in range(BLOCK):
            loss = torch.nn.functional.cross_entropy(model(tX), ty)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def block(step_fn, probe):
        count = [0]

        def run():
            for _ in range(BLOCK):
                count[0] += 1
                step_fn(tX, ty, count[0])
            if probe is not None:
                probe.end_epoch(1)  # writes the block's records, as an epoch's end does
        return run

    off_model, off_opt = model_and_optimizer()
    loss_fn = torch.nn.functional.cross_entropy
    options = dict(penalties=None, clip_grad=None, batch_scheduler=None, transform=None)
    off = _Step(off_model, off_opt, loss_fn, probes=None, **options)
    on_model, on_opt = model_and_optimizer()
    layers = [{k: r[k] for k in ("name", "activation", "units")}
              for r in torch_probe.layer_table(on_model)]
    probe = torch_probe.TorchProbe(on_model, EVERY, writer(folder, "torch", "torch", layers))
    on = _Step(on_model, on_opt, loss_fn, probes=probe, **options)
    return [plain, block(off, None), block(on, probe)]


def scratch_steps(X, y, folder):
    """The three block functions of the scratch engine."""
    from layerlab.scratch.models import FullyConnectedNet
    from layerlab.scratch.solver import Solver

    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}

    def solver(probe_on):
        model = FullyConnectedNet(WIDTHS, input_dim=3 * 32 * 32, num_classes=10,
                                  activation="sigmoid", dtype=np.float32, seed=0)
        probe = None
        if probe_on:
            layers = [{k: r[k] for k in ("name", "activation", "units")}
                      for r in scratch_probe.layer_table(model)]
            probe = scratch_probe.ScratchProbe(model, EVERY,
                                               writer(folder, "scratch", "scratch", layers))
        return Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                      batch_size=BATCH, verbose=False, probe=probe)

    bare, off, on = solver(False), solver(False), solver(True)

    def plain():  # the Solver's step before probes: loss, then every parameter's update
        for _ in range(BLOCK):
            loss, grads = bare.model.loss(X, y)
            bare.loss_history.append(float(loss))
            for name, w in bare.model.params.items():
                bare.model.params[name], bare.optim_configs[name] = bare.update_rule(
                    w, grads[name], bare.optim_configs[name])

    def block(s):
        def run():
            for _ in range(BLOCK):
                s._step(X, y)
        return run

    return [plain, block(off), block(on)]


def rounds(fns, repeats, warmup=2):
    """Call the blocks round by round (a, b, c, a, b, c, ...); per block its wall and CPU
    seconds. CPU time (this process's, one thread) is what a block costs: on a busy machine
    the wall time mostly measures the other processes."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    wall, cpu = [[] for _ in fns], [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu[i].append(time.process_time() - c0)
            wall[i].append(time.perf_counter() - w0)
    return wall, cpu


def _overhead(times, i):
    """Median over rounds of block i's time over the plain block's, minus 1."""
    return statistics.median(t / p for t, p in zip(times[i], times[0], strict=True)) - 1


def compare(name, fns, repeats):
    """Time the blocks side by side: a row per way, and the overheads {way: (CPU, wall)}."""
    wall, cpu = rounds(fns, repeats)
    overhead, rows = {}, []
    for i, way in enumerate(("plain", "off", "every10")):
        if i:
            overhead[way] = (_overhead(cpu, i), _overhead(wall, i))
        cost = overhead.get(way)
        rows.append([name, way, f"{statistics.median(cpu[i]) / BLOCK * 1e3:.2f}",
                     f"{statistics.median(wall[i]) / BLOCK * 1e3:.2f}",
                     "" if cost is None else f"{cost[0]:+.1%}",
                     "" if cost is None else f"{cost[1]:+.1%}",
                     "" if cost is None else f"< {GOALS[way]:.0%}"])
    return rows, overhead, statistics.median(cpu[0]) / BLOCK


def main():
    import torch

    X, y = images()
    figures, rows = {"benchmark": "probes"}, []
    with threadpool_limits(1), tempfile.TemporaryDirectory() as folder:
        torch.set_num_threads(1)
        info = machine()  # under the limits: the threads it reports are the ones used
        print_machine(info)
        for name, make, repeats in (("torch", torch_steps, 16), ("scratch", scratch_steps, 16)):
            r, overhead, step = compare(name, make(X, y, folder), repeats)
            rows += r
            figures[name] = {"step_cpu_ms": round(step * 1e3, 3)}
            for way, (by_cpu, by_wall) in overhead.items():
                figures[name].update({f"{way}_overhead": round(by_cpu, 4),
                                      f"{way}_overhead_wall": round(by_wall, 4),
                                      f"{way}_met": by_cpu < GOALS[way]})
        sizes = {p.stem: _record_bytes(p) for p in Path(folder).glob("*.jsonl")}
    print(f"S5's deep net ({len(WIDTHS) + 1} Linear layers), batch {BATCH}, one thread; a "
          f"timed block is {BLOCK} steps, probed every {EVERY}")
    print_table(["engine", "probes", "CPU ms/step", "wall ms/step", "overhead (CPU)",
                 "overhead (wall)", "goal"], rows)
    print(f"load average {_load()} on {info['cores']} cores: the overheads are medians of "
          "per-round ratios of CPU time, which other processes disturb far less than wall time")
    print(f"a probe record (one layer at one step) is about {max(sizes.values())} bytes")
    figures.update(goals=GOALS, threads=1, blas=info.get("blas"),
                   blas_kernel=info.get("blas_kernel"), load=_load(), record_bytes=sizes,
                   machine=info)
    print_json(figures)


def _record_bytes(path):
    """Mean bytes of a record line (one layer at one step) of a probe file."""
    lines = path.read_bytes().splitlines(keepends=True)[1:]
    return round(sum(map(len, lines)) / len(lines))


def _load():
    import os

    return round(os.getloadavg()[0], 2)


if __name__ == "__main__":
    main()
