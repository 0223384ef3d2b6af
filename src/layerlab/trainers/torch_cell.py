"""A PyTorch model trained as one grid cell of a run: data, recipe, `fit`, weights, summary.

    data = load_data({"dataset": "fashion-mnist", "val": 0.1, "split_seed": 0}, run)
    result = train_cell(run, "variants/seed=0", lambda: LeNet5(), data, spec, epochs=12,
                        batch_size=64, lr=1e-3, seed=0)
    result["final"]["test"], result["history"]["val_acc"], result["weights"]

`train_cell` trains through `layerlab.pytorch.fit` (per-epoch metrics into metrics.jsonl, the
per-epoch training state in checkpoints/ so a killed run continues mid-cell), then saves the
weights with everything needed to rebuild the model and its data (weights/CELL.pt: the file
`layerlab eval RUN_DIR` reloads), and measures the final accuracies on a *fresh model loaded
from that file*, so that `layerlab eval` repeats the very same computation and must find the
same number of correct images.

Test-set discipline: the test split is evaluated once, on the final model (`test=True`), and
per epoch only when the caller asks (`monitor_test=True`, for a report that plots it and
selects nothing on it). Search candidates pass `test=False` and never see it.
"""

from __future__ import annotations

import json
import math
import os
import time
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from layerlab.lab.rundir import safe_name

FORMAT_NOTE = "weights/<cell>.pt: layerlab.pytorch.checkpoint with config {cell, data, recipe}"
SPLITS = ("train", "val", "test")


# --- data -----------------------------------------------------------------------------------


def data_spec(dataset, val=0.1, split_seed=0, num_train=None, num_test=None) -> dict:
    """The description `load_data` rebuilds the tensors from (stored with the weights)."""
    return {"dataset": dataset, "val": val, "split_seed": split_seed, "num_train": num_train,
            "num_test": num_test}


@lru_cache(maxsize=4)
def _load_cached(spec_json: str):
    from layerlab.data import load, transforms
    from layerlab.pytorch import as_tensors

    spec = json.loads(spec_json)
    train, test = load(spec["dataset"], "train"), load(spec["dataset"], "test")
    data = transforms.solver_data(train, test, val=spec["val"], num_train=spec["num_train"],
                                  seed=spec["split_seed"], center=None)  # pixels / 255
    if spec["num_test"]:
        idx = np.sort(np.random.default_rng(spec["split_seed"] + 2).choice(
            len(data["y_test"]), spec["num_test"], replace=False))
        data["X_test"], data["y_test"] = data["X_test"][idx], data["y_test"][idx]
    return as_tensors(data), (train, test)


def load_data(spec: dict, run=None) -> dict[str, torch.Tensor]:
    """X_train, y_train, X_val, y_val, X_test, y_test as tensors for `spec` (see data_spec).

    X float32 (N, 1, 28, 28) in [0, 1], y int64 (N,). The validation split is a seeded random
    draw from the training set (`val`: fraction or count); num_train keeps a seeded subset of
    the rest, num_test a seeded subset of the test set (quick runs). Cached per process, so a
    grid of cells loads the files once. With `run`, the datasets are recorded in its report.
    """
    spec = data_spec(**spec)
    data, datasets = _load_cached(json.dumps(spec, sort_keys=True))
    if run is not None:
        for ds in datasets:
            run.dataset(ds)
    return dict(data)


# --- augmentation and schedule --------------------------------------------------------------


def augmentation(shift: int = 0, flip: bool = False, degrees: float = 0.0,
                 scale: float = 0.0, elastic: float = 0.0, elastic_sigma: float = 4.0):
    """The training-batch transform of a recipe, or None: an elastic distortion
    (`layerlab.pytorch.random_elastic`, alpha = elastic pixels, when elastic), a random
    rotation/scaling (`layerlab.pytorch.random_affine`, when degrees or scale), then a
    random ±shift-pixel move of each image (`layerlab.pytorch.random_shift`) and, with flip,
    a left-right mirror of a random half of the images. (N, C, H, W) -> (N, C, H, W), drawn
    from torch's generator (seeded by fit)."""
    from layerlab.pytorch import random_affine, random_elastic, random_shift

    steps = []
    if elastic:
        steps.append(random_elastic(elastic, elastic_sigma))
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
    """Adam, AdamW or SGD (with momentum) over all the model's parameters."""
    params = model.parameters()
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=True)
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


