"""Probes: one value per layer per step (or epoch), equal to the norms computed by hand."""

import math

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import BudgetMLP, LeNet5, Probes, fit, set_seed  # noqa: E402


def test_one_norm_per_layer_per_step(mnist_small):
    set_seed(0)
    model = BudgetMLP([32, 16])
    probes = Probes(model, every="step", activations=True)
    assert list(probes.layers) == ["0", "2", "4"]  # the three Linear layers
    fit(model, mnist_small, torch.optim.Adam(model.parameters()), epochs=2, batch_size=100,
        probes=probes)
    assert probes.steps == list(range(1, 11))  # 500 images / 100 = 5 steps, two epochs
    for name, h in probes.history.items():
        assert set(h) == {"grad_norm", "weight_norm", "act_mean", "act_std"}
        for key, values in h.items():
            assert len(values) == 10, (name, key)
            assert all(math.isfinite(v) for v in values)
        assert all(v > 0 for v in h["grad_norm"] + h["weight_norm"] + h["act_std"])
    # evaluation (under no_grad) adds nothing: still one activation record per step
    assert len(probes.series("act_mean")["4"]) == 10


def test_values_match_a_hand_computed_step(mnist_small):
    """One full-batch step: the probe's numbers are the gradient/weight norms and output stats."""
    data = {k: mnist_small[k] for k in ("X_train", "y_train")}
    set_seed(0)
    model = BudgetMLP([16])
    twin = BudgetMLP([16])
    twin.load_state_dict(model.state_dict())
    probes = Probes(model, activations=True)
    fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=500,
        probes=probes)
    hidden = twin[0](data["X_train"].flatten(1))
    loss = torch.nn.functional.cross_entropy(twin(data["X_train"]), data["y_train"])
    loss.backward()
    h = probes.history["0"]
    assert h["grad_norm"][0] == pytest.approx(twin[0].weight.grad.norm().item(), rel=1e-4)
    assert h["weight_norm"][0] == pytest.approx(twin[0].weight.norm().item(), rel=1e-6)
    assert h["act_mean"][0] == pytest.approx(hidden.mean().item(), rel=1e-4)
    assert h["act_std"][0] == pytest.approx(hidden.std().item(), rel=1e-4)
    assert probes.history["2"]["grad_norm"][0] == pytest.approx(
        twin[2].weight.grad.norm().item(), rel=1e-4)


def test_per_epoch_means(mnist_small):
    set_seed(0)
    model = LeNet5(batchnorm=True)
    steps = Probes(model, every="step")
    fit(model, mnist_small, torch.optim.Adam(model.parameters()), epochs=2, batch_size=250,
        probes=steps)
    set_seed(0)
    model = LeNet5(batchnorm=True)
    epochs = Probes(model, every="epoch")
    fit(model, mnist_small, torch.optim.Adam(model.parameters()), epochs=2, batch_size=250,
        probes=epochs)
    assert list(epochs.layers) == ["conv1", "bn1", "conv2", "bn2", "fc1", "fc2", "fc3"]
    assert epochs.steps == [1, 2]
    for name in epochs.layers:
        per_step = steps.history[name]["grad_norm"]  # 2 steps per epoch
        assert epochs.history[name]["grad_norm"] == pytest.approx(
            [(per_step[0] + per_step[1]) / 2, (per_step[2] + per_step[3]) / 2], rel=1e-12)
        assert epochs.history[name]["weight_norm"] == pytest.approx(
            [steps.history[name]["weight_norm"][1], steps.history[name]["weight_norm"][3]])


def test_named_layers_and_errors():
    model = LeNet5()
    assert list(Probes(model, layers=["fc3"]).history) == ["fc3"]
    with pytest.raises(ValueError, match=r"no layers \['fc9'\]"):
        Probes(model, layers=["fc9"])
    with pytest.raises(ValueError, match="every must be 'step' or 'epoch'"):
        Probes(model, every="batch")
