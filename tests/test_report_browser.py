"""scripts/check_reports_browser.py and scripts/screenshots.py in headless Chromium: a page that
follows the report contract passes, each kind of defect fails, and real quick runs' reports
pass. Skips without Playwright or Chromium, except under CI (which installs both)."""

import base64
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from needs import missing
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
CHECK = SCRIPTS / "check_reports_browser.py"
SHOTS = SCRIPTS / "screenshots.py"
QUICK_RUNS = ("quickstart", "or-xor", "layer-checks")


def png_bytes(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(buffer, format="PNG")
    return buffer.getvalue()


# A page that follows the contract: headline first, TOC to ids, coloured verdict cells (on the
# cell and on a span inside it), a linked and an embedded plot, a collapsed part with code, and
# a lazy image far below the first screen.
GOOD = """<!doctype html><html><head><meta charset="utf-8"><title>demo</title><style>
body{color:#222;font-family:sans-serif} .v-met,.v-reproduced{color:#19692c}
.v-not-met{color:#b02a37}</style></head><body>
<h1>demo</h1>
<p id="headline" class="headline"><span class="v-met">1 met</span>,
<span class="v-not-met">1 not met</span>; test accuracy 0.91</p>
<nav id="toc"><a href="#claims">Claims</a> <a href="#plots">Plots</a>
<a href="#set-up">Set-up</a></nav>
<h2 id="claims">Claims</h2>
<table><thead><tr><th>figure</th><th>verdict</th></tr></thead><tbody>
<tr><td>a</td><td class="verdict v-met">met</td></tr>
<tr><td>b</td><td class="verdict v-not-met">not met</td></tr>
<tr><td>c</td><td class="verdict"><span class="v-reproduced">reproduced</span></td></tr>
<!--row-->
</tbody></table>
<h2 id="plots">Plots</h2><img src="plots/a.png" alt="a"> <img src="data:image/png;base64,DATA"
alt="b"><!--img-->
<h2 id="set-up">Set-up</h2><details><summary>Settings</summary>
<p>run with <code>layerlab run demo</code></p><!--details--></details><!--end-->
<div style="height:3000px"></div><img loading="lazy" src="plots/a.png" alt="far below">
</body></html>"""

# Each broken page: the good one with one change, and the failure it must cause.
BROKEN = {
    "no-headline": (('id="headline"', 'id="top"'), 'no element with id="headline"'),
    "low-headline": (("<h1>demo</h1>", '<h1>demo</h1><div style="height:900px"></div>'),
                     "below the first 800 px"),
    "raw-fence": (("<!--end-->", "<p>```python</p>"), "literal ```"),
    "fence-when-collapsed": (("<!--details-->", "<p>```</p>"), "literal ```"),
    "stray-backticks": (("<!--end-->", "<p>run `layerlab run demo` first</p>"),
                        "stray backticks in the rendered text: '`layerlab run demo`'"),
    "dangling-toc": (('<a href="#set-up">', '<a href="#gone">Gone</a><a href="#set-up">'),
                     "table-of-contents link #gone leads to no element"),
    "no-toc": (('<nav id="toc">', '<nav id="contents">'), 'no table of contents'),
    "broken-image": (("<!--img-->", '<img src="plots/missing.png" alt="m">'),
                     "image did not load: plots/missing.png"),
    "verdict-without-class": (("<!--row-->", '<tr><td>d</td><td>met</td></tr>'),
                              "verdict cell 'met' has no class verdict v-SLUG"),
    "verdict-other-class": (("<!--row-->", '<tr><td>d</td><td class="verdict v-met">not met'
                             '</td></tr>'), "has class v-met, not v-not-met"),
    "verdict-uncoloured": (("<!--row-->", '<tr><td>d</td><td class="verdict v-holds">holds'
                            '</td></tr>'), "has the default text colour"),
}


@pytest.fixture(scope="module")
def chromium():
    """Skip (fail under CI) without Playwright or a Chromium to drive."""
    spec = importlib.util.spec_from_file_location("check_reports_browser", CHECK)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    if importlib.util.find_spec("playwright") is None:
        missing("the report browser check needs Playwright: pip install playwright")
    if script.find_chromium() is None:
        missing("the report browser check needs Chromium: apt-get install chromium")


def run_script(script, *args):
    done = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, timeout=600)
    return done.returncode, done.stdout.splitlines(), done.stderr


