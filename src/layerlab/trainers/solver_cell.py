"""Training inside a run: a scratch Solver whose checkpoints and metrics live in the run folder.

`train_solver` continues from the cell's latest checkpoint when there is one, so a killed run
resumes mid-cell with every finished epoch kept, and streams per-iteration and per-epoch
metrics to metrics.jsonl.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from layerlab.runfiles import read_metrics
from layerlab.scratch.solver import Solver


def latest_checkpoint(prefix):
    """The newest `PREFIX_epoch_E.pkl`, or None."""
    prefix = Path(prefix)
    pattern = re.compile(re.escape(prefix.name) + r"_epoch_(\d+)\.pkl$")
    found = [(int(m.group(1)), p) for p in prefix.parent.glob(prefix.name + "_epoch_*.pkl")
             if (m := pattern.match(p.name))]
    return max(found)[1] if found else None


def _log_epoch(run, cell, solver, epoch):
    """Metrics lines of one finished epoch (its iterations, then the epoch summary)."""
    if epoch == 1:  # accuracy before training
        run.log(cell, "epoch", epoch=0, train_acc=solver.train_acc_history[0],
                val_acc=solver.val_acc_history[0])
    per_epoch = solver.iterations_per_epoch
    first = (epoch - 1) * per_epoch
    losses = solver.loss_history[first:first + per_epoch]
    for i, loss in enumerate(losses):
        run.log(cell, "iter", epoch=epoch, iteration=first + i + 1, loss=loss)
    run.log(cell, "epoch", epoch=epoch, train_acc=solver.train_acc_history[epoch],
            val_acc=solver.val_acc_history[epoch], mean_loss=float(np.mean(losses)),
            train_time=solver.train_time)


def _drop_checkpoints(prefix, keep=None):
    for old in Path(prefix).parent.glob(Path(prefix).name + "_epoch_*.pkl"):
        if old != keep:
            old.unlink(missing_ok=True)


def train_solver(run, cell, model, data, keep_checkpoint=False, **solver_kwargs):
    """Train `model` with a Solver checkpointed under the run; returns (summary, solver).

    summary (JSON-able): loss_history, train_acc_history, val_acc_history, best_val_acc,
    epochs, train_time, stopped_early. While training, only the latest checkpoint of the cell
    is kept; once it is done the cell's result lives in the sweep database, so the checkpoint
    is deleted too unless keep_checkpoint (a run of 100 cells would otherwise keep 100).
    """
    prefix = run.checkpoint_prefix(cell)
    latest = latest_checkpoint(prefix)

    def on_epoch(solver):
        _drop_checkpoints(prefix, keep=solver.checkpoint_path())
        _log_epoch(run, cell, solver, solver.epoch)

    solver_kwargs.setdefault("stream", run.stream)
    solver = Solver(model, data, checkpoint_name=prefix, resume_from=latest,
                    epoch_callback=on_epoch, **solver_kwargs)
    if latest is not None:  # lines of finished epochs may have been lost with the kill
        logged = {r["epoch"] for r in read_metrics(run.path / "metrics.jsonl")
                  if r.get("cell") == cell and r.get("kind") == "epoch"}
        for epoch in range(1, solver.epoch + 1):
            if epoch not in logged:
                _log_epoch(run, cell, solver, epoch)
    solver.train()
    if not keep_checkpoint:
        _drop_checkpoints(prefix)
    summary = {
        "loss_history": [float(x) for x in solver.loss_history],
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "best_val_acc": solver.best_val_acc,
        "epochs": solver.epoch,
        "train_time": solver.train_time,
        "stopped_early": solver.stopped_early,
    }
    return summary, solver
