"""Divergence as an outcome in batchnorm, layernorm and conv-nets: quick runs with a rate that
explodes, through the real command. Each finishes, says where its cells diverged, shows them as
'diverged (step N)' in place of their figures, and judges nothing that needed one (the claim
names the cells), while the parts trained at a sane rate are judged as usual.

conv-nets (a) trains at a fixed rate (no setting makes it diverge), so only (b) and (c) are
driven here."""

import json
import math

from divergence_helpers import no_bad_figures, run_quick


def _claims(results, start):
    """The claims whose name starts with `start` (at least one)."""
    found = {n: c for n, c in results["claims"].items() if n.startswith(start)}
    assert found, start
    return found


def _not_judged(results, start, *cells):
    """Every claim named `start`... has no estimate, and its judgement names `cells` as
    diverged (a 'measured' claim has no verdict to withhold: it keeps 'measured')."""
    for name, claim in _claims(results, start).items():
        assert claim["ours"] is None and claim["estimate"] is None, name
        assert all(c in claim["diverged"] for c in cells), (name, claim["diverged"])
        if claim["kind"] != "measured":
            assert claim["verdict"] == "not judged", (name, claim["reason"])
            assert all(c in claim["reason"] for c in cells), (name, claim["reason"])


def _judged(results, start):
    """Every claim named `start`... is judged as usual (one quick seed may leave it without an
    interval, never for divergence)."""
    for name, claim in _claims(results, start).items():
        assert claim["diverged"] is False and claim["estimate"] is not None, name
        assert "diverged" not in claim["reason"], (name, claim["reason"])


def _labelled(table, rows=None):
    """Every figure of the chosen rows reads 'diverged (step N)'."""
    for row in (table["rows"] if rows is None else [table["rows"][i] for i in rows]):
        assert any(str(c).startswith("diverged (step ") for c in row), row


def test_batchnorm_with_an_exploding_rate_in_a_b_and_d(tmp_path):
    # learning_rate drives (a), (b) and (d); (c) trains at batch_learning_rate, left sane
    results, report = run_quick(tmp_path, "batchnorm", "learning_rate=1e6")
    assert "## Diverged cells" in report and "diverged (step 2)" in report
    note = results["notes"]["Diverged cells"]
    for cell in ("a_convergence/norm=batchnorm,seed=1", "b_weight_scale/norm=none,"
                 "weight_scale=1.0,seed=0", "d_training/norm=batchnorm,backward=closed,seed=0"):
        assert f"{cell} at step 2" in note
    assert "c_batch_size/" not in note
    _not_judged(results, "(a) ", "a_convergence/norm=none,seed=0",
                "a_convergence/norm=batchnorm,seed=1")
    _not_judged(results, "(b) batchnorm is much less sensitive",
                "b_weight_scale/norm=none,weight_scale=0.0001,seed=0",
                "b_weight_scale/norm=batchnorm,weight_scale=1.0,seed=0")
    _not_judged(results, "(d) largest accuracy difference",
                "d_training/norm=batchnorm,backward=graph,seed=0")
    _judged(results, "(c) larger batches help batchnorm")
    assert _claims(results, "(d) largest gradient difference").popitem()[1]["verdict"] == "met"
    tables = results["tables"]
    for name in ("a_convergence", "b_weight_scale", "d_training"):
        _labelled(tables[name])
    assert not any("diverged" in str(c) for r in tables["c_batch_size"]["rows"] for c in r)
    assert results["plots"]["a_loss"]["series"] == {}  # no mean curve of a diverged net
    no_bad_figures(results, bad=r"\b(nan|inf)\b|n/a")


def test_layernorm_with_an_exploding_rate_in_c(tmp_path):
    # batch_learning_rate drives (c) alone; (b) is judged as usual
    results, report = run_quick(tmp_path, "layernorm", "batch_learning_rate=1e6")
    assert "## Diverged cells" in report and "diverged (step 2)" in report
    assert "c_batch_size/norm=layernorm,batch_size=50,seed=1 at step 2" in \
        results["notes"]["Diverged cells"]
    _not_judged(results, "(c) layernorm's gain over the baseline",
                "c_batch_size/norm=none,batch_size=10,seed=0",
                "c_batch_size/norm=layernorm,batch_size=50,seed=1")
    assert "batchnorm" not in json.dumps(  # the batchnorm cells are not behind that claim
        [c["diverged"] for c in _claims(results, "(c) layernorm's gain").values()])
    _judged(results, "(b) layernorm is much less sensitive")
    forward = _claims(results, "(c) a sample's layernorm output").popitem()[1]
    assert forward["verdict"] == "reproduced"  # no training behind it
    _labelled(results["tables"]["c_batch_size"])
    _labelled(results["tables"]["c_dependence"])
    assert all(math.isnan(float(y)) for p in results["plots"]["c_gain"]["panels"]
               for _, ys in p["series"].values() for y in ys)
    no_bad_figures(results, bad=r"\b(nan|inf)\b|n/a")


def test_conv_nets_with_an_exploding_rate_in_b_and_c(tmp_path):
    results, report = run_quick(tmp_path, "conv-nets", "epoch_lr=1e6", "deep_lr=1e6")
    assert "## Diverged cells" in report and "diverged (step 2)" in report
    note = results["notes"]["Diverged cells"]
    assert "b_one_epoch/pixel_scale=255.0,seed=4 at step 2" in note
    assert "c_deep/variant=no batchnorm, Kaiming,seed=1 at step 2" in note
    _not_judged(results, "(b) val accuracy", "b_one_epoch/pixel_scale=255.0,seed=0")
    _not_judged(results, "(b) train accuracy", "b_one_epoch/pixel_scale=255.0,seed=3")
    _not_judged(results, "(b) wall time per epoch", "b_one_epoch/pixel_scale=255.0,seed=1")
    _not_judged(results, "(c) batchnorm converges faster", "c_deep/variant=batchnorm, "
                "Kaiming,seed=0", "c_deep/variant=no batchnorm, Kaiming,seed=1")
    _not_judged(results, "(c) final val accuracy gain", "c_deep/variant=batchnorm, Kaiming,seed=1")
    pick = _claims(results, "(c) the best variant").popitem()
    assert pick[1]["verdict"] == "not judged" and "no pick" in pick[1]["note"], pick
    _judged(results, "(a) overfitting")
    tables = results["tables"]
    _labelled(tables["c_deep"])
    _labelled(tables["b_one_epoch"])
    assert not any("diverged" in str(c) for r in tables["a_overfit"]["rows"] for c in r)
    assert results["plots"]["c_deep_loss"]["series"] == {}
    assert all(p["series"] == {} for p in results["plots"]["b_loss"]["panels"])
    no_bad_figures(results, bad=r"\b(nan|inf)\b|n/a")
