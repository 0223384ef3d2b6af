"""The runner as a user meets it: `layerlab run/report/compare/sweep` in subprocesses."""

import json
import signal
import subprocess
import sys
import time

import optuna
import pytest

from layerlab.runfiles import read_metrics

QUICK = ["--quick", "--set", "epochs=3"]


def layerlab(*args, check=True, **kwargs):
    result = subprocess.run([sys.executable, "-m", "layerlab", *map(str, args)],
                            capture_output=True, text=True, timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"layerlab {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def start(*args):
    # A shell's background job starts with SIGINT ignored, and a child inherits that; restore
    # the default so the child's Python turns SIGINT into KeyboardInterrupt as in a terminal.
    return subprocess.Popen([sys.executable, "-m", "layerlab", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def cell_trials(run_dir, grid="lr"):
    """The trials of the cells of one grid (quickstart's learning rates by default)."""
    storage = f"sqlite:///{run_dir / 'sweep.db'}"
    trials = []
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        trials += [t for t in study.get_trials()
                   if t.user_attrs.get("cell_key", "").startswith(grid + "/")]
    return trials


def checkpoint_epoch(run_dir, cell):
    """The epoch of the cell's checkpoint on disk (only the latest is kept), or 0."""
    found = [int(p.stem.rsplit("_", 1)[1]) for p in (run_dir / "checkpoints").glob(
        f"{cell}_epoch_*.npz")] if (run_dir / "checkpoints").exists() else []
    return max(found, default=0)


def wait_for(predicate, proc, timeout=120):
    deadline = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError("the run ended before the point to interrupt it: "
                                 + proc.stdout.read() + proc.stderr.read())
        if time.time() > deadline:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_run_writes_a_complete_folder(tmp_path):
    out = tmp_path / "run"
    layerlab("run", "quickstart", *QUICK, "--threads", 2, "--out", out)  # tests default to 1
    for name in ("config.json", "env.json", "status.json", "metrics.jsonl", "results.json",
                 "report.md", "report.html", "plots/loss.png", "plots/accuracy.png"):
        assert (out / name).exists(), name
    meta = json.loads((out / "config.json").read_text())
    assert meta["quick"] is True and meta["config"]["epochs"] == 3
    assert meta["config"]["batch_size"] == 50  # every default written out
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    blas = [p for p in json.loads((out / "env.json").read_text())["threadpools"]
            if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 2 for p in blas)
    report = (out / "report.md").read_text()
    assert "Quick run" in report and "| figure | ours | reference | verdict |" in report
    assert "data:image/png;base64," in (out / "report.html").read_text()
    epochs = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1, 2, 3]


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        layerlab("run", "quickstart", *QUICK, "--seed", seed, "--out", tmp_path / name)
    a, b, c = (results(tmp_path / n)["tables"]["results"]["rows"] for n in "abc")
    drop_time = [row[:-1] for row in a]
    assert drop_time == [row[:-1] for row in b]
    assert drop_time != [row[:-1] for row in c]


def test_report_is_rebuilt_from_the_folder(tmp_path):
    out = tmp_path / "run"
    layerlab("run", "quickstart", *QUICK, "--out", out)
    original = (out / "report.md").read_text()
    (out / "report.md").unlink()
    for png in (out / "plots").iterdir():
        png.unlink()
    result = layerlab("report", out, "--full")
    assert result.stdout.strip() == original.strip()
    assert (out / "plots" / "loss.png").stat().st_size > 1000
    assert layerlab("report", out, "--html").stdout.strip().endswith("report.html")


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    settings = ["--set", "epochs=12", "--set", "learning_rates=[0.001]"]
    layerlab("run", "quickstart", *settings, "--out", tmp_path / "straight")
    out = tmp_path / "killed"
    proc = start("run", "quickstart", *settings, "--out", out)
    wait_for(lambda: checkpoint_epoch(out, "lr=0.001") >= 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "report.md").exists()
    before = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "epoch"]
    assert 2 <= len(before) - 1 < 12  # the kill may fall between checkpoint and log line
    layerlab("run", "--resume", out)
    after = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in after] == list(range(13))
    for old in before:  # finished epochs are kept as they were
        assert old in after
    ours = results(out)["tables"]["results"]["rows"][0][:-1]
    straight = results(tmp_path / "straight")["tables"]["results"]["rows"][0][:-1]
    assert ours == straight
    assert json.loads((out / "status.json").read_text())["state"] == "finished"


