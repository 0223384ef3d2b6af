"""The Solver: epochs without replacement, decay, best params, checkpoints, resume, limits."""

import io
import pickle

import numpy as np
import pytest

from layerlab.scratch.models import FullyConnectedNet, Model
from layerlab.scratch.solver import CheckpointError, Solver


class RecordingModel(Model):
    """A linear model that remembers which samples it was trained on."""

    def __init__(self):
        self.params = {"W": np.zeros((1, 2))}
        self.norm_params = []
        self.rng = np.random.default_rng(0)
        self.seen = []

    def loss(self, X, y=None):
        scores = X.reshape(len(X), 1) @ self.params["W"]
        if y is None:
            return scores
        self.seen.append(X.ravel().astype(int).tolist())
        return 1.0, {"W": np.zeros_like(self.params["W"])}


def blob_data(rng, N=120, D=10, C=3):
    centers = rng.standard_normal((C, D)) * 3
    y = rng.integers(C, size=N)
    X = centers[y] + rng.standard_normal((N, D))
    return {"X_train": X[:80], "y_train": y[:80], "X_val": X[80:], "y_val": y[80:]}


def test_each_epoch_visits_every_sample_once_in_a_new_order():
    X = np.arange(23, dtype=float)
    data = {"X_train": X, "y_train": np.zeros(23, int), "X_val": X, "y_val": np.zeros(23, int)}
    model = RecordingModel()
    Solver(model, data, batch_size=5, num_epochs=3, verbose=False, seed=0).train()
    assert len(model.seen) == 3 * 5  # ceil(23 / 5) batches per epoch, the last one of 3
    epochs = [sum(model.seen[i * 5:(i + 1) * 5], []) for i in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(23))
    assert epochs[0] != epochs[1]


def test_a_last_batch_of_one_joins_the_one_before_so_batchnorm_trains(rng):
    # a batchnorm net crashed on a last batch of one sample (21 = 4 * 5 + 1)
    X = np.arange(21, dtype=float)
    data = {"X_train": X, "y_train": np.zeros(21, int), "X_val": X, "y_val": np.zeros(21, int)}
    model = RecordingModel()
    solver = Solver(model, data, batch_size=5, num_epochs=2, verbose=False, seed=0)
    solver.train()
    assert solver.iterations_per_epoch == 4
    assert [len(b) for b in model.seen] == [5, 5, 5, 6] * 2
    assert sorted(sum(model.seen[:4], [])) == list(range(21))
    X, y = rng.standard_normal((101, 10)), rng.integers(3, size=101)
    bn_data = {"X_train": X[:81], "y_train": y[:81], "X_val": X[81:], "y_val": y[81:]}
    net = FullyConnectedNet([8], input_dim=10, num_classes=3, normalization="batchnorm", seed=0)
    solver = Solver(net, bn_data, batch_size=40, num_epochs=1, verbose=False, seed=0)
    solver.train()  # 81 = 2 * 40 + 1: it raised "needs at least 2 samples per batch" before
    assert solver.iterations_per_epoch == 2 and len(solver.loss_history) == 2


def test_learning_rate_decays_per_epoch_and_best_params_are_kept(rng):
    data = blob_data(rng)
    model = FullyConnectedNet([20], input_dim=10, num_classes=3, seed=0)
    solver = Solver(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.1},
                    lr_decay=0.5, num_epochs=3, batch_size=16, verbose=False, seed=0)
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * 0.5**3)
    assert len(solver.val_acc_history) == 4 and len(solver.train_acc_history) == 4
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.best_val_acc > 0.8
    model.params = solver.best_params
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_checkpoint_resume_reaches_the_same_weights(rng, tmp_path):
    data = blob_data(rng)

    def make(seed):
        return FullyConnectedNet([20, 15], input_dim=10, num_classes=3, dropout=0.3,
                                 normalization="batchnorm", seed=seed)

    settings = dict(update_rule="adam", optim_config={"learning_rate": 1e-2}, lr_decay=0.9,
                    batch_size=16, num_train_samples=40, verbose=False, seed=7)
    straight = make(1)
    Solver(straight, data, num_epochs=4, **settings).train()

    name = str(tmp_path / "run")
    first = make(1)
    Solver(first, data, num_epochs=2, checkpoint_name=name, **settings).train()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_epoch_1.npz", "run_epoch_2.npz"]

    resumed = make(99)  # a different init, so only the checkpoint can make them equal
    solver = Solver(resumed, data, num_epochs=4, resume_from=f"{name}_epoch_2.npz", **settings)
    assert solver.epoch == 2
    solver.train()
    for k in straight.params:
        np.testing.assert_array_equal(resumed.params[k], straight.params[k])
    for a, b in zip(resumed.norm_params, straight.norm_params, strict=True):
        np.testing.assert_array_equal(a["running_mean"], b["running_mean"])
    assert len(solver.loss_history) == 4 * 5


def test_resume_errors_are_clear(rng, tmp_path):
    data = blob_data(rng)
    model = FullyConnectedNet([5], input_dim=10, num_classes=3)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        Solver(model, data, resume_from=tmp_path / "missing.npz")
    Solver(model, data, num_epochs=1, batch_size=16, checkpoint_name=str(tmp_path / "a"),
           verbose=False).train()
    with pytest.raises(ValueError, match="batch_size 16"):
        Solver(model, data, batch_size=8, resume_from=tmp_path / "a_epoch_1.npz")
    other = FullyConnectedNet([6], input_dim=10, num_classes=3)
    with pytest.raises(ValueError, match="W1 is"):
        Solver(other, data, batch_size=16, resume_from=tmp_path / "a_epoch_1.npz")
    old = tmp_path / "b_epoch_1.pkl"  # the older format: refused, never unpickled
    old.write_bytes(pickle.dumps({"batch_size": 16}))
    with pytest.raises(CheckpointError, match="b_epoch_1.pkl: a Solver checkpoint of the old "
                                              "pickle format"):
        Solver(model, data, batch_size=16, resume_from=old)


def test_time_limit_and_divergence_stop_training(rng):
    data = blob_data(rng)
    model = FullyConnectedNet([20], input_dim=10, num_classes=3, seed=0)
    solver = Solver(model, data, num_epochs=50, batch_size=8, time_limit=0.0, verbose=False)
    solver.train()
    assert solver.stopped_early == "time_limit" and len(solver.loss_history) == 1
    model = FullyConnectedNet([20], input_dim=10, num_classes=3, weight_scale=1.0, seed=0)
    solver = Solver(model, data, optim_config={"learning_rate": 1e6}, num_epochs=50,
                    batch_size=8, verbose=False)
    with np.errstate(all="ignore"):
        solver.train()
    assert solver.stopped_early == "diverged" and solver.epoch < 50


def test_progress_to_a_file_is_one_line_per_epoch(rng):
    data = blob_data(rng)
    out = io.StringIO()
    model = FullyConnectedNet([20], input_dim=10, num_classes=3, seed=0)
    Solver(model, data, num_epochs=3, batch_size=16, print_every=0, stream=out, seed=0).train()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert [line.split(")")[0] for line in lines] == [f"(Epoch {e} / 3" for e in range(4)]


def test_bad_data_is_named(rng):
    model = FullyConnectedNet([5], input_dim=10, num_classes=3)
    with pytest.raises(ValueError, match="missing 'X_val'"):
        Solver(model, {"X_train": np.zeros((2, 10)), "y_train": np.zeros(2, int)})
    with pytest.raises(ValueError, match="unknown update rule 'adamw'"):
        Solver(model, blob_data(rng), update_rule="adamw")
