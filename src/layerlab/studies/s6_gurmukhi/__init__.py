"""S6 regularisation by hand on Gurmukhi digits (PyTorch): experiment `gurmukhi-reg`.

The FC net 1024 -> 512-256-128-64-16 -> 10 trained over seeds four ways: dropout only, L1, L2,
L1 + L2, the penalties written into the loss. `cells`: the config and the cells; `main`: the
experiment, its tables, claims and notes; `recipes`: the sensitivity grid and a tuned
dropout-only recipe picked by cross-validation on the training images.
"""

from layerlab.studies.s6_gurmukhi.cells import total_grad_norms
from layerlab.studies.s6_gurmukhi.main import gurmukhi_reg

__all__ = ["gurmukhi_reg", "total_grad_norms"]