def train_cell(run, cell: str, model_fn, data: dict, spec: dict, *, epochs: int,
               batch_size: int, lr: float, seed: int, optimizer: str = "adam",
               weight_decay: float = 0.0, schedule: str | None = None, shift: int = 0,
               flip: bool = False, degrees: float = 0.0, scale: float = 0.0,
               elastic: float = 0.0, elastic_sigma: float = 4.0,
               label_smoothing: float = 0.0, penalties: dict | None = None, clip_grad=None,
               early_stopping: int | None = None, monitor_test: bool = False,
               test: bool = True, eval_train: bool = False, channels_last: bool = True,
               probes=None) -> dict:
    """Train model_fn() (built after `set_seed(seed)`) on `data`; return a JSON-able summary.

    data: load_data(spec). The recipe: optimizer ('adam', 'adamw', 'sgd') at lr with
    weight_decay, schedule (None or 'onecycle', peaking at lr), augmentation (shift, flip,
    degrees, scale, elastic, elastic_sigma: see `augmentation`), label_smoothing (of the
    training loss, cross-entropy against (1 - e) one-hot + e / classes), explicit penalties,
    clip_grad, early_stopping (patience on validation accuracy).
    monitor_test: evaluate the test split after every epoch too (for time-to-accuracy).
    test: evaluate the final model on the test split (once). eval_train: also the final
    model's accuracy on the whole training split in eval mode (the study's "final train").
    channels_last: train with NHWC weights (faster convolutions on this CPU; the saved
    weights and every evaluation are in the default layout).

    Returns {history (per-epoch lists: epoch, loss, train_acc, val_acc, [test_acc], lr,
    time), final {split: acc}, correct {split: [correct, n]}, params, train_time, epoch_time
    (mean seconds per epoch), best_epoch, best_val_acc, stopped_early, weights (path relative
    to the run), reload_identical (a fresh model from the saved file predicts exactly what the
    trained one does), cpu_time (CPU seconds of fit, evaluation included), load (the 1-minute
    load average when training ended)}.
    """
    from layerlab.pytorch import checkpoint, count_params, fit, set_seed

    set_seed(seed)
    model = model_fn()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, optimizer, lr, weight_decay)
    steps = math.ceil(len(data["y_train"]) / batch_size)
    scheduler, step = make_schedule(opt, schedule, lr, epochs, steps)
    train_data = {k: v for k, v in data.items() if monitor_test or not k.endswith("_test")}
    state = run.path / "checkpoints" / f"{safe_name(cell)}.fit.pt"
    state.parent.mkdir(exist_ok=True)
    cpu_start = time.process_time()
    history = fit(model, train_data, opt, epochs, batch_size, penalties=penalties,
                  probes=probes, clip_grad=clip_grad, scheduler=scheduler,
                  scheduler_step=step, early_stopping=early_stopping, seed=seed, run=run,
                  cell=cell, transform=augmentation(shift, flip, degrees, scale, elastic,
                                                         elastic_sigma),
                  loss_fn=(partial(F.cross_entropy, label_smoothing=label_smoothing)
                           if label_smoothing else F.cross_entropy),
                  checkpoint_path=state)
    # CPU seconds of this process while training (with evaluation, and only this attempt's
    # epochs if the cell was resumed): on a shared machine, wall times grow with other work
    cpu_time, load = time.process_time() - cpu_start, os.getloadavg()[0]
    model = model.to(memory_format=torch.contiguous_format)

    recipe = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
              "optimizer": optimizer, "weight_decay": weight_decay, "schedule": schedule,
              "shift": shift, "flip": flip, "degrees": degrees, "scale": scale,
              "elastic": elastic, "elastic_sigma": elastic_sigma,
              "label_smoothing": label_smoothing, "penalties": penalties,
              "clip_grad": clip_grad, "early_stopping": early_stopping}
    splits = [s for s in SPLITS if (s != "train" or eval_train) and (s != "test" or test)]
    path = weights_path(run, cell)
    checkpoint.save(path, model, config={"cell": cell, "data": spec, "recipe": recipe})
    fresh = checkpoint.load(path)  # the model `layerlab eval` builds
    measured, identical = {}, True
    for s in splits:
        ours, again = _accuracy(model, data, s), _accuracy(fresh, data, s)
        identical &= bool(torch.equal(ours["pred"], again["pred"]))
        measured[s] = again
    correct = {s: [m["correct"], m["n"]] for s, m in measured.items()}
    checkpoint.save(path, fresh, config={"cell": cell, "data": spec, "recipe": recipe},
                    extra={"correct": correct})
    state.unlink(missing_ok=True)  # the result now lives in the sweep database

    keep = ["epoch", "loss", "train_acc", "val_acc", "test_acc", "lr", "time"]
    return {"history": {k: history[k] for k in keep if k in history},
            "final": {s: m["acc"] for s, m in measured.items()}, "correct": correct,
            "params": count_params(model), "train_time": history["train_time"],
            "epoch_time": history["train_time"] / max(len(history["time"]), 1),
            "best_epoch": history["best_epoch"], "best_val_acc": history["best_val_acc"],
            "stopped_early": history["stopped_early"],
            "weights": str(path.relative_to(run.path)), "reload_identical": identical,
            "cpu_time": cpu_time, "load": load}
