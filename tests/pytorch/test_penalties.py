"""L1/L2 penalties: weights only, gradients against central differences, vs weight decay."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import BudgetMLP, LeNet5, l1_penalty, l2_penalty  # noqa: E402
from layerlab.pytorch.penalties import penalised_weights, total_penalty  # noqa: E402


def numerical_grad(f, w, h=1e-6):
    """Central differences of the scalar f() with respect to every entry of w (in place)."""
    grad = torch.zeros_like(w)
    flat, gflat = w.data.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        up = f().item()
        flat[i] = old - h
        down = f().item()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
def test_penalty_gradients_match_central_differences(penalty):
    torch.manual_seed(0)
    model = BudgetMLP([5, 4], in_features=6, num_classes=3).double()
    lam = 0.3
    out = penalty(model, lam)
    out.backward()
    for w in penalised_weights(model):
        num = numerical_grad(lambda: penalty(model, lam), w)
        assert torch.allclose(w.grad, num, rtol=1e-6, atol=1e-8)
    # biases are not penalised: no gradient reaches them
    for layer in (model[0], model[2], model[4]):
        assert layer.bias.grad is None


def test_penalty_values_by_hand():
    model = BudgetMLP([2], in_features=2, num_classes=1).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        model[2].weight.copy_(torch.tensor([[-3.0, 1.0]]))
        model[0].bias.fill_(100.0)  # a bias never counts
    assert l1_penalty(model, 0.1).item() == pytest.approx(0.1 * (1 + 2 + 0.5 + 3 + 1))
    assert l2_penalty(model, 0.1).item() == pytest.approx(0.1 * (1 + 4 + 0.25 + 9 + 1))
    total = total_penalty(model, {"l1": 0.1, "l2": 0.1}).item()
    assert total == pytest.approx(0.75 + 1.525)
    assert total_penalty(model, {"l1": 0.0}) is None
    with pytest.raises(ValueError, match="unknown penalty 'l3'"):
        total_penalty(model, {"l3": 1.0})


def test_lenet_penalises_conv_and_linear_weights_only():
    model = LeNet5(batchnorm=True)
    names = {id(w) for w in penalised_weights(model)}
    expected = [model.conv1.weight, model.conv2.weight, model.fc1.weight, model.fc2.weight,
                model.fc3.weight]
    assert names == {id(w) for w in expected}  # bn gamma (also called weight) is left alone


def test_l2_penalty_is_sgd_weight_decay_of_twice_lambda():
    """One SGD step with lam * sum w^2 in the loss equals weight_decay = 2 * lam on weights."""
    torch.manual_seed(0)
    a = BudgetMLP([8], in_features=5, num_classes=3).double()
    b = BudgetMLP([8], in_features=5, num_classes=3).double()
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(10, 5, dtype=torch.float64), torch.randint(0, 3, (10,))
    lam, lr = 0.05, 0.1
    opt_a = torch.optim.SGD(a.parameters(), lr=lr)
    loss = torch.nn.functional.cross_entropy(a(x), y) + l2_penalty(a, lam)
    loss.backward()
    opt_a.step()
    weights = penalised_weights(b)
    others = [p for p in b.parameters() if all(p is not w for w in weights)]
    opt_b = torch.optim.SGD([{"params": weights, "weight_decay": 2 * lam},
                             {"params": others}], lr=lr)
    torch.nn.functional.cross_entropy(b(x), y).backward()
    opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa, pb, rtol=0, atol=1e-14)
