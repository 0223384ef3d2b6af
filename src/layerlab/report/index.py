"""The index of all published reports (docs/results/index.html): every experiment with its
study, verdict counts, headline figures and a link to its report, then every claim of every
experiment, collapsed per experiment. Written by `layerlab catalog --write`.
"""

from __future__ import annotations

from pathlib import Path

from layerlab.atomic import atomic_write_bytes
from layerlab.report import headline, html
from layerlab.report.markdown import claim_rows, collapsed, md_table
from layerlab.report.mdtext import inline
from layerlab.runfiles import read_json


def published(results_root) -> list[dict]:
    """Every published run under results_root: {name, folder, meta, status, results}, in
    order of study then name."""
    runs = []
    for config in sorted(Path(results_root).glob("*/config.json")):
        folder = config.parent
        meta = read_json(config, {})
        runs.append({"name": meta.get("experiment", folder.name), "folder": folder,
                     "meta": meta, "status": read_json(folder / "status.json", {}),
                     "results": read_json(folder / "results.json", {}) or {}})
    return sorted(runs, key=lambda r: (str(r["meta"].get("study", "")), r["name"]))


def report_link(folder) -> str:
    """The report a link should open: report.html when it was built, else report.md."""
    folder = Path(folder)
    page = "report.html" if (folder / "report.html").exists() else "report.md"
    return f"{folder.name}/{page}"


def key_figures(claims, sep="; ") -> str:
    """The headline figures of a claims dict as Markdown: 'name: ours **verdict**; ...'."""
    parts = []
    for claim in headline.key_claims(claims):
        ours, _ = headline.figure(claim)
        parts.append(f"{inline(claim['name'])}: {inline(ours)} **{claim.get('verdict', '')}**")
    return sep.join(parts)


def index_markdown(results_root) -> str:
    """The index page as Markdown."""
    runs = published(results_root)
    lines = ["# layerlab: published results", "",
             f"Every published run in this folder ({len(runs)}), by study: its verdicts, its "
             "key figures and its report. The full list of experiments, published or not, is "
             "docs/experiments.md.", "",
             "| experiment | study | verdicts | key figures | report |",
             "| --- | --- | --- | --- | --- |"]
    for run in runs:
        claims = run["results"].get("claims", {})
        created = str(run["meta"].get("created", ""))[:10]
        lines.append(f"| {inline(run['name'])} | {inline(run['meta'].get('study', ''))} | "
                     f"{headline.counts_text(claims) or '–'} | "
                     f"{key_figures(claims, sep='<br>') or '–'} | "
                     f"[{created or 'report'}]({report_link(run['folder'])}) |")
    lines += ["", "## Every claim", ""]
    for run in runs:
        claims = run["results"].get("claims", {})
        if not claims:
            continue
        lines += [f"### {inline(run['name'])} ({inline(run['meta'].get('study', ''))})", ""]
        lines += collapsed(headline.counts_text(claims, strong=False),
                           md_table(["figure", "ours", "reference", "verdict"],
                                    claim_rows(claims)))
    return "\n".join(lines)


def write_index(results_root) -> Path:
    """Write results_root/index.html; returns its path."""
    path = Path(results_root) / "index.html"
    text = index_markdown(results_root)
    atomic_write_bytes(path, html.page(text, "layerlab: published results").encode())
    return path