def check(*args):
    """(exit code, {page: its line}, the JSON summary) of one run of the check."""
    code, lines, stderr = run_script(CHECK, *args)
    assert lines, stderr
    summary = json.loads(lines[-1])
    return code, dict(line.split(": ", 1) for line in lines[:-1]), summary


def write_page(folder: Path, text: str) -> Path:
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    (folder / "plots" / "a.png").write_bytes(png_bytes("navy"))
    data = base64.b64encode(png_bytes("teal")).decode()
    (folder / "report.html").write_text(text.replace("DATA", data))
    return folder


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The good page and every broken one, each in a folder of its name."""
    root = tmp_path_factory.mktemp("pages")
    folders = {"good": write_page(root / "good", GOOD)}
    for name, ((old, new), _) in BROKEN.items():
        assert old in GOOD
        folders[name] = write_page(root / name, GOOD.replace(old, new, 1))
    return folders


def test_contract_page_passes_and_each_defect_fails(chromium, pages):
    code, lines, summary = check(*pages.values())
    assert code == 1
    assert lines[str(pages["good"])] == "ok"
    assert summary["pages"] == len(pages) and summary["ok"] == 1
    for name, (_, failure) in BROKEN.items():
        problems = summary["failures"][str(pages[name])]
        assert len(problems) == 1 and failure in problems[0], (name, problems)
        assert failure in lines[str(pages[name])]


def test_page_broken_in_four_ways_names_each(chromium, tmp_path):
    text = GOOD.replace('id="headline"', 'id="top"').replace("<!--end-->", "<p>```</p>")
    text = text.replace('<a href="#plots">', '<a href="#gone">').replace(
        "<!--img-->", '<img src="nothing.png">')
    folder = write_page(tmp_path / "broken", text)
    code, lines, summary = check(folder)
    assert code == 1 and (summary["pages"], summary["ok"], summary["failed"]) == (1, 0, 1)
    problems = summary["failures"][str(folder)]
    assert len(problems) == 4
    for failure in ('id="headline"', "literal ```", "#gone leads to no element",
                    "image did not load: nothing.png"):
        assert failure in lines[str(folder)]


def test_index_links_lead_to_files(chromium, pages, tmp_path):
    root = pages["good"].parent
    good = root / "index.html"
    good.write_text('<h1 id="top">results</h1><a href="good/report.html">good</a> '
                    '<a href="good/report.html#claims">its claims</a> <a href="#top">top</a> '
                    '<a href="https://example.org/">outside</a> <img src="good/plots/a.png">')
    bad = root / "index-bad.html"
    bad.write_text('<a href="good/report.html">good</a> <a href="gone/report.html">gone</a> '
                   '<a href="#nowhere">nowhere</a>')
    code, lines, summary = check("--index", good, "--index", bad)
    assert code == 1 and lines[str(good)] == "ok"
    assert summary["failures"] == {str(bad): ["link gone/report.html leads to no file",
                                              "link #nowhere leads to no element"]}


def test_without_the_browser_one_line_and_exit_2(tmp_path):
    code, lines, stderr = run_script(CHECK, "--chromium", tmp_path / "no-chromium", tmp_path)
    assert code == 2 and not lines
    assert len(stderr.strip().splitlines()) == 1
    assert "apt-get install chromium" in stderr or "pip install playwright" in stderr


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """Quick runs of a few fast experiments, made by the real command line."""
    root = tmp_path_factory.mktemp("quick")
    for name in QUICK_RUNS:
        done = subprocess.run([sys.executable, "-m", "layerlab", "run", name, "--quick",
                               "--out", str(root / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return [root / name for name in QUICK_RUNS]


def test_quick_run_reports_pass(chromium, quick_runs):
    code, lines, summary = check(*quick_runs)
    assert summary["failures"] == {} and code == 0
    assert all(lines[str(run)] == "ok" for run in quick_runs)


def test_screenshots_of_the_top_of_a_report(chromium, pages, tmp_path):
    (pages["good"] / "config.json").write_text(json.dumps({"experiment": "demo"}))
    out = tmp_path / "shots"
    code, lines, stderr = run_script(SHOTS, pages["good"], pages["no-toc"], "--out", out)
    assert code == 0, stderr
    assert lines == [str(out / "demo.png"), str(out / "no-toc.png")]
    with Image.open(out / "demo.png") as shot:
        assert shot.size == (1280, 1600)
        assert shot.getpixel((5, 5)) == (255, 255, 255)  # the page's white margin
    code, _, stderr = run_script(SHOTS, tmp_path / "nothing", "--out", out)
    assert code == 2 and "no report page at" in stderr
