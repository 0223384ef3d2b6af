"""A PyTorch model trained as one grid cell of a run: data, recipe, `fit`, weights, summary.

    spec = data_spec("fashion-mnist", val=0.1, split_seed=0)
    data = load_data(spec, run)
    result = train_cell(run, "variants/seed=0", lambda: LeNet5(), data, spec,
                        Recipe(epochs=12, batch_size=64, lr=1e-3, seed=0))
    result["final"]["test"], result["history"]["val_acc"], result["weights"]

`train_cell` trains through `layerlab.pytorch.fit` (per-epoch metrics into metrics.jsonl, the
per-epoch training state in checkpoints/ so a killed run continues mid-cell), then saves the
weights with everything needed to rebuild the model and its data (weights/CELL.pt: the file
`layerlab eval RUN_DIR` reloads), and measures the final accuracies on a *fresh model loaded
from that file*, so that `layerlab eval` repeats the very same computation and must find the
same number of correct images. Every PyTorch study trains through it.

Test-set discipline: the test split is evaluated once, on the final model (`test=True`), and
per epoch only when the caller asks (`monitor_test=True`, for a report that plots it and
selects nothing on it). Search candidates pass `test=False` and never see it.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from layerlab import ledger
from layerlab.lab.rundir import safe_name

FORMAT_NOTE = "weights/<cell>.pt: layerlab.pytorch.checkpoint with config {cell, data, recipe}"
SPLITS = ("train", "val", "test")
PIXELS = ("unit", "channel", "half", "signed")
# the history lists a cell returns unless the caller asks for others
KEEP = ("epoch", "loss", "train_acc", "val_acc", "test_acc", "lr", "time")


# --- data -----------------------------------------------------------------------------------


def data_spec(dataset, val=0.1, split_seed=0, num_train=None, num_test=None, *,
              pixels="unit", test_seed=None, folds=None) -> dict:
    """The description `load_data` rebuilds the tensors from (stored with the weights).

    val: the validation split, a seeded random draw from the training set (fraction or
    count); None: no validation split, and num_train is then a seeded subset (split_seed) of
    all the training images. num_test: a seeded subset of the test set (test_seed, default
    split_seed + 2). pixels: 'unit' (x / 255), 'channel' (standardised per channel with the
    training part's mean and std), 'half' ((x / 255 - 0.5) / 0.5), 'signed' (x / 127.5 - 1;
    only with val=None). folds: (k, fold, seed): the training images are dealt into k
    stratified folds (`stratified_folds`) and fold `fold` becomes the validation split (the
    test split is dropped). Options at their defaults are left out of the dict, so a
    description keeps the same form as before they existed.
    """
    if pixels not in PIXELS:
        raise ValueError(f"pixels must be one of {PIXELS}, not {pixels!r}")
    if (pixels == "signed") != (val is None):
        raise ValueError("pixels='signed' goes with val=None (the plain split), and only there")
    spec = {"dataset": dataset, "val": val, "split_seed": split_seed, "num_train": num_train,
            "num_test": num_test}
    extra = {"pixels": (pixels, "unit"), "test_seed": (test_seed, None),
             "folds": (list(folds) if folds is not None else None, None)}
    spec.update({k: v for k, (v, default) in extra.items() if v != default})
    return spec


def stratified_folds(labels, k, seed=0):
    """(N,) fold number in 0..k-1 of every row; each class is dealt round-robin over the folds
    in a seeded random order, so every fold holds about 1/k of every class."""
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {k}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(labels), dtype=int)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        folds[rng.permutation(rows)] = np.arange(len(rows)) % k
    return folds


def _plain_split(train, test, spec) -> dict:
    """No validation split: a seeded subset of the training rows (never the first rows: they
    are ordered by class) and the whole test set, pixels x / 127.5 - 1."""
    idx = np.arange(len(train))
    if spec["num_train"]:
        idx = np.sort(np.random.default_rng(spec["split_seed"]).choice(
            idx, spec["num_train"], replace=False))

    def scale(images):  # 0..255 -> [-1, 1]
        return images.astype(np.float32) / 127.5 - 1.0

    return {"X_train": scale(train.images[idx]), "y_train": train.labels[idx],
            "X_test": scale(test.images), "y_test": test.labels}


@lru_cache(maxsize=4)
def _load_cached(spec_json: str):
    from layerlab.data import load, transforms
    from layerlab.pytorch import as_tensors

    spec = json.loads(spec_json)
    pixels = spec.get("pixels", "unit")
    train, test = load(spec["dataset"], "train"), load(spec["dataset"], "test")
    if spec["val"] is None:
        data = _plain_split(train, test, spec)
    else:
        data = transforms.solver_data(train, test, val=spec["val"], num_train=spec["num_train"],
                                      seed=spec["split_seed"],
                                      center="channel" if pixels == "channel" else None)
    if spec["num_test"]:
        seed = spec.get("test_seed", spec["split_seed"] + 2)
        idx = np.sort(np.random.default_rng(seed).choice(
            len(data["y_test"]), spec["num_test"], replace=False))
        data["X_test"], data["y_test"] = data["X_test"][idx], data["y_test"][idx]
    if pixels == "half":
        for k in ("X_train", "X_val", "X_test"):
            data[k] = transforms.normalise(data[k], 0.5, 0.5)
    return as_tensors(data), (train, test)


def load_data(spec: dict, run=None) -> dict[str, torch.Tensor]:
    """X_train, y_train[, X_val, y_val][, X_test, y_test] as tensors for `spec` (data_spec).

    X float32 (N, C, H, W) scaled as spec['pixels'] says, y int64 (N,). Cached per process, so
    a grid of cells loads the files once (the folds of one set share its cache entry). With
    `run`, the datasets are recorded in its report.
    """
    spec = data_spec(**spec)
    folds = spec.pop("folds", None)
    data, sets = _load_cached(json.dumps(spec, sort_keys=True))
    if run is not None:
        for ds in sets:
            run.dataset(ds)
    if folds is None:
        return dict(data)
    k, fold, seed = folds
    inside = torch.from_numpy(stratified_folds(data["y_train"].numpy(), k, seed) == fold)
    return {"X_train": data["X_train"][~inside], "y_train": data["y_train"][~inside],
            "X_val": data["X_train"][inside], "y_val": data["y_train"][inside]}


def datasets(spec: dict) -> tuple:
    """The (train, test) `layerlab.data.Dataset`s `load_data(spec)` reads (cached)."""
    spec = data_spec(**spec)
    spec.pop("folds", None)
    return _load_cached(json.dumps(spec, sort_keys=True))[1]


# --- the recipe -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How one cell trains (saved beside its weights).

    optimizer 'adam', 'adamw' or 'sgd' (Nesterov momentum when momentum > 0; plain SGD at 0)
    at lr with weight_decay (the optimizer's own); schedule None or 'onecycle' (peaking at
    lr, per batch). Augmentation of the training batches (see `augmentation`): shift, flip,
    degrees, scale, elastic, elastic_sigma, ink. label_smoothing of the training loss
    (cross-entropy against (1 - e) one-hot + e / classes); explicit penalties {'l1', 'l2'};
    clip_grad (max total gradient norm); early_stopping (patience on validation accuracy).
    monitor_test: evaluate the test split after every epoch too (curves, time to accuracy;
    nothing is selected on it). test: evaluate the final model on the test split (once).
    eval_train: also the final model's accuracy on the whole training split in eval mode.
    channels_last: train with NHWC weights (faster convolutions on this CPU; the saved
    weights and every evaluation are in the default layout).
    """

    epochs: int
    batch_size: int
    lr: float
    seed: int = 0
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str | None = None
    shift: int = 0
    flip: bool = False
    degrees: float = 0.0
    scale: float = 0.0
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    ink: bool = False
    label_smoothing: float = 0.0
    penalties: dict | None = None
    clip_grad: float | None = None
    early_stopping: int | None = None
    monitor_test: bool = False
    test: bool = True
    eval_train: bool = False
    channels_last: bool = True

    def transform(self):
        """The training-batch augmentation of this recipe, or None."""
        return augmentation(self.shift, self.flip, self.degrees, self.scale, self.elastic,
                            self.elastic_sigma, self.ink)

    def loss_fn(self):
        """The training loss: cross-entropy, label-smoothed when asked."""
        if self.label_smoothing:
            return partial(F.cross_entropy, label_smoothing=self.label_smoothing)
        return F.cross_entropy


