"""Data-parallel training under the real torchrun (gloo, CPU): two processes train what one
process trains on the same global batches, and rank 0 alone writes the run folder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).with_name("ddp_lenet.py")
# float32 sums in another order (each process's shard, then DDP's all-reduce): after six SGD
# steps the weights differ from one process's by about 2e-8; a wrong sharding or loss weight
# moves them by 1e-3 or more
ATOL = 1e-6
QUIET = ["--local-ranks-filter", "0"]  # the other process prints the same lines


def torchrun(*args, env=None):
    """`torchrun --standalone --nproc-per-node 2 ARGS` (a free port on localhost)."""
    if shutil.which("torchrun") is None:
        pytest.fail("torchrun is not on PATH (it comes with PyTorch's package)")
    return subprocess.Popen(["torchrun", "--standalone", "--nproc-per-node", "2", *QUIET,
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finished(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out + err
    return out


def test_two_processes_give_the_weights_of_one_on_the_same_global_batch(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    alone = subprocess.Popen([sys.executable, str(SCRIPT), str(one)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    parallel = torchrun(str(SCRIPT), str(two))
    finished(alone)
    assert "process group left at exit: True" in finished(parallel)  # no SIGABRT at exit
    a, b = torch.load(one, weights_only=True), torch.load(two, weights_only=True)
    assert (a["processes"], b["processes"]) == (1, 2)  # it did run data-parallel
    start = _initial_weights()
    for name, w in a["weights"].items():
        assert not torch.allclose(w, start[name], atol=1e-4), f"{name} did not train"
        assert torch.allclose(b["weights"][name], w, rtol=0, atol=ATOL), name
    ha, hb = a["history"], b["history"]
    assert len(ha["step_loss"]) == 6  # 41 images in global batches of 16, two epochs
    # the figures every process sees are the global batch's: losses, counts, validation
    assert torch.allclose(torch.tensor(hb["step_loss"]), torch.tensor(ha["step_loss"]),
                          rtol=1e-6, atol=0)
    assert hb["train_acc"] == ha["train_acc"] and hb["val_acc"] == ha["val_acc"]


def _initial_weights():
    """LeNet-5's weights before training, as the script builds it (seed 0)."""
    from layerlab.pytorch import LeNet5

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return LeNet5().state_dict()


def test_torchrun_run_writes_one_run_folder_with_a_finished_report(tmp_path):
    out, scratch = tmp_path / "runs" / "s5", tmp_path / "tmp"
    scratch.mkdir()  # the temporary folder of the process of rank 1
    finished(torchrun("-m", "layerlab", "run", "vanishing-gradients", "--quick",
                      "--set", "activations=['relu']", "--set", "settings=['plain']",
                      "--set", "seeds=1", "--out", str(out),
                      env={**os.environ, "TMPDIR": str(scratch)}))
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["s5"]  # one folder: rank 0's
    assert not list(scratch.glob("layerlab-rank*"))  # rank 1's run was removed when it ended
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    env = json.loads((out / "env.json").read_text())
    assert env["torch_devices"]["processes"] == 2
    # one process trained and measured the cell's weights; the run's one look at the test set
    assert len(list((out / "weights").glob("*.pt"))) == 1
    assert len((out / "test_looks.jsonl").read_text().splitlines()) == 1
