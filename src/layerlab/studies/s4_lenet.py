"""S4 LeNet-5 on Fashion-MNIST (PyTorch).

- `lenet-fashion`: the study's five variants of LeNet-5 (tanh, average pooling, Adam 1e-3,
  batch 64, 12 epochs) over 3 seeds, against the study's figures and each other.
- `lenet-fashion-best`: a best recipe for layerlab's goal (>= 91.5% test) and a short one-cycle
  for the speed goal (training seconds until the test accuracy first reaches 89%), over 5 seeds.
Every model is saved, reloaded and re-evaluated (`layerlab eval RUN_DIR` repeats it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from layerlab.analysis import divergence
from layerlab.lab.config import words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.pytorch import LeNet5
from layerlab.studies.s4_claims import report
from layerlab.trainers.torch_cell import Recipe, cell_trainer, data_spec

VARIANTS = ("baseline", "dropout", "l2", "optimised_l2", "batchnorm")


@dataclass
class FashionData:
    """Data, seeds and layout shared by both S4 experiments."""

    dataset: str = "fashion-mnist"
    val: float = 0.1
    split_seed: int = 0
    num_train: int | None = None  # quick runs: a seeded subset of the training split
    num_test: int | None = None
    seeds: tuple = (0, 1, 2)
    channels_last: bool = True
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


@dataclass
class LeNetFashionConfig(FashionData):
    """The study's settings."""

    checks = {"variants": words(VARIANTS), "dropout_after": words(("fc1", "fc2"))}

    variants: tuple = VARIANTS
    activation: str = "tanh"
    pool: str = "avg"
    epochs: int = 12
    optimised_l2_epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    dropout: float = 0.5
    # where "dropout 0.5 in the FC part" goes, chosen on validation accuracy (see the note)
    dropout_after: tuple = ("fc2",)
    l2_weight_decay: float = 0.01
    optimised_l2_weight_decay: float = 0.001


@dataclass
class LeNetBestConfig(FashionData):
    """The best recipe: LeNet-5's layers with batchnorm, Adam + one-cycle, augmentation."""

    seeds: tuple = (0, 1, 2, 3, 4)
    recipe_activation: str = "relu"
    recipe_pool: str = "max"
    recipe_epochs: int = 20
    recipe_batch_size: int = 128
    recipe_max_lr: float = 3e-3
    recipe_shift: int = 0
    recipe_flip: bool = True
    # the speed goal's model: the same net in two epochs, no flips, a higher peak rate; epochs,
    # rate and label smoothing chosen on validation accuracy in exploratory runs
    fast_epochs: int = 2
    fast_max_lr: float = 6e-3
    fast_label_smoothing: float = 0.1


QUICK_DATA = {"dataset": "fashion-mnist-mini", "num_train": 300, "val": 100, "num_test": 300,
              "seeds": (0,)}


def variant_settings(cfg, variant):
    """(LeNet5 keyword arguments, Recipe keyword arguments) of one study variant, or of the
    best recipe (variant 'recipe', cfg a LeNetBestConfig) or its short form ('fast')."""
    if variant in ("recipe", "fast"):
        fast = variant == "fast"
        return ({"activation": cfg.recipe_activation, "pool": cfg.recipe_pool, "batchnorm": True},
                {"epochs": cfg.fast_epochs if fast else cfg.recipe_epochs, "schedule": "onecycle",
                 "batch_size": cfg.recipe_batch_size,
                 "lr": cfg.fast_max_lr if fast else cfg.recipe_max_lr,
                 "shift": 0 if fast else cfg.recipe_shift, "flip": not fast and cfg.recipe_flip,
                 "label_smoothing": cfg.fast_label_smoothing if fast else 0.0})
    model, recipe = {  # what each variant changes in the baseline (the config checks the names)
        "baseline": ({}, {}), "batchnorm": ({"batchnorm": True}, {}),
        "dropout": ({"dropout": cfg.dropout, "dropout_after": tuple(cfg.dropout_after)}, {}),
        "l2": ({}, {"weight_decay": cfg.l2_weight_decay}),
        "optimised_l2": ({}, {"weight_decay": cfg.optimised_l2_weight_decay,
                              "epochs": cfg.optimised_l2_epochs})}[variant]
    return ({"activation": cfg.activation, "pool": cfg.pool, **model},
            {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, **recipe})


def _train(cfg, run, grids):
    """LeNet-5 grids {name: (cells, variant: None when each cell names its own)} -> ({variant:
    [result per seed]}, {variant: {cell: divergence}} of the variants with a diverged seed)."""
    train = cell_trainer(run, data_spec(cfg.dataset, cfg.val, cfg.split_seed, cfg.num_train,
                                        cfg.num_test))

    def one(name, variant, c):
        model_kw, recipe = variant_settings(cfg, c.get("variant", variant))
        return train(cell_key(name, c), lambda: LeNet5(**model_kw),
                     Recipe(seed=c["seed"], monitor_test=True, eval_train=True,
                            channels_last=cfg.channels_last, **recipe))

    by, cells = {}, []  # cells: (variant, name, result) of every cell
    for name, (grid_cells, variant) in grids.items():
        results = grid(run, name, grid_cells, partial(one, name, variant),
                       objective="best_val_acc")
        for c, r in zip(grid_cells, results, strict=True):
            by.setdefault(c.get("variant", variant), []).append(r)
            cells.append((c.get("variant", variant), cell_key(name, c), r))
    return by, divergence.groups(run, *zip(*cells, strict=True))


@experiment("lenet-fashion", study="S4", title="LeNet-5 variants on Fashion-MNIST (PyTorch): "
            "five variants over 3 seeds, reload check, time to 89%",
            estimate="40 min", config=LeNetFashionConfig,
            quick={**QUICK_DATA, "epochs": 1, "optimised_l2_epochs": 1})
def lenet_fashion(cfg, run):
    """S4; see the module docstring."""
    cells = [{"variant": v, "seed": s} for v in cfg.variants for s in cfg.seeds]
    report(cfg, run, *_train(cfg, run, {"variants": (cells, None)}))


@experiment("lenet-fashion-best", study="S4", title="LeNet-5 on Fashion-MNIST: a best recipe "
            "(batchnorm, one-cycle, augmentation) over 5 seeds, and a short one-cycle: time to "
            "89%", estimate="25 min", config=LeNetBestConfig,
            quick={**QUICK_DATA, "recipe_epochs": 1, "fast_epochs": 1})
def lenet_fashion_best(cfg, run):
    """S4's best recipe (layerlab's goal: >= 91.5% test); see the module docstring."""
    report(cfg, run, *_train(cfg, run, {v: ([{"seed": s} for s in cfg.seeds], v)
                                        for v in ("recipe", "fast")}))
