"""S1.1-S1.5: fully-connected networks from scratch on CIFAR-10: `checks` (layer-checks),
`two_layer` (two-layer-solver), `depth` (depth-overfit), `rules` (update-rules,
lr-weight-scale), on `common` (the data, a short Solver run).

Pixel scale: the course material comes in two versions, raw pixels minus the mean image
(CS231n) and pixels divided by 255 first (EECS 498-007); learning rates and weight scales only
transfer with the pixel scale. `pixel_scale` multiplies our [0, 1]-scaled, mean-subtracted
inputs: 255 gives the raw-pixel scale exactly. Each experiment states which its references use.
"""

from layerlab.studies.s1_fc import checks, depth, rules, two_layer  # noqa: F401 (registers them)
