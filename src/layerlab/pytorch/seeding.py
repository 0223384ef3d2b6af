"""The repeatable path: seeds, deterministic algorithms, thread count."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic algorithms.

    `warn_only=True`: an op without a deterministic version warns instead of failing (on the
    CPU the ops these models use are deterministic already).
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global state is what old code draws from)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def set_threads(n: int) -> None:
    """Use n threads in torch and the BLAS/OpenMP pools NumPy uses; 0 leaves the defaults.

    The runner's default is 1 (see docs/runs.md: small matrices on a shared 2-core machine).
    """
    if n <= 0:
        return
    torch.set_num_threads(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
