"""Orders of magnitude between per-layer quantities (gradient norms, update sizes, ...).

A per-layer quantity is {layer: [one value per epoch (or step)]}, layers input side first.
Vanishing and exploding gradients are read as how many powers of ten lie between layers.
"""

from __future__ import annotations

import math

import numpy as np


def log10(x) -> float:
    """log10(x), -inf for x <= 0 (a quantity that is 0 is infinitely many orders below)."""
    return math.log10(x) if x > 0 else float("-inf")


def last_over_first(per_layer: dict) -> float:
    """log10 of the last layer's over the first layer's value, at the index (epoch) where the
    first layer's was smallest."""
    first, last = list(per_layer.values())[0], list(per_layer.values())[-1]
    i = int(np.argmin(first))
    return log10(last[i]) - log10(first[i])


def spreads(per_layer: dict) -> list[float]:
    """log10 of the largest over the smallest layer's value, per index (epoch)."""
    return [log10(max(c)) - log10(min(c)) for c in zip(*per_layer.values(), strict=True)]