# --- augmentation and schedule --------------------------------------------------------------


def ink_elastic(alpha, sigma):
    """`random_elastic` for images in [-1, 1] whose background is +1 (white) and ink -1: it
    distorts (1 - x) / 2, whose background is 0, so that the pixels moved in from beyond the
    border are background, not grey. (N, C, H, W) -> (N, C, H, W)."""
    from layerlab.pytorch import random_elastic

    elastic = random_elastic(alpha, sigma)
    return lambda xb: 1 - 2 * elastic((1 - xb) / 2)


def augmentation(shift: int = 0, flip: bool = False, degrees: float = 0.0,
                 scale: float = 0.0, elastic: float = 0.0, elastic_sigma: float = 4.0,
                 ink: bool = False):
    """The training-batch transform of a recipe, or None: an elastic distortion
    (`layerlab.pytorch.random_elastic`, alpha = elastic pixels, when elastic; `ink_elastic`
    when ink), a random rotation/scaling (`layerlab.pytorch.random_affine`, when degrees or
    scale), then a random ±shift-pixel move of each image (`layerlab.pytorch.random_shift`)
    and, with flip, a left-right mirror of a random half of the images. (N, C, H, W) ->
    (N, C, H, W), drawn from torch's generator (seeded by fit)."""
    from layerlab.pytorch import random_affine, random_elastic, random_shift

    steps = []
    if elastic:
        steps.append(ink_elastic(elastic, elastic_sigma) if ink
                     else random_elastic(elastic, elastic_sigma))
    if degrees or scale:
        steps.append(random_affine(degrees, scale))
    if shift:
        steps.append(random_shift(shift))
    if flip:
        def mirror(xb: torch.Tensor) -> torch.Tensor:
            half = torch.rand(len(xb)) < 0.5
            return torch.where(half[:, None, None, None], xb.flip(3), xb)

        steps.append(mirror)
    if not steps:
        return None

    def transform(xb: torch.Tensor) -> torch.Tensor:
        for step in steps:
            xb = step(xb)
        return xb

    return transform


