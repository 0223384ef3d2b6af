"""Grids and searches run as Optuna studies, stored with the run (SQLite) or on a server.

Every unit of training in an experiment is a cell of a grid (a single run is a grid of one).
The process that creates a grid's study enqueues one trial per cell (Optuna's
`enqueue_trial`, its mechanism for fixed points); every process (the main run, or the workers
of `layerlab sweep --workers K`) then pops waiting trials until none are left, and records the
cell's values as the trial's categorical params. Optuna's storage hands each waiting trial to
exactly one process, so every cell runs once. (GridSampler is not used: it may repeat a grid
point when workers sample at the same moment, as its documentation warns, and it does not
accept enqueued trials.) Finished cells stay finished in the database, so a killed sweep
continues where it stopped.

The main process keeps every finished grid's cells and results in the run's cells.json; a run
opened for replay (`Run(..., replay=True)`) gets them back from there instead of training, so
a report can be rebuilt and re-judged from the folder alone.

With a database server (`--storage URL`, see shared_store.py) the workers may be on several
machines: each records a heartbeat while it trains a cell, and before taking a cell, or while
waiting for cells that run elsewhere, a worker fails the trials whose heartbeat stopped
(Optuna's `fail_stale_trials`, as Study.optimize does); Optuna's retry callback then queues
the cell again, and a live worker takes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import time
import warnings

from layerlab.lab import shared_store
from layerlab.progress import Progress

try:  # imported lazily by the functions, so `layerlab --help` works without optuna
    import optuna
except ImportError:  # pragma: no cover - optuna is a dependency
    optuna = None

WAIT_SECONDS = 0.5


def cell_key(grid_name, cell):
    """'grid/a=1,b=x': the cell's name in metrics, checkpoints and the database."""
    return grid_name + "/" + ",".join(f"{k}={cell[k]}" for k in cell) if cell else grid_name


def _storage(run):
    """The run's Optuna storage: a URL for SQLite, an RDBStorage with heartbeats for a server."""
    if shared_store.is_server(run.storage):
        return shared_store.open_storage(run.storage, getattr(run, "heartbeat_interval", None))
    return run.storage or f"sqlite:///{run.path / 'sweep.db'}"