def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(tmp_path):
    out = tmp_path / "run"
    proc = start("run", "quickstart", "--set", "epochs=12", "--out", out)
    wait_for(lambda: (out / "checkpoints").exists() and any(
        (out / "checkpoints").iterdir()), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "layerlab run --resume" in err
    assert json.loads((out / "status.json").read_text())["state"] == "interrupted"
    layerlab("run", "--resume", out)
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert len(results(out)["tables"]["results"]["rows"]) == 3


def test_killed_sweep_keeps_finished_cells(tmp_path):
    out = tmp_path / "run"
    proc = start("run", "quickstart", "--set", "epochs=8", "--out", out)
    # kill once the first cell is finished and the second one has started
    wait_for(lambda: checkpoint_epoch(out, "lr=0.001") >= 1, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = [t for t in cell_trials(out) if t.state == optuna.trial.TrialState.COMPLETE]
    assert [t.user_attrs["cell_key"] for t in first] == ["lr/learning_rate=0.0003"]
    layerlab("run", "--resume", out)
    complete = [t for t in cell_trials(out) if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.user_attrs["cell_key"] for t in complete) == [
        "lr/learning_rate=0.0003", "lr/learning_rate=0.001", "lr/learning_rate=0.003"]
    assert first[0].number in [t.number for t in complete]  # not run again
    raw = (out / "metrics.jsonl").read_text().splitlines()
    starts = [json.loads(line)["cell"] for line in raw if '"epoch": 0,' in line]
    assert starts.count("lr=0.0003") == 1


def test_two_workers_run_every_cell_exactly_once(tmp_path):
    out = tmp_path / "run"
    # many short cells, so that the two workers claim cells at the same moments often
    lrs = "[0.0001, 0.0002, 0.0003, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05]"
    result = layerlab("sweep", "quickstart", "--workers", 2, "--set", "epochs=1", "--set",
                      f"learning_rates={lrs}", "--out", out)
    assert "2 worker(s)" in result.stdout
    trials = cell_trials(out)
    complete = [t.user_attrs["cell_key"] for t in trials
                if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(complete) == sorted(f"lr/learning_rate={lr}" for lr in json.loads(lrs))
    raw = (out / "metrics.jsonl").read_text().splitlines()
    starts = [json.loads(line)["cell"] for line in raw if '"epoch": 0,' in line]
    assert sorted(starts) == sorted(f"lr={lr}" for lr in json.loads(lrs))  # each ran once
    assert (out / "report.md").exists()


def test_list_compare_and_clear_errors(tmp_path):
    assert "quickstart" in layerlab("list").stdout
    for name, seed in (("a", 1), ("b", 2)):
        layerlab("run", "quickstart", *QUICK, "--seed", seed, "--out", tmp_path / name)
    table = layerlab("compare", tmp_path / "a", tmp_path / "b",
                     "--out", tmp_path / "compare.png").stdout
    assert table.splitlines()[0] == "| figure | reference | a | b |"
    assert "setting: seed" in table
    bad = layerlab("run", "nonesuch", check=False)
    assert bad.returncode != 0 and "layerlab list" in bad.stderr
    bad = layerlab("run", "quickstart", "--set", "epoch=3", check=False)
    assert bad.returncode != 0 and "no setting 'epoch'" in bad.stderr
    bad = layerlab("run", "quickstart", "--quick", "--out", tmp_path / "a", check=False)
    assert bad.returncode != 0 and "already holds a run" in bad.stderr


def test_set_values_take_the_type_of_the_default():
    from layerlab.lab import config, registry

    exp = registry.get("quickstart")
    resolved = config.resolve(exp, ["epochs=3", "hidden_dims=[1, 2]", "normalization=layernorm",
                                    "learning_rates=[0.1]"], quick=True, seed=5)
    assert resolved["epochs"] == 3 and resolved["hidden_dims"] == (1, 2)
    assert resolved["normalization"] == "layernorm" and resolved["learning_rates"] == (0.1,)
    assert resolved["seed"] == 5
    with pytest.raises(ValueError, match="expected int, like the default 10"):
        config.resolve(exp, ["epochs=2.5"])
    with pytest.raises(ValueError, match="key=value"):
        config.resolve(exp, ["epochs"])


def test_publish_keeps_what_the_report_needs_and_catalog_links_it(tmp_path):
    out = tmp_path / "run"
    layerlab("run", "quickstart", *QUICK, "--out", out)
    refused = layerlab("publish", out, tmp_path / "pub", check=False)
    assert refused.returncode != 0 and "--quick run" in refused.stderr
    dest = tmp_path / "results" / "quickstart"
    layerlab("publish", out, dest, "--allow-quick")
    kept = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert kept == ["cells.json", "config.json", "env.json", "plots/accuracy.png",
                    "plots/loss.png", "report.html", "report.md", "results.json", "status.json"]
    original = (dest / "report.md").read_text()
    (dest / "report.md").unlink()
    assert layerlab("report", dest, "--full").stdout.strip() == original.strip()
    page = tmp_path / "experiments.md"
    layerlab("catalog", "--results", tmp_path / "results", "--write", page)
    text = page.read_text()
    assert "(results/quickstart/report.md)" in text
    assert "## `quickstart`" in text and "| figure | ours | reference |" in text
    assert "| `layer-checks` | S1.1 |" in text and "not published yet" in text
    verdict = json.loads((dest / "results.json").read_text())["claims"]
    counts = [c["verdict"] for c in verdict.values()]
    assert (f"(results/quickstart/report.md) | {len(counts)} claim{'s' * (len(counts) != 1)}: "
            f"{len(counts)} {counts[0]} |") in text
    # a page in another folder links to the results with ../ (this crashed before)
    other = tmp_path / "elsewhere" / "experiments.md"
    other.parent.mkdir()
    layerlab("catalog", "--results", tmp_path / "results", "--write", other)
    assert "(../results/quickstart/report.md)" in other.read_text()
