"""Epoch time of layerlab's in-memory training loop vs the study's plain DataLoader recipe.

    python benchmarks/train_loop.py [--batches N] [--threads 1,2] [--rounds R]

Every loop trains the same model (LeNet-5 from `layerlab.pytorch.models`, tanh, PyTorch's
default initialisation) with Adam (lr 1e-3), batch 64, on the same threads, from the same
uint8 Fashion-MNIST training images (MNIST, with a note, if Fashion-MNIST is not on the
machine):

- ours: `layerlab.pytorch.train.fit(..., epochs=1)` on a model converted to channels-last
  (NHWC) weights, as the experiments train (`layerlab.trainers.torch_cell.train_cell`), timed as a
  whole call (its per-epoch bookkeeping included: running accuracy, loss history, a new
  `Batches` permutation), on a float32 tensor of the images scaled to [0, 1] once before
  timing (that conversion is timed separately and printed: it is paid once per run);
- "fit, default layout": the same call on an NCHW model, to show what the layout gives;
- "core": a plain zero_grad / forward / backward / step loop over
  `layerlab.data.tensors.Batches` (fit's batching core, without fit's bookkeeping), NCHW;
- theirs, the study's recipe: what `torchvision.datasets.FashionMNIST(transform=ToTensor())`
  with `random_split` and `DataLoader(batch_size=64, shuffle=True)` does per image, written
  out without torchvision: `__getitem__` turns the uint8 image into a PIL image
  (`Image.fromarray(img, mode="L")`, as torchvision's dataset does), `ToTensor` turns it back
  (`np.array(pic)`, view, permute to CHW, `.float().div(255)`), the label becomes an int; the
  dataset is wrapped in the `Subset` of a 90/10 `random_split`; the default collate stacks
  each batch; num_workers=0 (the tutorials' default); NCHW model.

A timed unit is one epoch over the first N x 64 training images (`--batches N`; default all of
them: one full epoch of 844 batches). Every loop is warmed up on a few batches first. Then
rounds of blocks, one per loop in turn, with short pauses; each block times `--epochs` units
and keeps their median, and each loop keeps its best block (the machine is shared: a burst of
other work can only make a block slower). Last, each data path is timed alone (one epoch of
batches, no model), to show how much of an epoch the data path is at all. All of it is done
once per thread count of `--threads` (default 1 and 2: the runner's one thread, and torch's
own default on this 2-core machine, which is how the study's recipe runs when nobody sets
it). Goal: ours at least 2x faster than the study's DataLoader recipe.

Prints the machine first (BLAS kernel, CPU SIMD sets, a WARNING if OPENBLAS_CORETYPE forces an
older kernel than the CPU supports); the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import os
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
from layerlab.timing import machine, print_json, print_machine, print_table

BATCH = 64
LR = 1e-3
GOAL = 2.0


class TorchvisionStyleDataset(torch.utils.data.Dataset):
    """torchvision's FashionMNIST with transform=ToTensor(), per item, without torchvision.

    images: uint8 (N, 1, 28, 28), kept as a uint8 tensor (N, 28, 28) as torchvision keeps
    `data`; item i is (float tensor (1, 28, 28) in [0, 1], int label).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.data = torch.from_numpy(np.ascontiguousarray(images[:, 0]))
        self.targets = torch.from_numpy(labels)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        from PIL import Image

        img, target = self.data[i], int(self.targets[i])
        pic = Image.fromarray(img.numpy(), mode="L")  # torchvision's MNIST __getitem__
        # ToTensor on a PIL image (torchvision.transforms.functional.to_tensor)
        tensor = torch.from_numpy(np.array(pic, np.uint8, copy=True))
        tensor = tensor.view(pic.size[1], pic.size[0], 1).permute((2, 0, 1)).contiguous()
        return tensor.to(dtype=torch.float32).div(255), target


