"""The scratch probe: its numbers equal a direct NumPy computation on a small net, training is
the same with probes on, and a step that is not probed touches nothing."""

import numpy as np
import pytest

from layerlab.probing import stats
from layerlab.probing.scratch import ScratchProbe
from layerlab.scratch.conv import Conv
from layerlab.scratch.conv_models import ThreeLayerConvNet
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.solver import Solver

LR = 0.1


class Records:
    """A writer that keeps what it is given."""

    def __init__(self):
        self.records = []

    def write(self, records):
        self.records += records


def data(rng, N=40, D=6, C=3):
    X, y = rng.standard_normal((N, D)), rng.integers(C, size=N)
    return {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}


def one_step(model, d, every=1):
    """One full-batch SGD step of a Solver with a probe; its records by layer."""
    out = Records()
    Solver(model, d, update_rule="sgd", optim_config={"learning_rate": LR},
           batch_size=len(d["y_train"]), num_epochs=1, verbose=False, seed=0,
           probe=ScratchProbe(model, every, out)).train()
    return {r["layer"]: r for r in out.records}


def by_hand(p, X, y, act=lambda z: np.maximum(z, 0), dact=lambda a: a > 0):
    """Activations and weight gradients of Linear-act-Linear-act-Linear-softmax, by hand."""
    h1 = act(X @ p["W1"] + p["b1"])
    h2 = act(h1 @ p["W2"] + p["b2"])
    scores = h2 @ p["W3"] + p["b3"]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    dscores = e / e.sum(axis=1, keepdims=True)
    dscores[np.arange(len(y)), y] -= 1
    dscores /= len(y)
    dh2 = dscores @ p["W3"].T * dact(h2)
    dh1 = dh2 @ p["W2"].T * dact(h1)
    return [h1, h2, scores], [X.T @ dh1, h1.T @ dh2, h2.T @ dscores]


def test_fc_records_equal_a_direct_computation_with_two_dead_units():
    rng = np.random.default_rng(0)
    model = FullyConnectedNet([8, 5], input_dim=6, num_classes=3, weight_scale=0.5,
                              dtype=np.float64, seed=1)
    model.params["W1"][:, :2] = 0.0  # units 0 and 1 of fc1 output 0 for every input
    model.params["b1"][:2] = -1.0
    before = {k: v.copy() for k, v in model.params.items()}
    d = data(rng)
    got = one_step(model, d)
    acts, grads = by_hand(before, d["X_train"], d["y_train"])
    assert list(got) == ["fc1", "fc2", "fc3"]
    for i, (name, act, grad) in enumerate(zip(got, acts, grads, strict=True), start=1):
        r, w = got[name], before[f"W{i}"]
        assert r["step"] == 1 and r["epoch"] == 1
        assert r["act_mean"] == pytest.approx(act.mean(), rel=1e-12)
        assert r["act_std"] == pytest.approx(act.std(), rel=1e-12)
        assert r["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-9)
        assert r["weight_norm"] == pytest.approx(np.linalg.norm(w), rel=1e-12)
        # plain SGD: the update is -lr * grad
        assert r["update_ratio"] == pytest.approx(LR * np.linalg.norm(grad) / np.linalg.norm(w),
                                                  rel=1e-9)
        for kind, values in (("act", act), ("grad", grad), ("weight", w)):
            edges = np.asarray(stats.DEFAULT_BINS[kind].edges)
            expected = np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]
            assert r["hist"][kind] == expected.tolist()
            assert sum(r["hist"][kind]) == values.size
    assert got["fc1"]["dead"] == 2 / 8
    assert got["fc3"]["dead"] == 0.0  # the scores: not a ReLU


def test_tanh_units_driven_far_out_saturate():
    rng = np.random.default_rng(2)
    model = FullyConnectedNet([4, 4], input_dim=6, num_classes=3, activation="tanh",
                              weight_scale=0.1, dtype=np.float64, seed=3)
    model.params["b1"][0] = 10.0  # unit 0 of fc1 sits at tanh(10) ~ 1 for every input
    before = {k: v.copy() for k, v in model.params.items()}
    d = data(rng)
    got = one_step(model, d)
    h1 = np.tanh(d["X_train"] @ before["W1"] + before["b1"])
    assert got["fc1"]["saturated"] == np.mean(np.abs(h1) > 0.99) >= 0.25
    assert got["fc1"]["dead"] == 0.0


