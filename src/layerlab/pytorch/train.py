"""One training loop for the PyTorch studies, over tensors held in memory.

    data = as_tensors(transforms.solver_data(train, test, val=0.1, center=None))
    set_seed(0)
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = fit(model, data, opt, epochs=12, batch_size=64)
    history["val_acc"][-1]

`data` is the scratch Solver's dict: X_train, y_train and optionally X_val/y_val and
X_test/y_test (NumPy arrays or tensors; X float, already scaled, shaped as the model wants).

Divergence: a step whose data loss is not finite or exploded (layerlab.analysis.divergence), or
whose update left a parameter non-finite, stops `fit` there; the history's 'diverged' is then
{"step", "epoch", "last_finite_loss"} (else None) and the epoch it stopped in gets no row (its
step losses are kept in 'step_loss').

fit's checkpoint (`checkpoint_path`) holds tensors and plain values with a checksum and is read
with weights_only=True; a corrupt one raises `checkpoint.CheckpointError` naming it, before
anything is loaded or trained.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from layerlab.analysis.divergence import loss_diverged
from layerlab.data.tensors import Batches, to_tensors
from layerlab.progress import Progress
from layerlab.pytorch.checkpoint import CheckpointError, load_verified, save_verified
from layerlab.pytorch.distributed import data_parallel
from layerlab.pytorch.penalties import total_penalty
from layerlab.pytorch.probes import Probes

SPLITS = ("train", "val", "test")


def as_tensors(data: dict, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The X_*/y_* pairs of a Solver-style dict as tensors (X of `dtype`, y int64)."""
    out = {}
    for split in SPLITS:
        if f"X_{split}" in data:
            out[f"X_{split}"], out[f"y_{split}"] = to_tensors(
                data[f"X_{split}"], data[f"y_{split}"], dtype)
    if "X_train" not in out:
        raise ValueError("data needs X_train and y_train")
    return out


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits (N, C) in eval mode; the model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             loss_fn: Callable = F.cross_entropy) -> tuple[float, float]:
    """(mean loss, accuracy) of the model on X (N, ...), y (N,), in eval mode."""
    logits = predict(model, X, batch_size)
    return loss_fn(logits, y).item(), (logits.argmax(1) == y).double().mean().item()


def fit(model: nn.Module, data: dict, optimizer: torch.optim.Optimizer, epochs: int,
        batch_size: int, penalties: dict | None = None, probes: Probes | None = None,
        clip_grad: float | None = None, scheduler=None, scheduler_step: str = "epoch",
        early_stopping: int | None = None, seed: int = 0, run=None, cell: str = "",
        loss_fn: Callable = F.cross_entropy, transform: Callable | None = None,
        eval_batch_size: int = 1000, log_every: int = 0,
        checkpoint_path=None) -> dict:
    """Train `model` in place; return the per-epoch history.

    penalties: {'l1': lam, 'l2': lam} added to the loss (see penalties.py; optimizer weight
    decay is the optimizer's own `weight_decay`). clip_grad: max total gradient norm
    (clip_grad_norm_). scheduler: a torch LR scheduler stepped once per batch
    (scheduler_step='batch', e.g. OneCycleLR) or per epoch ('epoch'; ReduceLROnPlateau gets the
    validation accuracy: build it with mode='max'). early_stopping: patience
    in epochs without a better validation accuracy; training stops then and the best epoch's
    weights are restored (needs X_val). seed: the batch order and the dropout masks (seed the
    model's initialisation yourself, with seeding.set_seed, before building it). run, cell:
    a layerlab Run to log one metrics line per epoch into (and one per `log_every` steps).
    transform(xb) -> xb: applied to each training batch (augmentation).
    checkpoint_path: after every epoch, the whole training state (model, optimizer,
    scheduler, random generators, history, probes) is written there atomically; a later call
    with the same arguments and path continues from it, to the same weights and history as an
    uninterrupted call (the caller deletes the file when the result is safe).
    Device: the model's and the data's (`device.py`). Under torchrun (`distributed.setup`) each
    process trains on its shard of every global batch of `batch_size` (no checkpoint_path).

    History: lists per epoch 'epoch', 'loss' (mean data loss over the epoch's batches),
    'penalty' (mean penalty), 'train_acc' (running accuracy over the epoch, in train mode, so
    with dropout on), 'val_acc'/'val_loss' and 'test_acc'/'test_loss' (eval mode, after the
    epoch, when the split is given), 'lr' (at the epoch's end), 'time' (training seconds,
    evaluation excluded); 'step_loss' one data loss per step; and 'best_epoch',
    'best_val_acc', 'stopped_early', 'train_time' (sum of 'time'), 'diverged' (module doc).
    """
    if scheduler_step not in ("batch", "epoch"):
        raise ValueError(f"scheduler_step must be 'batch' or 'epoch', not {scheduler_step!r}")
    data = as_tensors(data) if not isinstance(data.get("X_train"), torch.Tensor) else data
    has = {s: f"X_{s}" in data for s in SPLITS}
    if early_stopping is not None and not has["val"]:
        raise ValueError("early_stopping needs a validation split (X_val, y_val)")
    par = data_parallel(model, checkpoint_path)  # DDP under torchrun (distributed.py)
    torch.manual_seed(par.seed(seed))
    batches = par.shard(Batches(data["X_train"], data["y_train"], batch_size, shuffle=True,
                                seed=seed))
    keys = ["epoch", "loss", "penalty", "train_acc", "lr", "time"]
    keys += [f"{s}_{k}" for s in ("val", "test") if has[s] for k in ("loss", "acc")]
    history, track, start_epoch = _start(keys, epochs, checkpoint_path, model, optimizer,
                                         scheduler, batches, probes)
    step_fn = _Step(par.net, optimizer, par.loss(loss_fn), penalties, probes, clip_grad,
                    scheduler if scheduler_step == "batch" else None, transform)

    bar = Progress(epochs, cell or "epochs", run.stream if run is not None else None,
                   enabled=run is not None, unit="epochs")
    bar.update(start_epoch - 1)
    for epoch in range(start_epoch, epochs + 1):
        row = _train_epoch(step_fn, batches, track, epoch, run, cell, log_every, history)
        if _diverged(history, row, run, cell):  # stop at the step: the epoch gets no row
            break
        row["train_acc"] = par.total(row["train_acc"]) / len(data["y_train"])
        row.update(par.once(lambda: _evaluate_epoch(model, data, has, eval_batch_size,
                                                    loss_fn)))
        if scheduler is not None and scheduler_step == "epoch":
            _epoch_schedule(scheduler, row)
        for k in keys:
            history[k].append(row[k])
        if run is not None:
            run.log(cell, "epoch", **row)
        if has["val"]:
            _track_best(history, track, row, model, early_stopping)
        if checkpoint_path is not None:
            _save_state(checkpoint_path, model, optimizer, scheduler, batches, probes,
                        history=history, epoch=epoch, **track)
        bar.update(1, f"val acc {row['val_acc']:.4f}" if has["val"] else "")
        if history["stopped_early"]:
            break
    bar.close()
    _restore_best(model, history, track)
    history["train_time"] = sum(history["time"])
    return history


