"""fit on a small real MNIST subset: learns, repeats, stops early, clips, schedules, logs."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.lab.rundir import Run  # noqa: E402
from layerlab.pytorch import (  # noqa: E402
    BudgetMLP,
    LeNet5,
    Probes,
    SmallCNN,
    evaluate,
    fit,
    random_shift,
    set_seed,
    time_to_accuracy,
)
from layerlab.runfiles import read_metrics  # noqa: E402


def adam(model, lr=1e-3):
    return torch.optim.Adam(model.parameters(), lr=lr)


@pytest.mark.parametrize("make", [lambda: BudgetMLP([64]), lambda: LeNet5(),
                                  lambda: SmallCNN(channels=(8, 16), fc=(32,))],
                         ids=["mlp", "lenet5", "cnn"])
def test_fit_learns(mnist_small, make):
    set_seed(0)
    model = make()
    before = evaluate(model, mnist_small["X_val"], mnist_small["y_val"])[1]
    h = fit(model, mnist_small, adam(model, 3e-3), epochs=4, batch_size=50)
    assert h["epoch"] == [1, 2, 3, 4] and len(h["step_loss"]) == 4 * 10
    assert before < 0.25 and h["val_acc"][-1] > 0.7 and h["test_acc"][-1] > 0.7
    assert h["loss"][-1] < h["loss"][0] and h["train_acc"][-1] > h["train_acc"][0]
    assert all(t > 0 for t in h["time"]) and h["train_time"] == pytest.approx(sum(h["time"]))
    assert h["penalty"] == [0.0] * 4 and h["best_epoch"] in h["epoch"]
    # the history's last numbers are the returned model's (no early stopping: last weights)
    assert evaluate(model, mnist_small["X_val"], mnist_small["y_val"])[1] == h["val_acc"][-1]


def run_once(data, seed, init_seed=0):
    set_seed(init_seed)
    model = BudgetMLP([32], dropout=0.3)
    h = fit(model, data, adam(model), epochs=2, batch_size=64, seed=seed)
    return model, h


def test_fit_is_repeatable(mnist_small):
    m1, h1 = run_once(mnist_small, seed=1)
    m2, h2 = run_once(mnist_small, seed=1)
    m3, h3 = run_once(mnist_small, seed=2)  # same initial weights, other order and masks
    assert h1["step_loss"] == h2["step_loss"] and h1["val_acc"] == h2["val_acc"]
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)
    assert h1["step_loss"] != h3["step_loss"]


def test_early_stopping_stops_and_restores_the_best_weights(mnist_small):
    set_seed(0)
    model = BudgetMLP([64])
    opt = adam(model, 3e-3)
    # one good epoch, then a learning rate of 3 wrecks the weights: later epochs are worse
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 if epoch < 1 else 1000.0)
    h = fit(model, mnist_small, opt, epochs=10, batch_size=50, scheduler=sched,
            early_stopping=2)
    assert h["stopped_early"] and h["epoch"] == [1, 2, 3]
    assert h["best_epoch"] == 1 and h["val_acc"][0] > 0.6 > max(h["val_acc"][1:])
    assert evaluate(model, mnist_small["X_val"], mnist_small["y_val"])[1] == h["val_acc"][0]
    with pytest.raises(ValueError, match="early_stopping needs a validation split"):
        fit(model, {"X_train": mnist_small["X_train"], "y_train": mnist_small["y_train"]},
            opt, epochs=1, batch_size=50, early_stopping=2)


def test_gradient_clipping_bounds_each_step(mnist_small):
    set_seed(0)
    model = BudgetMLP([32])
    start = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    fit(model, mnist_small, torch.optim.SGD(model.parameters(), lr=1.0), epochs=1,
        batch_size=100, clip_grad=1e-3)  # 5 steps of at most lr * 1e-3 each
    moved = (torch.cat([p.detach().flatten() for p in model.parameters()]) - start).norm()
    assert 0 < moved <= 5 * 1e-3 * (1 + 1e-5)


def test_per_batch_scheduler_and_run_log(mnist_small, tmp_path):
    set_seed(0)
    model = BudgetMLP([32])
    opt = adam(model)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=3 * 10)
    run = Run.create(tmp_path / "run", {"experiment": "test", "config": {}})
    h = fit(model, mnist_small, opt, epochs=3, batch_size=50, scheduler=sched,
            scheduler_step="batch", run=run, cell="mlp", log_every=4)
    assert h["lr"][0] > h["lr"][-1] and h["lr"][-1] < 1e-4  # annealed to near zero
    rows = read_metrics(run.path / "metrics.jsonl")
    epochs = [r for r in rows if r["kind"] == "epoch"]
    iters = [r for r in rows if r["kind"] == "iteration"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3] and {r["cell"] for r in rows} == {"mlp"}
    assert [r["val_acc"] for r in epochs] == h["val_acc"]
    assert [r["iteration"] for r in iters] == [4, 8, 12, 16, 20, 24, 28]


def test_penalties_enter_the_loss(mnist_small):
    norms = {}
    for lam in (0.0, 1e-2):
        set_seed(0)
        model = BudgetMLP([32])
        h = fit(model, mnist_small, adam(model), epochs=2, batch_size=50,
                penalties={"l1": lam})
        assert (h["penalty"][-1] > 0) == (lam > 0)
        norms[lam] = model[0].weight.abs().sum().item()
    assert norms[1e-2] < 0.5 * norms[0.0]  # L1 drives the first layer's weights down


def test_augmented_fit_is_repeatable_and_learns(mnist_small):
    hs = []
    for _ in range(2):
        set_seed(0)
        model = BudgetMLP([64])
        hs.append(fit(model, mnist_small, adam(model, 3e-3), epochs=4, batch_size=50,
                      transform=random_shift(2)))
    assert hs[0]["step_loss"] == hs[1]["step_loss"] and hs[0]["val_acc"][-1] > 0.75
    set_seed(0)
    plain = BudgetMLP([64])
    h = fit(plain, mnist_small, adam(plain, 3e-3), epochs=4, batch_size=50)
    assert h["step_loss"] != hs[0]["step_loss"]  # the transform was applied


def test_time_to_accuracy():
    h = {"time": [1.0, 2.0, 4.0], "test_acc": [0.5, 0.9, 0.95]}
    assert time_to_accuracy(h, 0.9) == 3.0
    assert time_to_accuracy(h, 0.5) == 1.0
    assert time_to_accuracy(h, 0.99) is None


def test_resume_from_the_epoch_checkpoint(mnist_small, tmp_path):
    """Stopped after epoch 2 and continued: the weights and history of one 3-epoch call."""
    def start(path, epochs):
        set_seed(0)
        model = BudgetMLP([32], dropout=0.3)
        opt = adam(model)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=3 * 10)
        probes = Probes(model, every="epoch")
        h = fit(model, mnist_small, opt, epochs=epochs, batch_size=50, scheduler=sched,
                scheduler_step="batch", probes=probes, transform=random_shift(1), seed=5,
                checkpoint_path=path)
        return model, h, probes

    whole, h_whole, p_whole = start(None, 3)
    start(tmp_path / "fit.pt", 2)  # "killed" after epoch 2
    resumed, h_resumed, p_resumed = start(tmp_path / "fit.pt", 3)
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    for key in ("epoch", "step_loss", "val_acc", "test_acc", "lr", "loss"):
        assert h_whole[key] == h_resumed[key], key
    assert p_whole.history == p_resumed.history and p_resumed.steps == [1, 2, 3]
    # a finished checkpoint: calling again trains nothing and returns the same history
    again, h_again, _ = start(tmp_path / "fit.pt", 3)
    assert h_again["step_loss"] == h_whole["step_loss"]
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), whole.parameters(),
                                                 strict=True))


def test_plateau_scheduler_gets_the_validation_accuracy(mnist_small):
    set_seed(0)
    model = BudgetMLP([32])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # after the first epoch (better than nothing), no accuracy beats the best by 2.0: a
    # plateau, so the rate halves after every later epoch ('lr' is the rate the epoch used)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5,
                                                       patience=0, threshold=2.0,
                                                       threshold_mode="abs")
    h = fit(model, mnist_small, opt, epochs=3, batch_size=50, scheduler=sched)
    assert h["lr"] == [0.1, 0.1, 0.05]
