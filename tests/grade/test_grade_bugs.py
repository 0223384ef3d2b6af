"""Each known bug, put into a copy of a correct solution, is caught and named."""

import pytest
from grade_copies import BUGS, write_copy

from layerlab.grade.runner import grade


@pytest.mark.parametrize("key", sorted(BUGS))
def test_the_bug_is_caught_and_diagnosed(tmp_path, key):
    check, _, phrase = BUGS[key]
    result = grade(write_copy(tmp_path, key), only={check})["checks"]
    assert [c["name"] for c in result] == [check]
    assert result[0]["status"] == "FAIL"
    assert phrase in result[0]["diagnosis"], result[0]


def test_an_unknown_error_says_where_it_concentrates(tmp_path):
    """A bug off the list gets no diagnosis but the axis and entries that carry the error."""
    student = tmp_path / "student.py"
    student.write_text("import numpy as np\n\n"
                       "def affine_forward(x, w, b):\n"
                       "    out = x.reshape(x.shape[0], -1) @ w + b\n"
                       "    out[:, 0] += 1.0  # only the first output is wrong\n"
                       "    return out, None\n")
    check = grade(student, only={"affine_forward"})["checks"][0]
    assert check["status"] == "FAIL" and check["diagnosis"] == ""
    assert "axis 1 only at index 0" in check["where"]


def test_a_net_on_failing_layers_points_at_them(tmp_path):
    checks = grade(write_copy(tmp_path, "db_averaged"),
                   only={"affine_backward", "FullyConnectedNet"})["checks"]
    net = {c["name"]: c for c in checks}["FullyConnectedNet"]
    assert net["status"] == "FAIL"
    assert "fail their own checks (affine_backward)" in net["diagnosis"]
