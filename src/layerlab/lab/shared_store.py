"""A run shared through a database server: its record there, and its folder gathered back.

Workers on several machines make one run when they share `--storage URL` (a database server,
e.g. PostgreSQL) and `--run-id ID`. Each grid is an Optuna study there (sweep.py), and each
finished cell's settings and result are user attributes of its trial (`cell_key`, `cell`,
`result`: what cells.json keeps for it). Beside the grids, one study per run,
`layerlab-run:ID`, holds the run's record in its user attributes:

  meta       config.json of the process that started the run (experiment, every setting)
  env        that process's environment (env.json)
  heartbeat  seconds between the heartbeats of a worker training a cell
  finished   when a process first had every grid's results

`gather(url, run_id, out)` writes a run folder from the database alone (config.json, env.json,
status.json, cells.json); replaying the study from cells.json (runner.rebuild) then makes
results.json and the report on any machine. SQLite stays the embedded default: nothing here
is used for a run without a server.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import random
import time
import warnings
from datetime import datetime
from pathlib import Path

from layerlab.runfiles import RunError, read_json, write_json

RECORD = "layerlab-run:{}"
HEARTBEAT = 15  # seconds between a training worker's heartbeats, unless the run says otherwise
GRACE = 4  # heartbeats a worker may miss before its cell is handed to another
POSTGRES = "pip install 'layerlab[postgres]'"  # the driver, psycopg2, is an optional extra
DRIVERS = {"postgresql": POSTGRES, "postgres": POSTGRES}


def is_server(url) -> bool:
    """True for a storage URL of a database server (anything but SQLite)."""
    return bool(url) and not str(url).startswith("sqlite")


def grace_period(heartbeat) -> int:
    """Seconds without a heartbeat after which a worker's cell is handed to another."""
    return GRACE * int(heartbeat or HEARTBEAT)


def shown(url) -> str:
    """The URL as messages print it: the password hidden."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: print it as given
        return str(url)


@functools.cache
def open_storage(url, heartbeat=None):
    """Optuna's RDBStorage on a server URL; with `heartbeat` (seconds), workers beat at that
    interval and a trial silent for grace_period(heartbeat) is failed and queued again by
    Optuna's retry callback. Errors a user can fix end in one RunError line."""
    import optuna
    import sqlalchemy

    optuna.logging.set_verbosity(logging.WARNING)  # not a line per study it creates
    given, url = url, _with_driver(url)
    connect = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgres") else {}
    # processes that start together on an empty database all create its tables; the losers
    # of that race see a duplicate-key error and find the tables there on the next try
    for attempt in range(6):
        try:
            with warnings.catch_warnings():  # Optuna marks its heartbeat API experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs={"pool_pre_ping": True, **connect}, **_beats(heartbeat))
        except ImportError as err:
            raise RunError(_no_driver(given, err)) from None
        except sqlalchemy.exc.ArgumentError as err:
            raise RunError(f"--storage {shown(given)}: not a database URL ({err}); e.g. "
                           "postgresql://USER:PASSWORD@HOST:5432/DATABASE") from None
        except sqlalchemy.exc.OperationalError as err:
            reason = str(err.orig or err).strip().splitlines()[0]
            raise RunError(f"cannot reach the database of --storage {shown(given)}: {reason}; "
                           "is the server running, and are its host, port, user and database "
                           "right?") from None
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 5:
                raise
            time.sleep(0.2 + random.random())


def _beats(heartbeat):
    """RDBStorage's heartbeat arguments: the interval, the grace period, and Optuna's callback
    that queues a failed stale trial's cell again."""
    import optuna

    if not heartbeat:
        return {}
    beat = {"heartbeat_interval": int(heartbeat), "grace_period": grace_period(heartbeat)}
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry is not None:  # Optuna >= 4.9 names the callback after stale heartbeats
        beat["heartbeat_stale_trial_callback"] = retry()
    else:
        beat["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback()
    return beat


def _with_driver(url):
    """A postgresql:// URL with the driver that is installed named in it: SQLAlchemy 2.0 reads
    a bare postgresql:// as psycopg2 (what the `postgres` extra installs) but 2.1 as psycopg
    3; either works."""
    scheme, sep, rest = str(url).partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        return url
    errors = []
    for driver in ("psycopg2", "psycopg"):
        try:
            importlib.import_module(driver)
        except ImportError as err:
            errors.append(err)
            continue
        return f"postgresql+{driver}://{rest}"
    raise RunError(_no_driver(url, errors[0]))


def _no_driver(url, err):
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    fix = DRIVERS.get(dialect, "install the Python driver that SQLAlchemy names for it")
    return (f"--storage {shown(url)}: the {dialect} driver is not installed "
            f"({err.__cause__ or err}): {fix}")


def _record(storage, run_id, create):
    """(the run's record study or None, whether this call created it); with `create`, it is
    made when absent."""
    import optuna

    name = RECORD.format(run_id)
    if create:
        try:
            return optuna.create_study(study_name=name, storage=storage), True
        except optuna.exceptions.DuplicatedStudyError:
            pass
    try:
        return optuna.load_study(study_name=name, storage=storage), False
    except KeyError:
        return None, False


def _wait_for(study, attr):
    for _ in range(120):
        if attr in study.user_attrs:
            return study.user_attrs
        time.sleep(0.5)
    raise RunError(f"the record of run {study.study_name} has no {attr} after 60 s: the "
                   "process that created it died while writing it; use another --run-id")


def join(run):
    """Make the run's record, or check this process's config against it: processes that share
    a --run-id must run the same experiment with the same settings. Sets
    run.heartbeat_interval to the run's (the first process's `--heartbeat`, else HEARTBEAT), so
    every worker judges the others' heartbeats alike."""
    from layerlab.lab.environment import environment

    storage, run_id = open_storage(run.storage), run.meta["run_id"]
    study, made = _record(storage, run_id, create=True)
    if made:  # the environment this process recorded in its folder (env.json)
        study.set_user_attr("env", read_json(run.path / "env.json") or environment())
        study.set_user_attr("heartbeat", int(run.heartbeat_interval or HEARTBEAT))
        study.set_user_attr("meta", run.meta)  # last: marks the record complete
    record = _wait_for(study, "meta")
    theirs, ours = record["meta"], json.loads(json.dumps(run.meta))  # as stored: tuples as lists
    for key in ("experiment", "quick", "config"):
        if theirs.get(key) != ours.get(key):
            what = "setting" if key == "config" else key
            raise RunError(f"run {run_id} in {shown(run.storage)} was started with another "
                           f"{what} ({_difference(theirs, ours, key)}): give the same "
                           "experiment, --set and --seed on every machine, or another --run-id")
    if run.heartbeat_interval and int(run.heartbeat_interval) != record["heartbeat"]:
        raise RunError(f"--heartbeat {run.heartbeat_interval}: run {run_id} beats every "
                       f"{record['heartbeat']} s (set by the process that started it); leave "
                       "--heartbeat out on the other machines")
    run.heartbeat_interval = record["heartbeat"]


def _difference(theirs, ours, key):
    if key != "config":
        return f"{theirs.get(key)!r} there, {ours.get(key)!r} here"
    a, b = theirs.get("config") or {}, ours.get("config") or {}
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k}={a.get(k)!r} there, {b.get(k)!r} here" for k in changed[:3])


