"""The files of a run folder, read and written without knowing any study: JSON (atomic writes),
the metrics stream, and the results schema that reports are built from.

Every file is strict JSON, readable by any parser: a float that is not finite is written as the
string "NaN", "Infinity" or "-Infinity" (never a bare NaN token), and read back as the float.

results.json holds five sections, each a dict by name: claims (ours vs a reference, with a
verdict), tables, plots (plot data), notes (Markdown paragraphs) and datasets (what was read).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from layerlab.atomic import atomic_write_bytes

RESULT_SECTIONS = ("claims", "tables", "plots", "notes", "datasets")


class RunError(Exception):
    """A run folder cannot be used as asked (the message names the folder and what to do)."""


class NotARunError(RunError, FileNotFoundError):
    """The folder holds no run (no config.json)."""


def checkout_results() -> Path | None:
    """<checkout>/docs/results, where published runs live, when layerlab runs from a source
    checkout (None for an installed package)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "docs" / "results").is_dir():
        return checkout / "docs" / "results"
    return None


def empty_results():
    """A results dict with every section empty."""
    return {section: {} for section in RESULT_SECTIONS}


NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def jsonable(value):
    """`value` with NumPy values as lists/numbers, paths as text and non-finite floats as the
    strings of NON_FINITE, at every depth (what json.dumps with allow_nan=False accepts)."""
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def restore(value):
    """The inverse of `jsonable`'s non-finite strings: "NaN" back to nan, at every depth."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v) for v in value]
    return value


def dumps(obj, indent=None) -> str:
    """Strict JSON text of `obj` (see the module docstring)."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def loads(text: str):
    """The object of JSON text written by `dumps` (older files' bare NaN tokens are read too)."""
    return restore(json.loads(text))


def write_json(path, obj):
    """Write strict JSON atomically (indented, keys in insertion order)."""
    atomic_write_bytes(path, (dumps(obj, indent=1) + "\n").encode())


def read_json(path, default=None):
    """Read a JSON file, or return `default` when it does not exist."""
    path = Path(path)
    if not path.exists():
        return default
    return loads(path.read_text())


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
            row = loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: skip it
            continue
        rows[(row.get("cell"), row.get("kind"), row.get("epoch"), row.get("iteration"))] = row
    return list(rows.values())


def read_run(run_dir):
    """Everything a report shows, read from a run folder: {meta, status, env, results}.

    Raises NotARunError (a FileNotFoundError) when the folder holds no run (no config.json).
    """
    run_dir = Path(run_dir)
    meta = read_json(run_dir / "config.json") if run_dir.is_dir() else None
    if meta is None:
        raise NotARunError(f"{run_dir} is not a run folder (no config.json)")
    return {"meta": meta, "status": read_json(run_dir / "status.json", {}),
            "env": read_json(run_dir / "env.json", {}),
            "results": read_json(run_dir / "results.json", empty_results())}
