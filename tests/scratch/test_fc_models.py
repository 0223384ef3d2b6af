"""Fully-connected models: penalties, PyTorch twin, repeatability, overfitting real images."""

import numpy as np
import pytest

from layerlab.scratch.models import FullyConnectedNet, TwoLayerNet
from layerlab.scratch.solver import Solver


def make_data(rng, N=6, D=12, C=5):
    return rng.standard_normal((N, D)), rng.integers(C, size=N)


def test_penalty_convention_half_reg_sum_w2_plus_l1(rng):
    X, y = make_data(rng)
    kwargs = dict(input_dim=12, num_classes=5, dtype=np.float64, seed=3)
    plain = FullyConnectedNet([7, 8], **kwargs)
    penalised = FullyConnectedNet([7, 8], reg=0.3, l1=0.02, **kwargs)
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = penalised.loss(X, y)
    weights = [plain.params[f"W{i}"] for i in (1, 2, 3)]
    expected = sum(0.5 * 0.3 * np.sum(w * w) + 0.02 * np.sum(np.abs(w)) for w in weights)
    assert loss1 - loss0 == pytest.approx(expected, rel=1e-12)
    for i in (1, 2, 3):
        w = plain.params[f"W{i}"]
        np.testing.assert_allclose(grads1[f"W{i}"] - grads0[f"W{i}"],
                                   0.3 * w + 0.02 * np.sign(w), atol=1e-12)
        np.testing.assert_array_equal(grads1[f"b{i}"], grads0[f"b{i}"])  # biases not penalised


def test_two_layer_net_shapes_and_scores(rng):
    model = TwoLayerNet(input_dim=12, hidden_dim=9, num_classes=5, dtype=np.float64)
    assert {k: v.shape for k, v in model.params.items()} == {
        "W1": (12, 9), "b1": (9,), "W2": (9, 5), "b2": (5,)}
    X, _ = make_data(rng)
    scores = model.loss(X)
    W1, b1, W2, b2 = (model.params[k] for k in ("W1", "b1", "W2", "b2"))
    np.testing.assert_allclose(scores, np.maximum(X @ W1 + b1, 0) @ W2 + b2)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_matches_a_pytorch_twin(rng, normalization, activation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X, y = make_data(rng, N=8)
    model = FullyConnectedNet([7, 6], input_dim=12, num_classes=5, reg=0.2, l1=0.01,
                              normalization=normalization, activation=activation,
                              weight_scale="kaiming", dtype=np.float64, seed=1)
    loss, grads = model.loss(X, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    act = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    h = torch.tensor(X)
    for i in (1, 2):
        h = h @ t[f"W{i}"] + t[f"b{i}"]
        if normalization == "batchnorm":
            h = F.batch_norm(h, None, None, t[f"gamma{i}"], t[f"beta{i}"], training=True)
        elif normalization == "layernorm":
            h = F.layer_norm(h, h.shape[1:], t[f"gamma{i}"], t[f"beta{i}"])
        h = act(h)
    scores = h @ t["W3"] + t["b3"]
    weights = [t[f"W{i}"] for i in (1, 2, 3)]
    t_loss = F.cross_entropy(scores, torch.tensor(y)) \
        + sum(0.5 * 0.2 * (w * w).sum() + 0.01 * w.abs().sum() for w in weights)
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for k in model.params:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_same_seed_same_model_and_dropout(rng):
    X, y = make_data(rng)
    a = FullyConnectedNet([7], input_dim=12, num_classes=5, dropout=0.5, seed=4,
                          dtype=np.float64)
    b = FullyConnectedNet([7], input_dim=12, num_classes=5, dropout=0.5, seed=4,
                          dtype=np.float64)
    c = FullyConnectedNet([7], input_dim=12, num_classes=5, dropout=0.5, seed=5,
                          dtype=np.float64)
    assert a.loss(X, y)[0] == b.loss(X, y)[0]
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_zero_init_keeps_units_identical(rng):
    X, y = make_data(rng, N=20)
    model = FullyConnectedNet([6], input_dim=12, num_classes=5, init="zeros",
                              activation="sigmoid", dtype=np.float64, seed=0)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1.0}, num_epochs=5,
           batch_size=10, verbose=False, seed=0).train()
    W1 = model.params["W1"]
    assert np.ptp(W1, axis=1).max() < 1e-12  # every hidden unit has the same weights
    assert np.abs(W1).max() > 0  # ...although they moved


def test_bad_arguments_name_the_choices():
    with pytest.raises(ValueError, match="unknown normalization 'bn'"):
        FullyConnectedNet([5], normalization="bn")
    with pytest.raises(ValueError, match="unknown activation"):
        FullyConnectedNet([5], activation="gelu")
    with pytest.raises(ValueError, match="unknown init 'he'"):
        FullyConnectedNet([5], weight_scale="he")


@pytest.mark.parametrize("hidden_dims,lr,weight_scale", [
    ([100, 100], 0.3, 0.1),
    ([100, 100, 100, 100], 0.1, 0.2),
])
def test_overfits_50_real_images_in_20_epochs(small_cifar, hidden_dims, lr, weight_scale):
    """Study S1.3: three- and five-layer nets memorise 50 training images."""
    data = {k: small_cifar[k] for k in ("X_train", "y_train", "X_val", "y_val")}
    pick = np.random.default_rng(0).choice(len(data["y_train"]), 50, replace=False)
    data["X_train"], data["y_train"] = data["X_train"][pick], data["y_train"][pick]
    assert len(np.unique(data["y_train"])) == 10
    model = FullyConnectedNet(hidden_dims, input_dim=data["X_train"][0].size,
                              weight_scale=weight_scale, seed=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": lr},
                    num_epochs=20, batch_size=25, print_every=0, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[0] < 0.5
    assert max(solver.train_acc_history) == 1.0
