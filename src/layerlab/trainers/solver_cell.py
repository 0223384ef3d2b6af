"""Training inside a run: a scratch Solver whose checkpoints and metrics live in the run folder.

`train_solver` continues from the cell's latest checkpoint when there is one, so a killed run
resumes mid-cell with every finished epoch kept, and streams per-iteration and per-epoch
metrics to metrics.jsonl. A checkpoint it cannot use (corrupt, tampered, or a `.pkl` of the
older pickle format) is moved aside with a `.corrupt` suffix after a one-line warning on
stderr, and the cell restarts from scratch.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from layerlab.analysis import divergence
from layerlab.probing import scratch as scratch_probe
from layerlab.runfiles import read_metrics
from layerlab.scratch.solver import CheckpointError, Solver


def latest_checkpoint(prefix, suffix=".npz"):
    """The newest `PREFIX_epoch_E.npz` (or of another `suffix`), or None."""
    prefix = Path(prefix)
    pattern = re.compile(re.escape(prefix.name) + r"_epoch_(\d+)" + re.escape(suffix) + "$")
    found = [(int(m.group(1)), p) for p in prefix.parent.glob(prefix.name + "_epoch_*" + suffix)
             if (m := pattern.match(p.name))]
    return max(found)[1] if found else None


def set_aside(path, problem, cell, run=None, stream=None) -> Path:
    """Move an unusable checkpoint to PATH.corrupt (never deleted; PATH.corrupt2 ... when that
    exists) and print one warning line naming it and saying the cell restarts (on `stream`,
    default stderr). With a run, a metrics line {kind: 'restart'} marks where the lines of the
    cell's new start begin. Returns the new path."""
    path = Path(path)
    aside, n = path.with_name(path.name + ".corrupt"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt{n}")
    path.replace(aside)
    print(f"warning: checkpoint {path} {problem}; moved aside to {aside.name}: cell {cell} "
          "restarts from scratch", file=stream if stream is not None else sys.stderr)
    if run is not None:
        run.log(cell, "restart", reason=problem, set_aside=str(aside))
    return aside


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
    for old in Path(prefix).parent.glob(Path(prefix).name + "_epoch_*.npz"):
        if old != keep:
            old.unlink(missing_ok=True)


def train_solver(run, cell, model, data, keep_checkpoint=False, **solver_kwargs):
    """Train `model` with a Solver checkpointed under the run; returns (summary, solver).

    summary (JSON-able): loss_history, train_acc_history, val_acc_history, best_val_acc,
    epochs, train_time, stopped_early, diverged (None, or {"step", "epoch",
    "last_finite_loss"}: the Solver's record of a non-finite loss, or the first step whose loss
    exploded, see layerlab.analysis.divergence). While training, only the latest checkpoint of
    the cell is kept; once it is done the cell's result lives in the sweep database, so the
    checkpoint is deleted too unless keep_checkpoint (a run of 100 cells would otherwise keep
    100). A corrupt checkpoint (or one of the older pickle format) is set aside (`set_aside`)
    and the cell trains from scratch: a failed load leaves the model untouched.
    """
    prefix = run.checkpoint_prefix(cell)
    old = latest_checkpoint(prefix, ".pkl")
    if old is not None:
        set_aside(old, "is a Solver checkpoint of the old pickle format (no longer read: "
                  "unpickling a file can run code)", cell, run)
    latest = latest_checkpoint(prefix)

    def on_epoch(solver):
        _drop_checkpoints(prefix, keep=solver.checkpoint_path())
        _log_epoch(run, cell, solver, solver.epoch)

    solver_kwargs.setdefault("stream", run.stream)
    # the run's probes setting: every K steps, per-layer statistics into probes/<cell>.jsonl
    if "probe" not in solver_kwargs:  # a caller's own probe wins (no empty probe file then)
        solver_kwargs["probe"] = scratch_probe.for_run(run, cell, model)
    try:
        solver = Solver(model, data, checkpoint_name=prefix, resume_from=latest,
                        epoch_callback=on_epoch, **solver_kwargs)
    except CheckpointError as err:
        set_aside(err.path, f"is unusable: {err.problem}", cell, run)
        latest = None
        solver = Solver(model, data, checkpoint_name=prefix, epoch_callback=on_epoch,
                        **solver_kwargs)
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
        "diverged": record_divergence(run, cell, solver),
    }
    return summary, solver


def record_divergence(run, cell, solver):
    """A trained Solver's divergence record (None, or {"step", "epoch", "last_finite_loss"}:
    the first step whose loss exploded or was not finite, see layerlab.analysis.divergence),
    also written to the run's metrics when there is one."""
    diverged = divergence.find(solver.loss_history, solver.iterations_per_epoch) \
        or solver.diverged
    if diverged:
        run.log(cell, "diverged", **diverged)
    return diverged
