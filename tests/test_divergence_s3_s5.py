"""Divergence as an outcome in S3 (pytorch-apis, open-model), S4 (lenet-fashion,
lenet-fashion-best) and S5 (vanishing-gradients): real quick runs of the real CLI with an
exploding learning rate finish, show the diverged cells, leave them out of every table figure,
pick and curve, and mark the claims that needed them *not judged*, naming them."""

import math
import re

import pytest
from divergence_helpers import run_quick

pytest.importorskip("torch")




def _check(results, report):
    """What holds in every run with a diverged cell: the note and the report show it, a claim
    that needed one is not judged, has no estimate and names its cells (each one of the note's),
    and no table figure or report number is NaN or infinite. Returns the diverged claims."""
    note = results["notes"]["Diverged cells"]
    assert "## Diverged cells" in report and "diverged (step " in report
    assert not re.search(r"\b(nan|inf)\b", report, re.IGNORECASE)
    for table in results["tables"].values():
        for row in table["rows"]:
            for cell in row:
                assert not (isinstance(cell, float) and not math.isfinite(cell)), row
    dead = {n: c for n, c in results["claims"].items() if c["diverged"]}
    for name, claim in dead.items():
        assert claim["verdict"] == "not judged" and claim["estimate"] is None, name
        assert claim["reason"].startswith("cells behind it diverged: "), name
        for cell in claim["diverged"]:
            assert cell in claim["reason"] and f"{cell} at step " in note, (name, cell)
    for name, claim in results["claims"].items():  # the others are not blamed on divergence
        if name not in dead:
            assert not claim["reason"].startswith("cells behind it diverged"), name
    return dead


def test_pytorch_apis_with_an_exploding_fc_rate(tmp_path):
    results, report = run_quick(tmp_path, "pytorch-apis", "lr_fc=1e30")
    dead = _check(results, report)
    fc = [f"train/net=fc,style={s}" for s in ("functional", "module", "sequential")]
    assert set(dead) == {
        "fc net: one epoch of training gives the same losses in all three styles (max "
        "step-loss difference <= 0.001)", "fc net after 1 epoch: validation accuracy (module "
        "style)"}
    assert next(c for n, c in dead.items() if "same losses" in n)["diverged"] == fc
    assert next(c for n, c in dead.items() if "validation" in n)["diverged"] == [fc[1]]
    conv = {n: c["verdict"] for n, c in results["claims"].items() if n.startswith("conv")}
    assert sorted(conv.values()) == ["measured", "met"]  # the conv net trained as before
    rows = results["tables"]["training"]["rows"]
    assert all(c.startswith("diverged (step ") for r in rows if r[0] == "fc" for c in r[2:])
    assert all(isinstance(c, float) for r in rows if r[0] == "conv" for c in r[2:])
    fc_panel, conv_panel = results["plots"]["step_loss"]["panels"]
    assert fc_panel["series"] == {} and len(conv_panel["series"]) == 3


def test_open_model_picks_among_the_recipes_that_finished(tmp_path):
    results, report = run_quick(tmp_path, "open-model", "tune_lrs=(1e-3,1e30)", "batch_size=32")
    dead = _check(results, report)
    cells = [f"tune/recipe=lr 1e+30, wd 0.0001, kernels (5, 3), fc 256-128-10,seed={s}"
             for s in (0, 1, 2)]  # every tuning seed of the exploding rate
    assert {n.split(" (")[0]: sorted(c["diverged"]) for n, c in dead.items()} == {
        "best learning rate": cells, "tuning grid": cells}  # wall time: a cell stopped early
    rows = {r[1]: r for r in results["tables"]["tuning"]["rows"]}
    assert rows[1e30][6].startswith("diverged (step ") and rows[1e30][-1] == ""
    assert [r[-1] for r in rows.values()].count("picked") == 1 and rows[1e-3][6] > 0
    test = next(c for n, c in results["claims"].items() if n.startswith("open model: test"))
    assert test["estimate"]["n"] == 2 and test["note"].startswith("lr 0.001,")
    assert len(results["tables"]["final"]["rows"]) == 2


def test_open_model_with_every_recipe_diverged(tmp_path):
    results, report = run_quick(tmp_path, "open-model", "lr=1e30", "tune_lrs=(1e30,)",
                           "batch_size=32")
    dead = _check(results, report)
    assert set(dead) == set(results["claims"]) and len(dead) == 2  # no pick, no final model
    assert "final" not in results["tables"] and "final_curves" not in results["plots"]
    rows = results["tables"]["tuning"]["rows"]
    assert all(r[6].startswith("diverged (step ") and r[-1] == "" for r in rows)


def test_lenet_fashion_with_an_exploding_rate(tmp_path):
    results, report = run_quick(tmp_path, "lenet-fashion", "lr=1e30")
    dead = _check(results, report)
    judged = set(results["claims"]) - set(dead)  # every model still saves and reloads
    assert [n.split(":")[0] for n in judged] == ["saved weights reloaded into a fresh model"]
    pick = next(c for n, c in dead.items() if "the study variant with the lowest mean" in n)
    assert len(pick["diverged"]) == 5  # no variant left to pick: any might have been it
    assert dead["baseline beats L2 (weight decay 0.01) on val accuracy (the study's order)"][
        "diverged"] == ["variants/variant=baseline,seed=0", "variants/variant=l2,seed=0"]
    for row in results["tables"]["accuracy"]["rows"]:
        assert isinstance(row[2], float)  # the study's figures stay
        assert all(c.startswith("diverged (step ") for c in row[1:2] + row[3:4] + row[5:])
    assert all(p["series"] == {} for p in results["plots"]["accuracy"]["panels"])


def test_lenet_fashion_best_with_a_diverging_short_one_cycle(tmp_path):
    results, report = run_quick(tmp_path, "lenet-fashion-best", "fast_max_lr=1e30")
    dead = _check(results, report)
    assert len(dead) == 3 and all(n.startswith("short one-cycle") for n in dead)
    assert all(c["diverged"] == ["fast/seed=0"] for c in dead.values())
    best = results["claims"]["best recipe: test accuracy >= 91.5% (layerlab's goal)"]
    assert best["estimate"]["n"] == 1 and best["reason"].startswith("no interval")
    rows = {r[0]: r for r in results["tables"]["accuracy"]["rows"]}
    assert rows["short one-cycle"][1].startswith("diverged (step ")
    assert not rows["best recipe"][1].startswith("diverged")
    assert list(results["plots"]["accuracy"]["panels"][0]["series"]) == ["best recipe"]


def test_vanishing_gradients_shows_exploded_runs_as_outcomes(tmp_path):
    results, report = run_quick(tmp_path, "vanishing-gradients", "learning_rate=1e30")
    dead = _check(results, report)
    assert set(dead) == set(results["claims"]) and len(dead) == 21
    assert dead["deep sigmoid net: smallest early-layer (fc1) gradient norm, log10"][
        "diverged"] == [f"runs/activation=sigmoid,setting=deep,seed={k}" for k in (0, 1)]
    for table, first in (("gradients", 3), ("spread", 2), ("per_seed", 3)):  # first figure
        rows = results["tables"][table]["rows"]
        assert rows and all(r[first].startswith("diverged (step ") for r in rows), table
    assert results["plots"] == {}  # nothing finished to draw
