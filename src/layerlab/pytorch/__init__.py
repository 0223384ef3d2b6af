"""The PyTorch floor: the studies' models, one training loop, probes, penalties, checkpoints.

See docs/pytorch.md. Imports torch: keep `import layerlab` itself free of it.
"""

from layerlab.pytorch.checkpoint import load, save
from layerlab.pytorch.models import (
    MODELS,
    S8_CNN_LAYERS,
    S8_MLP_LAYERS,
    BudgetMLP,
    LeNet5,
    SmallCNN,
    check_budget,
    count_params,
    hidden_units,
)
from layerlab.pytorch.penalties import l1_penalty, l2_penalty
from layerlab.pytorch.probes import Probes
from layerlab.pytorch.seeding import set_seed, set_threads
from layerlab.pytorch.train import as_tensors, evaluate, fit, predict

__all__ = [
    "MODELS", "S8_CNN_LAYERS", "S8_MLP_LAYERS", "BudgetMLP", "LeNet5", "Probes", "SmallCNN",
    "as_tensors", "check_budget", "count_params", "evaluate", "fit", "hidden_units",
    "l1_penalty", "l2_penalty", "load", "predict", "save", "set_seed", "set_threads",
]
