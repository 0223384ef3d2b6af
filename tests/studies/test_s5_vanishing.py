"""S5: the nine models, their initialisation, and the quick run's report."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import VanishingNet, set_seed  # noqa: E402
from layerlab.studies.s5_vanishing import build  # noqa: E402

WIDTHS = (512, 256, 128, 64, 32, 16)


@pytest.mark.parametrize("setting,linears,bn", [("plain", 7, 0), ("deep", 17, 0),
                                                ("fixed", 17, 16)])
def test_layer_counts(setting, linears, bn):
    model = build(setting, "tanh", WIDTHS, 10, 16)
    kinds = [type(m).__name__ for m in model.net]
    assert kinds.count("Linear") == linears
    assert kinds.count("BatchNorm1d") == bn
    assert kinds.count("Tanh") == linears - 1
    assert model.linear_names()[0] == "net.fc1" and model(torch.zeros(2, 3, 32, 32)).shape == (
        2, 10)


@pytest.mark.parametrize("activation,init,gain", [("relu", "he", 2 ** 0.5),
                                                  ("sigmoid", "xavier", 1.0),
                                                  ("tanh", "xavier", 5 / 3)])
def test_fixed_initialisation_has_the_right_scale(activation, init, gain):
    set_seed(0)
    model = build("fixed", activation, WIDTHS, 10, 16)
    assert model.config["init"] == init
    fc1 = model.net.fc1.weight  # (512, 3072): enough entries for a tight std estimate
    fan_in, fan_out = fc1.shape[1], fc1.shape[0]
    want = gain / fan_in ** 0.5 if init == "he" else gain * (2 / (fan_in + fan_out)) ** 0.5
    assert fc1.std().item() == pytest.approx(want, rel=0.01)
    assert torch.count_nonzero(model.net.fc1.bias) == 0


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        VanishingNet([4], activation="gelu")
    with pytest.raises(ValueError, match="setting must be one of"):
        build("wide", "relu", WIDTHS, 10, 16)


def test_quick_report_has_nine_runs_and_plots(quick_run):
    run, results = quick_run("vanishing-gradients")
    assert len(results["tables"]["gradients"]["rows"]) == 9
    assert results["plots"]["grad_grid"]["kind"] == "layers"  # a layer x epoch heat map
    assert len(results["plots"]["grad_grid"]["panels"]) == 9
    assert {"grad_grid", "grad_by_depth", "loss"} <= set(results["plots"])
    deep = next(r for r in results["tables"]["gradients"]["rows"]
                if r[:2] == ["sigmoid", "deep"])
    assert deep[6] == "1e-14"  # the reference is printed beside ours
    assert "Epoch wall time" in results["notes"]["Settings and choices"]


def test_quick_report_spread_table_is_the_plotted_norms_per_epoch(quick_run):
    """Each spread cell is log10(largest / smallest) of the epoch means the grid plots, and
    the count of epochs within one order agrees with the fixed run's claim."""
    import math

    _, results = quick_run("vanishing-gradients")
    panels = {p["title"]: p for p in results["plots"]["grad_grid"]["panels"]}
    rows = results["tables"]["spread"]["rows"]
    assert [r[:2] for r in rows] == [[a, s] for a in ("sigmoid", "tanh", "relu")
                                     for s in ("deep", "fixed")]
    for activation, setting, *spread, within in rows:
        norms = panels[f"{activation}, {setting}"]["values"]
        for e, value in enumerate(spread):
            column = [n[e] for n in norms]
            assert value == pytest.approx(math.log10(max(column) / min(column)), rel=1e-9)
        assert within == f"{sum(v <= 1 for v in spread)} of {len(spread)}"
        seeds = [r for r in results["tables"]["per_seed"]["rows"] if r[:2] == [activation,
                                                                               setting]]
        assert seeds[0][2] == 0 and seeds[0][5] == pytest.approx(max(spread), rel=1e-12)
        if setting == "fixed":
            claim = results["claims"][f"{activation}, fixed: every layer's gradient norm within "
                                      "one order of magnitude of every other's, in every epoch"]
            assert claim["kind"] == "goal" and claim["estimate"]["n"] == len(seeds) == 2
            assert claim["ours"] == pytest.approx(sum(r[5] for r in seeds) / 2, rel=1e-12)
    assert "fc1's gradient norm is" in results["notes"]["The first epoch of the fixed ReLU net"]


def test_quick_claims_are_judged_over_seeds(quick_run):
    """The study's 1e-14 is a figure, the thresholds layerlab's goals, the orderings
    comparisons paired by seed: every interval from the per-seed table, no bare claim."""
    from layerlab.analysis import verdict

    _, results = quick_run("vanishing-gradients")
    claims, rows = results["claims"], results["tables"]["per_seed"]["rows"]
    assert len(rows) == 18 and all("kind" in c for c in claims.values())
    col = {(a, s): [r for r in rows if r[:2] == [a, s]] for a, s, *_ in rows}
    early = claims["deep sigmoid net: smallest early-layer (fc1) gradient norm, log10"]
    assert early["kind"] == "figure" and early["reference"] == -14.0
    assert early["estimate"] == verdict.from_seeds([r[3] for r in col[("sigmoid", "deep")]]
                                                   ).as_dict()
    several = claims["deep sigmoid net: fc1's gradient norm at least 3 orders of magnitude "
                     "below the last layer's"]
    assert several["kind"] == "goal" and "layerlab's goal" in several["source"]
    order = claims["plain nets: relu's final test accuracy above tanh's"]
    assert order["kind"] == "comparison" and order["estimate"] == verdict.from_pairs(
        [r[7] for r in col[("relu", "plain")]], [r[7] for r in col[("tanh", "plain")]]).as_dict()
    assert {c["verdict"] for c in claims.values()} <= set(verdict.VERDICTS) - {"not judged"}


def test_the_first_epoch_note_reads_the_prediction_from_the_measured_steps():
    from layerlab.studies.s5_vanishing import _first_epoch_text
    run = {"fc1_first_epoch": [59.3, 3.0, 1.8], "numel": {"fc1": 1_572_864, "fc2": 131_072,
                                                          "fc3": 160},
           "grad_epoch": {"fc1": [3.3], "fc2": [1.0], "fc3": [0.5]},
           "grad_first_step": {"fc1": 59.3, "fc2": 2.0, "fc3": 0.443}}
    shown = _first_epoch_text(run)
    assert "(Yang et al. 2019), as here" in shown and "on step 3 and 1.8" in shown
    assert "fc1 has 1,572,864 weights, the next largest layer 131,072" in shown
    quiet = _first_epoch_text({**run, "grad_first_step": {"fc1": 59.3, "fc2": 2.0, "fc3": 70.0}})
    assert "does not show" in quiet and "as here" not in quiet
