"""The end of `layerlab run`, `layerlab report DIR` short and --full, and `compare`."""

import json

from cli_helpers import layerlab, one_line_error

from layerlab.analysis.fmt import count


def test_run_ends_with_the_verdicts_and_the_report_paths(quick_run):
    folder, done = quick_run
    claims = json.loads((folder / "results.json").read_text())["claims"]
    verdicts = {c["verdict"] for c in claims.values()}
    tail = done.stdout.strip().splitlines()[-3:]
    assert tail[0].startswith("quickstart: finished in ")
    assert f"{count(len(claims), 'claim')}: {len(claims)} {verdicts.pop()}" in tail[0]
    first = next(iter(claims.values()))
    assert first["name"] in tail[1] and tail[1].split()[0] == first["verdict"].split()[0]
    assert tail[2] == f"report: {folder / 'report.md'} and {folder / 'report.html'}"


def test_report_is_short_and_full_on_request(run_copy):
    short = layerlab("report", run_copy)
    assert short.returncode == 0, short.stderr
    lines = short.stdout.strip().splitlines()
    assert len(lines) <= 8 and lines[0].startswith("quickstart: finished")
    assert f"report: {run_copy / 'report.md'} and {run_copy / 'report.html'}" in lines
    full = layerlab("report", run_copy, "--full")
    assert full.returncode == 0, full.stderr
    assert full.stdout.strip() == (run_copy / "report.md").read_text().strip()
    assert len(full.stdout.splitlines()) > 3 * len(lines)


def test_compare_draws_the_shared_curves_overlaid(quick_run, run_copy, tmp_path):
    out = tmp_path / "figs" / "both.png"
    done = layerlab("compare", quick_run[0], run_copy, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("| figure | reference | quick | copy |")
    assert f"overlaid (3 panel(s)): {out}" in done.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_compare_writes_compare_png_here_by_default(quick_run, tmp_path):
    done = layerlab("compare", quick_run[0], quick_run[0], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "compare.png").exists() and "compare.png" in done.stdout


def test_compare_of_a_folder_that_is_no_run_is_one_line(quick_run, tmp_path):
    line = one_line_error(layerlab("compare", quick_run[0], tmp_path))
    assert line == f"layerlab: {tmp_path} is not a run folder (no config.json)"