def augmentation_text(elastic, elastic_sigma, shift, degrees, scale) -> str:
    """What `augmentation` does to each training image, for a report's Recipe note (the
    steps in the order it applies them; the flip is left to the caller's text)."""
    steps = []
    if elastic:
        steps.append(f"elastically distorted (Simard et al. 2003: alpha {elastic:g} px, sigma "
                     f"{elastic_sigma:g} px)")
    if degrees or scale:
        steps.append(f"rotated by up to ±{degrees:g}° and scaled by up to ±{scale:.0%}")
    if shift:
        steps.append(f"shifted by up to ±{shift} pixels")
    return (", then ".join(steps) + " (zeros moved in)") if steps else "used as it is"


def make_optimizer(model, optimizer="adam", lr=1e-3, weight_decay=0.0, momentum=0.9):
    """Adam, AdamW or SGD (Nesterov momentum; plain SGD at momentum 0) over all parameters."""
    params = model.parameters()
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=momentum > 0)
    raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', not {optimizer!r}")


def make_schedule(opt, schedule, lr, epochs, steps_per_epoch):
    """(scheduler, step) for fit: None, or 'onecycle' (OneCycleLR peaking at lr, stepped per
    batch over every step of the run)."""
    if schedule in (None, "", "none"):
        return None, "epoch"
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=epochs * steps_per_epoch), "batch"
    raise ValueError(f"schedule must be 'none' or 'onecycle', not {schedule!r}")


# --- one cell -------------------------------------------------------------------------------


def _accuracy(model, data, split, batch_size=1000) -> dict:
    from layerlab.pytorch import predict

    logits = predict(model, data[f"X_{split}"], batch_size)
    correct = int((logits.argmax(1) == data[f"y_{split}"]).sum())
    return {"correct": correct, "n": len(data[f"y_{split}"]),
            "acc": correct / len(data[f"y_{split}"]), "pred": logits.argmax(1)}


def weights_path(run, cell: str) -> Path:
    """run/weights/<cell>.pt (kept after the run, for `layerlab eval`; never published)."""
    folder = run.path / "weights"
    folder.mkdir(exist_ok=True)
    return folder / f"{safe_name(cell)}.pt"


