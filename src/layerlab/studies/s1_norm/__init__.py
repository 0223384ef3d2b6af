"""S1.6 `batchnorm` and S1.7 `layernorm` (scratch engine, CIFAR-10, Adam) on `common`."""

from layerlab.studies.s1_norm import batchnorm, layernorm  # noqa: F401 (registers them)
