"""Epoch time of layerlab's in-memory training loop vs a plain PyTorch DataLoader loop.

    python benchmarks/train_loop.py [--batches N] [--threads T] [--rounds R]

Both train the same model (LeNet-5 from `layerlab.pytorch.models`, tanh, PyTorch's default
initialisation) with Adam (lr 1e-3), batch 64, on the same threads, from the same uint8
Fashion-MNIST training images (MNIST, with a note, if Fashion-MNIST is not on the machine):

- ours: `layerlab.pytorch.train.fit(..., epochs=1)`, timed as a whole call (its per-epoch
  bookkeeping included: running accuracy, loss history, a new `Batches` permutation), on a
  float32 tensor of the images scaled to [0, 1] once before timing (that conversion is timed
  separately and printed: it is paid once per run, not per epoch);
- "core": the same plain loop as the DataLoader one, but over `layerlab.data.tensors.Batches`
  (fit's batching core, without fit's bookkeeping), to show where the time goes;
- theirs: the tutorial way, a `torch.utils.data.Dataset` whose `__getitem__` returns (the image
  as a float tensor scaled to [0, 1], the label), a `DataLoader` with batch 64, shuffle=True,
  num_workers=0 and the default collate, and the usual zero_grad / forward / backward / step.

A timed unit is one epoch over the first N x 64 training images (`--batches N`; default all of
them: one full epoch of 938 batches). Every loop is warmed up on a few batches first. Then
rounds of blocks, ours, core, theirs, with short pauses; each block times `--epochs` units and
keeps their median, and each loop keeps its best block (the machine is shared: a burst of other
work can only make a block slower). Last, each data path is timed alone (one epoch of batches,
no model), to show how much of an epoch batching is at all. Goal: ours at least 2x faster than
the DataLoader loop.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from layerlab.data import DataNotFoundError, load
from layerlab.data.tensors import Batches
from layerlab.pytorch.models import LeNet5
from layerlab.pytorch.seeding import set_threads
from layerlab.pytorch.train import fit
from layerlab.timing import machine, print_json, print_table

BATCH = 64
LR = 1e-3
GOAL = 2.0


class TutorialDataset(torch.utils.data.Dataset):
    """Per-sample access as tutorials write it: item i is (float image in [0, 1], label)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        image = torch.tensor(self.images[i], dtype=torch.float32) / 255.0
        return image, int(self.labels[i])


def make_model(seed: int = 0):
    torch.manual_seed(seed)
    model = LeNet5()
    return model, torch.optim.Adam(model.parameters(), lr=LR)


def ours(X: torch.Tensor, y: torch.Tensor):
    """One epoch of `fit` over (X, y) per call; the model keeps training across calls."""
    model, opt = make_model()
    data = {"X_train": X, "y_train": y}
    calls = iter(range(10**9))

    def epoch():
        fit(model, data, opt, epochs=1, batch_size=BATCH, seed=next(calls))

    return epoch


def core(X: torch.Tensor, y: torch.Tensor):
    """fit's batching core (`Batches`) under the same plain loop as the DataLoader version."""
    model, opt = make_model()
    batches = Batches(X, y, BATCH, shuffle=True, seed=0)

    def epoch():
        model.train()
        for xb, yb in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    return epoch


def theirs(images: np.ndarray, labels: np.ndarray):
    """The tutorial loop: a per-sample Dataset, a DataLoader, default collate."""
    model, opt = make_model()
    loader = torch.utils.data.DataLoader(TutorialDataset(images, labels), batch_size=BATCH,
                                         shuffle=True, num_workers=0)

    def epoch():
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    return epoch


def data_path_times(X, y, images, labels, repeats: int = 3) -> dict[str, float]:
    """Seconds to only iterate one epoch of batches (no model), best of `repeats`."""
    iterables = {"Batches": Batches(X, y, BATCH, shuffle=True, seed=0),
                 "DataLoader": torch.utils.data.DataLoader(
                     TutorialDataset(images, labels), batch_size=BATCH, shuffle=True,
                     num_workers=0)}
    out = {}
    for name, batches in iterables.items():
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in batches:
                pass
            times.append(time.perf_counter() - t)
        out[name] = min(times)
    return out


