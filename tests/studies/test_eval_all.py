"""`layerlab eval` re-checks the quick run of every PyTorch experiment, and catches a tampered
count."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")

PYTORCH_EXPERIMENTS = ("pytorch-apis", "open-model", "lenet-fashion", "lenet-fashion-best",
                       "vanishing-gradients", "gurmukhi-reg", "mnist-mlp", "mnist-cnn",
                       "mnist-dropout-sweep")


@pytest.mark.parametrize("name", PYTORCH_EXPERIMENTS)
def test_eval_matches_every_saved_count_and_fails_on_a_tampered_one(quick_run, tmp_path,
                                                                    capsys, name):
    from layerlab.cli import main
    from layerlab.pytorch import checkpoint

    run, _ = quick_run(name)
    files = sorted((run.path / "weights").glob("*.pt"))
    assert files, f"{name} saved no weights"
    assert main(["eval", str(run.path), "--threads", "0"]) == 0
    assert f"{len(files)} weight file(s): every split matches" in capsys.readouterr().out

    (tmp_path / "weights").mkdir()
    saved = checkpoint.read(files[0])
    correct = saved["extra"]["correct"]
    split = next(iter(correct))
    k, n = correct[split]
    correct[split][0] = k + 1 if k < n else k - 1
    checkpoint.save(tmp_path / "weights" / files[0].name, checkpoint.load(files[0]),
                    saved["config"], {"correct": correct})
    assert main(["eval", str(tmp_path), "--threads", "0"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_eval_imports_no_study():
    """Every model a study saves is in layerlab.pytorch.MODELS: `layerlab eval` rebuilds them
    without importing the studies (which would register models as a side effect)."""
    code = ("import sys, layerlab.lab.eval_cli as e, layerlab.trainers.torch_cell, "
            "layerlab.pytorch.checkpoint; "
            "print(sorted(m for m in sys.modules if m.startswith('layerlab.studies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
