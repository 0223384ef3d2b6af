"""batchnorm (S1.6) and layernorm (S1.7): the measurements, and what a quick run promises."""

import json

import numpy as np
import pytest

from layerlab.analysis import log_grid
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.studies.s1_norm.batchnorm import BatchnormConfig, training_note
from layerlab.studies.s1_norm.common import (
    ClosedFormBatchNorm,
    behind,
    count_within,
    final_loss,
    gone,
    use_closed_form_backward,
)
from layerlab.studies.s1_norm.layernorm import batch_dependence


@pytest.fixture(scope="module")
def bn_run(quick_run):
    run, results = quick_run("batchnorm")
    return run.path, results


@pytest.fixture(scope="module")
def ln_run(quick_run):
    run, results = quick_run("layernorm")
    return run.path, results


# --- the measurements ---------------------------------------------------------------------


def test_weight_scales_are_the_studys_twenty_log_spaced_values():
    cfg = BatchnormConfig()
    scales = log_grid(cfg.scale_low, cfg.scale_high, count=cfg.num_scales)
    assert len(scales) == 20 and scales[0] == 1e-4 and scales[-1] == 1.0
    steps = np.diff(np.log10(scales))
    assert np.allclose(steps, 4 / 19, atol=1e-3)  # rounding to 4 digits moves them a little


def test_count_within():
    assert count_within([0.30, 0.28, 0.24, 0.10, float("nan")], 0.05) == 2
    assert count_within([0.2, 0.2, 0.2], 0.0) == 3


def test_final_loss_is_the_last_epochs_mean_and_inf_after_divergence():
    assert final_loss([5, 5, 1, 2, 3], 3) == pytest.approx(2.0)
    assert final_loss([2.0, float("nan")], 2) == float("inf")


def test_diverged_groups_give_a_tables_label_and_a_claims_cells():
    # lost as common.train returns it: {cell values without the seed: {cell name: record}}
    lost = {("none", 10): {"c/norm=none,batch_size=10,seed=1": {"step": 7}},
            ("layernorm", 50): {"c/norm=layernorm,batch_size=50,seed=0": {"step": 3}}}
    assert gone(lost, ("batchnorm", 10)) is None
    assert gone(lost, ("batchnorm", 10), ("none", 10)) == "diverged (step 7)"
    assert behind(lost, ("batchnorm",)) is False  # its claim is judged as usual
    assert behind(lost, ("none", "batchnorm")) == ["c/norm=none,batch_size=10,seed=1"]
    assert len(behind(lost)) == 2


def test_layernorm_output_does_not_depend_on_the_batch_but_batchnorms_does(rng):
    x = rng.standard_normal((20, 8)) * 3 + 2
    ln = batch_dependence(LayerNorm, x, (5, 10))
    bn = batch_dependence(BatchNorm, x, (5, 10))
    assert max(ln.values()) < 1e-12
    assert min(bn.values()) > 1e-2
    assert batch_dependence(BatchNorm, x, (20,))[20] == 0.0  # one batch: the whole set


def test_closed_form_model_has_the_same_gradients_and_uses_backward_alt(rng):
    X, y = rng.standard_normal((6, 12)), rng.integers(4, size=6)
    graph = FullyConnectedNet([7, 5], input_dim=12, num_classes=4, normalization="batchnorm",
                              dtype=np.float64, seed=3)
    closed = use_closed_form_backward(
        FullyConnectedNet([7, 5], input_dim=12, num_classes=4, normalization="batchnorm",
                          dtype=np.float64, seed=3))
    assert any(s.layer is ClosedFormBatchNorm for s in closed.hidden.stages)
    assert not any(s.layer is BatchNorm for s in closed.hidden.stages)
    assert ClosedFormBatchNorm.backward is BatchNorm.backward_alt
    loss_g, grads_g = graph.loss(X, y)
    loss_c, grads_c = closed.loss(X, y)
    assert loss_g == loss_c
    for name in grads_g:
        np.testing.assert_allclose(grads_c[name], grads_g[name], rtol=1e-10, atol=1e-13)


