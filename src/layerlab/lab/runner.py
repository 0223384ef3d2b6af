"""Start, resume and finish runs: the life of a run folder around an experiment's function."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from layerlab.lab import config as configs
from layerlab.lab import registry
from layerlab.lab.environment import environment
from layerlab.lab.rundir import Run
from layerlab.runfiles import write_json


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
        return _execute(exp, cfg, run)
    finally:
        run.unlock()


def _execute(exp, cfg, run):
    if not run.worker:
        write_json(run.path / "env.json", environment())  # the latest attempt's environment
    run.start_clock()
    run.set_status("running")
    try:
        exp.fn(cfg, run)
    except KeyboardInterrupt:
        run.set_status("interrupted", wall_time=run.wall_time())
        print(f"\ninterrupted; finished work is kept. Continue with: "
              f"layerlab run --resume {run.path}", file=sys.stderr)
        raise
    except Exception as err:
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
        run.set_status("report failed", error=f"{type(err).__name__}: {err}")
        print(f"the report of {run.path} failed to build; the training is kept. After the "
              f"cause is fixed: layerlab report {run.path}", file=sys.stderr)
        raise
    run.set_status("finished")
    print(f"report: {report} (and report.html)", file=run.stream or sys.stdout)
    return report


def report(run_dir):
    """Rebuild a run's report from its folder; a run whose report had failed (or was cut off)
    is marked finished once it builds. Returns the path of report.md."""
    from layerlab.report.build import build_report

    run = Run(run_dir)
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


def resume(run_dir, worker=False, storage=None, stream=None):
    """Continue the run in `run_dir`: finished cells are kept, unfinished ones continue from
    their latest checkpoint. Cells left running by a killed process are queued again (not for
    workers, which must not take cells from each other)."""
    run = Run(run_dir, worker=worker, storage=storage, stream=stream)
    run.requeue_stale = not worker
    return execute(run)
