"""The test-set ledger: every score on a test split is written down, so a report can say how
many times its study's test split has been looked at.

Each look is one JSON line: dataset, split, experiment, cell, a hash of the recipe (the cell's
settings and the run's config, seed excluded, so the seeds of one recipe share a hash),
accuracy, n (test images), date, source revision, run id and whether the run was quick. A run
keeps its own looks in RUN_DIR/test_looks.jsonl; a full run started from a source checkout also
appends them to the repository's ledger, `docs/results/test_ledger.jsonl`, which is committed
with the results. Quick runs (built-in subsets) and replays (nothing is evaluated) add nothing
to the repository's ledger. `LAYERLAB_LEDGER` names another ledger file, or `off` (the tests
set it, so that their runs never write into the repository's ledger).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from layerlab.runfiles import checkout_results, dumps

LEDGER_NAME = "test_ledger.jsonl"


def repository_ledger() -> Path | None:
    """<checkout>/docs/results/test_ledger.jsonl when layerlab runs from a source checkout."""
    results = checkout_results()
    return results / LEDGER_NAME if results else None


def active_ledger() -> Path | None:
    """The ledger full runs append to: $LAYERLAB_LEDGER (None when 'off'), else the
    repository's."""
    setting = os.environ.get("LAYERLAB_LEDGER")
    if setting:
        return None if setting.lower() == "off" else Path(setting)
    return repository_ledger()


def recipe_hash(settings: dict) -> str:
    """12 hex digits of the SHA-256 of the settings as canonical JSON, without seed keys."""
    kept = {k: v for k, v in settings.items() if k not in ("seed", "seeds", "split_seed")}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _append(path: Path, line: str):
    """Append one line under an exclusive lock (several workers may score at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write(line + "\n")
            f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def record_look(run, *, dataset: str, cell: str, recipe: dict, accuracy: float, n: int,
                split: str = "test", ledger: Path | None = None) -> dict:
    """Write down one score on a test split (see the module docstring); returns the entry.

    run: the Run that scored it (its config joins the recipe's hash). ledger: the ledger to
    append to for a full run (default: `active_ledger()`).
    """
    from layerlab.lab.environment import environment

    entry = {"dataset": dataset, "split": split, "experiment": run.meta["experiment"],
             "cell": cell, "recipe": recipe_hash({**run.config, **recipe}),
             "accuracy": float(accuracy), "n": int(n),
             "date": time.strftime("%Y-%m-%d %H:%M:%S"),
             "revision": environment().get("source_revision"),
             "run_id": run.meta.get("run_id"), "quick": bool(run.quick)}
    line = dumps(entry)
    _append(run.path / "test_looks.jsonl", line)
    ledger = ledger if ledger is not None else active_ledger()
    if ledger is not None and not run.quick:
        _append(ledger, line)
    return entry


def read(path: Path | None = None) -> list[dict]:
    """Every entry of a ledger (default: the repository's), in order; [] if it has none."""
    path = path if path is not None else repository_ledger()
    if path is None or not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def look_count(experiment: str, path: Path | None = None) -> dict:
    """{'looks': scores of the experiment's test split, 'recipes': distinct recipe hashes,
    'runs': distinct run ids} from a ledger (default: the repository's)."""
    entries = [e for e in read(path) if e["experiment"] == experiment]
    return {"looks": len(entries), "recipes": len({e["recipe"] for e in entries}),
            "runs": len({e["run_id"] for e in entries})}
