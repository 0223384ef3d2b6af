"""torch_cell: a model trained as a grid cell saves weights that reload to the same counts."""

import json

import pytest

torch = pytest.importorskip("torch")

from layerlab.lab.rundir import Run  # noqa: E402
from layerlab.pytorch import BudgetMLP, SmallCNN, checkpoint, evaluate  # noqa: E402
from layerlab.runfiles import read_metrics  # noqa: E402
from layerlab.trainers.torch_cell import (  # noqa: E402
    Recipe,
    _accuracy,
    augmentation,
    data_spec,
    load_data,
    train_cell,
)

SPEC = {"dataset": "mnist", "val": 0.5, "split_seed": 0, "num_train": None, "num_test": None}


@pytest.fixture
def run(tmp_path):
    return Run.create(tmp_path / "run", {"experiment": "test", "run_id": "t", "config": {}})


def test_weights_reload_to_the_same_counts_and_test_is_measured_once(run, mnist_small):
    result = train_cell(run, "cell/a", lambda: SmallCNN(channels=(4, 8), fc=(16,)),
                        mnist_small, SPEC, Recipe(epochs=2, batch_size=50, lr=3e-3, seed=0,
                                                  schedule="onecycle", shift=1,
                                                  eval_train=True))
    assert result["reload_identical"]
    path = run.path / result["weights"]
    fresh = checkpoint.load(path)  # a new model, from the file alone
    for split in ("train", "val", "test"):
        correct, n = result["correct"][split]
        _, acc = evaluate(fresh, mnist_small[f"X_{split}"], mnist_small[f"y_{split}"])
        assert n == len(mnist_small[f"y_{split}"]) and correct == round(acc * n)
    saved = checkpoint.read(path)
    assert saved["config"]["data"] == SPEC and saved["extra"]["correct"] == result["correct"]
    assert saved["config"]["recipe"]["schedule"] == "onecycle"
    # test accuracy is not followed per epoch unless asked: only the final measurement
    assert "test_acc" not in result["history"]
    epochs = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2] and all("test_acc" not in r for r in epochs)
    assert not list((run.path / "checkpoints").glob("*"))  # the training state is removed
    # the one score on the test split is written down in the run's ledger of looks
    looks = [json.loads(x) for x in (run.path / "test_looks.jsonl").read_text().splitlines()]
    assert len(looks) == 1 and looks[0]["cell"] == "cell/a" and looks[0]["dataset"] == "mnist"
    assert looks[0]["accuracy"] == result["final"]["test"] and looks[0]["n"] == n


def test_search_cells_never_see_the_test_split(run, mnist_small):
    result = train_cell(run, "search/b", lambda: BudgetMLP([20]), mnist_small, SPEC,
                        Recipe(epochs=1, batch_size=100, lr=1e-3, seed=0, test=False))
    assert set(result["final"]) == {"val"} and set(result["correct"]) == {"val"}
    assert not (run.path / "test_looks.jsonl").exists()  # no test score, no look
    monitored = train_cell(run, "monitor/c", lambda: BudgetMLP([20]), mnist_small, SPEC,
                           Recipe(epochs=2, batch_size=100, lr=1e-3, seed=0,
                                  monitor_test=True))
    assert len(monitored["history"]["test_acc"]) == 2
    assert len((run.path / "test_looks.jsonl").read_text().splitlines()) == 1


def test_channels_last_training_gives_the_same_model_as_nchw(run, mnist_small):
    """The layout is a speed choice only: same seed, same predictions (up to rounding)."""
    results = [train_cell(run, f"layout/{cl}", lambda: SmallCNN(channels=(4, 8), fc=(16,)),
                          mnist_small, SPEC, Recipe(epochs=1, batch_size=50, lr=1e-3, seed=0,
                                                    channels_last=cl)) for cl in (True, False)]
    a, b = (checkpoint.load(run.path / r["weights"]) for r in results)
    # not the same bits: the NHWC kernels sum in another order, and Adam's normalised steps
    # turn rounding-level gradient differences into weight differences of up to ~lr per step
    agree = (_accuracy(a, mnist_small, "val")["pred"] == _accuracy(b, mnist_small, "val")["pred"])
    assert agree.float().mean() > 0.99


