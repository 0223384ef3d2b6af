"""The engine's install has no PyTorch: `layerlab list` and `layerlab run quickstart` (the
README's main job) must work without it, and a PyTorch study must say how to get it."""

import subprocess
import sys

from without_torch import WITHOUT_TORCH


def layerlab_without_torch(*args):
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_list_and_quickstart_work_and_torch_studies_name_the_fix(tmp_path):
    listed = layerlab_without_torch("list")
    assert listed.returncode == 0, listed.stderr
    assert "quickstart" in listed.stdout and "mnist-cnn" not in listed.stdout
    assert "need torch" in listed.stdout and "pip install -e '.[torch]'" in listed.stdout

    run = layerlab_without_torch("run", "quickstart", "--quick", "--out", tmp_path / "q")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "q" / "report.md").exists()

    refused = layerlab_without_torch("run", "mnist-cnn", "--quick")
    assert refused.returncode == 2
    assert "mnist-cnn needs torch" in refused.stderr and "'.[torch]'" in refused.stderr
    assert "Traceback" not in refused.stderr
