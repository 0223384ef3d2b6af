"""S2 convolutional networks from scratch: `speed` (conv-speed, S2.1-S2.2), `spatial_bn`
(spatial-batchnorm, S2.3), `nets` (conv-nets, S2.4). Importing the package registers all three."""

from layerlab.studies.s2_conv import nets, spatial_bn, speed

__all__ = ["nets", "spatial_bn", "speed"]