@contextlib.contextmanager
def _claim_lock(run):
    """Serialise study creation and trial claims between processes sharing a SQLite file.

    Optuna hands a waiting trial to one process by re-reading its state before setting it
    running; a database server does that under a row lock, but SQLite (as Python drives it)
    reads outside the write transaction, so two processes can both claim one trial, and both
    can try to create the schema of a new file. A file lock beside the database closes both
    gaps; with a server (--storage) it is not needed and not taken.
    """
    url = _storage(run)
    if not isinstance(url, str) or not url.startswith("sqlite:///"):
        yield
        return
    with open(url[len("sqlite:///"):] + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _study_name(run, grid_name):
    return f"{run.meta['experiment']}:{run.meta['run_id']}:{grid_name}"


def _choice(value):
    """A value as Optuna can record it as a categorical choice (scalars, else text)."""
    return value if value is None or isinstance(value, bool | int | float | str) else repr(value)


def _search_space(cells):
    space = {}
    for cell in cells:
        for k, v in cell.items():
            space.setdefault(k, [])
            if _choice(v) not in space[k]:
                space[k].append(_choice(v))
    return space


def _open(run, grid_name, keys, cells):
    """Create the study and enqueue the cells, or join the study another process made."""
    optuna.logging.set_verbosity(logging.WARNING)
    storage, name = _storage(run), _study_name(run, grid_name)
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
    else:
        for key, cell in zip(keys, cells, strict=True):
            study.enqueue_trial({k: _choice(v) for k, v in cell.items()},
                                user_attrs={"cell_key": key, "cell": cell})
        study.set_user_attr("run_id", run.meta["run_id"])  # how gathering finds the grids
        study.set_user_attr("grid", grid_name)
        study.set_user_attr("cells", keys)  # marks the queue complete for joining processes
    for _ in range(int(60 / WAIT_SECONDS)):
        if "cells" in study.user_attrs:
            break
        time.sleep(WAIT_SECONDS)
    else:
        raise RuntimeError(f"study {name} has no cell list after 60 s: the process that "
                           f"created it died while filling it; delete {_where(run)} (or use "
                           "another --run-id) and start again")
    if study.user_attrs["cells"] != keys:
        fix = "--run-id" if shared_store.is_server(run.storage) else "--out folder"
        raise RuntimeError(f"study {name} in {_where(run)} holds a different grid than this "
                           f"config makes (was the config changed?). Use a new {fix}")
    return study


def _where(run):
    """The storage as a message may name it (a server's password hidden)."""
    return shared_store.shown(run.storage) if run.storage else str(run.path / "sweep.db")


def _requeue_stale(study):
    """Trials left RUNNING by a killed process: fail them and queue their cells again."""
    state = optuna.trial.TrialState
    for trial in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        if "cell_key" in trial.user_attrs:
            study.tell(trial.number, state=state.FAIL)
            _requeue(study, trial.user_attrs)


def _requeue(study, attrs):
    cell = attrs["cell"]
    study.enqueue_trial({k: _choice(v) for k, v in cell.items()},
                        user_attrs={"cell_key": attrs["cell_key"], "cell": cell})


def _completed(study):
    state = optuna.trial.TrialState
    done = {}
    for trial in study.get_trials(deepcopy=False, states=(state.COMPLETE,)):
        key = trial.user_attrs.get("cell_key")
        if key is not None and key not in done:
            done[key] = trial.user_attrs.get("result")
    return done


def grid(run, grid_name, cells, fn, objective=None):
    """Run fn(cell) -> dict (JSON-able) for every cell exactly once; results in cell order.

    Args:
        run: the Run (its storage, worker flag and progress stream are used).
        grid_name: unique within the experiment.
        cells: list of dicts of settings.
        objective: key of the result stored as the trial's value (what Optuna maximises).
    """
    if optuna is None:
        raise RuntimeError("grids need optuna: pip install optuna")
    cells = [dict(c) for c in cells]
    keys = [cell_key(grid_name, c) for c in cells]
    if len(set(keys)) != len(keys):
        raise ValueError(f"grid {grid_name} has repeated cells")
    json.dumps(cells)
    if run.replay:
        return run.stored_cells(grid_name, keys)
    with _claim_lock(run):
        study = _open(run, grid_name, keys, cells)
        # with a server, a killed worker's cells are found by their stopped heartbeat instead:
        # failing every running trial would take cells from workers alive on other machines
        if getattr(run, "requeue_stale", False) and not _beating(run):
            _requeue_stale(study)
    space = _search_space(cells)
    progress = Progress(len(cells), grid_name, run.stream, unit="cells")
    progress.update(len(_completed(study)))
    waited = 0.0
    while True:
        trial = _claim(run, study)
        if trial is not None:
            _train(run, study, trial, fn, space, objective, progress, grid_name)
        elif study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            _wait_for_others(run, study, progress, grid_name, waited)
            waited += WAIT_SECONDS
        else:
            break
    progress.close()
    done = _completed(study)
    missing = [k for k in keys if k not in done]
    if missing:
        raise RuntimeError(f"grid {grid_name}: no finished result for {missing}")
    results = [done[k] for k in keys]
    run.store_cells(grid_name, keys, cells, results)
    return results


def _beating(run):
    """True when the run's storage takes heartbeats (a database server)."""
    return shared_store.is_server(run.storage)


@contextlib.contextmanager
def _quiet_optuna():
    """Optuna's heartbeat API is marked experimental, and it warns that heartbeats are meant
    for Study.optimize; this module runs each trial itself (ask/tell), beating as optimize
    does, so both warnings are silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        yield


def _claim(run, study):
    """Take one waiting cell's trial for this process, or None when no cell waits."""
    state = optuna.trial.TrialState
    _fail_stale(run, study)  # as Study.optimize does before each trial
    with _claim_lock(run):
        if not study.get_trials(deepcopy=False, states=(state.WAITING,)):
            return None
        with _quiet_optuna():
            trial = study.ask()
    if "cell_key" not in trial.user_attrs:  # another process took the last waiting cell first
        study.tell(trial, state=state.FAIL)
        return None
    return trial


def _train(run, study, trial, fn, space, objective, progress, grid_name):
    """Run one claimed cell, beating while it trains, and store its result in its trial."""
    from optuna.storages._heartbeat import get_heartbeat_thread  # what Study.optimize uses

    state = optuna.trial.TrialState
    attrs = trial.user_attrs
    for k in attrs["cell"]:  # record the grid point as the trial's params
        trial.suggest_categorical(k, space[k])
    try:
        progress.update(0, attrs["cell_key"])  # the line names the cell being trained
        storage = _storage(run)
        if _beating(run):  # the first beat before the cell starts: a trial that never beat
            storage.record_heartbeat(trial._trial_id)  # is never found stale
        with get_heartbeat_thread(trial._trial_id, storage):
            result = fn(attrs["cell"])
    except BaseException:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            study.tell(trial, state=state.FAIL)
            _requeue(study, attrs)
        raise
    # a cell that diverged in its first epoch has no objective (None): Optuna gets 0
    value = float(result.get(objective) or 0.0) if objective else 0.0
    try:
        trial.set_user_attr("result", result)
        study.tell(trial, value)
    except optuna.exceptions.UpdateFinishedTrialError:
        # its heartbeat was late (a stalled machine): the cell was handed to another worker,
        # whose result stands, so this one is dropped and the cell counts once
        progress.write(f"[{grid_name}] cell {attrs['cell_key']} was handed to another worker "
                       "while it ran here (no heartbeat within the grace period); its result "
                       "here is dropped")
        return
    run.heartbeat()
    progress.update(1)
    summary = f" {objective}={value:.4f}" if objective else ""
    progress.write(f"[{grid_name}] cell {attrs['cell_key']} done{summary}")


def _wait_for_others(run, study, progress, grid_name, waited):
    """Wait a moment for cells running in other processes (with heartbeats, a cell whose
    worker stopped beating is queued again: see _fail_stale)."""
    if waited % 30 < WAIT_SECONDS:
        if _beating(run):
            way = (f"a cell whose worker died is handed on once it misses its heartbeat for "
                   f"{shared_store.grace_period(run.heartbeat_interval)} s")
        else:
            way = f"if a worker died, stop and run `layerlab run --resume {run.path}`"
        progress.write(f"[{grid_name}] waiting for cells running in other workers ({way})")
    _fail_stale(run, study)
    time.sleep(WAIT_SECONDS)


def _fail_stale(run, study):
    """With heartbeats: fail the trials whose worker stopped beating; Optuna's retry callback
    queues their cells again."""
    if _beating(run):
        with _quiet_optuna():
            optuna.storages.fail_stale_trials(study)


def cell(run, name, fn):
    """One unit of work, run once and kept: a grid of one cell."""
    return grid(run, name, [{}], lambda _: fn())[0]


def record_datasets(run, load):
    """Record in the run the datasets that load() -> [Dataset, ...] reads, from a cell named
    'data'. Studies load their data inside cells, so a rebuild from cells.json reads no data
    and a sweep's main process records what its workers read; returns the stored entries."""
    from layerlab.lab.rundir import dataset_entry

    entries = cell(run, "data", lambda: [dataset_entry(ds) for ds in load()])
    for entry in entries:
        run.dataset(entry)
    return entries
