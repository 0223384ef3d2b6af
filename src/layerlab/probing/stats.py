"""The per-layer statistics of a probe, computed from NumPy arrays (engine-neutral).

    record = layer_stats(act, "relu", grad, w_before, BINS)
    record["update_ratio"] = update_ratio(w_before, w_after)

act: the layer's output after its activation, (N, units, ...) (units on axis 1: features of a
Linear layer, channels of a convolution); grad: dL/dW of the layer's weight; w_before: the
weight before the step's update. Every statistic is a float (NaN when it cannot be computed);
the histograms are lists of ints over the fixed edges of `Bins`.

Histograms count every value that is not NaN: values below the first edge count in the first
bin and values above the last edge in the last, so the counts sum to the number of values
(NaNs left out). A value exactly on an edge may count in either neighbouring bin.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

RELU_FAMILY = ("relu", "leaky_relu")
TANH_LIMIT = 0.99  # tanh saturates at |y| > 0.99
SIGMOID_LIMITS = (0.01, 0.99)  # sigmoid saturates outside [0.01, 0.99]


@dataclass(frozen=True)
class Bins:
    """Fixed histogram edges and a fast way to find each value's bin.

    kind 'linear': `count` bins of equal width from `low` to `high`.
    kind 'symlog2': signed powers of two, -2**high ... -2**low, 2**low ... 2**high: one bin per
    factor of two on each side and one bin [-2**low, 2**low) around zero (gradients and weights
    of different layers differ by orders of magnitude, so equal widths would put whole layers
    into one bin). `low` and `high` are ints then.
    """

    kind: str
    low: float
    high: float
    count: int = 0

    @functools.cached_property
    def edges(self) -> tuple[float, ...]:
        """The bin edges, increasing (len = number of bins + 1)."""
        if self.kind == "linear":
            # rounded: linspace's -2.5999999999999996 is written, and read, as -2.6
            edges = np.linspace(self.low, self.high, self.count + 1).tolist()
            return tuple(round(e, 12) for e in edges)
        powers = [2.0 ** k for k in range(int(self.low), int(self.high) + 1)]
        return tuple([-p for p in reversed(powers)] + powers)

    @property
    def size(self) -> int:
        """The number of bins."""
        return len(self.edges) - 1


def linear_bins(low, high, count) -> Bins:
    """`count` equal bins from `low` to `high`."""
    return Bins("linear", float(low), float(high), int(count))


def symlog2_bins(low, high) -> Bins:
    """Bins between signed powers of two from 2**low to 2**high (ints, low < high)."""
    return Bins("symlog2", int(low), int(high))


# activations after ReLU, tanh, sigmoid or batchnorm mostly lie within a few units of zero;
# gradient elements reach down to 1e-12 in the vanishing layers of deep sigmoid nets
DEFAULT_BINS = {"act": linear_bins(-4, 4, 80), "grad": symlog2_bins(-40, 2),
                "weight": symlog2_bins(-20, 4)}


def _as_float(values) -> np.ndarray:
    """values as a flat float32 or float64 array (other dtypes as float32), no copy if it is
    one already."""
    a = np.asarray(values)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    return a.reshape(-1)


@functools.lru_cache(maxsize=16)
def _edge_array(bins: Bins, char: str) -> np.ndarray:
    return np.asarray(bins.edges, dtype=char)


def _linear_counts(a, bins) -> np.ndarray:
    scale = bins.count / (bins.high - bins.low)
    index = np.clip((a - bins.low) * scale, 0, bins.count - 1).astype(np.intp)
    # the arithmetic rounds a value a hair from an edge (-1e-17 next to 0) to the wrong side
    edges = _edge_array(bins, a.dtype.char)
    index -= (a < edges[index]) & (index > 0)
    index += (a >= edges[index + 1]) & (index < bins.count - 1)
    return np.bincount(index, minlength=bins.count)


# (bits of the mantissa, bits of the exponent, exponent bias) of the two float types
_LAYOUT = {"f": (23, 8, 127), "d": (52, 11, 1023)}


@functools.lru_cache(maxsize=16)
def _exponent_bins(char: str, bins: Bins) -> np.ndarray:
    """For every (sign bit, biased exponent) of a float type ('f' or 'd'), the symlog2 bin
    its values fall in."""
    _, width, bias = _LAYOUT[char]
    exponent = np.arange(1 << width) - bias  # floor(log2 |x|); zeros and infinities extreme
    low, high = int(bins.low), int(bins.high)
    k = np.clip(exponent, low - 1, high - 1)  # below 2**low: the zero bin; above: the end
    centre = high - low
    positive = np.where(k < low, centre, centre + 1 + (k - low))
    negative = np.where(k < low, centre, centre - 1 - (k - low))
    return np.concatenate([positive, negative])


def _symlog2_counts(a, bins) -> np.ndarray:
    # the sign and exponent bits of a float name its power-of-two bin: one shift and one
    # bincount instead of a search among the edges (several times faster on a million weights)
    mantissa, width, _ = _LAYOUT[a.dtype.char]
    unsigned = np.uint32 if a.dtype == np.float32 else np.uint64
    top = a.view(unsigned) >> unsigned(mantissa)
    per_exponent = np.bincount(top, minlength=2 << width)
    target = _exponent_bins(a.dtype.char, bins)
    return np.bincount(target, weights=per_exponent, minlength=bins.size).astype(np.int64)


def histogram(values, bins: Bins) -> list[int]:
    """Counts of `values` in the bins (out-of-range values in the end bins, NaNs left out)."""
    a = _as_float(values)
    with np.errstate(invalid="ignore", over="ignore"):  # a huge float32 sum: the slow path
        finite = math.isfinite(float(a.sum()))
    if not finite:  # rare (a diverged step): NaNs out, infinities into the end bins
        a = np.clip(a[~np.isnan(a)], bins.edges[0], bins.edges[-1])
    counts = _linear_counts(a, bins) if bins.kind == "linear" else _symlog2_counts(a, bins)
    return [int(c) for c in counts]


def norm(values) -> float:
    """The 2-norm of all values (Frobenius for a matrix)."""
    return float(np.linalg.norm(_as_float(values)))


def update_ratio(before, after) -> float:
    """||after - before|| / ||before||: the size of one update relative to the weight (inf
    when the weight was all zeros and moved, NaN when neither moved)."""
    step, size = norm(_as_float(after) - _as_float(before)), norm(before)
    if size == 0:
        return float("inf") if step > 0 else float("nan")
    return step / size


def _unit_axes(a) -> tuple:
    """The axes other than the units' (axis 1): the batch, and positions of a convolution."""
    return (0, *range(2, a.ndim))