def test_conv_net_layers_and_activations():
    rng = np.random.default_rng(4)
    model = ThreeLayerConvNet(input_dim=(2, 6, 6), num_filters=4, filter_size=3, hidden_dim=5,
                              num_classes=3, weight_scale=0.3, dtype=np.float64, seed=5)
    X, y = rng.standard_normal((8, 2, 6, 6)), rng.integers(3, size=8)
    before = {k: v.copy() for k, v in model.params.items()}
    got = one_step(model, {"X_train": X, "y_train": y, "X_val": X, "y_val": y})
    assert list(got) == ["conv1", "fc2", "fc3"]
    conv, _ = Conv.forward(X, before["W1"], before["b1"], {"stride": 1, "pad": (1, 1, 1, 1)})
    relu = np.maximum(conv, 0)  # the activation stage, before the pool
    r = got["conv1"]
    assert r["act_mean"] == pytest.approx(relu.mean(), rel=1e-12)
    assert r["dead"] == np.mean(~np.any(relu > 0, axis=(0, 2, 3)))
    assert sum(r["hist"]["act"]) == relu.size == 8 * 4 * 6 * 6
    assert sum(r["hist"]["weight"]) == before["W1"].size


def test_training_is_the_same_with_probes_on_and_a_probe_step_puts_the_model_back():
    rng = np.random.default_rng(6)
    d = data(rng, N=60)

    def train(probe_every):
        model = FullyConnectedNet([7, 7], input_dim=6, num_classes=3, dropout=0.2,
                                  normalization="batchnorm", weight_scale=0.3, seed=7)
        hidden, loss_fn, out = model.hidden, model.loss_fn, Records()
        probe = ScratchProbe(model, probe_every, out) if probe_every else None
        Solver(model, d, update_rule="adam", batch_size=20, num_epochs=2, verbose=False,
               seed=0, probe=probe).train()
        assert model.hidden is hidden and model.loss_fn is loss_fn
        return model.params, out.records

    plain, _ = train(None)
    probed, records = train(2)
    assert all(np.array_equal(plain[k], probed[k]) for k in plain)
    assert sorted({r["step"] for r in records}) == [2, 4, 6]  # 3 steps an epoch, 2 epochs
    assert [r["epoch"] for r in records if r["layer"] == "fc1"] == [1, 2, 2]


class Spy:
    """A probe that counts the calls it gets and probes no step."""

    def __init__(self):
        self.begun, self.after = [], 0

    def begin(self, model, step):
        self.begun.append(step)
        return False

    def after_step(self, *args):
        self.after += 1


def test_a_step_that_is_not_probed_calls_only_begin():
    d = data(np.random.default_rng(8), N=30)
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, seed=9)
    spy = Spy()
    Solver(model, d, batch_size=10, num_epochs=2, verbose=False, seed=0, probe=spy).train()
    assert spy.begun == [1, 2, 3, 4, 5, 6] and spy.after == 0
    # a probe skips its off steps without copying anything
    probe = ScratchProbe(model, 4, Records())
    hidden = model.hidden
    assert probe.begin(model, 3) is False and model.hidden is hidden and probe._before == {}


def test_an_unreadable_model_is_named():
    from layerlab.scratch.models import Model

    with pytest.raises(ValueError, match="probes cannot read a Model"):
        ScratchProbe(Model(), 1, Records())


def test_a_resumed_cell_continues_its_probe_file(tmp_path):
    from layerlab.lab.rundir import Run
    from layerlab.probing import store
    from layerlab.trainers.solver_cell import train_solver

    run = Run.create(tmp_path / "run", {"experiment": "t", "run_id": "t",
                                        "config": {"probes": "every:2"}})
    d = data(np.random.default_rng(10), N=40)

    def train(epochs):
        model = FullyConnectedNet([5], input_dim=6, num_classes=3, seed=11)
        train_solver(run, "lr=0.1", model, d, keep_checkpoint=True, num_epochs=epochs,
                     batch_size=10, verbose=False, seed=0)

    train(1)  # 4 steps, then a new process continues from its checkpoint to epoch 2
    train(2)
    path = run.path / "probes" / "lr=0.1.jsonl"
    assert sum('"format"' in line for line in path.read_text().splitlines()) == 1
    records = store.read_probes(run.path)["lr=0.1"]["records"]
    assert [(r["step"], r["epoch"]) for r in records if r["layer"] == "fc1"] == \
        [(2, 1), (4, 1), (6, 2), (8, 2)]
