"""Checkpoint faults, both engines: truncated, garbage, tampered and code-running files.

No checkpoint is ever unpickled (scratch: .npz read with allow_pickle=False plus JSON; PyTorch:
torch.load(weights_only=True)); each holds a SHA-256 of its content, checked on load. A bad
file is named in one line. Met by a resumed run, it is moved aside (`.corrupt`) and its cell
restarts from scratch, to the results of an uninterrupted run.
"""

import json
import os
import pickle
import re
from argparse import Namespace
from dataclasses import dataclass

import numpy as np
import pytest

from layerlab.lab import registry, runner, sweep
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.solver import CheckpointError, Solver, read_checkpoint
from layerlab.trainers.solver_cell import train_solver


class Payload:
    """Unpickling this creates the file `target`: a checkpoint that would run code on load."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_the_payload_does_run_code_when_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()  # so its absence in the tests below means it was never unpickled


# --- file faults -----------------------------------------------------------------------------


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def garbage(path):
    path.write_bytes(bytes(range(256)) * 8)


def flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def empty(path):
    path.write_bytes(b"")


def tamper_scratch_array(path):
    """A valid .npz whose first parameter array changed and whose checksum did not."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    name = next(k for k in arrays if k not in ("meta", "sha256") and arrays[k].dtype.kind == "f")
    arrays[name] = arrays[name] + 1.0
    np.savez(path, **arrays)


