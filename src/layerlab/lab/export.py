"""`layerlab export RUN_DIR --tensorboard OUT_DIR`: a run folder as TensorBoard event files.

Each grid cell becomes its own TensorBoard run (a sub-folder of OUT_DIR named as the cell's
checkpoints are, `rundir.safe_name`), so `tensorboard --logdir OUT_DIR` shows the cells side
by side. A cell's folder holds:

- scalars from metrics.jsonl: every numeric field of every line, tagged KIND/FIELD
  ("iter/loss", "epoch/val_acc", ...), at the line's iteration (else its step, else its
  epoch);
- scalars from the probe file (`layerlab.probing`): every per-layer statistic, tagged
  probes/LAYER/STAT ("probes/fc1/grad_norm"), at the probed step;
- histograms from the probe file: the fixed-bin counts of activations, gradients and weights,
  tagged probes/LAYER/activations (gradients, weights), written as they are (the file's edges
  as TensorBoard's bucket limits, its counts as the buckets), never re-sampled.

The events are written with TensorBoard's own event-file writer
(`tensorboard.summary.writer.event_file_writer`), which needs neither PyTorch nor TensorFlow,
so a run of the scratch engine exports on an install without PyTorch. Histograms use the
classic summary (`HistogramProto`): bucket i holds the values up to bucket_limit[i], and
min/max are the first and last edge (the probe file does not keep the values' own extremes).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from layerlab.runfiles import NotARunError, RunError, read_json, read_metrics

EXTRA = "pip install 'layerlab[tensorboard]'"
STEP_KEYS = ("iteration", "step", "epoch")  # a metrics line's step, in order of preference
HIST_NAMES = {"act": "activations", "grad": "gradients", "weight": "weights"}
PROBE_KEYS = ("step", "epoch", "layer", "hist")  # a probe record's fields that are no statistic


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def row_figures(row, count) -> tuple[int, list[tuple[str, float]]]:
    """(step, [(KIND/FIELD, value)]) of one metrics line: every numeric field but the step
    fields, at the line's iteration, step or epoch (the first it has, else `count`: how many
    lines of its cell and kind came so far, this one included)."""
    kind = row.get("kind", "metrics")
    step = next((row[k] for k in STEP_KEYS if _number(row.get(k))), count)
    figures = [(f"{kind}/{field}", float(value)) for field, value in row.items()
               if field not in ("cell", "kind", *STEP_KEYS) and _number(value)]
    return int(step), figures


def metric_scalars(rows) -> dict[str, list[tuple[str, int, float]]]:
    """{cell: [(tag, step, value)]} of metrics lines, as `row_figures` reads each."""
    out: dict[str, list] = {}
    counts: dict[tuple, int] = {}
    for row in rows:
        cell, kind = str(row.get("cell")), row.get("kind")
        counts[cell, kind] = counts.get((cell, kind), 0) + 1
        step, figures = row_figures(row, counts[cell, kind])
        out.setdefault(cell, []).extend((tag, step, value) for tag, value in figures)
    return out


def probe_scalars(records) -> list[tuple[str, int, float]]:
    """[(tag, step, value)] of probe records: every numeric statistic, tagged
    probes/LAYER/STAT; a statistic written as null (unknown or not finite) is left out."""
    return [(f"probes/{r['layer']}/{stat}", int(r["step"]), float(value))
            for r in records for stat, value in r.items()
            if stat not in PROBE_KEYS and _number(value)]


def _edges(header, kind, layer):
    """The bin edges of a histogram kind: one list for the file, or one per layer."""
    edges = (header.get("bins") or {}).get(kind)
    return edges.get(layer) if isinstance(edges, dict) else edges


def probe_histograms(header, records, warn=None) -> list[tuple[str, int, list, list]]:
    """[(tag, step, edges, counts)] of probe records' histograms, tagged
    probes/LAYER/activations (gradients, weights). A histogram whose counts do not fit its
    edges (len(counts) != len(edges) - 1) is left out, with a line to `warn`."""
    out = []
    for r in records:
        for kind, counts in (r.get("hist") or {}).items():
            edges = _edges(header, kind, r["layer"])
            if counts is None:
                continue
            if edges is None or len(counts) != len(edges) - 1:
                if warn:
                    warn(f"probes of {header.get('cell')}: {kind} histogram of {r['layer']} at "
                         f"step {r['step']} has {len(counts)} counts for "
                         f"{len(edges or [])} edges; left out")
                continue
            tag = f"probes/{r['layer']}/{HIST_NAMES.get(kind, kind)}"
            out.append((tag, int(r["step"]), [float(e) for e in edges],
                        [int(c) for c in counts]))
    return out


def histogram_proto(edges, counts):
    """TensorBoard's HistogramProto of fixed bins: bucket_limit = edges[1:], bucket = counts,
    min/max the outer edges; sum and sum of squares from the bin centres (estimates)."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto

    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return HistogramProto(min=edges[0], max=edges[-1], num=sum(counts),
                          sum=sum(c * m for c, m in zip(counts, centres, strict=True)),
                          sum_squares=sum(c * m * m for c, m in zip(counts, centres,
                                                                    strict=True)),
                          bucket_limit=edges[1:], bucket=counts)


