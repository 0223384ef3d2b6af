"""S2 convolutional networks from scratch (the scratch conv engine, CIFAR-10), one module per
experiment:

- `speed`: ``conv-speed`` (S2.1, S2.2), naive vs fast convolution and max pooling.
- `spatial_bn`: ``spatial-batchnorm`` (S2.3), per-channel statistics over N, H, W.
- `nets`: ``conv-nets`` (S2.4), the three-layer net (overfit 100 images, one epoch on 49,000)
  and the deep net with and without spatial batchnorm.

Importing the package registers all three.
"""

from layerlab.studies.s2_conv import nets, spatial_bn, speed

__all__ = ["nets", "spatial_bn", "speed"]
