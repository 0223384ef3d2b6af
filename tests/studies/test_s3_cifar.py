"""S3: the three API styles agree for identical weights; the open model; the quick reports."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.analysis.picks import best_vs_runner_up  # noqa: E402
from layerlab.pytorch import MODELS, OpenModel, checkpoint  # noqa: E402
from layerlab.pytorch.api_styles import (  # noqa: E402
    STYLES,
    TwoLayerFC,
    conv_params,
    fc_params,
    load_functional,
    three_styles,
)
from layerlab.studies.s3_cifar import OpenModelConfig, tuning_cells  # noqa: E402
from layerlab.studies.s3_picks import pick_claims  # noqa: E402


@pytest.mark.parametrize("kind,shape", [("fc", {"hidden": 50}),
                                        ("conv", {"channels": (8, 4), "kernels": (5, 3)})])
def test_identical_weights_identical_outputs_and_gradients(kind, shape):
    params = fc_params(50, seed=3) if kind == "fc" else conv_params((8, 4), (5, 3), seed=3)
    models = three_styles(kind, params, **shape)
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    outs, grads = {}, {}
    for style in STYLES:
        out = models[style](x)
        torch.nn.functional.cross_entropy(out, y).backward()
        outs[style] = out.detach()
        grads[style] = [models[style].params[k].grad for k in params] \
            if style == "functional" else [p.grad for p in models[style].parameters()]
    for style in ("module", "sequential"):
        assert (outs[style] - outs["functional"]).abs().max() <= 1e-6
        assert len(grads[style]) == len(grads["functional"])
        for g, ref in zip(grads[style], grads["functional"], strict=True):
            assert torch.allclose(g, ref, rtol=1e-5, atol=1e-7)
    # the copies are copies: changing the functional weights leaves the others alone
    with torch.no_grad():
        models["functional"].params[next(iter(params))].add_(1.0)
    assert (models["module"](x) - outs["module"]).abs().max() == 0


def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match="does not fit"):
        load_functional(TwoLayerFC(hidden=10), "fc", fc_params(50))


@pytest.mark.parametrize("kernels,fc", [((5, 3), (256, 128)), ((3, 1), (128, 64)),
                                        ((5, 1), (256, 64))])
def test_open_model_shapes_and_size(kernels, fc):
    model = OpenModel(kernels, fc)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    k1, k2 = kernels
    convs = (3 * 64 * k1 * k1 + 64) + 2 * 64 + (64 * 32 * k2 * k2 + 32) + 2 * 32
    head = (2048 * fc[0] + fc[0]) + (fc[0] * fc[1] + fc[1]) + (fc[1] * 10 + 10)
    assert model.count_params() == convs + head  # batchnorm: gamma and beta per channel


def test_tuning_cells_vary_one_factor_at_a_time():
    cfg = OpenModelConfig()
    cells = tuning_cells(cfg)
    assert len(cells) == 9  # base + 2 lr + 2 wd + 2 kernel pairs + 2 widths
    base = cells[0]
    for c in cells[1:]:
        assert sum(c[k] != base[k] for k in base) == 1


def test_quick_reports(quick_run):
    _, apis = quick_run("pytorch-apis")
    rows = apis["tables"]["equivalence"]["rows"]
    assert len(rows) == 8 and all(r[3] <= 1e-6 for r in rows)
    _, open_ = quick_run("open-model")
    assert open_["tables"]["tuning"]["rows"] and open_["tables"]["final"]["rows"]
    assert any(n.startswith("open model: test accuracy") for n in open_["claims"])
    wall = [c for n, c in open_["claims"].items() if n.startswith("tuning grid")]
    assert len(wall) == 1 and 0 < wall[0]["ours"] < 60 and wall[0]["better"] == "lower"
    assert wall[0]["kind"] == "goal" and wall[0]["verdict"] == "met"
    test = next(c for n, c in open_["claims"].items() if n.startswith("open model: test"))
    assert test["kind"] == "goal" and test["estimate"]["how"] == "seeds+images"
    assert test["estimate"]["n"] == 2 and len(open_["tables"]["final"]["rows"]) == 2
    for name, c in apis["claims"].items():  # equal outputs and losses: exact, met; the rest
        assert (c["kind"], c["verdict"]) == (("measured", "measured") if "validation" in name
                                             else ("goal", "met")), name
        assert c["estimate"]["how"] == ("images" if "validation" in name else "exact")


def _cells(scores, n=5000):
    """Fake tuning cells: {candidate: [val acc per seed]} -> {candidate: [cell result]}."""
    return {k: [{"final": {"val": v}, "correct": {"val": [round(v * n), n]}} for v in vs]
            for k, vs in scores.items()}


def test_a_pick_on_one_seed_is_not_judged_and_names_its_ties():
    """The published case: lr 3e-3 over 1e-3 by 0.58 points on one seed, +-1.3 intervals."""
    best, second, diff, tied, _ = best_vs_runner_up(
        _cells({"lr 0.0003": [0.6412], "lr 0.001": [0.6796], "lr 0.003": [0.6854]}))
    assert (best, second, tied) == ("lr 0.003", "lr 0.001", ["lr 0.001"])
    assert diff.n == 1 and not diff.judgeable


def test_a_pick_over_seeds_is_a_paired_comparison():
    runs = _cells({"a": [0.70, 0.71, 0.72], "b": [0.68, 0.69, 0.70], "c": [0.60, 0.61, 0.62]})
    best, second, diff, tied, _ = best_vs_runner_up(runs)
    assert (best, second) == ("a", "b") and diff.how == "paired" and diff.n == 3
    assert diff.low == pytest.approx(0.02) and diff.high == pytest.approx(0.02)  # no spread
    assert tied == ["b"]  # within the validation images' noise of the best
    even = best_vs_runner_up(_cells({"x": [0.7, 0.6], "y": [0.6, 0.7]}))[2]
    assert even.value == 0 and even.low < 0 < even.high  # an exact tie: not shown


class _Claims:
    def __init__(self):
        self.claims = {}

    def judge(self, name, kind, estimate, reference=None, **kw):
        from layerlab.analysis.verdict import judge

        self.claims[name] = {**judge(kind, estimate, reference, better=kw.get("better", "higher"),
                                     diverged=kw.get("diverged", False)), "note": kw["note"]}


def test_pick_claims_judge_the_study_s_picks_as_comparisons():
    seeds = lambda *m: [m[0] + d for d in (0.0, 0.004, -0.003)]  # noqa: E731
    by = {"lr": _cells({"lr 0.0003": seeds(0.64), "lr 0.001": seeds(0.68),
                        "lr 0.003": seeds(0.685)}),
          "fc": _cells({"256-128-10": [0.68, 0.69, 0.70], "128-64-10": [0.66, 0.66, 0.68]}),
          "kernels": _cells({"(5, 3)": [0.68, 0.69, 0.70], "(3, 1)": [0.67, 0.69, 0.71],
                             "(5, 1)": [0.65, 0.66, 0.67]})}
    run = _Claims()
    pick_claims(run, by, "test")
    verdicts = {n: c["verdict"] for n, c in run.claims.items()}
    assert verdicts == {"best learning rate (validation) beats the runner-up": "holds",
                        "best FC widths (validation) beats the runner-up": "holds",
                        "kernel pairs (5,3) and (3,1) both beat (5,1) (validation)": "holds"}


def test_a_diverged_candidate_is_left_out_of_the_picks():
    seeds = lambda *m: [m[0] + d for d in (0.0, 0.004, -0.003)]  # noqa: E731
    by = {"lr": _cells({"lr 0.0003": seeds(0.64), "lr 0.001": seeds(0.68),
                        "lr 0.003": seeds(0.10)}),
          "fc": _cells({"256-128-10": seeds(0.68), "128-64-10": seeds(0.10)}),
          "kernels": _cells({"(5, 3)": seeds(0.68), "(3, 1)": seeds(0.67),
                             "(5, 1)": seeds(0.60)})}
    lost = {"lr": {"lr 0.003": ["tune/lr 0.003,seed=0"]},
            "fc": {"128-64-10": ["tune/fc 128-64-10,seed=1"]},
            "kernels": {"(5, 1)": ["tune/kernels (5, 1),seed=2"]}}
    run = _Claims()
    pick_claims(run, by, "test", lost)
    lr, fc, kernels = run.claims.values()
    assert lr["verdict"] == "holds" and "best lr 0.001, runner-up lr 0.0003" in lr["note"]
    assert "left out, diverged: lr 0.003" in lr["note"]
    assert fc["verdict"] == "not judged" and "tune/fc 128-64-10,seed=1" in fc["reason"]
    assert kernels["verdict"] == "not judged" and "tune/kernels (5, 1),seed=2" in kernels["reason"]


@pytest.mark.parametrize("kind,shape", [("fc", {"hidden": 50}),
                                        ("conv", {"channels": (8, 4), "kernels": (5, 3)})])
def test_every_style_reloads_from_its_weights_file_alone(tmp_path, kind, shape):
    """checkpoint.load rebuilds each style by its class name (all in MODELS) from the file."""
    params = fc_params(50, seed=3) if kind == "fc" else conv_params((8, 4), (5, 3), seed=3)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for style, model in three_styles(kind, params, **shape).items():
        assert type(model).__name__ in MODELS, style
        checkpoint.save(tmp_path / f"{style}.pt", model)
        again = checkpoint.load(tmp_path / f"{style}.pt")
        assert torch.equal(again(x), model.eval()(x)), style


def test_tuning_wall_time_comes_from_the_cells(quick_run):
    """The table's wall time is the span of its cells' own start and end times, so a rebuild
    from cells.json gives the same figure."""
    import json

    run, results = quick_run("open-model")
    cells = json.loads((run.path / "cells.json").read_text())
    rows = [c["result"] for c in cells["tune"]]
    span = (max(r["ended"] for r in rows) - min(r["started"] for r in rows)) / 60
    wall = next(c for n, c in results["claims"].items() if n.startswith("tuning grid"))
    assert wall["ours"] == round(span, 2)
    est = wall["estimate"]  # as if every epoch ran at the fastest / slowest speed seen
    assert est["how"] == "exact" and 0 < est["low"] <= wall["ours"] <= est["high"]
    assert not (run.path / "tune.started").exists()


def test_layerlab_eval_rebuilds_the_open_model(quick_run):
    """OpenModel is in layerlab.pytorch.MODELS: `layerlab eval` in a fresh process rebuilds it
    from the weights file alone, importing no study."""
    import subprocess
    import sys

    run, _ = quick_run("open-model")
    out = subprocess.run([sys.executable, "-m", "layerlab", "eval", str(run.path), "--cell",
                          "final"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "every split matches to the last image" in out.stdout


@pytest.mark.parametrize("name", ["pytorch-apis", "open-model"])
def test_rebuild_loads_no_data(quick_run, tmp_path, monkeypatch, name):
    """Every dataset is read inside a cell: a rebuild from cells.json (the data loaders made to
    fail) writes the same claims and tables."""
    import json
    import shutil

    from layerlab.lab.runner import rebuild
    from layerlab.studies import s3_cifar

    run, results = quick_run(name)
    copy = shutil.copytree(run.path, tmp_path / "copy")

    def no_data(*args, **kwargs):
        raise AssertionError("a rebuild read data")

    monkeypatch.setattr(s3_cifar, "load_data", no_data)
    monkeypatch.setattr(s3_cifar, "datasets", no_data)
    rebuild(copy)
    rebuilt = json.loads((copy / "results.json").read_text())
    assert rebuilt["claims"] == results["claims"] and rebuilt["tables"] == results["tables"]


def test_the_budget_note_says_shorter_only_when_the_tuning_budget_is_smaller():
    from layerlab.studies.s3_cifar import _budget_text
    shorter = _budget_text(OpenModelConfig(tune_epochs=3, epochs=10), 45_000, 45_000, 9, 60.0)
    assert "3 epochs on 45,000" in shorter and "10 epochs on 45,000" in shorter
    assert "1.5 h" in shorter and "a shorter training, not by their 10-epoch" in shorter
    same = _budget_text(OpenModelConfig(tune_epochs=1, epochs=1), 128, 128, 2, 4.0)
    assert "shorter" not in same and "2 recipes at that length would take 0.0 h of training " \
        "here (one seed each, one thread)." in same
