"""Build a run's report (plots, report.md, report.html) from its folder alone."""

from __future__ import annotations

from pathlib import Path

from layerlab.atomic import atomic_write_bytes
from layerlab.report import html, plots
from layerlab.report.markdown import markdown, title
from layerlab.runfiles import read_run


def build_report(run_dir, state=None):
    """Render plots, write report.md and report.html (rendered from report.md); returns the
    path of report.md.

    state: the run's state the report shows, when it differs from status.json's (a run is
    marked finished only once its report is written, so that report says "finished").
    """
    run_dir = Path(run_dir)
    doc = read_run(run_dir)
    if state:
        doc["status"] = {**doc["status"], "state": state}
    for name, spec in doc["results"]["plots"].items():
        plots.render(spec, run_dir / "plots" / f"{name}.png")
    text = markdown(doc)
    atomic_write_bytes(run_dir / "report.md", text.encode())
    # the page is report.md's own text rendered, so it has everything report.md has
    page = html.page(text, title(doc["meta"]), base_dir=run_dir)
    atomic_write_bytes(run_dir / "report.html", page.encode())
    return run_dir / "report.md"
