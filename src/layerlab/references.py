"""Figures the source studies reported, kept in one place and labelled by study.

Reports print these beside our own measurements; nothing here is ever used as a result.
Study ids follow shared/STUDIES.md.
"""

from __future__ import annotations

# S1.1: relative errors the course's layer checks printed (what -> parameter -> error).
S1_1_LAYER_CHECKS = {
    ("Linear.forward", "out"): 3.68e-8,
    ("Linear.backward", "x"): 5.22e-10,
    ("Linear.backward", "w"): 3.49e-10,
    ("Linear.backward", "b"): 5.37e-10,
    ("ReLU.forward", "out"): 4.54e-9,
    ("ReLU.backward", "x"): 2.63e-10,
}

# S1.1: the course's expected outputs (printed to 8 digits, hence errors near 1e-8).
# Linear: x = linspace(-0.1, 0.5, 240).reshape(2, 4, 5, 6), w = linspace(-0.2, 0.3, 360)
# .reshape(120, 3), b = linspace(-0.3, 0.1, 3).
S1_1_LINEAR_FORWARD_EXPECTED = [
    [1.49834967, 1.70660132, 1.91485297],
    [3.25553199, 3.5141327, 3.77273342],
]
# ReLU: x = linspace(-0.5, 0.5, 12).reshape(3, 4).
S1_1_RELU_FORWARD_EXPECTED = [
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.04545455, 0.13636364],
    [0.22727273, 0.31818182, 0.40909091, 0.5],
]

# S1.8 (a): fraction of inputs zeroed at train time, p = drop probability.
S1_8_DROPOUT_ZERO_FRACTION = {0.25: 0.2506, 0.4: 0.4013, 0.7: 0.6997}