# --- what a quick run promises ------------------------------------------------------------


def test_batchnorm_quick_run_has_every_part(bn_run):
    path, results = bn_run
    assert set(results["tables"]) == {"a_convergence", "b_weight_scale", "c_batch_size",
                                      "d_backward", "d_training"}
    assert set(results["plots"]) == {"a_loss", "a_accuracy", "b_weight_scale",
                                     "c_batch_size", "c_gain"}
    cfg = json.loads((path / "config.json").read_text())["config"]
    assert len(results["tables"]["b_weight_scale"]["rows"]) == cfg["num_scales"]
    assert results["plots"]["b_weight_scale"]["logx"] is True
    assert len(results["plots"]["b_weight_scale"]["panels"]) == 3
    assert len(results["tables"]["a_convergence"]["rows"]) == 2 * cfg["seeds"]
    assert len(results["tables"]["d_backward"]["rows"]) == 2 * len(cfg["bn_shapes"])
    names = " ".join(results["claims"])
    for part in ("(a) batchnorm converges faster", "(b) batchnorm is much less sensitive: at "
                 "least twice", "(b) batchnorm is much less sensitive: at most half",
                 "(c) larger batches help batchnorm", "(d) closed-form backward speed-up",
                 "(d) largest gradient difference", "(d) largest accuracy difference"):
        assert part in names, part
    assert "JPEG" in (path / "report.md").read_text()
    assert "(b) batchnorm at small weight scales" in results["notes"]
    assert "Diverged cells" not in results["notes"]  # nothing diverged: no note


def test_batchnorm_backward_claims_hold_in_a_quick_run(bn_run):
    _, results = bn_run
    claims = results["claims"]
    grad = next(c for n, c in claims.items() if n.startswith("(d) largest gradient"))
    assert grad["ours"] < 1e-12 and grad["kind"] == "goal" and grad["verdict"] == "met"
    acc = next(c for n, c in claims.items() if n.startswith("(d) largest accuracy"))
    assert acc["ours"] == 0 and acc["kind"] == "figure" and acc["verdict"] == "reproduced"
    faster = [c for n, c in claims.items() if n.startswith("(a) batchnorm converges faster")]
    assert len(faster) == 2 and all(c["kind"] == "comparison" for c in faster)
    for row in results["tables"]["d_backward"]["rows"]:
        speedup, graph_ms, closed_ms = row[8], row[6], row[7]
        assert speedup == pytest.approx(graph_ms / closed_ms)


def test_layernorm_quick_run_compares_three_nets_by_batch_size(ln_run):
    path, results = ln_run
    cfg = json.loads((path / "config.json").read_text())["config"]
    rows = results["tables"]["c_batch_size"]["rows"]
    assert len(rows) == 3 * len(cfg["batch_sizes"])
    assert {r[1] for r in rows} == {"baseline", "batchnorm", "layernorm"}
    assert [r[1] for r in results["tables"]["c_dependence"]["rows"]] == [
        "baseline", "batchnorm", "layernorm"] * 2
    forward = next(c for n, c in results["claims"].items()
                   if n.startswith("(c) a sample's layernorm output"))
    assert forward["ours"] < 1e-12 and forward["verdict"] == "reproduced"
    names = list(results["claims"])
    assert sum(n.startswith("(b) layernorm is much less sensitive") for n in names) == 2
    gains = [c for n, c in results["claims"].items()
             if n.startswith("(c) layernorm's gain over the baseline")]
    assert len(gains) == 2
    assert all(c["kind"] == "no-effect" and c["margin"] == cfg["scale_tolerance"]
               for c in gains)
    assert "d_backward" not in results["tables"]  # (d) is batchnorm's alone


def test_the_backward_training_note_is_worded_from_its_differences():
    same = training_note(0.0, 8.19e-11)
    assert "8.19e-11" in same and "changed no accuracy here" in same
    apart = training_note(0.004, 2e-3)
    assert "accuracies up to 0.004 apart" in apart and "no accuracy" not in apart
