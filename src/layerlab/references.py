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
S1_8_TEST_ZERO_FRACTION = 0.0  # nothing is dropped at test time
S1_8_MEAN = 10.0  # "means ≈ 10 both times" (inputs randn + 10, inverted dropout)

# S1.2: TwoLayerNet on CIFAR-10, learning rate x epochs -> (train acc, val acc).
S1_2_TWO_LAYER_GRID = {
    (1e-1, 10): (0.592, 0.5082), (1e-1, 20): (0.672, 0.5265), (1e-1, 30): (0.710, 0.5305),
    (1e-2, 10): (0.354, 0.3437), (1e-2, 20): (0.405, 0.3814), (1e-2, 30): (0.403, 0.4073),
    (1e-3, 10): (0.192, 0.1799), (1e-3, 20): (0.152, 0.1604), (1e-3, 30): (0.149, 0.1612),
}
S1_2_TARGET_VAL_ACC = 0.50  # the study's goal; its best was 0.5305 (quoted as 53.05%)

# S1.3: three- and five-layer nets (100 units per hidden layer) reach 100% training accuracy
# on 50 images in 20 epochs; the five-layer net is far more sensitive to the weight scale.
S1_3_TARGET_TRAIN_ACC = 1.0

# S1.4: reference ordering of final accuracy between update rules (best first; ">=" ties).
S1_4_RULE_ORDER = ("adam", "rmsprop", "sgd_momentum", "sgd")

# S1.5: the six (learning rate, weight scale) configs.
S1_5_CONFIGS = ((2e-3, 5e-2), (2e-3, 1e-2), (1e-3, 5e-2), (1e-3, 1e-2), (1e-5, 5e-2),
                (1e-5, 1e-2))

# S1.6 / S1.7: qualitative claims.
S1_6_CLAIMS = {
    "a": "batchnorm converges faster than the baseline (six-layer net, Adam, 1,000 images)",
    "b": "batchnorm is much less sensitive to the weight scale (20 scales, 1e-4 to 1)",
    "c": "larger batches help batchnorm (batch 5, 10, 50)",
    "d": "the simplified backward is faster (and cannot change accuracy)",
}
S1_7_CLAIMS = {"c": "layernorm does not depend on the batch size"}

# S1.8 (b): initial loss of a three-layer net with dropout, and the gradient-check errors.
S1_8_INITIAL_LOSS = 2.30
S1_8_GRADCHECK_ERROR = 1e-7  # "around 1e-7 or below"

# S2.1: speed-up of the fast convolution over the naive one ("approximately 500x").
S2_1_CONV_SPEEDUP = 500.0
# S2.4: three-layer conv net after one epoch on CIFAR-10.
S2_4_ONE_EPOCH_VAL_ACC = 0.40

# S2.1: how far from "approximately 500x" still counts as reproduced (half of it either way:
# the study gives an order of magnitude, not a measurement).
S2_1_SPEEDUP_TOLERANCE = 250.0
# S2.3 (course notebook, SpatialBatchNorm cells, np.random.seed(231)): train mode, x = 4 randn
# + 10 of shape (2, 3, 4, 5), gamma (3, 4, 5), beta (6, 7, 8): printed means [6, 7, 8] and
# stds [2.99999885, 3.99999804, 4.99999798], i.e. a relative shortfall of at most 4.9e-7.
S2_3_TRAIN_STD_SHORTFALL = 4.9e-7
# S2.3 test mode, (10, 4, 11, 12), x = 2.3 randn + 13, 50 warm-up passes, gamma 1, beta 0:
# printed means [-0.080, 0.076, 0.057, 0.044] and stds [0.967, 1.030, 1.029, 1.006].
S2_3_TEST_MEAN_DEVIATION = 0.0803
S2_3_TEST_STD_DEVIATION = 0.0328
# S2.3 backward gradient check: the course expects relative errors between 1e-12 and 1e-6.
S2_3_GRADCHECK_ERROR = 1e-6
# S2.4 (a): "overfits 100 images": 100% training accuracy (the course's own printed run ends
# at 0.99 after 15 epochs with weight scale 1e-2).
S2_4_OVERFIT_TRAIN_ACC = 1.0
# S2.4 (c): the study quotes no figure for the deep net; the expectation tested is the one the
# batchnorm study (S1.6 a) states, carried to the conv net.
S2_4_DEEP_CLAIM = "batchnorm makes the deep conv net converge faster"
