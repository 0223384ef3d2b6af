"""Grading correct code passes every check: layerlab's engine under the course's names, a plain
NumPy solution in the course's style, and the engine in layerlab's own class style."""

import numpy as np
from grade_copies import ENGINE, SOLUTION

from layerlab.grade.runner import grade
from layerlab.grade.styles import COURSE_NAMES


def _statuses(result):
    return {c["name"]: c["status"] for c in result["checks"]}


def test_the_engine_under_the_course_names_passes_every_check():
    result = grade(ENGINE)
    assert _statuses(result) == dict.fromkeys(COURSE_NAMES, "PASS"), [
        c for c in result["checks"] if c["status"] != "PASS"]


def test_a_plain_course_solution_passes_every_check():
    result = grade(SOLUTION)
    assert _statuses(result) == dict.fromkeys(COURSE_NAMES, "PASS"), [
        c for c in result["checks"] if c["status"] != "PASS"]


def test_the_engine_in_its_own_class_style_passes(tmp_path):
    student = tmp_path / "mine.py"
    student.write_text("from layerlab.scratch import *  # noqa\n")
    result = grade(student, style="layerlab")
    assert _statuses(result) == dict.fromkeys(COURSE_NAMES, "PASS"), [
        c for c in result["checks"] if c["status"] != "PASS"]


def test_the_running_variance_convention_follows_the_style(tmp_path):
    """The course's biased running variance passes in style cs231n; layerlab's unbiased one
    passes in style layerlab and fails in style cs231n (it is the other convention)."""
    student = tmp_path / "mine.py"
    student.write_text("from layerlab.scratch import BatchNorm\n"
                       "batchnorm_forward = BatchNorm.forward\n")
    course = grade(student, only={"batchnorm_forward"})["checks"][0]
    assert course["status"] == "FAIL" and course["quantity"] == "running_var"
    own = grade(student, style="layerlab", only={"batchnorm_forward"})["checks"][0]
    assert own["status"] == "PASS"


def test_absent_names_are_not_attempted_and_the_rest_graded(tmp_path):
    student = tmp_path / "partial.py"
    student.write_text("import numpy as np\n\n"
                       "def relu_forward(x):\n    return np.maximum(x, 0), x\n\n"
                       "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n\n"
                       "def affine_backward(dout, cache):\n    raise NotImplementedError\n")
    statuses = _statuses(grade(student))
    assert statuses["relu_forward"] == statuses["relu_backward"] == "PASS"
    assert statuses["adam"] == "not attempted"
    result = grade(student, only={"affine_backward"})["checks"][0]
    assert result["status"] == "not attempted"
    assert "needs affine_forward" in result["message"]


def test_a_package_is_searched_module_by_module(tmp_path):
    package = tmp_path / "course"
    (package / "classifiers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "classifiers" / "__init__.py").write_text("")
    (package / "layers.py").write_text(
        "import numpy as np\n\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n")
    # a module that imports the name (and breaks it) must not win over the one defining it
    (package / "classifiers" / "net.py").write_text(
        "from course.layers import *\n")
    (package / "fast.py").write_text("import not_a_module_anywhere\n")
    result = grade(package, only={"relu_forward", "adam"})
    assert _statuses(result) == {"relu_forward": "PASS", "adam": "not attempted"}
    assert any("course.fast" in s for s in result["skipped_modules"])
    assert np.isfinite(result["seconds"])
