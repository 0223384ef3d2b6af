"""lenet-fashion: the quick run's report, and `layerlab eval` on its saved weights (real CLI);
the verdicts' arithmetic on made-up per-seed results."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")


def test_report_has_every_variant_and_the_reload_claim(quick_run):
    run, results = quick_run("lenet-fashion")
    rows = results["tables"]["accuracy"]["rows"]
    assert [r[0] for r in rows] == ["baseline", "dropout 0.5", "L2 (weight decay 0.01)",
                                    "optimised L2 (weight decay 0.001, 20 epochs)", "batchnorm"]
    assert [r[2] for r in rows] == [0.9321, 0.8894, 0.8433, 0.9076, 0.9448]  # the study's
    reload = [c for n, c in results["claims"].items() if n.startswith("saved weights")]
    assert reload and reload[0]["ours"] == 0 and reload[0]["verdict"] == "met"
    claims = results["claims"]
    assert claims["baseline: final val accuracy"]["kind"] == "figure"
    assert claims["baseline: final val accuracy"]["figure_n"] == 6000  # the study's own split
    assert claims["batchnorm beats baseline on val accuracy (the study's order)"]["kind"] == \
        "comparison"
    assert claims["baseline beats L2 (weight decay 0.01) on val accuracy (the study's order)"][
        "kind"] == "comparison"
    # one seed in the quick run: no interval over seeds, so no goal or comparison is judged
    assert {c["verdict"] for c in claims.values() if c["kind"] in ("comparison", "figure")} == \
        {"not judged"}
    assert len(list((run.path / "weights").glob("*.pt"))) == 5  # one model per variant


def test_layerlab_eval_reloads_and_matches_to_the_last_image(quick_run):
    run, _ = quick_run("lenet-fashion")
    out = subprocess.run([sys.executable, "-m", "layerlab", "eval", str(run.path),
                          "--cell", "batchnorm"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "every split matches to the last image" in out.stdout
    assert out.stdout.count(" yes") == 3  # train, val and test of the one model asked for


def test_eval_reports_a_mismatch(quick_run, tmp_path, capsys):
    """A weights file whose saved count disagrees with its weights fails `layerlab eval`."""
    import shutil

    from layerlab.cli import main
    from layerlab.pytorch import checkpoint

    run, _ = quick_run("lenet-fashion")
    (tmp_path / "weights").mkdir()
    src = next((run.path / "weights").glob("*baseline*.pt"))
    shutil.copy(src, tmp_path / "weights" / src.name)
    saved = checkpoint.read(src)
    correct = saved["extra"]["correct"]
    correct["val"][0] += 1
    checkpoint.save(tmp_path / "weights" / src.name, checkpoint.load(src), saved["config"],
                    {"correct": correct})
    assert main(["eval", str(tmp_path), "--threads", "0"]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "nothing"), "--threads", "0"]) == 2


def test_best_run_has_the_recipe_and_the_short_one_cycle(quick_run):
    run, results = quick_run("lenet-fashion-best")
    rows = results["tables"]["accuracy"]["rows"]
    assert [r[0] for r in rows] == ["best recipe", "short one-cycle"]
    claims = results["claims"]
    speed = {n: c for n, c in claims.items()
             if n.startswith("short one-cycle") and "training time" in n}
    assert len(speed) == 2  # against the 30 s goal and the one-cycle goal of 40 s
    assert {c["reference"] for c in speed.values()} == {30, 40}
    assert all(c["kind"] == "goal" and c["better"] == "lower" for c in speed.values())
    best = claims["best recipe: test accuracy >= 91.5% (layerlab's goal)"]
    assert best["kind"] == "goal" and best["estimate"]["how"] == "seeds+images"
    assert best["verdict"] == "not judged"  # one seed in the quick run
    assert len(list((run.path / "weights").glob("fast*.pt"))) == 1


class _Claims:
    """A stand-in run that keeps what the study judges (name -> stored claim)."""

    def __init__(self):
        self.claims = {}

    def judge(self, name, kind, estimate, reference=None, **kw):
        from layerlab.analysis.verdict import judge

        self.claims[name] = {"kind": kind, "estimate": estimate, **judge(
            kind, estimate, reference, better=kw.get("better", "higher"),
            figure_n=kw.get("figure_n"), margin=kw.get("margin"),
            diverged=kw.get("diverged", False))}


def _result(test, val=0.90, seconds=(12.0, 12.0), test_acc=(0.88, 0.895)):
    return {"final": {"train": 0.95, "val": val, "test": test}, "epoch_time": 12.0,
            "correct": {"train": [0, 54_000], "val": [0, 6_000], "test": [0, 10_000]},
            "history": {"epoch": [1, 2], "time": list(seconds), "test_acc": list(test_acc)}}


def test_a_goal_cleared_by_a_few_images_is_within_noise():
    """The published best recipe (0.9135, 0.9160, 0.9165: mean 0.9153) against 91.5%: the
    test set's own noise (about ±0.55 points) alone straddles the goal."""
    from layerlab.studies import s4_claims, s4_lenet

    run, cfg = _Claims(), s4_lenet.LeNetBestConfig(seeds=(0, 1, 2))
    by = {"recipe": [_result(t) for t in (0.9135, 0.9160, 0.9165)],
          "fast": [_result(t) for t in (0.894, 0.895, 0.893)]}
    s4_claims.accuracy_claims(cfg, run, by, {})
    best = run.claims["best recipe: test accuracy >= 91.5% (layerlab's goal)"]
    assert best["verdict"] == "within noise" and best["estimate"].how == "seeds+images"
    assert best["estimate"].low < 0.915 < best["estimate"].high