def _fit(run, cell, model, data, recipe, probes):
    """`fit` with the recipe's optimizer, schedule, augmentation and loss, checkpointed per
    epoch in checkpoints/<cell>.fit.pt (removed by the caller once the result is safe).
    A corrupt state file is moved aside (`solver_cell.set_aside`: `.corrupt`, one warning
    line) and the cell trains from scratch: the failed load touched nothing.
    Returns (history, the state file)."""
    from layerlab.pytorch import distributed, fit
    from layerlab.pytorch.checkpoint import CheckpointError
    from layerlab.pytorch.device import on_cpu
    from layerlab.trainers.solver_cell import set_aside

    opt = make_optimizer(model, recipe.optimizer, recipe.lr, recipe.weight_decay,
                         recipe.momentum)
    steps = math.ceil(len(data["y_train"]) / recipe.batch_size)
    scheduler, step = make_schedule(opt, recipe.schedule, recipe.lr, recipe.epochs, steps)
    train_data = {k: v for k, v in data.items()
                  if recipe.monitor_test or not k.endswith("_test")}
    state = run.path / "checkpoints" / f"{safe_name(cell)}.fit.pt"
    state.parent.mkdir(exist_ok=True)
    args = (model, train_data, opt, recipe.epochs, recipe.batch_size)
    kwargs = dict(penalties=recipe.penalties, probes=probes, clip_grad=recipe.clip_grad,
                  scheduler=scheduler, scheduler_step=step,
                  early_stopping=recipe.early_stopping, seed=recipe.seed, run=run, cell=cell,
                  transform=on_cpu(recipe.transform(), data["X_train"].device),
                  loss_fn=recipe.loss_fn(),
                  # under torchrun the processes could not resume a checkpoint together
                  checkpoint_path=None if distributed.active() else state)
    try:
        history = fit(*args, **kwargs)
    except CheckpointError as err:
        set_aside(err.path, f"is unusable: {err.problem}", cell, run)
        history = fit(*args, **kwargs)
    return history, state


def _save_and_measure(run, cell, model, data, spec, recipe) -> tuple[dict, dict, bool, Path]:
    """Save the weights, reload them into a fresh model and count its correct images on every
    split asked for; save again with those counts. Returns (measured per split, correct
    {split: [correct, n]}, the fresh model predicts what the trained one does, the path)."""
    from layerlab.pytorch import checkpoint

    config = {"cell": cell, "data": spec, "recipe": asdict(recipe)}
    splits = [s for s in SPLITS if f"y_{s}" in data and (s != "train" or recipe.eval_train)
              and (s != "test" or recipe.test)]
    path = weights_path(run, cell)
    checkpoint.save(path, model, config=config)
    fresh = checkpoint.load(path)  # the model `layerlab eval` builds
    measured, identical = {}, True
    for s in splits:
        ours, again = _accuracy(model, data, s), _accuracy(fresh, data, s)
        identical &= bool(torch.equal(ours["pred"], again["pred"]))
        measured[s] = again
    correct = {s: [m["correct"], m["n"]] for s, m in measured.items()}
    checkpoint.save(path, fresh, config=config, extra={"correct": correct})
    return measured, correct, identical, path


