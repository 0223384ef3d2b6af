"""S1.6 `batchnorm` and S1.7 `layernorm` (scratch engine, CIFAR-10, Adam) on `common` (the nets,
their data, the weight-scale and batch-size sweeps both run; the course's settings where the
study is silent)."""

from layerlab.studies.s1_norm import batchnorm, layernorm  # noqa: F401 (registers them)
