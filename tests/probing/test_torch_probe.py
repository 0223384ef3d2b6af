"""The PyTorch probe: its numbers equal a direct torch computation, dead and saturated units on
constructed weights, and no hook without it."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from torch import nn  # noqa: E402

from layerlab.lab.rundir import Run  # noqa: E402
from layerlab.probing import stats, store  # noqa: E402
from layerlab.probing.torch import TorchProbe, chain, for_run, layer_table  # noqa: E402
from layerlab.pytorch import Probes, VanishingNet, fit  # noqa: E402

LR = 0.1


class Records:
    def __init__(self):
        self.records = []

    def write(self, records):
        self.records += records


def toy(N=32, D=12, C=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"X_train": rng.standard_normal((N, D)).astype(np.float32),
            "y_train": rng.integers(C, size=N)}


def hooks(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_records_equal_a_direct_torch_computation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(),
                          nn.Linear(6, 3))
    with torch.no_grad():  # units 0-2 of the first layer dead for every input
        model[0].weight[:3] = 0.0
        model[0].bias[:3] = -1.0
    twin = nn.Sequential(*[type(m)() if not isinstance(m, nn.Linear) else
                           nn.Linear(m.in_features, m.out_features) for m in model])
    twin.load_state_dict(model.state_dict())
    d = toy()
    out = Records()
    fit(model, d, torch.optim.SGD(model.parameters(), lr=LR), epochs=1, batch_size=32,
        probes=TorchProbe(model, 1, out))
    # the direct computation on the twin, which holds the weights before the step
    X, y = torch.from_numpy(d["X_train"]), torch.from_numpy(d["y_train"])
    h1 = torch.relu(twin[0](X))
    h2 = torch.tanh(twin[2](h1))
    scores = twin[4](h2)
    nn.functional.cross_entropy(scores, y).backward()
    got = {r["layer"]: r for r in out.records}
    assert list(got) == ["0", "2", "4"]
    for name, act in zip(got, (h1, h2, scores), strict=True):
        r, layer = got[name], twin[int(name)]
        w, g = layer.weight.detach(), layer.weight.grad
        assert r["step"] == 1 and r["epoch"] == 1
        assert r["act_mean"] == pytest.approx(act.mean().item(), rel=1e-5, abs=1e-7)
        assert r["act_std"] == pytest.approx(act.std(unbiased=False).item(), rel=1e-5)
        assert r["grad_norm"] == pytest.approx(g.norm().item(), rel=1e-5)
        assert r["weight_norm"] == pytest.approx(w.norm().item(), rel=1e-6)
        assert r["update_ratio"] == pytest.approx(LR * g.norm().item() / w.norm().item(),
                                                  rel=1e-4)
        for kind, values in (("act", act), ("grad", g), ("weight", w)):
            edges = stats.DEFAULT_BINS[kind].edges
            v = values.detach().double().clamp(edges[0], edges[-1])
            expected = torch.histogram(v.flatten(), torch.tensor(edges, dtype=torch.float64))
            assert r["hist"][kind] == expected.hist.long().tolist()
            assert sum(r["hist"][kind]) == values.numel()
    assert got["0"]["dead"] == 3 / 8 and got["2"]["dead"] == 0.0
    tanh = h2.detach().abs() > 0.99
    assert got["2"]["saturated"] == pytest.approx(tanh.double().mean().item())


def test_saturated_sigmoid_units_and_layer_names_of_the_s5_net():
    torch.manual_seed(1)
    model = VanishingNet([6, 4], "sigmoid", in_features=12, num_classes=3)
    with torch.no_grad():
        model.net.fc1.bias[:3] = 20.0  # half of fc1's units at sigmoid(20) > 0.99
    table = layer_table(model)
    assert [(r["name"], r["activation"], r["units"]) for r in table] == \
        [("net.fc1", "sigmoid", 6), ("net.fc2", "sigmoid", 4), ("net.fc3", "linear", 3)]
    out = Records()
    fit(model, toy(), torch.optim.SGD(model.parameters(), lr=LR), epochs=2, batch_size=8,
        probes=TorchProbe(model, 3, out))
    first = out.records[0]
    assert first["layer"] == "net.fc1" and first["saturated"] >= 0.5
    assert [r["step"] for r in out.records if r["layer"] == "net.fc1"] == [3, 6]
    assert [r["epoch"] for r in out.records if r["layer"] == "net.fc1"] == [1, 2]


def test_probes_off_install_no_hook_and_the_recorder_removes_its_own(tmp_path):
    off = Run.create(tmp_path / "off", {"experiment": "t", "run_id": "t", "config": {}})
    on = Run.create(tmp_path / "on", {"experiment": "t", "run_id": "t",
                                      "config": {"probes": "every:2"}})
    model = VanishingNet([6], "relu", in_features=12, num_classes=3)
    assert for_run(off, "c", model) is None and hooks(model) == 0
    recorder = for_run(on, "c", model)
    assert hooks(model) == 2  # the ReLU after fc1, and fc2 (the output layer) itself
    study = Probes(model, every="step")  # a study's own probe beside the run's
    both = chain(study, recorder)
    fit(model, toy(), torch.optim.Adam(model.parameters()), epochs=1, batch_size=8,
        probes=both)
    recorder.remove()
    assert hooks(model) == 0
    assert len(study.history["net.fc1"]["grad_norm"]) == 4 and both.history is study.history
    found = store.read_probes(on.path)["c"]
    assert found["header"]["engine"] == "torch" and found["header"]["every"] == 2
    assert [r["step"] for r in found["records"]] == [2, 2, 4, 4]
    assert chain(None, None) is None and chain(None, recorder) is recorder