def _restore_best(model, history, track):
    """Early stopping keeps the best epoch's weights: load them when a later epoch ended."""
    if track["best_state"] is not None and history["epoch"] and \
            history["best_epoch"] != history["epoch"][-1]:
        model.load_state_dict(track["best_state"])


def _start(keys, epochs, checkpoint_path, model, optimizer, scheduler, batches, probes):
    """(history, track, first epoch) of `fit`: empty at epoch 1, or as the checkpoint left
    them (its weights, optimizer and batch order loaded). track is the state carried from
    epoch to epoch: the best weights, epochs waited without a better one, the step count."""
    history: dict = {k: [] for k in keys} | {"diverged": None}
    history.update(step_loss=[], best_epoch=None, best_val_acc=None, stopped_early=False)
    track = {"best_state": None, "waited": 0, "step": 0}
    if checkpoint_path is None or not Path(checkpoint_path).exists():
        return history, track, 1
    state = _load_state(checkpoint_path, model, optimizer, scheduler, batches, probes)
    history = state["history"]
    track = {k: state[k] for k in ("best_state", "waited", "step")}
    return history, track, state["epoch"] + 1 if not history["stopped_early"] else epochs + 1


class _Step:
    """One optimizer step of `fit` on a batch: forward, loss + penalty, backward, probes,
    clipping, update, per-batch scheduler. Returns (data loss, penalty or None, logits)."""

    def __init__(self, model, optimizer, loss_fn, penalties, probes, clip_grad,
                 batch_scheduler, transform):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.penalties, self.probes, self.clip_grad = penalties, probes, clip_grad
        self.batch_scheduler, self.transform = batch_scheduler, transform

    def __call__(self, xb, yb, step):
        if self.transform is not None:
            xb = self.transform(xb)
        logits = self.model(xb)
        loss = self.loss_fn(logits, yb)
        penalty = total_penalty(self.model, self.penalties)
        total = loss if penalty is None else loss + penalty
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.probes is not None:
            self.probes.after_backward(step)
        if self.clip_grad is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        self.optimizer.step()
        if self.batch_scheduler is not None:
            self.batch_scheduler.step()
        return loss, penalty, logits


