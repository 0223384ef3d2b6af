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
    """Run the experiment's function in `run`; on success build the report (main process).

    Ctrl-C or an error leaves every finished cell and checkpoint in place and marks the
    status; `layerlab run --resume RUN_DIR` continues.
    """
    exp = registry.get(run.meta["experiment"])
    cfg = configs.build(exp, run.config)
    if not run.worker:  # the environment of the latest attempt (a resume may run newer code)
        write_json(run.path / "env.json", environment())
    previous = run.status.get("wall_time", 0.0)
    run.set_status("running")
    start = time.perf_counter()
    stream = run.stream or sys.stdout
    try:
        exp.fn(cfg, run)
    except KeyboardInterrupt:
        run.set_status("interrupted", wall_time=previous + time.perf_counter() - start)
        print(f"\ninterrupted; finished work is kept. Continue with: "
              f"layerlab run --resume {run.path}", file=sys.stderr)
        raise
    except Exception as err:
        run.set_status("failed", error=f"{type(err).__name__}: {err}",
                       wall_time=previous + time.perf_counter() - start)
        raise
    run.set_status("finished", wall_time=previous + time.perf_counter() - start)
    if run.worker:
        return None
    from layerlab.report.build import build_report

    report = build_report(run.path)
    print(f"report: {report} (and report.html)", file=stream)
    return report


def rebuild(run_dir, stream=None):
    """Judge a run again from its stored cells (cells.json): the experiment's function runs with
    every grid answered from the folder, so nothing trains, and results.json and the report are
    written anew. The run's status, wall time and environment stay those of its training.
    """
    from layerlab.report.build import build_report

    run = Run(run_dir, replay=True, stream=stream)
    exp = registry.get(run.meta["experiment"])
    exp.fn(configs.build(exp, run.config), run)
    return build_report(run.path)


def resume(run_dir, worker=False, storage=None, stream=None):
    """Continue the run in `run_dir`: finished cells are kept, unfinished ones continue from
    their latest checkpoint. Cells left running by a killed process are queued again (not for
    workers, which must not take cells from each other)."""
    run = Run(run_dir, worker=worker, storage=storage, stream=stream)
    run.requeue_stale = not worker
    return execute(run)