def train_cell(run, cell: str, model_fn, data: dict, spec: dict, recipe: Recipe, *,
               probes=None, keep=KEEP) -> dict:
    """Train model_fn() (built after `set_seed(recipe.seed)`) on `data`; a JSON-able summary.

    data: load_data(spec) (or tensors equal to it: `layerlab eval` rebuilds them from spec).
    probes(model) -> layerlab.pytorch.Probes, when the caller wants per-step records.
    keep: the per-epoch history lists to return (fit's keys, e.g. 'step_loss', 'penalty',
    'val_loss', 'test_loss').

    Returns {history {key: list} for the keys of `keep` that fit recorded, final {split: acc},
    correct {split: [correct, n]}, params, train_time, epoch_time (mean seconds per epoch),
    best_epoch, best_val_acc, stopped_early, diverged (None, or fit's {"step", "epoch",
    "last_finite_loss"}: the study leaves the cell out, see layerlab.analysis.divergence),
    weights (path relative to the run),
    reload_identical (a fresh model from the saved file predicts exactly what the trained one
    does), cpu_time (CPU seconds of fit, evaluation included), load (the 1-minute load
    average when training ended), started, ended (time.time() at the cell's start and end:
    wall times of a grid come from its cells), device (where it trained: the run's `device`
    setting, `run_device`), processes (1, or the processes of torchrun that trained it
    data-parallel: rank 0 alone saves and measures, every process returns its result),
    [probes: the probes' history]}.
    """
    from layerlab.probing import torch as torch_probe
    from layerlab.pytorch import count_params, distributed, set_seed
    from layerlab.pytorch.device import to_device

    started = time.time()
    device = run_device(run)
    distributed.setup(device)  # under torchrun: join the processes (once)
    set_seed(recipe.seed)
    model = model_fn()  # built on the CPU: the same initial weights on every device
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = model.to(device)
    probe = probes(model) if probes is not None else None
    # the run's probes setting: per-layer statistics into probes/<cell>.jsonl (one writer)
    recorder = torch_probe.for_run(run, cell, model) if distributed.is_writer() else None
    cpu_start = time.process_time()
    history, state = _fit(run, cell, model, to_device(data, device), recipe,
                          torch_probe.chain(probe, recorder))
    if recorder is not None:
        recorder.remove()
    # CPU seconds of this process while training (with evaluation, and only this attempt's
    # epochs if the cell was resumed): on a shared machine, wall times grow with other work
    cpu_time, load = time.process_time() - cpu_start, os.getloadavg()[0]
    # measured on the CPU, as `layerlab eval` measures, so it finds the same counts anywhere
    model = model.to("cpu", memory_format=torch.contiguous_format)
    if not distributed.is_writer():  # rank 0 alone measures, saves and records the cell
        return distributed.share(None)
    measured, correct, identical, path = _save_and_measure(run, cell, model, data, spec, recipe)
    if "test" in measured:  # every score on a test split is written down (layerlab.ledger)
        ledger.record_look(run, dataset=spec["dataset"], cell=cell,
                           recipe={"cell": re.sub(r"seed=\d+", "", cell), "data": spec,
                                   **asdict(recipe)},
                           accuracy=measured["test"]["acc"], n=correct["test"][1])
    state.unlink(missing_ok=True)  # the result now lives in the sweep database
    result = {"history": {k: history[k] for k in keep if k in history},
              "final": {s: m["acc"] for s, m in measured.items()}, "correct": correct,
              "params": count_params(model), "train_time": history["train_time"],
              "epoch_time": history["train_time"] / max(len(history["time"]), 1),
              "best_epoch": history["best_epoch"], "best_val_acc": history["best_val_acc"],
              "stopped_early": history["stopped_early"], "diverged": history.get("diverged"),
              "weights": str(path.relative_to(run.path)), "reload_identical": identical,
              "cpu_time": cpu_time, "load": load, "started": started, "ended": time.time(),
              "device": str(device), "processes": distributed.processes()}
    if probe is not None:
        result["probes"] = probe.history
    return distributed.share(result)


def run_device(run):
    """The torch.device of the run's `device` setting ('auto' for a run without one);
    DeviceError (one line) for a device this machine lacks."""
    from layerlab.pytorch.device import choose_device

    return choose_device((getattr(run, "config", None) or {}).get("device"))


def cell_trainer(run, spec: dict):
    """train(cell, model_fn, recipe, **train_cell's keywords) -> train_cell's result on the
    data of `spec`. The datasets are recorded in the run from a cell of their own
    (`layerlab.lab.sweep.record_datasets`); the tensors are loaded inside each cell (cached, so
    read once per process; a rebuild from cells.json reads none)."""
    from layerlab.lab.sweep import record_datasets

    record_datasets(run, lambda: datasets(spec))
    return lambda cell, model_fn, recipe, **kw: train_cell(run, cell, model_fn, load_data(spec),
                                                            spec, recipe, **kw)


def epoch_time_summary(histories) -> str:
    """'median 1.23 s (range 1.1-1.4 s, N epochs)' over every epoch of the given histories
    (each a dict with a 'time' list of epoch seconds)."""
    times = [t for h in histories for t in h["time"]]
    if not times:
        return "no epochs"
    return (f"median {float(np.median(times)):.3g} s (range {min(times):.3g}-{max(times):.3g} s, "
            f"{len(times)} epochs)")
