"""layerlab.run / open_run: a real quick run through the Python API, against the CLI's own."""

import contextlib
import html
import io
import json
import subprocess
import sys

import pytest

import layerlab
from layerlab.lab.config import ConfigError
from layerlab.notebook import Claim, RunResult, set_text
from layerlab.runfiles import NotARunError

SETTINGS = {"epochs": 1, "learning_rates": (1e-3,)}


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One quick quickstart run through the API, with its printed progress."""
    out = tmp_path_factory.mktemp("api") / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = layerlab.run("quickstart", out=out, **SETTINGS)
    return result, printed.getvalue()


def test_run_writes_the_folder_and_prints_progress(made):
    result, printed = made
    assert isinstance(result, RunResult)
    assert f"run folder: {result.path}" in printed
    assert f"report: {result.path / 'report.md'}" in printed
    meta = json.loads((result.path / "config.json").read_text())
    assert meta["quick"] is True
    assert meta["config"]["epochs"] == 1 and meta["config"]["learning_rates"] == [0.001]
    assert json.loads((result.path / "status.json").read_text())["state"] == "finished"


def test_same_numbers_as_the_cli(made, tmp_path):
    result, _ = made
    done = cli("run", "quickstart", "--quick", "--set", "epochs=1", "--set",
               "learning_rates=[0.001]", "--out", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    ours = json.loads((result.path / "results.json").read_text())["claims"]
    theirs = json.loads((tmp_path / "cli" / "results.json").read_text())["claims"]
    assert ours == theirs


def test_claims_are_records_matching_results_json(made):
    result, _ = made
    stored = json.loads((result.path / "results.json").read_text())["claims"]
    claims = result.claims
    assert claims and all(isinstance(c, Claim) for c in claims)
    assert [c.name for c in claims] == list(stored)
    for c in claims:
        s = stored[c.name]
        assert (c.ours, c.reference, c.verdict, c.reason) == \
            (s["ours"], s["reference"], s["verdict"], s["reason"])
        assert (c.low, c.high) == (s["estimate"]["low"], s["estimate"]["high"])
        assert c.low <= c.ours <= c.high
    met = [c for c in claims if c.verdict == "met"]
    assert len(met) == sum(s["verdict"] == "met" for s in stored.values())


def test_tables_metrics_and_report(made):
    result, _ = made
    stored = json.loads((result.path / "results.json").read_text())
    assert result.tables == stored["tables"] and "results" in result.tables
    epochs = [m for m in result.metrics if m.get("kind") == "epoch"]
    assert epochs and all("val_acc" in m for m in epochs)
    assert result.report_md == (result.path / "report.md").read_text()
    assert result.report_md.startswith("# quickstart")


def test_repr_html_embeds_the_report_with_its_headline(made):
    result, _ = made
    shown = result._repr_html_()
    assert shown.startswith("<iframe srcdoc=")
    page = html.unescape(shown.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert page == (result.path / "report.html").read_text()
    assert 'id="headline"' in page


def test_open_run_gives_equal_claims(made):
    result, _ = made
    again = layerlab.open_run(str(result.path))
    assert again.claims == result.claims and again.tables == result.tables
    assert again.path == result.path


def test_open_run_of_a_folder_without_a_run(tmp_path):
    with pytest.raises(NotARunError, match="is not a run folder"):
        layerlab.open_run(tmp_path)


def test_claims_frame(made):
    result, _ = made
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            result.claims_frame()
        return
    frame = result.claims_frame()
    assert list(frame["verdict"]) == [c.verdict for c in result.claims]
    assert list(frame.columns) == ["name", "ours", "low", "high", "reference", "verdict",
                                   "reason"]


@pytest.mark.parametrize("settings, texts", [
    ({"epochs": 0}, ["epochs=0"]),
    ({"epochs": 1.5}, ["epochs=1.5"]),
    ({"learning_rates": (1e-3, -1.0)}, ["learning_rates=[0.001, -1.0]"]),
    ({"epoch": 1}, ["epoch=1"]),
])
def test_bad_setting_raises_the_cli_message(settings, texts, tmp_path):
    with pytest.raises(ConfigError) as raised:
        layerlab.run("quickstart", out=tmp_path / "api", **settings)
    assert not (tmp_path / "api").exists()
    args = [a for t in texts for a in ("--set", t)]
    done = cli("run", "quickstart", "--quick", *args, "--out", str(tmp_path / "cli"))
    assert done.returncode == 2
    # the command line puts its name before the message, on one line
    assert done.stderr.strip().endswith(f": {raised.value}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_set_text_writes_values_as_the_command_line_does():
    np = pytest.importorskip("numpy")
    assert set_text(True) == "true" and set_text(np.bool_(False)) == "false"
    assert set_text("kaiming") == "kaiming"
    assert set_text((100, np.int64(50))) == "[100, 50]"
    assert set_text(np.float64(1e-3)) == "0.001"
