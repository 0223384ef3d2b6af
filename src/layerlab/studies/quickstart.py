"""quickstart: the main job, a small net (batchnorm, ReLU) on the built-in CIFAR-10 subset,
Adam at three learning rates; only the rate picked on validation is scored on the test split
(one look per run). Everything is reported from what the cells return, so `layerlab report DIR
--rebuild` needs neither training nor data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from layerlab import ledger
from layerlab.analysis import divergence, verdict
from layerlab.analysis.curves import accuracy_panels, loss_series
from layerlab.data import load, transforms
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.solver import read_checkpoint
from layerlab.trainers.solver_cell import latest_checkpoint, train_solver

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


def _model(cfg):  # a fresh net, and the data
    data, classes = _data(cfg.dataset, cfg.val, cfg.seed)
    return FullyConnectedNet(list(cfg.hidden_dims), input_dim=data["X_train"][0].size,
                             num_classes=classes, normalization=cfg.normalization,
                             weight_scale=cfg.weight_scale, seed=cfg.seed), data


def _train(run, cfg, lr):
    """The Solver's summary of one rate; its checkpoint (best params) is kept for `_test`."""
    model, data = _model(cfg)
    return train_solver(
        run, f"lr={lr}", model, data, keep_checkpoint=True, update_rule="adam",
        optim_config={"learning_rate": lr}, num_epochs=cfg.epochs, batch_size=cfg.batch_size,
        num_train_samples=None, print_every=0, seed=cfg.seed)[0]


def _test(run, cfg, lr):
    """The run's one look at the test split: the picked rate's best params, images counted."""
    model, data = _model(cfg)
    state = read_checkpoint(latest_checkpoint(run.checkpoint_prefix(f"lr={lr}")))
    model.load_state_dict(state["model"])  # the batchnorm statistics, then the best params
    model.params, y = state["best_params"], data["y_test"]
    correct = int((model.loss(data["X_test"]).argmax(axis=1) == y).sum())
    ledger.record_look(run, dataset=cfg.dataset, cell=f"test/lr={lr}",
                       recipe={"learning_rate": lr}, accuracy=correct / len(y), n=len(y))
    return {"correct": correct, "n": len(y)}


@experiment("quickstart", study="-", title="a small net on the built-in data, end to end",
            estimate="10 s", config=QuickstartConfig,
            quick={"epochs": 2, "learning_rates": (1e-3,)})
def quickstart(cfg, run):
    """Adam at each learning rate; the rate with the best validation accuracy, on test."""
    for split in ("train", "test"):
        run.dataset(load(cfg.dataset, split))  # the record only; cells load their own copy
    rates = [float(lr) for lr in cfg.learning_rates]
    results = grid(run, "lr", [{"learning_rate": lr} for lr in rates],
                   lambda c: _train(run, cfg, c["learning_rate"]), objective="best_val_acc")
    finished, diverged = divergence.split(rates, results)  # a diverged rate is no result
    run.table("results", ["learning rate", "final train acc", "best val acc", "train time (s)"],
              [[lr, *(divergence.value_or_label(r, x) for x in (r["train_acc_history"][-1],
                                                                 r["best_val_acc"])),
                r["train_time"]] for lr, r in zip(rates, results, strict=True)],
              title="Results per learning rate")
    divergence.note(run, {f"lr={lr:g}": d for lr, d in diverged.items()})
    curves = {f"lr {lr:g}": [r] for lr, r in finished.items()}
    run.plot("loss", "curves", title="Training loss", xlabel="iteration", ylabel="loss",
             series=loss_series(curves))
    run.plot("accuracy", "curves", title="Accuracy per epoch", xlabel="epoch",
             panels=accuracy_panels(curves))
    picked = max(finished, key=lambda lr: (finished[lr]["best_val_acc"], -rates.index(lr)),
                 default=None)  # None: every rate diverged, nothing to score on test
    test = None if picked is None else grid(run, "test", [{"learning_rate": picked}],
                                            lambda c: _test(run, cfg, picked))[0]
    run.judge("test accuracy of the learning rate picked on validation", "goal",
              test and verdict.from_images(test["correct"], test["n"]), CHANCE, key=True,
              diverged=[] if test else [f"lr={lr:g}" for lr in diverged], source="layerlab's "
              "goal: above chance", note=f"rate {picked:g}: a one-seed pick on validation, no "
              "verdict" if test else "every rate diverged: no pick")
