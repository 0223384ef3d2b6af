"""A run is a folder. `Run` is the experiment's handle on it.

    RUN_DIR/
      config.json      experiment, study, quick flag, every setting written out
      env.json         package versions, BLAS and threads, datasets used
      status.json      running / finished / interrupted / failed, wall time
      metrics.jsonl    one JSON object a line, per iteration and per epoch, tagged by cell
      results.json     what the report shows: claims (ours vs reference), tables, plots, notes
      cells.json       every grid's cells and their results, so the report can be rebuilt
                       and re-judged without training (`layerlab report RUN_DIR --rebuild`)
      sweep.db         Optuna's SQLite storage: one trial per finished cell (with --storage
                       URL the trials are on that server instead, see shared_store.py)
      checkpoints/     Solver checkpoints, so an interrupted cell continues
      plots/*.png      rendered from the plot data in results.json
      report.md, report.html

Everything in the report is rebuilt from the folder by `layerlab report RUN_DIR`.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

from layerlab.runfiles import (
    NotARunError,
    RunError,
    dumps,
    empty_results,
    read_json,
    write_json,
)


class Run:
    """The folder of one run, and what an experiment writes into it.

    A worker run (`worker=True`, one of several processes sharing a sweep) trains its share of
    the cells but leaves results and the report to the main process. `storage`: an Optuna
    storage URL shared with other processes (default: sweep.db in the folder); `heartbeat_interval`:
    with a database server, seconds between the heartbeats of a training worker (see
    shared_store.py).
    """

    def __init__(self, path, worker=False, storage=None, stream=None, replay=False,
                 heartbeat_interval=None):
        self.path = Path(path)
        self.worker = worker
        self.replay = replay  # grids return the stored results of cells.json, nothing trains
        self.storage = storage
        self.heartbeat_interval = heartbeat_interval
        self.stream = stream
        self._lock = None
        self._clock = None  # (wall time of earlier attempts, perf_counter at this start)
        if self.path.exists() and not self.path.is_dir():
            raise NotARunError(f"{self.path} is a file, not a run folder")
        self.meta = read_json(self.path / "config.json")
        if self.meta is None:
            raise NotARunError(f"{self.path} is not a run folder (no config.json): start one "
                               "with `layerlab run NAME`")
        self.config = self.meta["config"]
        self.quick = self.meta.get("quick", False)
        self._results = read_json(self.path / "results.json", empty_results())
        self._cells = read_json(self.path / "cells.json", {})
        if replay:  # the study writes every section again from the stored cells
            kept = self._results.get("datasets", {})  # the data it would load is not needed
            self._results = empty_results()
            self._results["datasets"] = kept

    @classmethod
    def create(cls, path, meta, **kwargs):
        """Make the folder and write config.json; refuses a folder that holds a run.

        config.json appears at once, whole (written aside, then hard-linked into place, which
        fails if it exists), so of two processes creating one folder exactly one succeeds.
        """
        path = Path(path)
        exists = RunError(f"{path} already holds a run: continue it with "
                          f"`layerlab run --resume {path}` or pick another --out")
        if (path / "config.json").exists():
            raise exists
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunError(f"--out {path}: a file is in the way; pick another folder") from None
        except PermissionError:
            raise RunError(f"--out {path}: not allowed to write there; pick another folder") \
                from None
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".config.", suffix=".tmp")
        os.close(fd)
        try:
            write_json(tmp, meta)
            os.link(tmp, path / "config.json")
        except FileExistsError:
            raise exists from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        return cls(path, **kwargs)

    # --- one process per run ----------------------------------------------------------------

    def lock(self):
        """Hold the run's lock (run.lock) for the life of this process: a second process that
        would train or judge the same run stops with a message. The lock dies with its holder
        (a killed run leaves no stale lock). Workers of a sweep do not take it."""
        handle = open(self.path / "run.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunError(f"{self.path} is in use by {holder}: wait for it to end (or stop "
                           "it); several processes share one run only as the workers of "
                           "`layerlab sweep`") from None
        handle.truncate(0)
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self):
        """Let go of the run's lock (see `lock`)."""
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def start_clock(self):
        """Start timing this attempt; its time adds to the wall time of earlier attempts."""
        self._clock = (self.status.get("wall_time", 0.0), time.perf_counter())

    def wall_time(self):
        """Seconds over all attempts so far (earlier attempts' plus this one's)."""
        before, start = self._clock or (self.status.get("wall_time", 0.0), time.perf_counter())
        return before + time.perf_counter() - start

    def heartbeat(self):
        """Record the wall time so far (after every cell), so a killed attempt's time is not
        lost with it."""
        if self._clock is not None and not self.worker and not self.replay:
            self.set_status("running", wall_time=self.wall_time())

    # --- cells: what every grid trained and measured --------------------------------------

    def store_cells(self, grid_name, keys, cells, results):
        """Keep a finished grid's cells and results in cells.json (not from workers)."""
        if self.worker or self.replay:
            return
        self._cells[grid_name] = [{"key": k, "cell": c, "result": r}
                                  for k, c, r in zip(keys, cells, results, strict=True)]
        write_json(self.path / "cells.json", self._cells)

    def stored_cells(self, grid_name, keys):
        """The stored results of `keys` of a grid (replay); a missing one is an error."""
        stored = {c["key"]: c["result"] for c in self._cells.get(grid_name, [])}
        missing = [k for k in keys if k not in stored]
        if missing:
            raise KeyError(f"{self.path / 'cells.json'} has no result for {missing[:3]}"
                           f"{' ...' if len(missing) > 3 else ''}: the report cannot be rebuilt "
                           "without training them (was the run made by an older layerlab, or "
                           "the config changed?)")
        return [stored[k] for k in keys]

    # --- what the experiment writes -------------------------------------------------------

    def log(self, cell, kind, **values):
        """Append one metrics line, e.g. log('lr=0.1', 'epoch', epoch=3, val_acc=0.41)."""
        line = dumps({"cell": cell, "kind": kind, **values})
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(line + "\n")

    def _put(self, section, name, item):
        if self.worker:
            return
        self._results[section][name] = item
        write_json(self.path / "results.json", self._results)

    def judge(self, name, kind, estimate, reference=None, *, better="higher", figure_n=None,
              margin=None, diverged=False, unit="", source="", note="", key=False):
        """A claim judged against noise (layerlab.analysis.verdict.judge): our Estimate (value
        and interval) against the study's figure, layerlab's goal, or zero (a comparison or
        "no effect"). Everything the verdict rests on is stored, so `layerlab audit` can judge
        it again. kind: 'figure', 'goal', 'comparison', 'no-effect' or 'measured'. key=True
        marks one of the study's key figures, shown in the report's headline."""
        from layerlab.analysis.verdict import judge

        judged = judge(kind, estimate, reference, better=better, figure_n=figure_n,
                       margin=margin, diverged=diverged)
        self._put("claims", name, {
            "name": name, "kind": kind, "ours": estimate.value if estimate else None,
            "estimate": estimate.as_dict() if estimate else None, "reference": reference,
            "better": better, "figure_n": figure_n, "margin": margin, "diverged": diverged,
            "unit": unit, "source": source, "note": note, "key": bool(key), **judged})

    def table(self, name, header, rows, *, title="", note=""):
        """A table for the report; rows are lists of cells (numbers or text)."""
        self._put("tables", name, {"title": title or name, "header": list(header),
                                   "rows": [list(r) for r in rows], "note": note})

    def plot(self, name, kind, *, title="", note="", **data):
        """Plot data for the report, rendered to plots/NAME.png (every kind's keys: the top of
        layerlab.report.plots). The report prints `title` as the heading; the picture does not
        repeat it (unless figure_title=True or a text).

        kind 'curves': series={label: [xs, ys]} or panels=[{series, title, xlabel, ylabel,
            logy}], xlabel, ylabel, logy, logx, ncols (<= 3), overlay=False (all panels in one
            axes).
        kind 'layers': layers=[names], x=[...], values=[[one row per layer]], xlabel, ylabel,
            log=True, lines=[layer names also drawn as lines].
        kind 'heatmap': values (rows x cols), row_labels, col_labels, xlabel, ylabel,
            colorbar, diverging (automatic when values have both signs).
        kind 'boundary': panels of decision maps (see layerlab.report.boundary).
        """
        self._put("plots", name, {"kind": kind, "title": title or name, "note": note, **data})

    def note(self, name, text):
        """A paragraph of Markdown for the report."""
        self._put("notes", name, text)

    def dataset(self, ds):
        """Record which data was used (name, split, source, path, checksum state): a Dataset,
        or an entry dataset_entry() made (e.g. returned by a cell)."""
        entry = ds if isinstance(ds, dict) else dataset_entry(ds)
        self._put("datasets", f"{entry.get('name')}:{entry.get('split')}", entry)

    # --- folders ----------------------------------------------------------------------------

    @property
    def results(self):
        return self._results

    def checkpoint_prefix(self, cell):
        """The Solver `checkpoint_name` for a cell: checkpoints/<cell>."""
        folder = self.path / "checkpoints"
        folder.mkdir(exist_ok=True)
        return str(folder / safe_name(cell))

    def set_status(self, state, **extra):
        """Write status.json (not from workers)."""
        if self.worker:
            return
        status = read_json(self.path / "status.json", {})
        status.update(state=state, updated=time.strftime("%Y-%m-%d %H:%M:%S"), **extra)
        write_json(self.path / "status.json", status)

    @property
    def status(self):
        return read_json(self.path / "status.json", {})


def dataset_entry(ds):
    """The JSON record of a Dataset (or PointSet) that `Run.dataset` keeps."""
    entry = {"description": ds.describe()}
    for key in ("name", "split", "source", "checksum", "place"):
        if hasattr(ds, key):
            entry[key] = getattr(ds, key)
    return entry


def safe_name(text):
    """A file-name-safe version of a cell key."""
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in str(text))
