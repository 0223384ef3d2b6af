"""A self-contained HTML report: the same content as report.md, plots embedded as base64."""

from __future__ import annotations

import base64
import html as _html
import json
from pathlib import Path

from layerlab.report.markdown import CLAIM_HEADER, claim_rows, fmt, quick_banner

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:left;font-size:.9em}th{background:#f3f3f3}img{max-width:100%}
.quick{background:#fff3cd;padding:.6em 1em;border-left:4px solid #e0a800}
.reproduced{color:#19692c}.beaten{color:#0b5ed7}.not{color:#b02a37}pre{background:#f6f6f6;
padding:1em;overflow:auto}"""


def _table(header, rows):

    head = "".join(f"<th>{_html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_html.escape(fmt(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(doc, run_dir):
    """The report of `doc` (see layerlab.runfiles.read_run) as one HTML page."""

    meta, status, results = doc["meta"], doc["status"], doc["results"]
    e = _html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(meta['experiment'])}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(meta['experiment'])}: {e(meta.get('title', ''))}</h1>"]
    if meta.get("quick"):
        parts.append(f"<p class='quick'><b>Quick run</b>: {e(quick_banner(results))}</p>")
    wall = status.get("wall_time")
    parts.append(f"<p>study {e(meta.get('study', ''))}; run {e(str(meta.get('run_id')))}; "
                 f"status <b>{e(status.get('state', 'unknown'))}</b>"
                 + (f"; wall time {wall:.1f} s" if wall is not None else "") + "</p>")
    if results["claims"]:
        rows = claim_rows(results["claims"])
        parts += ["<h2>Reference figures and verdicts</h2>", _table(CLAIM_HEADER, rows)]
    for table in results["tables"].values():
        parts += [f"<h2>{e(table['title'])}</h2>", _table(table["header"], table["rows"])]
        if table.get("note"):
            parts.append(f"<p>{e(table['note'])}</p>")
    for name, spec in results["plots"].items():
        png = Path(run_dir) / "plots" / f"{name}.png"
        parts.append(f"<h2>{e(spec['title'])}</h2>")
        if png.exists():
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(f"<img alt='{e(spec['title'])}' src='data:image/png;base64,{data}'>")
        if spec.get("note"):
            parts.append(f"<p>{e(spec['note'])}</p>")
    for name, text in results["notes"].items():
        parts += [f"<h2>{e(name)}</h2>", f"<p>{e(text)}</p>"]
    if results["datasets"]:
        parts.append("<h2>Data</h2><ul>" + "".join(
            f"<li>{e(d['description'])}</li>" for d in results["datasets"].values()) + "</ul>")
    parts += ["<h2>Settings</h2>", f"<pre>{e(json.dumps(meta['config'], indent=1))}</pre>",
              "</body></html>"]
    return "\n".join(parts)