def load_train():
    """(uint8 images (N, 1, 28, 28), int64 labels, name): Fashion-MNIST, else MNIST."""
    for name in ("fashion-mnist", "mnist"):
        try:
            d = load(name, "train")
        except DataNotFoundError:
            print(f"note: {name} is not on this machine")
            continue
        if name != "fashion-mnist":
            print(f"note: Fashion-MNIST is absent; measuring on {name} (same shapes and sizes)")
        return d.images, d.labels, name
    raise SystemExit("neither fashion-mnist nor mnist is on this machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=0,
                        help="batches per timed epoch (0: a full epoch over all images)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for every loop (default 1, the runner's default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of blocks")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per block")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up batches per loop")
    args = parser.parse_args()

    set_threads(args.threads)
    info = machine()
    print(f"machine: {info}")
    images, labels, dataset = load_train()
    full_n = len(labels)
    n = len(labels) if args.batches <= 0 else min(len(labels), args.batches * BATCH)
    images, labels = images[:n], labels[:n]

    t0 = time.perf_counter()
    X = torch.from_numpy(images).to(torch.float32).div_(255.0)  # once per run, not per epoch
    convert_s = time.perf_counter() - t0
    y = torch.from_numpy(labels).to(torch.int64)
    n_batches = -(-n // BATCH)

    loops = {"layerlab fit": ours(X, y), "layerlab Batches core": core(X, y),
             "DataLoader (per-sample)": theirs(images, labels)}
    w = min(n, args.warmup * BATCH)
    warm = {"layerlab fit": ours(X[:w], y[:w]), "layerlab Batches core": core(X[:w], y[:w]),
            "DataLoader (per-sample)": theirs(images[:w], labels[:w])}
    for fn in warm.values():
        fn()

    blocks: dict[str, list[float]] = {name: [] for name in loops}
    start = time.perf_counter()
    for _ in range(args.rounds):
        for name, epoch in loops.items():
            time.sleep(0.5)
            times = []
            for _ in range(args.epochs):
                t = time.perf_counter()
                epoch()
                times.append(time.perf_counter() - t)
            blocks[name].append(statistics.median(times))
    total_s = time.perf_counter() - start
    data_only = data_path_times(X, y, images, labels)

    best = {name: min(b) for name, b in blocks.items()}
    ours_s, core_s = best["layerlab fit"], best["layerlab Batches core"]
    theirs_s = best["DataLoader (per-sample)"]
    unit = "a full epoch" if n == full_n else f"first {n} images"
    print(f"data: {dataset} train, {n} of {full_n} images (uint8, scaled to [0, 1]), {unit} "
          f"per timed epoch = {n_batches} batches of {BATCH}; LeNet-5 (tanh), Adam lr {LR}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"ours converts the uint8 images to a float tensor once: {convert_s * 1e3:.0f} ms "
          f"(not in the epoch times)")
    print(f"{args.rounds} rounds of blocks of {args.epochs} epoch(s) each, "
          f"{total_s:.0f} s of timing")
    rows = []
    for name, s in best.items():
        rows.append([name, f"{s:.2f}", f"{s / n_batches * 1e3:.2f}",
                     " ".join(f"{x:.2f}" for x in blocks[name]), f"{theirs_s / s:.2f}x"])
    print_table(["loop", "epoch s (best block)", "ms / batch", "every block s",
                 "vs DataLoader"], rows)
    speedup = theirs_s / ours_s
    share = data_only["DataLoader"] / theirs_s
    print(f"data path alone, one epoch without the model: Batches "
          f"{data_only['Batches']:.2f} s, DataLoader {data_only['DataLoader']:.2f} s "
          f"({share:.0%} of the DataLoader loop's epoch: the model's steps are the rest)")
    print(f"speed-up of fit over the DataLoader loop: {speedup:.2f}x (goal >= {GOAL:.0f}x: "
          f"{'met' if speedup >= GOAL else 'not met'}); the Batches core alone: "
          f"{theirs_s / core_s:.2f}x")
    print_json({"benchmark": "train_loop", "speedup": round(speedup, 3),
                "ours_epoch_s": round(ours_s, 3), "dataloader_epoch_s": round(theirs_s, 3),
                "goal": GOAL, "met": speedup >= GOAL,
                "core_epoch_s": round(core_s, 3), "core_speedup": round(theirs_s / core_s, 3),
                "ours": "layerlab.pytorch.train.fit, whole call, epochs=1",
                "dataset": dataset, "images": n, "batches_per_epoch": n_batches,
                "batch_size": BATCH, "threads": torch.get_num_threads(),
                "rounds": args.rounds, "epochs_per_block": args.epochs,
                "convert_once_s": round(convert_s, 4),
                "batches_only_epoch_s": round(data_only["Batches"], 3),
                "dataloader_only_epoch_s": round(data_only["DataLoader"], 3),
                "dataloader_data_share": round(share, 3)})


if __name__ == "__main__":
    main()