def mark_finished(run):
    """Note in the run's record that every grid has its results (a gather needs that)."""
    study, _ = _record(open_storage(run.storage), run.meta["run_id"], create=False)
    if study is not None and "finished" not in study.user_attrs:
        study.set_user_attr("finished", time.strftime("%Y-%m-%d %H:%M:%S"))


def gather(url, run_id, out=None) -> Path:
    """Write the run folder of `run_id` from the database at `url`: config.json, env.json,
    status.json and cells.json (every grid's cells and results, from their trials). Returns
    the folder (default runs/ID); the caller replays the study from it."""
    import optuna

    storage = open_storage(url)
    study, _ = _record(storage, run_id, create=False)
    if study is None or "meta" not in study.user_attrs:
        known = sorted(n[len(RECORD.format("")):] for n in optuna.get_all_study_names(storage)
                       if n.startswith(RECORD.format("")))
        raise RunError(f"no run {run_id!r} in {shown(url)} (runs there: "
                       f"{', '.join(known) or 'none'})")
    record = study.user_attrs
    grids = _grids(storage, run_id)
    if "finished" not in record:
        done = sum(sum(c["result"] is not None for c in g) for g in grids.values())
        total = sum(len(g) for g in grids.values())
        raise RunError(f"run {run_id} is not finished ({done} of the {total} cells queued so "
                       "far have results): its report can be gathered once a worker has every "
                       f"grid's results; start one with `layerlab sweep "
                       f"{record['meta']['experiment']} --storage URL --run-id {run_id}` and "
                       "the run's --set and --seed")
    out = Path(out) if out else Path("runs") / run_id
    _prepare(out, record["meta"])
    write_json(out / "env.json", record["env"])
    write_json(out / "status.json", {"state": "finished", "updated": record["finished"],
                                     "wall_time": _span(grids)})
    write_json(out / "cells.json", {name: [{k: c[k] for k in ("key", "cell", "result")}
                                           for c in cells] for name, cells in grids.items()})
    return out


def _prepare(out, meta):
    """A new run folder for the gathered run, or the folder of that same run again."""
    from layerlab.lab.rundir import Run

    here = read_json(out / "config.json") if out.is_dir() else None
    if here is None:
        Run.create(out, meta)
    elif (here.get("run_id"), here.get("experiment")) != (meta["run_id"], meta["experiment"]):
        raise RunError(f"{out} holds another run ({here.get('experiment')} "
                       f"{here.get('run_id')}): give another --out")


def _grid_studies(storage, run_id):
    import optuna

    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        attrs = summary.user_attrs
        if attrs.get("run_id") == run_id and "grid" in attrs and "cells" in attrs:
            yield attrs["grid"], optuna.load_study(study_name=summary.study_name,
                                                   storage=storage)


def _grids(storage, run_id):
    """{grid: [{key, cell, result, start, end}, ...]} in the grid's cell order; a cell not
    finished yet has result None."""
    import optuna

    grids = {}
    for name, study in _grid_studies(storage, run_id):
        done = {}
        for trial in study.get_trials(deepcopy=False,
                                      states=(optuna.trial.TrialState.COMPLETE,)):
            done.setdefault(trial.user_attrs.get("cell_key"), trial)
        cells = {t.user_attrs.get("cell_key"): t.user_attrs.get("cell")
                 for t in study.get_trials(deepcopy=False)}
        grids[name] = [{"key": key, "cell": cells.get(key),
                        "result": done[key].user_attrs.get("result") if key in done else None,
                        "start": done[key].datetime_start if key in done else None,
                        "end": done[key].datetime_complete if key in done else None}
                       for key in study.user_attrs["cells"]]
    return grids


def _span(grids):
    """Seconds from the first cell's start to the last cell's end, over the run's workers."""
    times = [(c["start"], c["end"]) for cells in grids.values() for c in cells
             if c["start"] and c["end"]]
    if not times:
        return 0.0
    first, last = min(t[0] for t in times), max(t[1] for t in times)
    return round((last - first).total_seconds(), 3) if isinstance(first, datetime) else 0.0