def study_loader(images: np.ndarray, labels: np.ndarray):
    """The study's DataLoader: the training part of a 90/10 random_split, batch 64, shuffled."""
    dataset = TorchvisionStyleDataset(images, labels)
    n_val = len(dataset) // 10
    train, _ = torch.utils.data.random_split(dataset, [len(dataset) - n_val, n_val],
                                             generator=torch.Generator().manual_seed(0))
    return torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True, num_workers=0)


def make_model(seed: int = 0, channels_last: bool = False):
    torch.manual_seed(seed)
    model = LeNet5()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=LR)


def ours(X: torch.Tensor, y: torch.Tensor, channels_last: bool = True):
    """One epoch of `fit` over (X, y) per call; the model keeps training across calls."""
    model, opt = make_model(channels_last=channels_last)
    data = {"X_train": X, "y_train": y}
    calls = iter(range(10**9))

    def epoch():
        fit(model, data, opt, epochs=1, batch_size=BATCH, seed=next(calls))

    return epoch


def plain_loop(model, opt, batches):
    """The usual zero_grad / forward / backward / step over any iterable of batches."""
    def epoch():
        model.train()
        for xb, yb in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    return epoch


def core(X: torch.Tensor, y: torch.Tensor):
    """fit's batching core (`Batches`) under the plain loop, NCHW model."""
    model, opt = make_model()
    return plain_loop(model, opt, Batches(X, y, BATCH, shuffle=True, seed=0))


def theirs(images: np.ndarray, labels: np.ndarray):
    """The study's recipe: torchvision-style per-image PIL + ToTensor, random_split,
    DataLoader with the default collate, NCHW model."""
    model, opt = make_model()
    return plain_loop(model, opt, study_loader(images, labels))


def data_path_times(X, y, images, labels, repeats: int = 3) -> dict[str, float]:
    """Seconds to only iterate one epoch of batches (no model), best of `repeats`."""
    iterables = {"Batches": Batches(X, y, BATCH, shuffle=True, seed=0),
                 "DataLoader": study_loader(images, labels)}
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


FIT, FIT_NCHW, CORE, PEER = ("layerlab fit (channels-last)", "layerlab fit (NCHW)",
                             "layerlab Batches core (NCHW)", "study recipe: DataLoader")