def test_speed_goals_are_judged_over_seeds_and_a_seed_that_never_reached_is_not_judged():
    from layerlab.studies import s4_claims, s4_lenet

    run, cfg = _Claims(), s4_lenet.LeNetBestConfig(seeds=(0, 1, 2))
    fast = [_result(0.894, seconds=(s / 2, s / 2)) for s in (23.7, 25.7, 23.7)]
    slow = [_result(0.915, seconds=(40.0, 45.0)) for _ in range(3)]
    s4_claims.speed_claims(cfg, run, {"recipe": slow, "fast": fast}, {})
    verdicts = {n: c["verdict"] for n, c in run.claims.items()}
    assert sorted(verdicts.values()) == ["met", "met", "not met"]  # 30 s, 40 s; recipe 85 s
    fast[1]["history"]["test_acc"] = [0.85, 0.889]  # one seed never reaches 89%
    run = _Claims()
    s4_claims.speed_claims(cfg, run, {"recipe": slow, "fast": fast}, {})
    assert [c["verdict"] for n, c in run.claims.items() if n.startswith("short")] == \
        ["not judged", "not judged"]


def test_variants_are_compared_with_the_baseline_in_the_studys_order():
    from layerlab.studies import s4_claims

    run = _Claims()
    base = [0.890, 0.893, 0.895]
    by = {"baseline": [_result(0.89, val=v) for v in base],
          "dropout": [_result(0.89, val=v + 0.004) for v in base],  # the study: above
          "l2": [_result(0.83, val=v - 0.05 + 0.001 * i) for i, v in enumerate(base)],
          "batchnorm": [_result(0.89, val=v + d)
                        for v, d in zip(base, (0.01, -0.01, 0.0), strict=True)]}
    s4_claims.comparison_claims(run, by, {})
    got = {n.split(" on val")[0]: c["verdict"] for n, c in run.claims.items()}
    assert got == {"dropout 0.5 beats baseline": "holds",
                   "baseline beats L2 (weight decay 0.01)": "holds",
                   "batchnorm beats baseline": "not shown"}


def test_a_diverged_variant_has_no_claim_judged_and_names_its_cells():
    from layerlab.studies import s4_claims, s4_lenet

    cfg = s4_lenet.LeNetBestConfig(seeds=(0, 1, 2))
    fast = [_result(0.894, seconds=(s / 2, s / 2)) for s in (23.7, 25.7, 23.7)]
    fast[2]["diverged"] = {"step": 7, "epoch": 2, "last_finite_loss": 0.4}
    by = {"recipe": [_result(0.915, seconds=(40.0, 45.0)) for _ in range(3)], "fast": fast}
    lost = {"fast": {"fast/seed=2": fast[2]["diverged"]}}
    run = _Claims()
    s4_claims.speed_claims(cfg, run, by, lost)
    s4_claims.accuracy_claims(cfg, run, by, lost)
    short = [c for n, c in run.claims.items() if n.startswith("short")]
    assert len(short) == 3 and all(c["verdict"] == "not judged" for c in short)
    assert all(c["reason"] == "cells behind it diverged: fast/seed=2" for c in short)
    recipe = [c["verdict"] for n, c in run.claims.items() if n.startswith("best recipe")]
    assert recipe == ["not met", "within noise"]  # 85 s against 40 s; 91.53% against 91.5%


def test_the_best_recipe_is_said_to_reach_the_target_later_only_when_it_does():
    from layerlab.studies.s4_claims import _recipe_reason
    later = _recipe_reason({"recipe": [30.0, 34.0], "fast": [20.0, 22.0]})
    assert "later than the short one-cycle (mean 32.0 s against 21.0 s)" in later
    for times in ({"recipe": [18.0, 20.0], "fast": [20.0, 22.0]},
                  {"recipe": [30.0, None], "fast": [20.0, 22.0]}, {"recipe": None, "fast": [20.0]}):
        reason = _recipe_reason(times)
        assert "later" not in reason and reason.startswith("a one-cycle over more epochs")