def test_flip_mirrors_about_half_the_images():
    torch.manual_seed(0)
    x = torch.rand(400, 1, 5, 6)
    out = augmentation(flip=True)(x)
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(3)).flatten(1).all(1)
    assert bool((same ^ mirrored).all())  # each image is itself or its mirror image
    assert 150 < int(mirrored.sum()) < 250
    assert augmentation() is None


def test_label_smoothing_reaches_the_training_loss_and_the_saved_recipe(run, mnist_small):
    """Cross-entropy against smoothed targets q can never fall below their entropy H(q)
    (Gibbs), 0.867 nats for e = 0.2 and 10 classes; the plain loss does fall below it."""
    import math

    e, k = 0.2, 10
    floor = -(1 - e + e / k) * math.log(1 - e + e / k) - (k - 1) * (e / k) * math.log(e / k)
    kw = {"epochs": 5, "batch_size": 20, "lr": 3e-3, "seed": 0, "test": False}
    plain = train_cell(run, "ls/plain", lambda: BudgetMLP([32]), mnist_small, SPEC,
                       Recipe(**kw))
    smooth = train_cell(run, "ls/smooth", lambda: BudgetMLP([32]), mnist_small, SPEC,
                        Recipe(label_smoothing=e, **kw))
    assert plain["history"]["loss"][-1] < floor, plain["history"]["loss"]
    assert min(smooth["history"]["loss"]) >= floor, smooth["history"]["loss"]
    saved = checkpoint.read(run.path / smooth["weights"])
    assert saved["config"]["recipe"]["label_smoothing"] == e


def test_probes_records_come_back_with_the_result(run, mnist_small):
    """probes(model) is called on the built model; its per-step records are returned."""
    from layerlab.pytorch import Probes

    result = train_cell(run, "probed/d", lambda: BudgetMLP([20]), mnist_small, SPEC,
                        Recipe(epochs=1, batch_size=100, lr=1e-3, seed=0, test=False),
                        probes=lambda m: Probes(m, every="step"),
                        keep=("loss", "step_loss", "penalty"))
    steps = len(result["history"]["step_loss"])
    assert steps == 5 and set(result["history"]) == {"loss", "step_loss", "penalty"}
    assert all(len(h["grad_norm"]) == steps for h in result["probes"].values())
    assert result["started"] <= result["ended"]


def test_plain_sgd_at_momentum_zero(run, mnist_small):
    from layerlab.trainers.torch_cell import make_optimizer

    opt = make_optimizer(BudgetMLP([20]), "sgd", lr=0.1, momentum=0.0)
    assert opt.defaults["momentum"] == 0 and not opt.defaults["nesterov"]


@pytest.mark.parametrize("pixels,low,high", [("unit", 0.0, 1.0), ("half", -1.0, 1.0)])
def test_data_descriptions_rebuild_the_same_tensors(pixels, low, high):
    """Each description loads twice to equal tensors in the stated range; folds split the
    training images into train and validation and drop the test split."""
    spec = data_spec("mnist-mini", val=100, num_train=200, num_test=50, pixels=pixels)
    a, b = load_data(spec), load_data(dict(spec))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(a["y_train"]) == 200 and len(a["y_val"]) == 100 and len(a["y_test"]) == 50
    assert a["X_train"].min() >= low and a["X_train"].max() <= high
    plain = load_data(data_spec("gurmukhi-mini", val=None, num_train=120, pixels="signed"))
    assert "X_val" not in plain and plain["X_train"].min() == -1.0
    fold = load_data(data_spec("gurmukhi-mini", val=None, num_train=120, pixels="signed",
                               folds=(4, 1, 0)))
    assert set(fold) == {"X_train", "y_train", "X_val", "y_val"}
    assert len(fold["y_train"]) + len(fold["y_val"]) == 120
    assert data_spec("mnist", 0.5) == SPEC  # defaults stay out of the description
    with pytest.raises(ValueError, match="signed"):
        data_spec("mnist", 0.1, pixels="signed")

