"""`layerlab grade` as a real subprocess: the table, exit statuses, --json and --gradescope."""

import json
import subprocess
import sys

from grade_copies import ENGINE, write_copy

# Gradescope's documented results.json fields (autograder specifications, "Output format").
TOP_FIELDS = {"score", "execution_time", "output", "output_format", "test_output_format",
              "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
              "leaderboard"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output",
               "output_format", "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def layerlab(*args):
    return subprocess.run([sys.executable, "-m", "layerlab", "grade", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def assert_gradescope_format(results):
    """The fields, types and values Gradescope documents for results.json."""
    assert set(results) <= TOP_FIELDS and "tests" in results
    assert isinstance(results["score"], float)
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    assert isinstance(results["output"], str)
    for test in results["tests"]:
        assert set(test) <= TEST_FIELDS
        assert {"name", "score", "max_score", "output"} <= set(test)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert test["visibility"] in VISIBILITY


def test_a_buggy_file_exits_1_and_writes_gradescope_and_json(tmp_path):
    student = write_copy(tmp_path, "softmax_summed")
    done = layerlab(student, "--only", "softmax_loss", "svm_loss", "adam", "--gradescope",
                    tmp_path / "results.json", "--json", tmp_path / "full.json")
    assert done.returncode == 1, done.stderr
    assert "softmax_loss" in done.stdout and "FAIL" in done.stdout
    assert "diagnosis: softmax loss summed, not averaged" in done.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert_gradescope_format(results)
    by_name = {t["name"]: t for t in results["tests"]}
    assert set(by_name) == {"softmax_loss", "svm_loss", "adam"}
    assert by_name["softmax_loss"]["score"] == 0.0 and by_name["svm_loss"]["score"] == 1.0
    assert "summed, not averaged" in by_name["softmax_loss"]["output"]
    assert results["score"] == 2.0
    full = json.loads((tmp_path / "full.json").read_text())
    assert {c["name"]: c["status"] for c in full["checks"]} == {
        "softmax_loss": "FAIL", "svm_loss": "PASS", "adam": "PASS"}


def test_the_engine_exits_0(tmp_path):
    done = layerlab(ENGINE, "--only", "affine_forward", "affine_backward", "FullyConnectedNet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed, 0 not attempted" in done.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = layerlab(tmp_path / "nope.py")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "does not exist" in missing.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("def affine_forward(x, w, b)\n    return x\n")
    done = layerlab(broken, "--gradescope", tmp_path / "results.json")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "broken.py line 1" in done.stderr and "syntax error" in done.stderr
    assert "Traceback" not in done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert_gradescope_format(results)
    assert results["score"] == 0.0 and "syntax error" in results["output"]
    nothing = tmp_path / "nothing.py"
    nothing.write_text("x = 1\n")
    done = layerlab(nothing)
    assert done.returncode == 2 and "defines none of the graded names" in done.stderr
