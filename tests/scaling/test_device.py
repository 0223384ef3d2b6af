"""The `device` setting of the PyTorch studies: cpu gives the very numbers of the default,
auto picks the CPU on a machine without a GPU (and the run records it), a wrong or missing
device is one clear line, and CUDA trains where a GPU is present."""

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from layerlab.lab.rundir import Run  # noqa: E402
from layerlab.pytorch import LeNet5, checkpoint  # noqa: E402
from layerlab.pytorch.device import DeviceError, choose_device, describe  # noqa: E402
from layerlab.trainers.torch_cell import Recipe, train_cell  # noqa: E402

SPEC = {"dataset": "mnist-mini", "val": 0.5, "split_seed": 0, "num_train": None,
        "num_test": None}
# one small S5 cell: a ReLU net without extras, one seed
S5 = ["vanishing-gradients", "--quick", "--set", "activations=['relu']",
      "--set", "settings=['plain']", "--set", "seeds=1"]
torch.set_num_threads(1)  # small models: threads cost more than they give on shared cores
CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="no CUDA device here (torch.cuda.is_available() is False)")


@pytest.fixture(autouse=True)
def restore_determinism():
    """train_cell's set_seed turns on deterministic algorithms process-wide: undo it."""
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


@pytest.fixture(scope="module")
def data():
    """400 built-in MNIST images, half for validation, and 200 test images."""
    g = torch.Generator().manual_seed(0)
    from layerlab.data import load, transforms
    from layerlab.pytorch import as_tensors

    train, test = load("mnist-mini", "train"), load("mnist-mini", "test")
    idx = torch.randperm(len(train), generator=g)[:400].numpy()
    X, y = transforms.to_float(train.images[idx]), train.labels[idx]
    return as_tensors({"X_train": X[:200], "y_train": y[:200], "X_val": X[200:],
                       "y_val": y[200:], "X_test": transforms.to_float(test.images[:200]),
                       "y_test": test.labels[:200]})


def cell(tmp_path, name, config, data, dropout=0.3, **recipe):
    """train_cell of LeNet-5 (dropout, augmented batches) in a run whose config is `config`;
    (result, saved weights)."""
    run = Run.create(tmp_path / name, {"experiment": "test", "run_id": name, "config": config})
    recipe = Recipe(**{"epochs": 2, "batch_size": 32, "lr": 3e-3, "seed": 0, "shift": 1,
                       "flip": True, **recipe})
    result = train_cell(run, "c", lambda: LeNet5(dropout=dropout), data, SPEC, recipe)
    return result, checkpoint.read(run.path / result["weights"])["state_dict"]


def layerlab(*args):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, timeout=300)


def test_device_cpu_trains_the_very_weights_of_a_run_without_the_setting(tmp_path, data):
    # a run made before the setting existed (no `device` in its config), auto, and cpu
    before, w_before = cell(tmp_path, "before", {}, data)
    auto, w_auto = cell(tmp_path, "auto", {"device": "auto"}, data)
    cpu, w_cpu = cell(tmp_path, "cpu", {"device": "cpu"}, data)
    for name, w in w_before.items():
        assert torch.equal(w_cpu[name], w) and torch.equal(w_auto[name], w), name
    for key in ("final", "correct", "best_val_acc"):
        assert cpu[key] == before[key] == auto[key], key
    for key, values in before["history"].items():  # every figure, bar the seconds
        if key != "time":
            assert cpu["history"][key] == values == auto["history"][key], key
    assert before["device"] == auto["device"] == cpu["device"] == "cpu"
    assert cpu["processes"] == 1


def test_auto_picks_the_cpu_here_and_the_run_records_it(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: auto picks it")
    from layerlab.lab import runner
    from layerlab.lab.environment import environment

    assert choose_device("auto") == torch.device("cpu") == choose_device(None)
    # what every run writes: the setting in config.json, what auto means here in env.json
    run = runner.create(S5[0], S5[3::2], quick=True, out=tmp_path / "run")
    assert json.loads((run.path / "config.json").read_text())["config"]["device"] == "auto"
    assert environment()["torch_devices"] == {"auto": "cpu", "cuda": [],
                                              "mps": describe()["mps"], "processes": 1}


@pytest.mark.parametrize("word, says", [
    ("gpu", "--set device=gpu: a device is one of auto, cpu, cuda, cuda:N or mps"),
    ("cuda:0x", "a device is one of"),
    ("cuda", "no CUDA device on this machine"),
    ("cuda:7", "on this machine"),
])
def test_a_wrong_or_missing_device_is_one_clear_line(tmp_path, word, says):
    if word.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has the GPU")
    out = tmp_path / "run"
    done = layerlab("run", *S5, "--set", f"device={word}", "--out", str(out))
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr
    if word in ("cuda", "cuda:7"):
        assert "use --set device=cpu" in lines[0]  # the way on
    assert not out.exists()  # refused before a run folder is made


def test_choose_device_refuses_in_one_line():
    with pytest.raises(DeviceError, match=r"^device tpu: a device is one of") as err:
        choose_device("tpu")
    assert "\n" not in str(err.value)


@CUDA
def test_cuda_trains_a_cell_and_its_saved_weights_measure_the_same_on_the_cpu(tmp_path, data):
    # no dropout: its masks come from the GPU's generator there, the CPU's here
    cpu, w_cpu = cell(tmp_path, "cpu", {"device": "cpu"}, data, dropout=0.0)
    gpu, w_gpu = cell(tmp_path, "gpu", {"device": "cuda"}, data, dropout=0.0)
    assert gpu["device"] == "cuda:0" and gpu["reload_identical"]
    assert all(w.device.type == "cpu" for w in w_gpu.values())  # saved for any machine
    # the same start, batches and augmentation draws; float sums in another order
    for name, w in w_cpu.items():
        assert torch.allclose(w_gpu[name], w, atol=1e-2), name
    assert abs(gpu["final"]["val"] - cpu["final"]["val"]) < 0.1
