"""S6 regularisation by hand on Gurmukhi digits (PyTorch): experiment `gurmukhi-reg`.

The FC net 1024 -> 512-256-128-64-16 -> 10 (ReLU, dropout after every hidden ReLU), Adam,
trained over seeds four ways: dropout only, L1, L2, L1 + L2, the penalties written into the
loss (never the optimizer's weight decay). Per epoch: data loss, penalty, accuracies and the
norm of all weight gradients; per setting: Wilson intervals on the 178 test images, the seed
spread and the paired difference to dropout only; a float64 gradient check of the loss and
penalties. Beyond the study: a sensitivity grid, and a tuned dropout-only recipe picked by
stratified k-fold cross-validation on the training images against layerlab's goal (97%).

`cells` holds the config and the cells (each loads its data itself), `main` the experiment
with its tables, claims and notes, `recipes` the sensitivity grid and the tuned recipe.
"""

from layerlab.studies.s6_gurmukhi.cells import total_grad_norms
from layerlab.studies.s6_gurmukhi.main import gurmukhi_reg

__all__ = ["gurmukhi_reg", "total_grad_norms"]
