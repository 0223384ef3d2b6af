"""The probe files of a run: `probes/<cell>.jsonl`, one per grid cell, and their reader.

A file is JSON Lines: first a header {"format": "layerlab-probes/1", "cell", "engine",
"every", "layers": [{"name", "activation", "units"}], "bins": {"act", "grad", "weight": edges}},
then one record per probed step and layer {"step", "epoch", "layer", "act_mean", "act_std",
"dead", "saturated", "grad_norm", "weight_norm", "update_ratio", "hist": {"act", "grad",
"weight": counts}}; non-finite numbers are written as null. docs/probes.md describes every
field.

Lines are appended and flushed as they are made. A cell that resumes from a checkpoint probes
the steps after it again, and a cell that restarts probes every step again: the reader keeps
the last record of each (step, layer). A last line cut short by a kill is skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

FORMAT = "layerlab-probes/1"
FOLDER = "probes"
STATS = ("act_mean", "act_std", "dead", "saturated", "grad_norm", "weight_norm",
         "update_ratio")


def probe_path(run_dir, cell: str) -> Path:
    """RUN_DIR/probes/<cell>.jsonl, the cell key made safe for a file name as for its
    checkpoints."""
    from layerlab.lab.rundir import safe_name

    return Path(run_dir) / FOLDER / f"{safe_name(cell)}.jsonl"


def header(cell: str, engine: str, every: int, layers: list[dict], bins: dict) -> dict:
    """The first line of a probe file. layers: [{"name", "activation", "units"}]; bins:
    {"act", "grad", "weight": stats.Bins}."""
    return {"format": FORMAT, "cell": cell, "engine": engine, "every": every,
            "layers": layers, "bins": {k: b.edges for k, b in bins.items()}}


def _plain(value):
    """Floats that are not finite as None, at any depth (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def cell_writer(run_dir, cell: str, engine: str, every: int, layers: list[dict], bins: dict):
    """The ProbeWriter of a cell's probe file (probes/<cell>.jsonl), its header made from the
    probe's layer table (rows with at least "name", "activation", "units")."""
    rows = [{k: row[k] for k in ("name", "activation", "units")} for row in layers]
    return ProbeWriter(probe_path(run_dir, cell), header(cell, engine, every, rows, bins))


class ProbeWriter:
    """Appends a probe file's lines; the header is written once, when the file is new."""

    def __init__(self, path, head: dict):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append([head])
        else:
            self._end_cut_line()

    def _end_cut_line(self):
        # a kill mid-write leaves a last line without its newline: end it, or the next record
        # would be glued to it and lost with it
        with open(self.path, "rb+") as f:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                f.write(b"\n")

    def _append(self, lines):
        # opened for each write: a write every K steps costs little, and nothing stays open
        # for a Solver that has no end to close it at
        text = "".join(json.dumps(_plain(line), allow_nan=False) + "\n" for line in lines)
        with open(self.path, "a") as f:
            f.write(text)
            f.flush()

    def write(self, records: list[dict]) -> None:
        """Append records (dicts with step, epoch, layer and the statistics)."""
        if records:
            self._append(records)


def read_file(path) -> dict:
    """{"header": dict, "records": [dict]} of one probe file; records sorted by step, then in
    the header's layer order, the last of each (step, layer) kept. ValueError (naming the
    file) when its first line is not a probe header."""
    path = Path(path)
    lines = path.read_text().splitlines()
    head = _json(lines[0]) if lines else None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ValueError(f"{path} is not a probe file (its first line is not a "
                         f"{FORMAT} header)")
    kept = {}
    for line in lines[1:]:
        record = _json(line)
        if isinstance(record, dict) and "step" in record and "layer" in record:
            kept[(record["step"], record["layer"])] = record
    order = {layer["name"]: i for i, layer in enumerate(head.get("layers", []))}
    records = sorted(kept.values(),
                     key=lambda r: (r["step"], order.get(r["layer"], len(order)), r["layer"]))
    return {"header": head, "records": records}


def _json(line):
    try:
        return json.loads(line)
    except ValueError:  # a line cut short by a kill
        return None


def read_probes(run_dir) -> dict:
    """{cell key: {"header", "records"}} of every probe file of a run ({} without probes)."""
    folder = Path(run_dir) / FOLDER
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    found = {}
    for path in files:
        content = read_file(path)
        found[content["header"].get("cell", path.stem)] = content
    return found


def probe_series(records: list[dict], stat: str) -> dict:
    """{layer: (steps, values)} of one statistic (one of STATS) over the records of a cell;
    a null value is None."""
    if stat not in STATS:
        raise ValueError(f"unknown probe statistic {stat!r}; choose one of {', '.join(STATS)}")
    series: dict = {}
    for r in records:
        steps, values = series.setdefault(r["layer"], ([], []))
        steps.append(r["step"])
        values.append(r.get(stat))
    return series


def probe_histograms(records: list[dict], kind: str) -> dict:
    """{layer: (steps, counts)} of one histogram ('act', 'grad' or 'weight'): counts is one
    list of bin counts per step, over the header's edges bins[kind]."""
    if kind not in ("act", "grad", "weight"):
        raise ValueError(f"unknown histogram {kind!r}; choose act, grad or weight")
    series: dict = {}
    for r in records:
        steps, counts = series.setdefault(r["layer"], ([], []))
        steps.append(r["step"])
        counts.append(r["hist"][kind])
    return series
