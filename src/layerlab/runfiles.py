"""The files of a run folder, read and written without knowing any study: JSON (atomic writes),
the metrics stream, and the results schema that reports are built from.

results.json holds five sections, each a dict by name: claims (ours vs a reference, with a
verdict), tables, plots (plot data), notes (Markdown paragraphs) and datasets (what was read).
"""

from __future__ import annotations

import json
from pathlib import Path

from layerlab.atomic import atomic_write_bytes

RESULT_SECTIONS = ("claims", "tables", "plots", "notes", "datasets")


def empty_results():
    """A results dict with every section empty."""
    return {section: {} for section in RESULT_SECTIONS}


def write_json(path, obj):
    """Write JSON atomically (indented, keys in insertion order)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=1, default=jsonable) + "\n").encode())


def read_json(path, default=None):
    """Read a JSON file, or return `default` when it does not exist."""
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text())


def jsonable(value):
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_metrics(path):
    """The metrics lines of a run, last write winning for a repeated (cell, kind, step)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: skip it
            continue
        rows[(row.get("cell"), row.get("kind"), row.get("epoch"), row.get("iteration"))] = row
    return list(rows.values())


def read_run(run_dir):
    """Everything a report shows, read from a run folder: {meta, status, env, results}.

    Raises FileNotFoundError when the folder holds no run (no config.json).
    """
    run_dir = Path(run_dir)
    meta = read_json(run_dir / "config.json")
    if meta is None:
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json)")
    return {"meta": meta, "status": read_json(run_dir / "status.json", {}),
            "env": read_json(run_dir / "env.json", {}),
            "results": read_json(run_dir / "results.json", empty_results())}
