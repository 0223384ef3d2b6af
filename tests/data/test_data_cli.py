"""`layerlab data list | verify`, run as the real command in a subprocess."""

import os
import subprocess
import sys

import pytest
from datafiles import pack, write_idx_set, write_image_tree

from layerlab.cli import main as cli_main
from layerlab.data import registry


def run(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "layerlab", "data", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_list_shows_every_dataset_with_state_size_and_place(tmp_path, rng):
    write_idx_set(tmp_path / "fashion-mnist", registry.FASHION_MNIST, 3, 2)
    result = run("list", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(lines) == {*registry.DATASETS, "toy2d:KIND"}
    assert "verified" in lines["builtin"] and "inside the package" in lines["builtin"]
    fashion = lines["fashion-mnist"]
    assert "mismatch" in fashion and str(tmp_path / "fashion-mnist") in fashion
    assert "root argument" in fashion and "kB" in fashion


def test_verify_one_name_reports_each_file(tmp_path):
    result = run("verify", "builtin")
    assert result.returncode == 0, result.stderr
    assert "builtin: VERIFIED" in result.stdout
    assert f"{registry.BUILTIN.archives[0].name}: ok (file md5)" in result.stdout


def test_verify_fails_on_a_damaged_copy_and_says_how_to_fix_it(tmp_path, rng):
    import numpy as np

    img = [rng.integers(0, 256, (32, 32), dtype=np.uint8)]
    for split in ("train", "val"):
        write_image_tree(tmp_path / "t", split, {"0": img}, ".bmp", "1")
        pack(tmp_path / "t" / split, tmp_path / "gurmukhi" / f"{split}.zip", f"{split}/")
    result = run("verify", "gurmukhi", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "gurmukhi: MISMATCH" in result.stdout
    assert registry.GURMUKHI.archives[0].md5[0] in result.stdout
    assert "layerlab data fetch gurmukhi" in result.stdout


def test_verify_all_exits_1_when_one_dataset_is_damaged(tmp_path):
    write_idx_set(tmp_path / "mnist", registry.MNIST, 3, 2)
    result = run("verify", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "mnist: MISMATCH" in result.stdout and "builtin: VERIFIED" in result.stdout


def test_verify_unknown_name(capsys):
    assert cli_main(["data", "verify", "cifar100"]) == 2
    assert "known: mnist, fashion-mnist" in capsys.readouterr().err


def test_data_without_an_action_prints_help(capsys):
    assert cli_main(["data"]) == 0
    out = capsys.readouterr().out
    assert "list" in out and "verify" in out and "fetch" in out


@pytest.mark.parametrize("action", ["list", "verify", "fetch"])
def test_every_action_has_help(action):
    with pytest.raises(SystemExit) as info:
        cli_main(["data", action, "--help"])
    assert info.value.code == 0
