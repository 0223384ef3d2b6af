"""The shared pieces of the PyTorch studies: binomial intervals, gradient checks, probe norms."""

import math

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import BudgetMLP, Probes, fit, set_seed  # noqa: E402
from layerlab.trainers.torch_fit import (  # noqa: E402
    Z95,
    binomial_ci,
    gradient_check,
    numerical_gradient,
    total_grad_norms,
)


@pytest.mark.parametrize("k,n", [(173, 178), (167, 178), (50, 100), (1, 20)])
def test_wilson_bounds_solve_the_score_equation(k, n):
    """Wilson's bounds are the p where the observed proportion is z standard errors away."""
    low, high = binomial_ci(k, n)
    phat = k / n
    assert low < phat < high
    for p in (low, high):
        assert (phat - p) ** 2 == pytest.approx(Z95 ** 2 * p * (1 - p) / n, rel=1e-9)


def test_wilson_edges_and_width():
    assert binomial_ci(0, 178)[0] == 0.0
    assert binomial_ci(178, 178)[1] == 1.0
    assert 0 < binomial_ci(178, 178)[0] < 1
    # more examples, narrower interval
    w = [binomial_ci(round(0.97 * n), n) for n in (100, 1000, 10000)]
    widths = [h - lo for lo, h in w]
    assert widths[0] > widths[1] > widths[2]
    with pytest.raises(ValueError, match="n > 0"):
        binomial_ci(0, 0)
    with pytest.raises(ValueError, match="correct must be in"):
        binomial_ci(5, 4)


def test_numerical_gradient_of_a_known_function():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    g = numerical_gradient(lambda: (x ** 3).sum(), x)
    assert torch.allclose(g, 3 * x ** 2, rtol=1e-8)
    assert torch.equal(x, torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64))  # restored


class _WrongGrad(torch.autograd.Function):
    """x**2 with a backward that is 10% off: the gradient check must catch it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2.2 * x


def test_gradient_check_passes_autograd_and_catches_a_wrong_backward():
    w = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0),
                    requires_grad=True)
    good = gradient_check(lambda: torch.tanh(w).pow(2).sum(), {"w": w}, eps=1e-5)
    assert good["w"]["norm_rel"] < 1e-8 and good["w"]["max_rel"] < 1e-7
    bad = gradient_check(lambda: _WrongGrad.apply(w).sum(), {"w": w}, eps=1e-5)
    assert bad["w"]["norm_rel"] == pytest.approx(0.2 / 4.2, rel=1e-6)


def test_probe_norms_are_the_vector_norms_of_grad():
    """Probes' per-layer gradient norm equals torch.linalg.vector_norm of the weight's .grad."""
    g = torch.Generator().manual_seed(0)
    data = {"X_train": torch.randn(64, 1, 8, 8, generator=g),
            "y_train": torch.randint(0, 10, (64,), generator=g)}
    set_seed(0)
    model = BudgetMLP([32, 16], in_features=64)
    twin = BudgetMLP([32, 16], in_features=64)
    twin.load_state_dict(model.state_dict())
    probes = Probes(model, every="step")
    fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=64,
        probes=probes)  # one full batch: the probed gradient is the twin's
    torch.nn.functional.cross_entropy(twin(data["X_train"]), data["y_train"]).backward()
    expected = []
    for name, module in twin.named_children():
        if isinstance(module, torch.nn.Linear):
            norm = torch.linalg.vector_norm(module.weight.grad).item()
            assert probes.history[name]["grad_norm"][0] == pytest.approx(norm, rel=1e-5)
            expected.append(norm)
    assert total_grad_norms(probes)[0] == pytest.approx(
        math.sqrt(sum(v * v for v in expected)), rel=1e-5)