def write_events(folder, scalars, histograms, wall_time):
    """Write one TensorBoard run into `folder` (its earlier event files are replaced)."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):  # a second export must not double a run
        old.unlink()
    writer = EventFileWriter(str(folder), max_queue_size=1000)
    try:
        # in step order (stable), as a training loop would have written them
        for tag, step, value in sorted(scalars, key=lambda s: s[1]):
            event = Event(wall_time=wall_time, step=step)
            event.summary.value.add(tag=tag, simple_value=value)
            writer.add_event(event)
        for tag, step, edges, counts in sorted(histograms, key=lambda h: h[1]):
            event = Event(wall_time=wall_time, step=step)
            event.summary.value.add(tag=tag, histo=histogram_proto(edges, counts))
            writer.add_event(event)
        writer.flush()  # raises what the writing thread met (close would not)
    finally:
        writer.close()


def _run_start(run_dir) -> float:
    """The run's creation time (config.json's 'created') as the events' wall time, so an
    export made twice is the same; now when it is not there."""
    created = (read_json(Path(run_dir) / "config.json") or {}).get("created")
    try:
        return time.mktime(time.strptime(created, "%Y-%m-%d %H:%M:%S"))
    except (TypeError, ValueError):
        return time.time()


def _read_probes(run_dir):
    from layerlab.probing.store import read_probes

    try:
        return read_probes(run_dir)
    except ValueError as err:  # a file in probes/ that is not a probe file
        raise RunError(f"{err}: move it out of {Path(run_dir) / 'probes'} to export the "
                       "run") from None


def export_tensorboard(run_dir, out_dir, stream=None) -> dict:
    """Write every cell of a run folder as a TensorBoard run under `out_dir`; returns
    {cells, scalars, histograms, probed} (counts; probed: the cells that had probes)."""
    from layerlab.lab.rundir import safe_name
    from layerlab.progress import Progress

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    stream = stream if stream is not None else sys.stderr
    scalars = metric_scalars(read_metrics(run_dir / "metrics.jsonl"))
    probes = _read_probes(run_dir)
    cells = list(dict.fromkeys([*scalars, *probes]))
    wall_time = _run_start(run_dir)
    done = {"cells": len(cells), "scalars": 0, "histograms": 0, "probed": len(probes)}
    with Progress(len(cells), "export", stream, enabled=bool(cells), unit="cells") as bar:
        for cell in cells:
            probed = probes.get(cell, {})
            records = probed.get("records", [])
            cell_scalars = scalars.get(cell, []) + probe_scalars(records)
            hists = probe_histograms(probed.get("header", {}), records, warn=bar.write)
            write_events(out_dir / safe_name(cell), cell_scalars, hists, wall_time)
            done["scalars"] += len(cell_scalars)
            done["histograms"] += len(hists)
            bar.update(1, cell)
    return done


def check_run_folder(run_dir: Path):
    """Refuse, in one line, a folder that does not exist or holds no run."""
    if not run_dir.is_dir():
        raise NotARunError(f"{run_dir}: no such folder (give a run folder, e.g. "
                           "runs/NAME-DATE-TIME or docs/results/NAME)")
    if not (run_dir / "config.json").is_file():
        raise NotARunError(f"{run_dir} is not a run folder (no config.json): give the folder "
                           "`layerlab run` wrote")


def _check_out(out_dir: Path):
    """Make OUT_DIR and try a file in it: a folder that cannot be written is one line."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except (FileExistsError, NotADirectoryError):
        raise RunError(f"--tensorboard {out_dir}: a file is in the way; pick another "
                       "folder") from None
    except OSError as err:
        raise RunError(f"--tensorboard {out_dir}: cannot write there ({err.strerror}); pick "
                       "another folder") from None


def _export(args) -> int:
    run_dir, out_dir = Path(args.run_dir), Path(args.tensorboard)
    check_run_folder(run_dir)
    try:
        import tensorboard  # noqa: F401  (the optional extra)
    except ImportError:
        print(f"layerlab export: --tensorboard needs the tensorboard package, which is not "
              f"installed: {EXTRA}", file=sys.stderr)
        return 2
    _check_out(out_dir)
    try:
        done = export_tensorboard(run_dir, out_dir)
    except OSError as err:  # the disk filled, or the folder went away, while writing
        print(f"layerlab export: writing {out_dir} failed ({err}); free space or pick another "
              "folder", file=sys.stderr)
        return 1
    if not done["cells"]:
        print(f"{run_dir} has no metrics yet (metrics.jsonl is empty): nothing to export")
        return 0
    print(f"exported {done['cells']} cell(s) of {run_dir} into {out_dir}: {done['scalars']} "
          f"scalar(s), {done['histograms']} histogram(s)")
    if not done["probed"]:
        print(f"{run_dir} has no probes: scalars only (record per-layer statistics and "
              "histograms with `layerlab run NAME --set probes=every:K`)")
    print(f"see it: tensorboard --logdir {out_dir}")
    return 0


def add_parser(subparsers):
    """Register `layerlab export`."""
    p = subparsers.add_parser(
        "export", help="write a run as TensorBoard event files (one TensorBoard run per cell)",
        description="Write a run folder's metrics (losses, accuracies, every numeric field) "
        "and its probes (per-layer statistics as scalars; activation, gradient and weight "
        "histograms with their fixed bins) as TensorBoard event files, one sub-folder per "
        f"cell. Needs the tensorboard extra: {EXTRA}.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (runs/NAME-...)")
    p.add_argument("--tensorboard", metavar="OUT_DIR", required=True,
                   help="where the event files go (then: tensorboard --logdir OUT_DIR)")
    p.set_defaults(func=_export)
