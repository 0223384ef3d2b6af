"""The test-set ledger: every score on a test split written down, counted per experiment."""

import json
import subprocess
import sys

from needs import missing

from layerlab import ledger
from layerlab.lab.rundir import Run


def make_run(tmp_path, name, quick=False, config=None):
    meta = {"experiment": "exp-a", "study": "-", "title": "t", "quick": quick, "run_id": name,
            "config": config or {"seed": 0, "epochs": 3}}
    return Run.create(tmp_path / name, meta)


def test_a_full_run_writes_to_its_folder_and_the_repository_ledger(tmp_path):
    book = tmp_path / "docs" / "test_ledger.jsonl"
    run = make_run(tmp_path, "full")
    entry = ledger.record_look(run, dataset="mnist", cell="g/seed=0", recipe={"lr": 0.1},
                               accuracy=0.99, n=10_000, ledger=book)
    assert entry["experiment"] == "exp-a" and entry["split"] == "test" and entry["n"] == 10_000
    assert "revision" in entry and entry["date"] and entry["quick"] is False
    in_run = [json.loads(x) for x in (run.path / "test_looks.jsonl").read_text().splitlines()]
    assert in_run == [entry] == ledger.read(book)


def test_a_quick_run_keeps_its_looks_to_itself(tmp_path):
    book = tmp_path / "test_ledger.jsonl"
    run = make_run(tmp_path, "quick", quick=True)
    ledger.record_look(run, dataset="mnist-mini", cell="c", recipe={}, accuracy=0.5, n=500,
                       ledger=book)
    assert not book.exists() and (run.path / "test_looks.jsonl").is_file()


def test_seeds_of_one_recipe_share_a_hash_and_other_settings_do_not(tmp_path):
    assert ledger.recipe_hash({"lr": 0.1, "seed": 1}) == ledger.recipe_hash({"lr": 0.1, "seed": 2})
    assert ledger.recipe_hash({"lr": 0.1}) != ledger.recipe_hash({"lr": 0.2})
    assert ledger.recipe_hash({"a": 1, "b": 2}) == ledger.recipe_hash({"b": 2, "a": 1})


def test_look_count_per_experiment(tmp_path):
    book = tmp_path / "test_ledger.jsonl"
    first, second = make_run(tmp_path, "r1"), make_run(tmp_path, "r2", config={"seed": 0,
                                                                                "epochs": 9})
    for seed in (0, 1, 2):
        ledger.record_look(first, dataset="mnist", cell=f"s={seed}", recipe={"seed": seed},
                           accuracy=0.9, n=100, ledger=book)
    ledger.record_look(second, dataset="mnist", cell="s=0", recipe={}, accuracy=0.95, n=100,
                       ledger=book)
    assert ledger.look_count("exp-a", book) == {"looks": 4, "recipes": 2, "runs": 2}
    assert ledger.look_count("exp-b", book) == {"looks": 0, "recipes": 0, "runs": 0}
    assert ledger.read(tmp_path / "absent.jsonl") == []


def test_two_processes_appending_at_once_lose_no_line(tmp_path):
    book = tmp_path / "test_ledger.jsonl"
    script = ("import sys\nfrom layerlab import ledger\nfrom pathlib import Path\n"
              "for i in range(300):\n"
              "    ledger._append(Path(sys.argv[1]), '{\"i\": %d, \"who\": \"%s\"}' "
              "% (i, sys.argv[2]) + ' ' * 2000)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(book), who]) for who in "ab"]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    lines = book.read_text().splitlines()
    assert len(lines) == 600 and all(json.loads(line)["i"] >= 0 for line in lines)


def test_the_repository_ledger_lives_in_docs_results_and_tests_never_write_it(monkeypatch,
                                                                               tmp_path):
    path = ledger.repository_ledger()
    if path is None:
        missing("layerlab is installed, not run from a checkout (pip install -e .)")
    assert path.parent.name == "results" and path.parent.parent.name == "docs"
    assert ledger.active_ledger() is None  # tests/conftest.py: LAYERLAB_LEDGER=off
    monkeypatch.setenv("LAYERLAB_LEDGER", str(tmp_path / "other.jsonl"))
    assert ledger.active_ledger() == tmp_path / "other.jsonl"
    monkeypatch.delenv("LAYERLAB_LEDGER")
    assert ledger.active_ledger() == path


def test_each_recipe_history_cites_commits_that_published_that_experiments_results():
    """The history printed above a report's looks names real commits, each one a publication
    of that experiment's results, and the published report prints it."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        missing("a git checkout of layerlab (the history cites its commits)")
    for name, text in ledger.TEST_SPLIT_HISTORY.items():
        cited = re.findall(r"\(([0-9a-f]{7})\)", text)
        assert cited, name
        log = subprocess.run(["git", "log", "--format=%h", "--abbrev=7", "--",
                              f"docs/results/{name}/results.json"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.split()
        assert set(cited) <= set(log), (name, set(cited) - set(log))
        report = (root / "docs" / "results" / name / "report.md").read_text()
        assert text in report, name


def committed_ledger(results, tmp_path):
    """The repository's ledger as committed (HEAD), else the file: a full run made in this
    checkout since (the README's `layerlab run quickstart`) adds its looks to the file, after
    the published reports were rendered."""
    done = subprocess.run(["git", "-C", str(results), "show",
                           f"HEAD:docs/results/{ledger.LEDGER_NAME}"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return results / ledger.LEDGER_NAME
    (tmp_path / ledger.LEDGER_NAME).write_text(done.stdout)
    return tmp_path / ledger.LEDGER_NAME


def test_every_published_report_states_its_test_split_look_count(tmp_path):
    """Each published full run says how often its experiment's test split was scored here,
    and the count it prints is the committed ledger's."""
    import re
    from pathlib import Path
    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    if not (results / ledger.LEDGER_NAME).is_file():
        missing("the repository's docs/results (a source checkout)")
    book = committed_ledger(results, tmp_path)
    for report in sorted(results.glob("*/report.md")):
        meta = json.loads((report.parent / "config.json").read_text())
        found = re.search(r"- test split: (scored (\d+) times?|never scored)", report.read_text())
        assert found, report
        looks = ledger.look_count(meta["experiment"], book)["looks"]
        assert int(found.group(2) or 0) == looks, (report, looks)
