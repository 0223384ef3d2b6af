"""The framework of the studies, knowing no study: the registry of experiments, configs, the run
folder, sweeps (Optuna), the runner, publishing, and the `layerlab` sub-commands that use them."""
