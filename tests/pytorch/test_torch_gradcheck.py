"""layerlab.pytorch.gradcheck: centred differences in float64 against autograd."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch.gradcheck import gradient_check, numerical_gradient  # noqa: E402


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