def tamper_scratch_meta(path):
    """A valid .npz whose JSON (the epoch) changed and whose checksum did not."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["state"]["epoch"] = 7
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)


SCRATCH_FAULTS = [truncate, garbage, flip_byte, empty, tamper_scratch_array,
                  tamper_scratch_meta]


# --- the scratch Solver ----------------------------------------------------------------------


def blob_data(seed=0, N=120, D=10, C=3):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((C, D)) * 3
    y = rng.integers(C, size=N)
    X = centers[y] + rng.standard_normal((N, D))
    return {"X_train": X[:80], "y_train": y[:80], "X_val": X[80:], "y_val": y[80:]}


def small_net(seed=1):
    return FullyConnectedNet([12], input_dim=10, num_classes=3, normalization="batchnorm",
                             dropout=0.2, seed=seed)


SETTINGS = dict(update_rule="adam", optim_config={"learning_rate": 1e-2}, batch_size=16,
                verbose=False, seed=3)


def scratch_checkpoint(tmp_path):
    Solver(small_net(), blob_data(), num_epochs=1, checkpoint_name=str(tmp_path / "c"),
           **SETTINGS).train()
    return tmp_path / "c_epoch_1.npz"


def test_a_solver_checkpoint_holds_no_pickle_and_round_trips(tmp_path):
    path = scratch_checkpoint(tmp_path)
    with np.load(path, allow_pickle=False) as npz:  # plain arrays only
        assert {"meta", "sha256"} <= set(npz.files)
    state = read_checkpoint(path)
    assert state["epoch"] == 1 and set(state["best_params"]) == set(small_net().params)
    assert isinstance(state["rng"]["state"]["state"], int)  # 128-bit PCG64 state, exact


@pytest.mark.parametrize("fault", SCRATCH_FAULTS, ids=lambda f: f.__name__)
def test_a_corrupt_solver_checkpoint_is_named_in_one_line(tmp_path, fault):
    path = scratch_checkpoint(tmp_path)
    fault(path)
    model = small_net()
    initial = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(CheckpointError, match=re.escape(str(path))) as err:
        Solver(model, blob_data(), resume_from=path, **SETTINGS)
    assert "\n" not in str(err.value) and err.value.path == path
    for k, v in initial.items():  # nothing was loaded into the model
        np.testing.assert_array_equal(model.params[k], v)


def test_a_pickle_is_never_loaded_by_the_solver(tmp_path):
    marker = tmp_path / "pwned"
    old = tmp_path / "old_epoch_3.pkl"  # a checkpoint of the older format, or a forged one
    old.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match="old pickle format"):
        Solver(small_net(), blob_data(), resume_from=old, **SETTINGS)
    named_npz = tmp_path / "forged_epoch_3.npz"
    named_npz.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match=re.escape(str(named_npz))):
        Solver(small_net(), blob_data(), resume_from=named_npz, **SETTINGS)
    inside = tmp_path / "object_epoch_3.npz"  # a pickle inside a .npy member
    np.savez(inside, meta=np.array([Payload(marker)], dtype=object), sha256=np.zeros(1))
    with pytest.raises(CheckpointError, match=re.escape(str(inside))):
        Solver(small_net(), blob_data(), resume_from=inside, **SETTINGS)
    assert not marker.exists()


# --- a resumed run meets a corrupt checkpoint ------------------------------------------------


@dataclass
class ToyConfig:
    epochs: int = 4
    kill_at_step: int = 0  # raise KeyboardInterrupt at this training step (0: never)


class KillableNet(FullyConnectedNet):
    """A FullyConnectedNet that is "killed" (KeyboardInterrupt) at a given training step."""

    steps = 0
    kill_at = 0

    def loss(self, X, y=None):
        if y is not None:
            KillableNet.steps += 1
            if KillableNet.steps == KillableNet.kill_at:
                raise KeyboardInterrupt
        return super().loss(X, y)


def toy_experiment(cfg, run):
    data = blob_data()

    def cell(c):
        model = KillableNet([12], input_dim=10, num_classes=3, normalization="batchnorm",
                            dropout=0.2, seed=c["seed"])
        return train_solver(run, f"seed={c['seed']}", model, data, num_epochs=cfg.epochs,
                            print_every=0, **{k: v for k, v in SETTINGS.items()
                                              if k != "verbose"})[0]

    results = sweep.grid(run, "g", [{"seed": s} for s in (1, 2)], cell)
    run.table("final", ["seed", "val", "loss"],
              [[s, r["val_acc_history"], r["loss_history"]] for s, r in
               zip((1, 2), results, strict=True)])


@pytest.fixture(scope="module", autouse=True)
def registered():
    registry.experiment("ckpt-toy", study="-", title="t", estimate="1 s",
                        config=ToyConfig)(toy_experiment)
    yield
    registry._EXPERIMENTS.pop("ckpt-toy")


def toy_run(path, kill_at=0):
    KillableNet.steps, KillableNet.kill_at = 0, kill_at
    run = runner.create("ckpt-toy", out=path, stream=open(os.devnull, "w"))
    try:
        runner.execute(run)
    except KeyboardInterrupt:
        pass
    return run


def table(run):
    return json.loads((run.path / "results.json").read_text())["tables"]["final"]["rows"]


@pytest.mark.parametrize("fault", [truncate, garbage, tamper_scratch_array],
                         ids=lambda f: f.__name__)
def test_resume_restarts_the_cell_with_a_corrupt_checkpoint(tmp_path, capsys, fault):
    straight = toy_run(tmp_path / "straight")
    # 5 steps per epoch, 4 epochs: cell seed=1 finishes (20 steps), seed=2 dies in epoch 3
    killed = toy_run(tmp_path / "killed", kill_at=20 + 12)
    found = sorted((killed.path / "checkpoints").glob("*.npz"))
    assert [p.name for p in found] == ["seed=2_epoch_2.npz"]
    fault(found[0])
    capsys.readouterr()
    KillableNet.steps, KillableNet.kill_at = 0, 0
    runner.resume(killed.path, stream=open(os.devnull, "w"))
    warning = [line for line in capsys.readouterr().err.splitlines() if "seed=2_epoch_2" in line]
    assert len(warning) == 1 and "restarts from scratch" in warning[0]
    assert str(found[0]) in warning[0]
    assert (found[0].parent / (found[0].name + ".corrupt")).exists()  # kept, moved aside
    assert KillableNet.steps == 20  # only the corrupt cell trained again, all of it
    assert table(killed) == table(straight)
    assert json.loads((killed.path / "status.json").read_text())["state"] == "finished"


def test_resume_moves_an_old_pickle_checkpoint_aside(tmp_path, capsys):
    straight = toy_run(tmp_path / "straight")
    killed = toy_run(tmp_path / "killed", kill_at=20 + 12)
    new = killed.path / "checkpoints" / "seed=2_epoch_2.npz"
    marker = tmp_path / "pwned"
    new.unlink()
    old = new.with_suffix(".pkl")  # what an older layerlab left behind
    old.write_bytes(pickle.dumps(Payload(marker)))
    KillableNet.steps, KillableNet.kill_at = 0, 0
    runner.resume(killed.path, stream=open(os.devnull, "w"))
    err = capsys.readouterr().err
    assert "old pickle format" in err and str(old) in err and "restarts from scratch" in err
    assert not marker.exists() and (old.parent / (old.name + ".corrupt")).exists()
    assert table(killed) == table(straight)


# --- PyTorch: weights files, fit's training state, layerlab eval -----------------------------


def tiny_torch_data(torch):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(120, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (120,), generator=g)
    return {"X_train": X[:80], "y_train": y[:80], "X_val": X[80:], "y_val": y[80:]}


def tamper_torch(path):
    """A file torch loads, one tensor changed, the checksum kept."""
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=True)
    tensors = payload["state_dict"] if "state_dict" in payload else payload["model"]
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name] = tensors[name] + 1.0
    torch.save(payload, path)


def forged_torch(path):
    """A torch file holding an object that writes a file when unpickled."""
    import torch

    torch.save({"format": "x", "model": Payload(path.parent / "pwned")}, path)


TORCH_FAULTS = [truncate, garbage, flip_byte, empty, tamper_torch, forged_torch]


@pytest.mark.parametrize("fault", TORCH_FAULTS, ids=lambda f: f.__name__)
def test_a_corrupt_weights_file_is_named_in_one_line(tmp_path, fault):
    pytest.importorskip("torch")
    from layerlab.pytorch import BudgetMLP, checkpoint

    path = checkpoint.save(tmp_path / "w.pt", BudgetMLP([8]), config={"a": 1})
    fault(path)
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(path))) as err:
        checkpoint.load(path)
    assert "\n" not in str(err.value) and "weights_only=False" not in str(err.value)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("fault", TORCH_FAULTS, ids=lambda f: f.__name__)
def test_a_corrupt_fit_state_is_named_and_nothing_is_loaded(tmp_path, fault):
    torch = pytest.importorskip("torch")
    from layerlab.pytorch import BudgetMLP, checkpoint, fit, set_seed

    data = tiny_torch_data(torch)
    set_seed(0)
    model = BudgetMLP([8])
    fit(model, data, torch.optim.Adam(model.parameters()), epochs=1, batch_size=20,
        checkpoint_path=tmp_path / "fit.pt")
    fault(tmp_path / "fit.pt")
    set_seed(0)
    fresh = BudgetMLP([8])
    initial = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(tmp_path / "fit.pt"))):
        fit(fresh, data, torch.optim.Adam(fresh.parameters()), epochs=2, batch_size=20,
            checkpoint_path=tmp_path / "fit.pt")
    assert all(torch.equal(v, initial[k]) for k, v in fresh.state_dict().items())
    assert not (tmp_path / "pwned").exists()


def test_a_torch_cell_with_a_corrupt_state_restarts_to_the_same_result(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from layerlab.lab.rundir import Run
    from layerlab.pytorch import BudgetMLP
    from layerlab.trainers.torch_cell import Recipe, train_cell

    data = tiny_torch_data(torch)
    spec = {"dataset": "toy"}
    recipe = Recipe(epochs=2, batch_size=20, lr=1e-2, seed=0, test=False, schedule="onecycle")
    results = []
    for name, corrupt in (("straight", False), ("resumed", True)):
        run = Run.create(tmp_path / name, {"experiment": "t", "run_id": name, "config": {}})
        state = run.path / "checkpoints" / "cell.fit.pt"
        if corrupt:  # what a killed attempt left, damaged
            state.parent.mkdir()
            state.write_bytes(b"PK\x03\x04" + bytes(100))
        results.append(train_cell(run, "cell", lambda: BudgetMLP([8]), data, spec, recipe))
    err = capsys.readouterr().err
    assert str(state) in err and "restarts from scratch" in err
    assert (state.parent / "cell.fit.pt.corrupt").exists()
    for key in ("final", "correct", "best_val_acc"):
        assert results[0][key] == results[1][key], key
    for key in ("epoch", "loss", "train_acc", "val_acc", "lr"):  # all but the seconds
        assert results[0]["history"][key] == results[1]["history"][key], key


def test_layerlab_eval_names_a_corrupt_weights_file(tmp_path, capsys):
    pytest.importorskip("torch")
    from layerlab.lab import eval_cli
    from layerlab.pytorch import BudgetMLP, checkpoint

    path = checkpoint.save(tmp_path / "run" / "weights" / "a.pt", BudgetMLP([8]))
    truncate(path)
    status = eval_cli._eval(Namespace(run_dir=str(tmp_path / "run"), cell="", threads=1))
    err = capsys.readouterr().err
    assert status == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in err


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)
    assert CheckpointError("x.npz", "truncated").path.name == "x.npz"
