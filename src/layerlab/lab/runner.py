"""Start, resume and finish runs: the life of a run folder around an experiment's function."""

from __future__ import annotations

import contextlib
import errno
import sys
import time
from pathlib import Path

from layerlab.lab import config as configs
from layerlab.lab import registry, shared_store
from layerlab.lab.environment import environment
from layerlab.lab.rundir import Run
from layerlab.runfiles import RunError, write_json

# errno of a write that found no room: a full disk, a full quota, a file-size limit
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DiskFullError(RunError):
    """A write of the run found no room; everything finished before it is kept."""


def _no_room(err):
    """True when `err`, or an error it was raised from, is a write that found no room (an
    OSError with a NO_ROOM errno, or SQLite's words for the same, as Optuna's storage raises)."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in NO_ROOM:
            return True
        if "database or disk is full" in str(err) or "disk I/O error" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


@contextlib.contextmanager
def no_room_as_error(path, way_on=None):
    """Turn a write that found no room into a DiskFullError naming the run folder and the way
    on (default: resume the run), instead of a traceback from whichever file was being
    written."""
    way_on = way_on or (f"continue with `layerlab run --resume {path}` (or `layerlab report "
                        f"{path}` if the training had finished); finished work is kept")
    try:
        yield
    except Exception as err:
        if isinstance(err, DiskFullError) or not _no_room(err):
            raise
        raise DiskFullError(f"no room to write in {path} (the disk or quota is full, or a "
                            f"file-size limit was reached): free some space, then {way_on}"
                            ) from err


def default_out(name, quick):
    """runs/NAME[-quick]-YYYYmmdd-HHMMSS under the current folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name}{'-quick' if quick else ''}-{stamp}"


def create(name, overrides=(), seed=None, quick=False, out=None, run_id=None, **run_kwargs):
    """Resolve the config and make the run folder (config.json, env.json); returns the Run."""
    exp = registry.get(name)
    config = configs.resolve(exp, overrides, quick, seed)
    out = Path(out) if out else default_out(name, quick)
    meta = {"experiment": name, "study": exp.study, "title": exp.title, "quick": quick,
            "run_id": run_id or out.name, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "config": config}
    with no_room_as_error(out, way_on=f"start the run again (nothing was trained yet; remove "
                                      f"{out} first if it was left behind)"):
        return Run.create(out, meta, **run_kwargs)


def execute(run):
    """Run the experiment's function in `run`; then (main process) build the report, and only
    then mark the run finished.

    Ctrl-C or an error leaves every finished cell and checkpoint in place and marks the
    status; `layerlab run --resume RUN_DIR` continues. A report that fails to build leaves the
    status 'report failed' (the training is kept); `layerlab report RUN_DIR` completes it.
    """
    exp = registry.get(run.meta["experiment"])
    cfg = configs.build(exp, run.config)
    if not run.worker:
        run.lock()
    try:
        with no_room_as_error(run.path):
            return _execute(exp, cfg, run)
    finally:
        run.unlock()


def _execute(exp, cfg, run):
    if not run.worker:
        write_json(run.path / "env.json", environment())  # the latest attempt's environment
    shared = shared_store.is_server(run.storage)
    if shared:  # one run over several machines: the same settings on each
        shared_store.join(run)
    run.start_clock()
    run.set_status("running")
    try:
        exp.fn(cfg, run)
        if shared:  # every grid has its results: the run can be gathered from the database
            shared_store.mark_finished(run)
    except KeyboardInterrupt:
        run.set_status("interrupted", wall_time=run.wall_time())
        print(f"\ninterrupted; finished work is kept. Continue with: "
              f"layerlab run --resume {run.path}", file=sys.stderr)
        raise
    except Exception as err:
        with contextlib.suppress(OSError):  # with no room left the status cannot be written
            run.set_status("failed", error=f"{type(err).__name__}: {err}",
                           wall_time=run.wall_time())
        raise
    if run.worker:
        return None
    run.set_status("reporting", wall_time=run.wall_time())
    return finish_report(run)


def finish_report(run):
    """Build the report of a trained run, then mark it finished; on failure mark it 'report
    failed' (with the error) and raise. Returns the path of report.md."""
    from layerlab.report.build import build_report

    try:
        report = build_report(run.path, state="finished")
    except Exception as err:
        with contextlib.suppress(OSError):
            run.set_status("report failed", error=f"{type(err).__name__}: {err}")
        print(f"the report of {run.path} failed to build; the training is kept. After the "
              f"cause is fixed: layerlab report {run.path}", file=sys.stderr)
        raise
    run.set_status("finished")  # the caller prints the summary (report.headline.summary_lines)
    return report


def report(run_dir):
    """Rebuild a run's report from its folder; a run whose report had failed (or was cut off)
    is marked finished once it builds. Returns the path of report.md."""
    from layerlab.report.build import build_report

    run = Run(run_dir)
    with no_room_as_error(run.path):
        if run.status.get("state") not in ("report failed", "reporting"):
            return build_report(run.path)
        run.lock()
        try:
            return finish_report(run)
        finally:
            run.unlock()


def rebuild(run_dir, stream=None):
    """Judge a run again from its stored cells (cells.json): the experiment's function runs with
    every grid answered from the folder, so nothing trains, and results.json and the report are
    written anew. The run's status, wall time and environment stay those of its training.
    """
    from layerlab.report.build import build_report

    run = Run(run_dir, replay=True, stream=stream)
    run.lock()
    try:
        exp = registry.get(run.meta["experiment"])
        exp.fn(configs.build(exp, run.config), run)
        return build_report(run.path)
    finally:
        run.unlock()


def resume(run_dir, worker=False, storage=None, stream=None, heartbeat_interval=None):
    """Continue the run in `run_dir`: finished cells are kept, unfinished ones continue from
    their latest checkpoint. Cells left running by a killed process are queued again (not for
    workers, which must not take cells from each other; with a database server, by their
    stopped heartbeat)."""
    run = Run(run_dir, worker=worker, storage=storage, stream=stream,
              heartbeat_interval=heartbeat_interval)
    run.requeue_stale = not worker
    return execute(run)


def gather(url, run_id, out=None, stream=None):
    """Build the folder and report of a run shared through the database at `url` on this
    machine, from the database alone: its record and every cell's stored result are written
    into `out` (default runs/RUN_ID), and the study is replayed from them (see `rebuild`).
    Returns the folder."""
    folder = shared_store.gather(url, run_id, out)
    rebuild(folder, stream=stream)
    return folder