def _train_epoch(step_fn, batches, track, epoch, run, cell, log_every, history) -> dict:
    """One pass over the batches; track['step'] counts on. Returns the epoch's row (train_acc
    still the count of correct predictions) with its per-step data losses and 'diverged' (None,
    or the record of the step that diverged: the pass stops there). history: fit's, whose
    first step loss is the reference of an exploding loss."""
    step_fn.model.train()
    start = time.perf_counter()
    losses, pens = [], []
    correct = 0  # becomes a tensor on the batches' device at the first step
    earlier = history["step_loss"]
    first, last = (earlier[0], earlier[-1]) if earlier else (None, None)
    diverged = None
    for xb, yb in batches:
        track["step"] += 1
        loss, penalty, logits = step_fn(xb, yb, track["step"])
        losses.append(loss.detach())
        pens.append(penalty.detach() if penalty is not None else torch.zeros(()))
        correct += (logits.detach().argmax(1) == yb).sum()
        value = loss.item()
        first = value if first is None else first
        exploded = loss_diverged(value, first)
        if exploded or not _finite(step_fn.model):  # the loss, or the update it made
            diverged = {"step": track["step"], "epoch": epoch,
                        "last_finite_loss": last if exploded else value}
            break
        last = value
        if run is not None and log_every and track["step"] % log_every == 0:
            run.log(cell, "iteration", iteration=track["step"], epoch=epoch, loss=value)
    seconds = time.perf_counter() - start
    if step_fn.probes is not None:
        step_fn.probes.end_epoch(epoch)
    step_losses = torch.stack(losses).tolist()
    return {"epoch": epoch, "loss": sum(step_losses) / len(step_losses),
            "penalty": torch.stack(pens).mean().item(), "train_acc": int(correct),
            "lr": step_fn.optimizer.param_groups[0]["lr"], "time": seconds,
            "step_losses": step_losses, "diverged": diverged}


def _diverged(history, row, run, cell) -> bool:
    """Move the pass's step losses into the history; True when the pass diverged (recorded in
    history['diverged'] and as a metrics line)."""
    history["step_loss"] += row.pop("step_losses")
    diverged = row.pop("diverged")
    if diverged is not None:
        history["diverged"] = diverged
        if run is not None:
            run.log(cell, "diverged", **diverged)
    return diverged is not None


def _finite(model) -> bool:
    """True when every parameter of the model is finite: the sum of the sums, one sync (a NaN
    or inf anywhere makes it non-finite; so would sums past 3e38, a diverged net anyway)."""
    sums = [p.detach().sum() for p in model.parameters()]
    return bool(torch.stack(sums).sum().isfinite()) if sums else True


def _evaluate_epoch(model, data, has, eval_batch_size, loss_fn) -> dict:
    """val_loss/val_acc and test_loss/test_acc (eval mode) for the epoch's row."""
    row = {}
    for s in ("val", "test"):
        if has[s]:
            row[f"{s}_loss"], row[f"{s}_acc"] = evaluate(
                model, data[f"X_{s}"], data[f"y_{s}"], eval_batch_size, loss_fn)
    return row


def _epoch_schedule(scheduler, row) -> None:
    """The per-epoch scheduler step, after evaluation: ReduceLROnPlateau reads val_acc."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(row["val_acc"])
    else:
        scheduler.step()


def _track_best(history, track, row, model, early_stopping) -> None:
    """Keep the best validation accuracy (and, with early stopping, its weights); count the
    epochs since and mark the history stopped when the patience is spent."""
    if history["best_val_acc"] is None or row["val_acc"] > history["best_val_acc"]:
        history["best_val_acc"], history["best_epoch"] = row["val_acc"], row["epoch"]
        track["waited"] = 0
        if early_stopping is not None:
            track["best_state"] = {k: v.detach().clone()
                                   for k, v in model.state_dict().items()}
    else:
        track["waited"] += 1
        if early_stopping is not None and track["waited"] >= early_stopping:
            history["stopped_early"] = True


STATE_FORMAT = "layerlab.pytorch.fit-state/2"
STATE_KEYS = ("model", "optimizer", "scheduler", "torch_rng", "batches_rng", "probes",
              "history", "epoch", "best_state", "waited", "step")


def _save_state(path, model, optimizer, scheduler, batches, probes, **values):
    """Everything `fit` needs to continue after this epoch (tensors and plain values only,
    with a checksum: `checkpoint.save_verified`), written atomically. A scheduler whose state
    holds anything else (a callable) is a TypeError naming it."""
    state = {"format": STATE_FORMAT, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None,
             "torch_rng": torch.get_rng_state(), "batches_rng": batches.generator.get_state(),
             "probes": (probes.history, probes.steps) if probes is not None else None,
             **values}
    save_verified(path, state)


def _load_state(path, model, optimizer, scheduler, batches, probes) -> dict:
    """Restore the state `_save_state` wrote into the given objects; returns it (dict of
    STATE_KEYS). The file is read with weights_only=True and verified whole first: a corrupt
    one raises CheckpointError (naming it) with nothing restored."""
    state = load_verified(path, (STATE_FORMAT,))
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise CheckpointError(path, f"not a training state of fit (missing {missing})")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    batches.generator.set_state(state["batches_rng"])
    if probes is not None and state["probes"] is not None:
        probes.history, probes.steps = state["probes"]
    return state


def time_to_accuracy(history: dict, target: float, key: str = "test_acc") -> float | None:
    """Training seconds (summed 'time') until the first epoch whose `key` reaches `target`.

    None when no epoch does. Evaluation time is not counted, as in 'time'.
    """
    elapsed = 0.0
    for seconds, acc in zip(history["time"], history[key], strict=True):
        elapsed += seconds
        if acc >= target:
            return elapsed
    return None
