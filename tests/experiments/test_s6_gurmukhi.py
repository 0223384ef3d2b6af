"""S6: the hand-written penalties against numerical gradients, and the quick run's report."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.experiments.torch_studies import numerical_gradient  # noqa: E402
from layerlab.pytorch import BudgetMLP, l1_penalty, l2_penalty, set_seed  # noqa: E402


@pytest.fixture
def small_net():
    set_seed(0)
    return BudgetMLP([6, 5], in_features=8).double()


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_penalty_gradients_match_numerical_and_closed_form(small_net, name):
    """Every weight entry: autograd of lambda*sum|w| (or w**2) == centred differences ==
    lambda*sign(w) (or 2*lambda*w); biases get no gradient from the penalty."""
    lam = 1e-3
    pen = {"l1": l1_penalty, "l2": l2_penalty}[name]
    pen(small_net, lam).backward()
    for pname, p in small_net.named_parameters():
        if pname.endswith("bias"):
            assert p.grad is None or torch.count_nonzero(p.grad) == 0
            continue
        assert p.abs().min() > 1e-4  # L1's kink at 0 is further than eps from every entry
        numerical = numerical_gradient(lambda: pen(small_net, lam), p, eps=1e-5)
        closed = lam * torch.sign(p.detach()) if name == "l1" else 2 * lam * p.detach()
        assert torch.allclose(p.grad, numerical, rtol=1e-6, atol=1e-12), pname
        assert torch.allclose(p.grad, closed, rtol=1e-12, atol=0), pname


def test_penalised_loss_gradient_matches_numerical(small_net):
    """The loss the study trains (data loss + L1 + L2), every parameter, float64."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(10, 8, dtype=torch.float64, generator=g)
    y = torch.randint(0, 10, (10,), generator=g)
    small_net.eval()

    def loss():
        return (torch.nn.functional.cross_entropy(small_net(X), y)
                + l1_penalty(small_net, 1e-3) + l2_penalty(small_net, 1e-3))

    loss().backward()
    for pname, p in small_net.named_parameters():
        numerical = numerical_gradient(loss, p, eps=1e-5)
        assert torch.allclose(p.grad, numerical, rtol=1e-5, atol=1e-9), pname


def test_quick_report_has_the_log_table_intervals_and_gradcheck(quick_run):
    _, results = quick_run("gurmukhi-reg")
    tables = results["tables"]
    assert tables["epoch_log"]["header"][:2] == ["setting", "epoch"]
    assert len(tables["final"]["rows"]) == 4
    for row in tables["final"]["rows"]:
        low, high = (float(v) for v in row[4].strip("[]").split(","))
        assert 0 <= low < high <= 100
    assert {r[0] for r in tables["gradcheck"]["rows"]} == {
        "data loss (model)", "L1 penalty", "L2 penalty", "loss + L1 + L2"}
    claim = next(c for n, c in results["claims"].items() if n.startswith("gradient check"))
    assert claim["ours"] is True, claim["note"]
    assert "Epoch wall time" in results["notes"]["Settings and choices"]
    # the sensitivity table has training-length rows beside the main grid's epochs
    rows = tables["sensitivity"]["rows"]
    assert [r[1] for r in rows if r[0] == "epochs (dropout only)"] == ["1 (main grid)", "2"]
    goal = next(c for n, c in results["claims"].items() if n.startswith("dropout only reaches"))
    assert "2 epochs:" in goal["note"]
