"""`layerlab summary` and `layerlab pool` as a user runs them: subprocesses."""

import json
import subprocess
import sys

from layerlab import references as ref


def run(*args):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, timeout=120)


def test_summary_prints_the_quoted_figures():
    result = run("summary", "--study", "all")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{ref.S4_CONV_TOTAL_PARAMS:,} parameters" in out  # 903,400
    for count in ref.S4_CONV_LAYER_PARAMS:
        assert f"{count:,}" in out
    H, W, C = ref.S8_CONV_OUTPUT_HWC
    assert f"= {H}×{W}×{C} (H×W×C); {ref.S8_CONV_PARAMS} parameters" in out
    for name in ("W_h", "b_h", "W_o", "b_o"):
        shape = ref.S4_MLP_SHAPES[name]
        assert str(shape) in out
    assert "input      (m, 10)" in out and "output (m, 3);" in out


def test_summary_of_layer_words_as_json():
    result = run("summary", "--input", "3x32x32", "conv:8,k=5", "relu", "maxpool:2", "flatten",
                 "fc:10", "--json")
    assert result.returncode == 0, result.stderr
    (table,) = json.loads(result.stdout)
    assert table["total"] == 608 + (8 * 14 * 14) * 10 + 10
    assert [row["output"] for row in table["layers"]][2] == [8, 14, 14]


def test_summary_of_models_checks_their_own_counts():
    result = run("summary", "--model", "torch:LeNet5", "--arg", "batchnorm=True")
    assert result.returncode == 0, result.stderr
    assert "PyTorch's sum(p.numel()):" in result.stdout and "(agrees)" in result.stdout
    result = run("summary", "--model", "scratch:FullyConnectedNet", "--arg",
                 "hidden_dims=[100, 50]", "--arg", "normalization=batchnorm")
    assert result.returncode == 0, result.stderr
    assert "(agrees)" in result.stdout and "batchnorm" in result.stdout


def test_summary_explains_bad_input():
    result = run("summary", "--input", "3x32x32", "conv:8,size=5")
    assert result.returncode == 2
    assert "unknown option 'size'" in result.stderr and "k=5" in result.stderr
    result = run("summary", "conv:8")
    assert result.returncode == 2 and "--input" in result.stderr
    result = run("summary", "--model", "keras:Foo")
    assert result.returncode == 2 and "scratch:NAME" in result.stderr


def test_pool_prints_the_s8_matrices_and_agrees_with_the_engine():
    result = run("pool")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("matrix ") == 4
    assert "1/4" in result.stdout and "1/2" in result.stdout
    assert result.stdout.rstrip().endswith("give the same: yes")
    result = run("pool", "1 2 3 4; 5 6 7 8", "--size", "2", "--stride", "2")
    assert result.returncode == 0 and "6 8" in result.stdout and "7/2 11/2" in result.stdout
    result = run("pool", "1 2; 3")
    assert result.returncode == 2 and "equal length" in result.stderr
