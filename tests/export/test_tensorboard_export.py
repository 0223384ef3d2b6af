"""`layerlab export RUN_DIR --tensorboard OUT_DIR`, read back with TensorBoard's own reader."""

import json

import numpy as np
from export_helpers import (
    check_export,
    layerlab,
    one_line_error,
    read_back,
    write_contract_probes,
)

from layerlab.lab.rundir import safe_name


def first_cell(run_dir):
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])["cell"]


def test_export_gives_tensorboard_the_same_scalars_and_histogram_counts(run_copy, tmp_path):
    """A probe file written exactly as the contract says, beside a real run's metrics."""
    cell = first_cell(run_copy)
    records = write_contract_probes(run_copy, cell, safe_name(cell), steps=[5, 10, 15, 20])
    out = tmp_path / "tb"
    # without PyTorch: a scratch-only install exports too
    done = layerlab("export", run_copy, "--tensorboard", out, without=("torch",))
    assert done.returncode == 0, done.stderr
    assert "has no probes" not in done.stdout
    assert f"tensorboard --logdir {out}" in done.stdout
    assert check_export(run_copy, out) == len(records) * 3

    acc = read_back(out / safe_name(cell))
    assert {"iter/loss", "epoch/train_acc", "epoch/val_acc", "probes/fc1/grad_norm",
            "probes/fc2/dead"} <= set(acc.Tags()["scalars"])
    # the nulls are left out, not written as zeros
    assert [e.step for e in acc.Scalars("probes/fc1/update_ratio")] == [10, 15, 20]
    assert len(acc.Scalars("probes/fc2/grad_norm")) == 3
    assert [e.histogram_value.num for e in acc.Histograms("probes/fc1/weights")] == [200] * 4


def test_export_of_a_run_with_real_probes(probed_run_dir, tmp_path):
    assert list((probed_run_dir / "probes").glob("*.jsonl"))
    out = tmp_path / "tb"
    done = layerlab("export", probed_run_dir, "--tensorboard", out)
    assert done.returncode == 0, done.stderr
    assert check_export(probed_run_dir, out) > 0


def test_a_run_without_probes_exports_its_scalars_and_says_so(quick_run_dir, tmp_path):
    out = tmp_path / "tb"
    done = layerlab("export", quick_run_dir, "--tensorboard", out)
    assert done.returncode == 0, done.stderr
    assert "has no probes: scalars only" in done.stdout
    assert "--set probes=every:K" in done.stdout
    assert check_export(quick_run_dir, out) == 0
    for folder in out.iterdir():
        assert read_back(folder).Tags()["histograms"] == []


def test_exporting_again_replaces_the_event_files(quick_run_dir, tmp_path):
    out = tmp_path / "tb"
    for _ in range(2):
        assert layerlab("export", quick_run_dir, "--tensorboard", out).returncode == 0
    for folder in out.iterdir():
        assert len(list(folder.glob("events.out.tfevents.*"))) == 1
        acc = read_back(folder)
        steps = [e.step for e in acc.Scalars("iter/loss")]
        assert steps == sorted(set(steps))  # each step once, not twice


def test_export_refuses_in_one_line(quick_run_dir, tmp_path):
    line = one_line_error(layerlab("export", tmp_path, "--tensorboard", tmp_path / "tb"))
    assert "is not a run folder" in line
    line = one_line_error(layerlab("export", tmp_path / "nothing", "--tensorboard",
                                   tmp_path / "tb"))
    assert "no such folder" in line
    (tmp_path / "afile").write_text("x")
    line = one_line_error(layerlab("export", quick_run_dir, "--tensorboard",
                                   tmp_path / "afile"))
    assert "a file is in the way" in line
    line = one_line_error(layerlab("export", quick_run_dir, "--tensorboard",
                                   tmp_path / "afile" / "below"))
    assert "pick another folder" in line


def test_without_tensorboard_the_command_names_the_extra(quick_run_dir, tmp_path):
    done = layerlab("export", quick_run_dir, "--tensorboard", tmp_path / "tb",
                    without=("tensorboard",))
    assert done.returncode == 2
    assert "pip install 'layerlab[tensorboard]'" in one_line_error(done)
    assert not (tmp_path / "tb").exists()


def test_a_histogram_that_does_not_fit_its_edges_is_left_out_with_a_warning(run_copy,
                                                                             tmp_path):
    cell = first_cell(run_copy)
    path = run_copy / "probes" / f"{safe_name(cell)}.jsonl"
    write_contract_probes(run_copy, cell, safe_name(cell), steps=[5, 10])
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["hist"]["act"] = record["hist"]["act"][:-1]  # one count short
    lines[1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    done = layerlab("export", run_copy, "--tensorboard", tmp_path / "tb")
    assert done.returncode == 0, done.stderr
    assert "act histogram of fc1 at step 5 has 11 counts for 13 edges; left out" in done.stderr
    acc = read_back(tmp_path / "tb" / safe_name(cell))
    assert [e.step for e in acc.Histograms("probes/fc1/activations")] == [10]
    assert [e.step for e in acc.Histograms("probes/fc2/activations")] == [5, 10]
    assert np.sum(acc.Histograms("probes/fc1/gradients")[0].histogram_value.bucket) == 200
