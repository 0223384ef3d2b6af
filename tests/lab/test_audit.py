"""`layerlab audit`: verdicts judged again from their stored intervals; contradictions fail."""

import json
import subprocess
import sys

from layerlab.analysis import verdict as v
from layerlab.lab import audit
from layerlab.lab.rundir import Run


def judged_run(tmp_path):
    meta = {"experiment": "exp-audit", "study": "-", "title": "t", "quick": False,
            "run_id": "r", "config": {"seed": 0}}
    run = Run.create(tmp_path / "r", meta)
    run.judge("mean accuracy vs the study", "figure", v.from_seeds([0.93, 0.94, 0.95]), 0.9719)
    run.judge("beats the baseline", "comparison", v.from_pairs([0.8, 0.82, 0.81],
                                                                [0.7, 0.71, 0.72]))
    run.judge("goal on one seed", "goal", v.from_seeds([0.99]), 0.98)
    run.judge("just measured", "measured", v.exact(3.0))
    # a claim as the older rule stored it (published reports made before intervals)
    results = json.loads((run.path / "results.json").read_text())
    results["claims"]["old style"] = {"name": "old style", "ours": 0.5, "reference": 0.4,
                                      "better": "higher", "tolerance": 0.0,
                                      "verdict": "beaten", "reason": "above the reference"}
    (run.path / "results.json").write_text(json.dumps(results))
    return run


def test_a_consistent_run_passes_and_weak_claims_are_named(tmp_path, capsys):
    run = judged_run(tmp_path)
    claims = json.loads((run.path / "results.json").read_text())["claims"]
    assert claims["mean accuracy vs the study"]["verdict"] == "below"
    assert claims["mean accuracy vs the study"]["estimate"]["how"] == "seeds"
    assert audit.main([run.path]) == 0
    out = capsys.readouterr().out
    assert "5 claims (" in out and "1 no interval" in out and "1 measured" in out
    assert "ONE SEED: goal on one seed" in out and "CONTRADICTION" not in out
    states = {n: a["state"] for n, a in audit.audit_run(run.path)["claims"].items()}
    assert states == {"mean accuracy vs the study": "ok", "beats the baseline": "ok",
                      "goal on one seed": "one seed", "old style": "no interval",
                      "just measured": "measured"}


def test_a_verdict_that_contradicts_its_own_interval_fails_the_audit(tmp_path):
    run = judged_run(tmp_path)
    path = run.path / "results.json"
    results = json.loads(path.read_text())
    results["claims"]["mean accuracy vs the study"]["verdict"] = "reproduced"  # as once stored
    path.write_text(json.dumps(results))
    done = subprocess.run([sys.executable, "-m", "layerlab", "audit", str(run.path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "CONTRADICTION: mean accuracy vs the study: stored 'reproduced'" in done.stdout
    assert "gives 'below'" in done.stdout


def test_audit_of_a_folder_that_is_not_a_run_says_so(tmp_path, capsys):
    assert audit.main([tmp_path]) == 2
    assert "is not a run folder" in capsys.readouterr().err
