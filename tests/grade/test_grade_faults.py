"""A student's endless loop, exception or crash fails its own check only; grading goes on."""

import time

from grade_copies import SOLUTION

from layerlab.grade.runner import grade

BROKEN = {
    "def svm_loss(x, y):\n": "def svm_loss(x, y):\n    while True:\n        pass\n",
    "def affine_backward(dout, cache):\n":
        "def affine_backward(dout, cache):\n    raise ValueError('not finished')\n",
    "def relu_backward(dout, cache):\n":
        "def relu_backward(dout, cache):\n    import os\n    os._exit(3)\n",
}
ONLY = {"svm_loss", "affine_backward", "relu_backward", "affine_forward", "softmax_loss",
        "relu_forward", "sgd"}


def test_a_loop_a_raise_and_a_crash_are_reported_and_the_rest_graded(tmp_path):
    source = SOLUTION.read_text()
    for old, new in BROKEN.items():
        assert source.count(old) == 1
        source = source.replace(old, new)
    student = tmp_path / "student.py"
    student.write_text(source)
    start = time.perf_counter()
    result = {c["name"]: c for c in grade(student, only=ONLY, time_limit=2)["checks"]}
    elapsed = time.perf_counter() - start
    assert result["svm_loss"]["status"] == "FAIL"
    assert "timed out after 2 s" in result["svm_loss"]["message"]
    backward = result["affine_backward"]
    assert backward["status"] == "FAIL" and backward["quantity"] == "call"
    assert "ValueError: not finished" in backward["where"]
    assert "student.py line" in backward["where"]
    assert result["relu_backward"]["status"] == "FAIL"
    assert "died (exit code 3)" in result["relu_backward"]["message"]
    for name in ("affine_forward", "softmax_loss", "relu_forward", "sgd"):
        assert result[name]["status"] == "PASS", result[name]
    assert elapsed < 30  # one 2 s time limit, two restarts of the child


def test_a_module_that_fails_on_import_is_bad_input(tmp_path):
    import pytest

    from layerlab.grade.loader import GradeInputError

    student = tmp_path / "student.py"
    student.write_text("import numpy as np\nx = undefined_name + 1\n")
    with pytest.raises(GradeInputError, match="NameError.*student.py line 2"):
        grade(student)