def measure(threads: int, args, images: np.ndarray, labels: np.ndarray) -> dict:
    """Time every loop on `threads` torch threads; print the table; return the figures."""
    set_threads(threads)
    load_before = os.getloadavg()[0]
    n = len(labels)
    n_train = n - n // 10  # the study's 90/10 split: every loop trains on this many images
    t0 = time.perf_counter()
    X = torch.from_numpy(images[:n_train]).to(torch.float32).div_(255.0)  # once per run
    convert_s = time.perf_counter() - t0
    y = torch.from_numpy(labels[:n_train]).to(torch.int64)
    n_batches = -(-n_train // BATCH)

    loops = {FIT: ours(X, y), FIT_NCHW: ours(X, y, channels_last=False), CORE: core(X, y),
             PEER: theirs(images, labels)}
    w = min(n, args.warmup * BATCH)
    warm = [ours(X[:w], y[:w]), ours(X[:w], y[:w], False), core(X[:w], y[:w]),
            theirs(images[:w + w // 9], labels[:w + w // 9])]
    for fn in warm:
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
    ours_s, theirs_s = best[FIT], best[PEER]
    print(f"\n== torch threads {torch.get_num_threads()}: {n_train} images = {n_batches} "
          f"batches of {BATCH} per epoch; load average before timing {load_before:.2f}; "
          f"{args.rounds} rounds of blocks of {args.epochs} epoch(s), {total_s:.0f} s of timing")
    print(f"ours converts the uint8 images to a float tensor once: {convert_s * 1e3:.0f} ms "
          f"(not in the epoch times)")
    rows = []
    for name, sec in best.items():
        rows.append([name, f"{sec:.2f}", f"{sec / n_batches * 1e3:.2f}",
                     " ".join(f"{x:.2f}" for x in blocks[name]), f"{theirs_s / sec:.2f}x"])
    print_table(["loop", "epoch s (best block)", "ms / batch", "every block s",
                 "vs study recipe"], rows)
    speedup = theirs_s / ours_s
    share = data_only["DataLoader"] / theirs_s
    print(f"data path alone, one epoch without the model: Batches "
          f"{data_only['Batches']:.2f} s, DataLoader {data_only['DataLoader']:.2f} s "
          f"({share:.0%} of the DataLoader loop's epoch: the model's steps are the rest)")
    print(f"speed-up of fit over the study's DataLoader recipe on {threads} thread(s): "
          f"{speedup:.2f}x (goal >= {GOAL:.0f}x: {'met' if speedup >= GOAL else 'not met'}); "
          f"of which the layout (fit NCHW / fit channels-last) {best[FIT_NCHW] / ours_s:.2f}x "
          f"and the data path (study recipe / fit NCHW) {theirs_s / best[FIT_NCHW]:.2f}x")
    return {"speedup": round(speedup, 3), "met": speedup >= GOAL,
            "ours_epoch_s": round(ours_s, 3), "dataloader_epoch_s": round(theirs_s, 3),
            "fit_nchw_epoch_s": round(best[FIT_NCHW], 3),
            "core_epoch_s": round(best[CORE], 3),
            "layout_speedup": round(best[FIT_NCHW] / ours_s, 3),
            "data_path_speedup": round(theirs_s / best[FIT_NCHW], 3),
            "images": n_train, "batches_per_epoch": n_batches,
            "load_before": round(load_before, 2), "convert_once_s": round(convert_s, 4),
            "batches_only_epoch_s": round(data_only["Batches"], 3),
            "dataloader_only_epoch_s": round(data_only["DataLoader"], 3),
            "dataloader_data_share": round(share, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=0,
                        help="batches per timed epoch (0: a full epoch over all images)")
    parser.add_argument("--threads", default="1,2",
                        help="torch thread counts to measure at, comma-separated (default "
                             "1,2: the runner's default and torch's default on 2 cores)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of blocks")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per block")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up batches per loop")
    args = parser.parse_args()
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        raise SystemExit(f"--threads takes comma-separated whole numbers, like 1,2; not "
                         f"{args.threads!r}") from None
    if not thread_counts or min(thread_counts) < 1:
        raise SystemExit(f"--threads needs thread counts of at least 1, not {args.threads!r}")

    info = print_machine(machine())
    images, labels, dataset = load_train()
    full_n = len(labels)
    n = len(labels) if args.batches <= 0 else min(len(labels), args.batches * BATCH)
    images, labels = images[:n], labels[:n]
    unit = "a full epoch" if n == full_n else f"the first {n} images"
    print(f"data: {dataset} train, {n} of {full_n} images ({unit}), 90% of them trained per "
          f"epoch; LeNet-5 (tanh), Adam lr {LR}, batch {BATCH}")
    by_threads = {t: measure(t, args, images, labels) for t in thread_counts}

    print("\nsummary: " + "; ".join(
        f"{t} thread(s) {r['speedup']:.2f}x ({'met' if r['met'] else 'not met'})"
        for t, r in by_threads.items()) + f" (goal >= {GOAL:.0f}x)")
    first = by_threads[thread_counts[0]]
    print_json({"benchmark": "train_loop", "threads": thread_counts[0],
                **{k: first[k] for k in ("speedup", "met", "ours_epoch_s",
                                         "dataloader_epoch_s")},
                "goal": GOAL,
                "speedup_by_threads": {str(t): r["speedup"] for t, r in by_threads.items()},
                "met_at_every_thread_count": all(r["met"] for r in by_threads.values()),
                "by_threads": {str(t): r for t, r in by_threads.items()},
                "ours": "layerlab.pytorch.train.fit, whole call, epochs=1, channels-last model",
                "theirs": "torchvision-style PIL + ToTensor per item, random_split Subset, "
                          "DataLoader batch 64 shuffle, default collate, NCHW model",
                "dataset": dataset, "batch_size": BATCH,
                "rounds": args.rounds, "epochs_per_block": args.epochs, "machine": info})


if __name__ == "__main__":
    main()