def dead_fraction(act, activation: str) -> float:
    """Fraction of the units whose output is <= 0 for every example of the batch (and every
    position, for a convolution): 0 for activations outside the ReLU family."""
    a = np.asarray(act)
    if activation not in RELU_FAMILY or a.ndim < 2 or a.size == 0:
        return 0.0
    alive = np.any(a > 0, axis=_unit_axes(a))
    return float(1.0 - np.mean(alive))


def saturated_fraction(act, activation: str) -> float:
    """Fraction of the outputs in a flat part of the activation: tanh |y| > 0.99, sigmoid
    outside [0.01, 0.99]; 0 for other activations."""
    a = np.asarray(act)
    if a.size == 0:
        return 0.0
    if activation == "tanh":
        return float(np.mean(np.abs(a) > TANH_LIMIT))
    if activation == "sigmoid":
        low, high = SIGMOID_LIMITS
        return float(np.mean((a < low) | (a > high)))
    return 0.0


def activation_stats(act, activation: str) -> dict:
    """act_mean and act_std (over every output value, std with ddof 0), dead, saturated."""
    a = _as_float(act)
    if a.size == 0:
        return {"act_mean": math.nan, "act_std": math.nan, "dead": 0.0, "saturated": 0.0}
    return {"act_mean": float(np.mean(a, dtype=np.float64)),
            "act_std": float(np.std(a, dtype=np.float64)),
            "dead": dead_fraction(act, activation),
            "saturated": saturated_fraction(act, activation)}


def layer_stats(act, activation: str, grad, weight, bins: dict) -> dict:
    """Every statistic of one layer at one step but the update ratio: activation_stats of
    `act` (None: not seen, NaN statistics and an empty histogram), grad_norm (None gradient:
    NaN and an empty histogram), weight_norm, and hist {'act', 'grad', 'weight'}."""
    if act is None:
        stats = {"act_mean": math.nan, "act_std": math.nan, "dead": math.nan,
                 "saturated": math.nan}
    else:
        stats = activation_stats(act, activation)
    stats["grad_norm"] = norm(grad) if grad is not None else math.nan
    stats["weight_norm"] = norm(weight)
    stats["hist"] = {
        "act": histogram(act, bins["act"]) if act is not None else [],
        "grad": histogram(grad, bins["grad"]) if grad is not None else [],
        "weight": histogram(weight, bins["weight"])}
    return stats
