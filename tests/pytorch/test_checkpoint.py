"""Checkpoints: a round trip gives a fresh model with identical predictions."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import BudgetMLP, LeNet5, SmallCNN, checkpoint, predict  # noqa: E402


def trained_a_little(model):
    """A few Adam steps in train mode, so weights and batchnorm statistics are not initial."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


@pytest.mark.parametrize("make", [lambda: LeNet5(batchnorm=True, dropout=0.5),
                                  lambda: BudgetMLP([30, 20], dropout=0.2),
                                  lambda: SmallCNN(channels=(4, 8), fc=(16,))])
def test_round_trip_identical_predictions(tmp_path, make):
    model = trained_a_little(make())
    path = checkpoint.save(tmp_path / "ck" / "model.pt", model, config={"lr": 1e-2, "seed": 0},
                           extra={"val_acc": 0.5})
    x = torch.randn(50, 1, 28, 28)
    fresh = checkpoint.load(path)
    assert fresh is not model and not fresh.training
    assert torch.equal(predict(fresh, x), predict(model, x))
    info = checkpoint.read(path)
    assert info["config"] == {"lr": 1e-2, "seed": 0} and info["extra"] == {"val_acc": 0.5}
    assert info["model"] == type(model).__name__
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left


def test_load_with_a_factory(tmp_path):
    model = trained_a_little(LeNet5(activation="relu"))
    path = checkpoint.save(tmp_path / "m.pt", model, config={"activation": "relu"})
    fresh = checkpoint.load(path, lambda cfg: LeNet5(activation=cfg["activation"]))
    x = torch.randn(8, 1, 28, 28)
    assert torch.equal(predict(fresh, x), predict(model, x))
    # a factory building another architecture fails loudly, never silently
    with pytest.raises(RuntimeError, match="state_dict"):
        checkpoint.load(path, lambda cfg: LeNet5(batchnorm=True))


def test_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(ValueError, match="not a layerlab.pytorch checkpoint"):
        checkpoint.load(path)


def test_weights_files_carry_a_checksum_and_the_first_format_is_still_read(tmp_path):
    model = trained_a_little(BudgetMLP([20]))
    path = checkpoint.save(tmp_path / "new.pt", model, config={"a": 1})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == checkpoint.FORMAT and raw["sha256"] == checkpoint.digest(raw)
    old = {k: v for k, v in raw.items() if k != "sha256"}  # as layerlab wrote it before
    old["format"] = "layerlab.pytorch.checkpoint/1"
    torch.save(old, tmp_path / "old.pt")
    x = torch.randn(5, 1, 28, 28)
    assert torch.equal(predict(checkpoint.load(tmp_path / "old.pt"), x), predict(model, x))
