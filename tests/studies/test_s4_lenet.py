"""lenet-fashion: the quick run's report, and `layerlab eval` on its saved weights (real CLI)."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")


def test_report_has_every_variant_and_the_reload_claim(quick_run):
    run, results = quick_run("lenet-fashion")
    rows = results["tables"]["accuracy"]["rows"]
    assert [r[0] for r in rows] == ["baseline", "dropout 0.5", "L2 (weight decay 0.01)",
                                    "optimised L2 (weight decay 0.001, 20 epochs)", "batchnorm"]
    assert [r[2] for r in rows] == [0.9321, 0.8894, 0.8433, 0.9076, 0.9448]  # the study's
    reload = [c for n, c in results["claims"].items() if n.startswith("saved weights")]
    assert reload and reload[0]["ours"] is True
    assert len(list((run.path / "weights").glob("*.pt"))) == 5  # one model per variant


def test_layerlab_eval_reloads_and_matches_to_the_last_image(quick_run):
    run, _ = quick_run("lenet-fashion")
    out = subprocess.run([sys.executable, "-m", "layerlab", "eval", str(run.path),
                          "--cell", "batchnorm"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "every split matches to the last image" in out.stdout
    assert out.stdout.count(" yes") == 3  # train, val and test of the one model asked for


def test_eval_reports_a_mismatch(quick_run, tmp_path, capsys):
    """A weights file whose saved count disagrees with its weights fails `layerlab eval`."""
    import shutil

    from layerlab.cli import main
    from layerlab.pytorch import checkpoint

    run, _ = quick_run("lenet-fashion")
    (tmp_path / "weights").mkdir()
    src = next((run.path / "weights").glob("*baseline*.pt"))
    shutil.copy(src, tmp_path / "weights" / src.name)
    saved = checkpoint.read(src)
    correct = saved["extra"]["correct"]
    correct["val"][0] += 1
    checkpoint.save(tmp_path / "weights" / src.name, checkpoint.load(src), saved["config"],
                    {"correct": correct})
    assert main(["eval", str(tmp_path), "--threads", "0"]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "nothing"), "--threads", "0"]) == 2


def test_best_run_has_the_recipe_and_the_short_one_cycle(quick_run):
    run, results = quick_run("lenet-fashion-best")
    rows = results["tables"]["accuracy"]["rows"]
    assert [r[0] for r in rows] == ["best recipe", "short one-cycle"]
    speed = {n: c for n, c in results["claims"].items() if n.startswith("short one-cycle")}
    assert len(speed) == 2  # against the 30 s goal and the one-cycle goal of 40 s
    assert {c["reference"] for c in speed.values()} == {30, 40}
    assert len(list((run.path / "weights").glob("fast*.pt"))) == 1
