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


# What changed in a recipe after a score on the test split was seen, for the experiments whose
# recipes were changed that way before the ledger existed; each report prints its entry above
# its list of looks. Commits are those that published the scores in docs/results/.
TEST_SPLIT_HISTORY = {
    "mnist-cnn": (
        "The first published recipe (one 3x3 convolution per stage, 32 and 64 channels, shifts "
        "of up to 2 pixels) scored 0.9950 on the test split (4c2469b). Because of that score the "
        "recipe was changed to two 3x3 convolutions per stage with rotations of up to 10 degrees "
        "and scalings of up to 10%, which scored 0.9960 on one seed (2f4611d). That recipe is "
        "unchanged since and was run again over several seeds: the interval above is over them, "
        "and the goal is judged against it, not against the one seed that prompted the change."),
    "mnist-mlp": (
        "The first published recipe scored 0.9852, 0.9886 and 0.9903 for the three budgets "
        "(9f1084c). Three more full runs followed, each scored on the test split and never "
        "published; then elastic distortion of the training images was added, which scored "
        "0.9867, 0.9907 and 0.9923 on one seed (6ff8e03). That recipe is unchanged since and "
        "was run again over three seeds: the intervals above are over them."),
    "open-model": (
        "The first published recipe (tuned on 4,000 training images, dropout 0.5) scored 0.7478 "
        "on the test split (ad72520); a run that was not published scored 0.7226. The tuning "
        "budget (all 45,000 training images) and the dropout (0.3) were then changed and scored "
        "0.7625 (baec0e4). That recipe is unchanged since and was run again over several seeds."),
    "lenet-fashion": (
        "The dropout variant first placed dropout 0.5 after both hidden fully connected "
        "layers and scored 0.8784 on the test split (0bd9c7a); after that score dropout was "
        "moved to before the output layer only (after fc2), which scored 0.8873 (c7680c7). The "
        "five variants are unchanged since and were run again over several seeds."),
    "lenet-fashion-best": (
        "The best recipe scored 0.9153 on three seeds (129c450). Its short one-cycle schedule "
        "was then published three times (3a9f49f, d575144, 761163a); after one seed's test score "
        "fell to 0.8892 (d575144), label smoothing 0.1 was chosen on a validation difference of "
        "0.07 points. That recipe is unchanged since and was run again over five seeds: the "
        "goals are judged on their intervals."),
}
