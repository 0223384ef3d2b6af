"""S1.1-S1.5: fully-connected networks from scratch on the scratch engine and CIFAR-10:
`checks` (layer-checks), `two_layer` (two-layer-solver), `depth` (depth-overfit), `rules`
(update-rules, lr-weight-scale); `common` holds the data, a short Solver run, curve panels.

Pixel scale. The course material behind these studies comes in two versions: one feeds raw
pixels minus the mean image (values about -130..130; CS231n's ``get_CIFAR10_data``), the other
divides by 255 first (EECS 498-007). Learning rates and weight scales only transfer between
them with the pixel scale. `pixel_scale` multiplies our [0, 1]-scaled, mean-subtracted inputs:
1 gives [0, 1] pixels, 255 gives the raw-pixel scale exactly (mean subtraction commutes with
scaling). Each experiment states which one its references were produced with.
"""

from layerlab.studies.s1_fc import checks, depth, two_layer  # noqa: F401 (registers them)
from layerlab.studies.s1_fc.common import cifar_data
from layerlab.studies.s1_fc.rules import compare_pair

__all__ = ["cifar_data", "compare_pair"]  # kept importable from here for the other studies
