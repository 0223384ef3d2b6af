"""Publish finished runs into the docs, and write the catalogue of experiments from them.

    layerlab publish RUN_DIR                 # -> docs/results/NAME/ (report, plots, results)
    layerlab catalog --write docs/experiments.md   # and docs/results/index.html

A published folder keeps what the report needs and nothing heavy: config.json, env.json,
status.json, results.json, cells.json (every cell's settings and results), report.md,
report.html and plots/*.png (no checkpoints, metrics, weights or database), so `layerlab report
docs/results/NAME` rebuilds the report and `--rebuild` judges it again from the cells.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from layerlab.atomic import atomic_write_bytes
from layerlab.lab import registry
from layerlab.runfiles import NotARunError, RunError, read_json

KEPT = ("config.json", "env.json", "status.json", "results.json", "cells.json", "report.md",
        "report.html")


def publish(run_dir, dest=None, results_root="docs/results", allow_quick=False):
    """Copy a finished full run's report files to dest (default results_root/NAME)."""
    run_dir = Path(run_dir)
    meta = read_json(run_dir / "config.json")
    if meta is None:
        raise NotARunError(f"{run_dir} is not a run folder (no config.json)")
    state = read_json(run_dir / "status.json", {}).get("state")
    if state != "finished":
        raise RunError(f"{run_dir} is {state or 'not started'}, not finished: finish it with "
                         f"`layerlab run --resume {run_dir}` first")
    if meta.get("quick") and not allow_quick:
        raise RunError(f"{run_dir} is a --quick run; publish full runs only (--allow-quick "
                       "for a test)")
    dest = Path(dest) if dest else Path(results_root) / meta["experiment"]
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "plots").mkdir(parents=True)
    for name in KEPT:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, dest / name)
    # only the plots the report shows: a rebuild leaves the pictures of plots it dropped
    for name in (read_json(run_dir / "results.json") or {}).get("plots", {}):
        png = run_dir / "plots" / f"{name}.png"
        if png.exists():
            shutil.copy2(png, dest / "plots" / png.name)
    return dest


def catalog(results_root="docs/results", link_prefix="results/"):
    """Markdown: every experiment, what it reproduces, its time, and its latest full result
    (verdict counts and key figures)."""
    from layerlab.report.headline import counts_text
    from layerlab.report.index import key_figures
    from layerlab.report.markdown import claim_rows, md_table

    results_root = Path(results_root)
    lines = ["# Experiments", "",
             "Every study layerlab reproduces is one command: `layerlab run NAME`. "
             "`layerlab list` prints this list; `--quick` runs a reduced version. This page is "
             "written by `layerlab catalog --write docs/experiments.md` from the published "
             "runs in `docs/results/` (`layerlab publish RUN_DIR`); `docs/results/index.html` "
             "shows the same results as one page.", "",
             "| experiment | study | what it reproduces | estimate | last full run | verdicts | "
             "key figures |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    experiments = sorted(registry.all_experiments().values(), key=lambda e: (e.study, e.name))
    details = []
    for exp in experiments:
        folder = results_root / exp.name
        status = read_json(folder / "status.json", {})
        meta = read_json(folder / "config.json", {})
        if status.get("state") == "finished":
            when = (f"[{meta.get('created', '')[:10]}, {status.get('wall_time', 0) / 60:.1f} min]"
                    f"({link_prefix}{exp.name}/report.md)")
        else:
            when = "not published yet"
        claims = (read_json(folder / "results.json") or {}).get("claims", {})
        lines.append(f"| `{exp.name}` | {exp.study} | {exp.title} | ~{exp.estimate} | {when} | "
                     f"{counts_text(claims, strong=False) or '-'} | {key_figures(claims) or '-'} |")
        if claims:
            details += [f"## `{exp.name}` ({exp.study})", "", counts_text(claims), "",
                        md_table(["figure", "ours", "reference", "verdict"],
                                 claim_rows(claims)), ""]
    return "\n".join(lines + [""] + details)


def write_catalog(path, results_root="docs/results"):
    """Write the catalogue to `path`, with links relative to it, and the index of the
    published reports to results_root/index.html."""
    from layerlab.report.index import write_index

    path = Path(path)
    # relpath, not Path.relative_to: a catalogue outside docs/ links with ../ (relative_to fails)
    prefix = Path(os.path.relpath(Path(results_root).resolve(),
                                  path.resolve().parent)).as_posix() + "/"
    atomic_write_bytes(path, catalog(results_root, prefix).encode())
    if Path(results_root).is_dir():
        write_index(results_root)
    return path
