"""scripts/reliability.py classifies outcomes as the page says (the probes themselves are not run
here: they take minutes; `python scripts/reliability.py` runs them)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reliability.py"


@pytest.fixture(scope="module")
def rel():
    spec = importlib.util.spec_from_file_location("reliability_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


TRACE = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
         "ValueError: invalid literal for int() with base 10: 'x'\n")


def test_a_traceback_is_a_traceback_whatever_the_exit_code(rel):
    cls, evidence = rel.classify(rel.Outcome(1, "", TRACE), names=("epochs",))
    assert cls == rel.TRACEBACK and evidence.startswith("ValueError")
    assert rel.classify(rel.Outcome(0, "ok", TRACE), expect="result")[0] == rel.TRACEBACK


def test_a_refusal_naming_the_problem_is_a_clear_error(rel):
    err = "layerlab run: --set epochs=-1: a number of epochs must be an int >= 1\n"
    cls, evidence = rel.classify(rel.Outcome(2, "", err), names=("epochs",), exit_code=2)
    assert cls == rel.CLEAR and evidence == err.strip()


def test_a_refusal_that_names_nothing_or_exits_otherwise_is_unclear(rel):
    err = "layerlab: something went wrong\n"
    assert rel.classify(rel.Outcome(2, "", err), names=("epochs",))[0] == rel.UNCLEAR
    named = "layerlab: --set epochs=-1: bad epochs\n"
    assert rel.classify(rel.Outcome(1, "", named), names=("epochs",),
                        exit_code=2)[0] == rel.UNCLEAR


def test_a_timeout_is_a_hang(rel):
    cls, evidence = rel.classify(rel.Outcome(None, "", "", timed_out=True, seconds=120))
    assert cls == rel.HANG and "120 s" in evidence


def test_bad_input_accepted_is_silent_wrong(rel):
    assert rel.classify(rel.Outcome(0, "report: r/report.md\n", ""),
                        names=("epochs",))[0] == rel.SILENT


def test_a_fair_use_is_judged_by_its_check(rel):
    ok = rel.Check(True, "all claims 'not judged'")
    assert rel.classify(rel.Outcome(0), expect="result", check=ok) == (
        rel.CORRECT, "all claims 'not judged'")
    judged = rel.Check(False, "a claim judged on a diverged run")
    assert rel.classify(rel.Outcome(0), expect="result", check=judged)[0] == rel.SILENT
    lost = rel.Check(False, "a finished cell trained again", rel.LOSS)
    assert rel.classify(rel.Outcome(0), expect="result", check=lost)[0] == rel.LOSS


def test_the_goal_is_read_from_the_counts(rel):
    rows = [rel.Row("p", "a", rel.CLEAR, rel.CLEAR, "e"),
            rel.Row("q", "b", rel.CORRECT, rel.CORRECT, "f")]
    assert rel.goal_met(rel.totals(rows))
    assert "**Met**" in rel.page(rows, "abc1234", "2026-01-01 00:00", 1.0)
    rows.append(rel.Row("r", "c", rel.CLEAR, rel.HANG, "no end"))
    page = rel.page(rows, "abc1234", "2026-01-01 00:00", 1.0)
    assert not rel.goal_met(rel.totals(rows)) and "**Not met**" in page
    assert "| hang | 1 |" in page and "- r: expected clear error, got **hang**" in page
