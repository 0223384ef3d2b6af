"""The PyTorch floor: the studies' models, one training loop, probes, penalties, checkpoints.

See docs/pytorch.md. Checkpoints are `checkpoint.save` / `checkpoint.load` (not exported
bare, so they never shadow `layerlab.data.load`). Imports torch: `import layerlab` alone
does not import this package.
"""

from layerlab.pytorch import checkpoint
from layerlab.pytorch.augment import random_affine, random_elastic, random_shift
from layerlab.pytorch.models import (
    MODELS,
    S8_CNN_LAYERS,
    S8_MLP_LAYERS,
    BudgetMLP,
    LeNet5,
    OpenModel,
    SmallCNN,
    VanishingNet,
    check_budget,
    count_params,
    hidden_units,
)
from layerlab.pytorch.penalties import l1_penalty, l2_penalty
from layerlab.pytorch.probes import Probes
from layerlab.pytorch.seeding import set_seed, set_threads
from layerlab.pytorch.train import as_tensors, evaluate, fit, predict, time_to_accuracy

__all__ = [
    "MODELS", "S8_CNN_LAYERS", "S8_MLP_LAYERS", "BudgetMLP", "LeNet5", "OpenModel", "Probes",
    "SmallCNN", "VanishingNet",
    "as_tensors", "check_budget", "checkpoint", "count_params", "evaluate", "fit", "hidden_units",
    "l1_penalty", "l2_penalty", "predict", "random_affine", "random_elastic", "random_shift",
    "set_seed", "set_threads", "time_to_accuracy",
]
