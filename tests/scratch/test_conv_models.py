"""Conv models: shapes, penalties, a PyTorch twin of LeNet-5, and training on real images."""

import contextlib
import math

import numpy as np
import pytest

from layerlab.scratch.conv_models import DeepConvNet, LeNet5, ThreeLayerConvNet
from layerlab.scratch.solver import Solver


@pytest.fixture
def one_blas_thread():
    """Training runs use one BLAS thread: their small matrix products gain nothing from more,
    and on a busy two-core machine a second BLAS thread waits for a core (10x slower runs)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up, not a requirement
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1, user_api="blas")
    with limits:
        yield


def subset(small_cifar, n, seed):
    """n random training images (the rows are ordered by class) and a few validation ones."""
    pick = np.random.default_rng(seed).choice(len(small_cifar["y_train"]), n, replace=False)
    return {"X_train": small_cifar["X_train"][pick], "y_train": small_cifar["y_train"][pick],
            "X_val": small_cifar["X_val"][:20], "y_val": small_cifar["y_val"][:20]}


def test_three_layer_net_params_and_scores(rng):
    model = ThreeLayerConvNet(seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100),
                      "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    X = rng.standard_normal((2, 3, 32, 32))
    assert model.loss(X).shape == (2, 10)
    _, grads = model.loss(X, np.array([1, 2]))
    assert {k: g.shape for k, g in grads.items()} == shapes
    assert all(g.dtype == np.float32 for g in grads.values())


def test_even_filter_size_keeps_the_map_size():
    model = ThreeLayerConvNet(input_dim=(1, 8, 6), num_filters=2, filter_size=4, hidden_dim=5)
    assert model.params["W2"].shape == (2 * 4 * 3, 5)


def test_initial_loss_is_log_c_and_reg_adds_half_reg_sum_w2(rng):
    X, y = rng.standard_normal((4, 3, 16, 16)), rng.integers(10, size=4)
    losses = {}
    for reg in (0.0, 0.5):
        model = DeepConvNet((3, 16, 16), [4, 4], [0, 1], weight_scale=1e-3, reg=reg,
                            dtype=np.float64, seed=0)
        losses[reg], _ = model.loss(X, y)
    assert losses[0.0] == pytest.approx(math.log(10), abs=1e-3)
    weights = sum(float(np.sum(v * v)) for k, v in model.params.items() if k.startswith("W"))
    assert losses[0.5] - losses[0.0] == pytest.approx(0.5 * 0.5 * weights, rel=1e-9)


def test_same_seed_same_model_and_kaiming_scale():
    a = DeepConvNet(num_filters=[8, 16], max_pools=[1], weight_scale="kaiming", seed=3)
    b = DeepConvNet(num_filters=[8, 16], max_pools=[1], weight_scale="kaiming", seed=3)
    c = DeepConvNet(num_filters=[8, 16], max_pools=[1], weight_scale="kaiming", seed=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    # He init: std sqrt(2 / fan_in), fan_in = 8 * 3 * 3 for the second conv
    assert a.params["W2"].std() == pytest.approx(math.sqrt(2 / 72), rel=0.05)
    assert a.params["W3"].shape == (16 * 16 * 16, 10)


def test_bad_configurations_fail_at_construction():
    with pytest.raises(ValueError, match=r"names conv layers \[3\] that do not exist"):
        DeepConvNet(num_filters=[8, 8], max_pools=[3])
    with pytest.raises(ValueError, match="multiple of the stride 2"):
        DeepConvNet(input_dims=(3, 6, 6), num_filters=[4, 4], max_pools=[0, 1])  # 6 -> 3 -> ?
    with pytest.raises(ValueError, match="unknown init 'he'"):
        DeepConvNet(weight_scale="he")
    with pytest.raises(ValueError, match=r"expects inputs \(N, \*\(3, 32, 32\)\)"):
        DeepConvNet().loss(np.zeros((2, 3, 28, 28)))


def test_state_dict_restores_batchnorm_statistics(small_cifar, one_blas_thread):
    data = subset(small_cifar, 20, seed=0)
    model = DeepConvNet(num_filters=[4, 4], max_pools=[0, 1], batchnorm=True,
                        weight_scale="kaiming", seed=0)
    Solver(model, data, num_epochs=2, batch_size=10, verbose=False, seed=0).train()
    assert not np.allclose(model.norm_params[0]["running_mean"], 0)
    twin = DeepConvNet(num_filters=[4, 4], max_pools=[0, 1], batchnorm=True, seed=1)
    twin.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(twin.loss(data["X_val"]), model.loss(data["X_val"]))


def lenet_twin(params, X, y, batchnorm, pool):
    """LeNet-5 in PyTorch from our parameters, mapped as the LeNet5 docstring says."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    pool_fn = F.avg_pool2d if pool == "avg" else F.max_pool2d
    h = torch.tensor(X)
    for i, pad in ((1, 2), (2, 0)):
        h = F.conv2d(h, t[f"W{i}"], t[f"b{i}"], padding=pad)  # conv{i}.weight, conv{i}.bias
        if batchnorm:
            h = F.batch_norm(h, None, None, t[f"gamma{i}"], t[f"beta{i}"], training=True)
        h = pool_fn(torch.tanh(h), 2)
    h = torch.flatten(h, 1)
    for i in (3, 4):
        h = torch.tanh(F.linear(h, t[f"W{i}"].T, t[f"b{i}"]))  # fc.weight = our W.T
    scores = F.linear(h, t["W5"].T, t["b5"])
    loss = F.cross_entropy(scores, torch.tensor(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("batchnorm,pool", [(False, "avg"), (True, "max")])
def test_lenet5_matches_its_pytorch_twin(rng, batchnorm, pool):
    model = LeNet5(batchnorm=batchnorm, pool=pool, dtype=np.float64, seed=0)
    assert model.params["W1"].shape == (6, 1, 5, 5) and model.params["W3"].shape == (400, 120)
    X, y = rng.standard_normal((4, 1, 28, 28)), rng.integers(10, size=4)
    loss, grads = model.loss(X, y)
    t_loss, t_grads = lenet_twin(model.params, X, y, batchnorm, pool)
    assert loss == pytest.approx(t_loss, abs=1e-10)
    assert set(grads) == set(t_grads)
    for name, g in grads.items():
        np.testing.assert_allclose(g, t_grads[name], rtol=1e-10, atol=1e-10, err_msg=name)


def test_three_layer_net_memorises_100_real_images(small_cifar, one_blas_thread):
    """Study S2.4: conv-ReLU-pool-affine-ReLU-affine reaches 100% on 100 training images."""
    data = subset(small_cifar, 100, seed=0)
    assert len(np.unique(data["y_train"])) == 10
    model = ThreeLayerConvNet(weight_scale="kaiming", seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=15, batch_size=50, print_every=0, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[0] < 0.3
    assert solver.train_acc_history[-1] == 1.0


def deep_net(batchnorm, seed):
    """Six convs with a small Gaussian init (std 1e-2): without batchnorm the signal shrinks
    about tenfold per layer."""
    return DeepConvNet(num_filters=[8] * 6, max_pools=[1, 3, 5], batchnorm=batchnorm,
                       weight_scale=1e-2, seed=seed)


def training_losses(model, data, seed):
    solver = Solver(model, data, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 1e-2}, num_epochs=6, batch_size=50,
                    num_train_samples=10, print_every=0, verbose=False, seed=seed)
    solver.train()
    return np.array(solver.loss_history)


@pytest.mark.parametrize("seed", [0, 1])
def test_batchnorm_trains_a_deep_net_that_stalls_without_it(small_cifar, one_blas_thread, seed):
    """Same net, same initial weights, same learning rate: without batchnorm the gradients
    vanish and the loss stays at log(10); with it the loss falls."""
    data = subset(small_cifar, 200, seed)
    with_bn, without_bn = deep_net(True, seed), deep_net(False, seed)
    for name, w in without_bn.params.items():
        np.testing.assert_array_equal(with_bn.params[name], w)
    bn_losses = training_losses(with_bn, data, seed)
    plain_losses = training_losses(without_bn, data, seed)
    assert np.all(np.isfinite(bn_losses))
    assert bn_losses[-4:].mean() < math.log(10) - 0.3
    assert plain_losses.min() > math.log(10) - 0.05
