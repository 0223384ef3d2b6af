"""Seed the test-set ledger with the test scores published before the ledger existed.

    python scripts/ledger_from_history.py [--write]

Walks the git history of docs/results/*/results.json (oldest first). In every published version,
each claim whose name speaks of a test accuracy ("test acc..." in its name, a value in [0, 1]) is
a look at that experiment's test split; a figure that a later version repeats unchanged (a
republish for wording) is not a new look. Prints the entries; `--write` appends them to
docs/results/test_ledger.jsonl, marked `"source": "git history"` with the commit and its date.
Runs scored on the test split but never published left no trace and are not counted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from layerlab import ledger
from layerlab.runfiles import dumps

ROOT = Path(__file__).resolve().parents[1]


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def versions(experiment: str) -> list[tuple[str, str, dict]]:
    """(commit, date, results) of every committed version of an experiment's results.json,
    oldest first."""
    path = f"docs/results/{experiment}/results.json"
    log = git("log", "--reverse", "--format=%h %ad", "--date=iso", "--", path).splitlines()
    out = []
    for line in log:
        commit, date = line.split(" ", 1)
        try:
            out.append((commit, date[:19], json.loads(git("show", f"{commit}:{path}"))))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            continue  # deleted or unreadable in that commit
    return out


def test_figures(results: dict) -> dict[str, float]:
    """{claim name: value} of the claims that report a test accuracy."""
    figures = {}
    for name, claim in results.get("claims", {}).items():
        value = claim.get("ours")
        if "test acc" in name.lower() and isinstance(value, int | float) and \
                not isinstance(value, bool) and 0 <= value <= 1:
            figures[name] = float(value)
    return figures


def looks(experiment: str) -> list[dict]:
    """The ledger entries of an experiment's published history (see the module docstring)."""
    seen: dict[str, float] = {}
    entries = []
    for commit, date, results in versions(experiment):
        for name, value in test_figures(results).items():
            if seen.get(name) == value:
                continue
            seen[name] = value
            entries.append({"dataset": "", "split": "test", "experiment": experiment,
                            "cell": name, "recipe": f"published {commit}", "accuracy": value,
                            "n": None, "date": date, "revision": commit, "run_id": None,
                            "quick": False, "source": "git history"})
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append to the ledger")
    args = parser.parse_args()
    experiments = sorted(p.name for p in (ROOT / "docs" / "results").iterdir() if p.is_dir())
    entries = [e for name in experiments for e in looks(name)]
    for e in entries:
        print(f"{e['date']} {e['revision']} {e['experiment']}: {e['cell']} = {e['accuracy']:.4f}")
    if args.write:
        path = ledger.repository_ledger()
        done = {(e["experiment"], e["cell"], e["revision"]) for e in ledger.read(path)}
        with open(path, "a") as f:
            for e in entries:
                if (e["experiment"], e["cell"], e["revision"]) not in done:
                    f.write(dumps(e) + "\n")
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
