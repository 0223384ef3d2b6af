"""What S1.2-S1.8 share: the Solver's CIFAR-10 data, loaded inside the cells, and a short
Solver run as a cell's result."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from layerlab.data import load, transforms
from layerlab.lab.rundir import dataset_entry
from layerlab.lab.sweep import cell
from layerlab.probing import scratch as scratch_probe
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.solver import Solver
from layerlab.trainers.solver_cell import record_divergence

JPEG_NOTE = ("The CIFAR-10 used here is the lossy JPEG copy of the image-folder archive "
             "(see Data below), not the original pixels, so accuracies can differ slightly "
             "from runs on the original binary release.")


@lru_cache(maxsize=2)
def _train_split(dataset):
    return load(dataset, "train")


@lru_cache(maxsize=2)  # a grid's cells share one copy (an experiment uses at most two)
def cifar_data(dataset, *, val, num_train=None, seed=0, pixel_scale=1.0):
    """The Solver dict of `dataset` ('cifar10' or 'builtin'), shared (do not change it): [0, 1]
    pixels minus the training mean image, times `pixel_scale`; `val` random images held out,
    then `num_train` random training images (None: all). {'X_train': (N, 3, 32, 32) float32,
    'y_train': (N,) int64, 'X_val', 'y_val'}."""
    data = transforms.solver_data(_train_split(dataset), None, val=val, num_train=num_train,
                                  seed=seed)
    for key in ("X_train", "X_val") if pixel_scale != 1.0 else ():
        data[key] = data[key] * np.float32(pixel_scale)
    return data


def record_data(run, dataset, **split):
    """Record `dataset`'s training split in the run from a cell named 'data', so a rebuild
    needs no data. split: cifar_data's keywords. Returns {'n_train': int, 'n_val': int}."""

    def compute():
        data = cifar_data(dataset, **split)
        return {"dataset": dataset_entry(_train_split(dataset)),
                "n_train": len(data["y_train"]), "n_val": len(data["y_val"])}

    info = cell(run, "data", compute)
    run.dataset(info["dataset"])
    return {"n_train": info["n_train"], "n_val": info["n_val"]}


NAME_ORDER = ("setting", "depth", "rule", "learning_rate", "weight_scale", "seed")


def cell_name(c):
    """'main,adam,lr=0.001,seed=0': the name of a trained cell `c` (metrics, probes, notes), its
    values in NAME_ORDER whatever the dict's order; strings as they are, numbers as key=%g,
    learning_rate and weight_scale as lr and ws."""
    short = {"learning_rate": "lr", "weight_scale": "ws"}
    return ",".join(c[k] if isinstance(c[k], str) else f"{short.get(k, k)}={c[k]:g}"
                    for k in sorted(c, key=NAME_ORDER.index))


def fit_net(run, c, data, hidden, weight_scale, rule, **solver_kwargs):
    """`fit` of a FullyConnectedNet (hidden: its hidden widths) for the cell `c` (its
    learning_rate and seed; its name `cell_name(c)`)."""
    model = FullyConnectedNet(list(hidden), input_dim=data["X_train"][0].size,
                              weight_scale=weight_scale, seed=c["seed"])
    return fit(run, cell_name(c), model, data, update_rule=rule, seed=c["seed"],
               optim_config={"learning_rate": c["learning_rate"]}, **solver_kwargs)


def fit(run, name, model, data, **solver_kwargs):
    """Train with a Solver without checkpoints (for cells of a few seconds), one metrics line
    per epoch, probed when the run's probes are on. Returns loss_history (per iteration),
    epoch_loss (per epoch), train/val_acc_history (epochs + 1), epochs, stopped_early,
    train_time and diverged (None or the record of `record_divergence`)."""

    def on_epoch(solver):
        run.log(name, "epoch", epoch=solver.epoch, train_acc=solver.train_acc_history[-1],
                val_acc=solver.val_acc_history[-1])

    if "probe" not in solver_kwargs:  # (a probe given, even None, makes no file)
        # the run's probes setting: every K steps, per-layer statistics into probes/<cell>.jsonl
        solver_kwargs["probe"] = scratch_probe.for_run(run, name, model)
    solver = Solver(model, data, epoch_callback=on_epoch, verbose=False, print_every=0,
                    **solver_kwargs)
    solver.train()
    per_epoch, losses = solver.iterations_per_epoch, solver.loss_history
    diverged = record_divergence(run, name, solver)
    return {  # a diverged run stops mid-epoch: its last epoch_loss averages fewer steps
        "loss_history": [float(x) for x in losses],
        "epoch_loss": [float(np.mean(losses[i:i + per_epoch]))
                       for i in range(0, len(losses), per_epoch)],
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "epochs": solver.epoch, "stopped_early": solver.stopped_early,
        "train_time": solver.train_time, "diverged": diverged,
    }
