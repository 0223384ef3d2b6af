"""quickstart: the main job on the built-in data, a small net trained and reported in ~1 min.

A fully-connected net (batchnorm, ReLU) on the built-in CIFAR-10 subset, trained with Adam at
three learning rates; the best rate is picked on the validation split and reported on the test
split. It shows a whole run: a grid, curves, a table, a verdict and a report, all from what
the cells return (so `layerlab report DIR --rebuild` needs neither training nor data).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from layerlab.analysis import downsample
from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.scratch.models import FullyConnectedNet
from layerlab.trainers.solver_cell import train_solver

CHANCE = 0.1  # ten classes


@dataclass
class QuickstartConfig:
    """val: training images held out for validation; the rest are the Solver's settings."""

    dataset: str = "builtin"
    val: int = 500
    hidden_dims: tuple = (100, 100)
    normalization: str = "batchnorm"
    learning_rates: tuple = (3e-4, 1e-3, 3e-3)
    epochs: int = 10
    batch_size: int = 50
    weight_scale: str = "kaiming"
    seed: int = 0


@lru_cache(maxsize=1)
def _data(dataset, val, seed):
    """The Solver's arrays and the number of classes, loaded once, by the first cell."""
    train, test = load(dataset, "train"), load(dataset, "test")
    return transforms.solver_data(train, test, val=val, seed=seed), len(train.classes)


def _cell(run, cfg, learning_rate):
    """The Solver's summary of one learning rate, with the test accuracy of its best params."""
    data, classes = _data(cfg.dataset, cfg.val, cfg.seed)
    model = FullyConnectedNet(list(cfg.hidden_dims), input_dim=data["X_train"][0].size,
                              num_classes=classes, normalization=cfg.normalization,
                              weight_scale=cfg.weight_scale, seed=cfg.seed)
    summary, solver = train_solver(
        run, f"lr={learning_rate}", model, data, update_rule="adam",
        optim_config={"learning_rate": learning_rate}, num_epochs=cfg.epochs,
        batch_size=cfg.batch_size, num_train_samples=None, print_every=0, seed=cfg.seed)
    model.params = solver.best_params
    summary["test_acc"] = solver.check_accuracy(data["X_test"], data["y_test"])
    return summary


@experiment("quickstart", study="-", title="a small net on the built-in data, end to end",
            estimate="10 s", config=QuickstartConfig,
            quick={"epochs": 2, "learning_rates": (1e-3,)})
def quickstart(cfg, run):
    """Adam at each learning rate; the rate with the best validation accuracy, on test."""
    for split in ("train", "test"):
        run.dataset(load(cfg.dataset, split))  # the record only; cells load their own copy
    cells = [{"learning_rate": lr} for lr in cfg.learning_rates]
    results = grid(run, "lr", cells, lambda c: _cell(run, cfg, c["learning_rate"]),
                   objective="best_val_acc")

    labels = [f"lr {c['learning_rate']:g}" for c in cells]
    run.table("results", ["learning rate", "final train acc", "best val acc", "test acc",
                          "train time (s)"],
              [[c["learning_rate"], r["train_acc_history"][-1], r["best_val_acc"],
                r["test_acc"], r["train_time"]] for c, r in zip(cells, results, strict=True)],
              title="Results per learning rate",
              note="Test accuracy is of the parameters with the best validation accuracy.")
    run.plot("loss", "curves", title="Training loss per iteration", xlabel="iteration",
             series={label: downsample(r["loss_history"])
                     for label, r in zip(labels, results, strict=True)}, ylabel="loss")
    epochs = list(range(cfg.epochs + 1))
    run.plot("accuracy", "curves", title="Accuracy per epoch", xlabel="epoch", panels=[
        {"ylabel": f"{split} accuracy",
         "series": {label: [epochs, r[f"{split}_acc_history"]]
                    for label, r in zip(labels, results, strict=True)}}
        for split in ("train", "val")])
    best = max(range(len(cells)), key=lambda i: results[i]["best_val_acc"])
    run.claim("test accuracy (learning rate picked on validation)", results[best]["test_acc"],
              CHANCE, better="higher", source="chance level for 10 classes",
              note=f"best learning rate {cells[best]['learning_rate']:g}")
