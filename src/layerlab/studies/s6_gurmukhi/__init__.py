"""S6 regularisation by hand on Gurmukhi digits (PyTorch), `gurmukhi-reg`: the FC net
1024 -> 512-256-128-64-16 -> 10 over seeds with dropout only, L1, L2, L1 + L2 (penalties written
into the loss). `cells`: config and cells; `main`: the experiment; `recipes`: sensitivity and a
tuned dropout-only recipe picked by cross-validation on the training images."""

from layerlab.studies.s6_gurmukhi.cells import total_grad_norms
from layerlab.studies.s6_gurmukhi.main import gurmukhi_reg

__all__ = ["gurmukhi_reg", "total_grad_norms"]
