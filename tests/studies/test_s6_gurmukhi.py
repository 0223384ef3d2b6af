"""S6: the hand-written penalties against numerical gradients, the total gradient norm of the
probes, the folds and the ink-aware elastic distortion, and the quick run's report."""

import math

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch import BudgetMLP, Probes, fit, l1_penalty, l2_penalty, set_seed  # noqa: E402
from layerlab.pytorch.gradcheck import numerical_gradient  # noqa: E402
from layerlab.studies.s6_gurmukhi import total_grad_norms  # noqa: E402
from layerlab.trainers.torch_cell import ink_elastic, stratified_folds  # noqa: E402


@pytest.fixture
def small_net():
    set_seed(0)
    return BudgetMLP([6, 5], in_features=8).double()


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_penalty_gradients_match_numerical_and_closed_form(small_net, name):
    """Every weight entry: autograd of lambda*sum|w| (or w**2) == centred differences ==
    lambda*sign(w) (or 2*lambda*w); biases get no gradient from the penalty."""
    lam = 1e-3
    pen = {"l1": l1_penalty, "l2": l2_penalty}[name]
    pen(small_net, lam).backward()
    for pname, p in small_net.named_parameters():
        if pname.endswith("bias"):
            assert p.grad is None or torch.count_nonzero(p.grad) == 0
            continue
        assert p.abs().min() > 1e-4  # L1's kink at 0 is further than eps from every entry
        numerical = numerical_gradient(lambda: pen(small_net, lam), p, eps=1e-5)
        closed = lam * torch.sign(p.detach()) if name == "l1" else 2 * lam * p.detach()
        assert torch.allclose(p.grad, numerical, rtol=1e-6, atol=1e-12), pname
        assert torch.allclose(p.grad, closed, rtol=1e-12, atol=0), pname


def test_penalised_loss_gradient_matches_numerical(small_net):
    """The loss the study trains (data loss + L1 + L2), every parameter, float64."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(10, 8, dtype=torch.float64, generator=g)
    y = torch.randint(0, 10, (10,), generator=g)
    small_net.eval()

    def loss():
        return (torch.nn.functional.cross_entropy(small_net(X), y)
                + l1_penalty(small_net, 1e-3) + l2_penalty(small_net, 1e-3))

    loss().backward()
    for pname, p in small_net.named_parameters():
        numerical = numerical_gradient(loss, p, eps=1e-5)
        assert torch.allclose(p.grad, numerical, rtol=1e-5, atol=1e-9), pname


def test_quick_report_has_the_log_table_intervals_and_gradcheck(quick_run):
    _, results = quick_run("gurmukhi-reg")
    tables = results["tables"]
    assert tables["epoch_log"]["header"][:2] == ["setting", "epoch"]
    assert len(tables["final"]["rows"]) == 4
    for row in tables["final"]["rows"]:
        low, high = (float(v) for v in row[4].strip("[]").split(","))
        assert 0 <= low < high <= 100
    assert {r[0] for r in tables["gradcheck"]["rows"]} == {
        "data loss (model)", "L1 penalty", "L2 penalty", "loss + L1 + L2"}
    claim = next(c for n, c in results["claims"].items() if n.startswith("gradient check"))
    assert claim["kind"] == "goal" and claim["estimate"]["how"] == "exact"
    assert claim["verdict"] == "met", claim["reason"]
    assert "Epoch wall time" in results["notes"]["Settings and choices"]
    # the sensitivity table has training-length rows beside the main grid's epochs
    rows = tables["sensitivity"]["rows"]
    assert [r[1] for r in rows if r[0] == "epochs (dropout only)"] == ["1 (main grid)", "2"]
    goal = next(c for n, c in results["claims"].items()
                if n.startswith("dropout only: mean test accuracy of at least"))
    assert "2 epochs:" in goal["note"] and "layerlab's goal" in goal["source"]
    assert goal["kind"] == "goal" and goal["estimate"]["how"] == "seeds+images"
    kinds = {n: (c["kind"], c["estimate"]["how"], c["figure_n"])
             for n, c in results["claims"].items()}
    for label in ("dropout only", "L1", "L2", "L1 + L2"):
        assert kinds[f"{label}: mean final test accuracy over 2 seeds"] == ("figure", "seeds",
                                                                             None)
    for label in ("L1", "L2", "L1 + L2"):
        name = f"{label} vs dropout only: paired difference in final test accuracy"
        assert kinds[name] == ("figure", "paired", None)
    assert all("kind" in c for c in results["claims"].values())  # no bare claim is left


def test_stratified_folds_spread_every_class_evenly_and_repeat():
    labels = [c for c in range(3) for _ in range(10)] + [3] * 7
    folds = stratified_folds(labels, 5, seed=1)
    assert folds.shape == (len(labels),) and set(folds) == set(range(5))
    for c in range(4):
        per_fold = [sum(1 for fo, lab in zip(folds, labels, strict=True) if fo == f and lab == c)
                    for f in range(5)]
        assert max(per_fold) - min(per_fold) <= 1, (c, per_fold)
    assert (stratified_folds(labels, 5, seed=1) == folds).all()
    assert (stratified_folds(labels, 5, seed=2) != folds).any()
    with pytest.raises(ValueError, match="at least 2 folds"):
        stratified_folds(labels, 1)


def test_ink_elastic_moves_in_white_background_and_distorts_the_ink():
    """All-white images stay white (plain random_elastic would grey the borders: it moves in
    zeros), and an image with ink changes while keeping its values in [-1, 1]."""
    from layerlab.pytorch import random_elastic

    white = torch.ones(4, 1, 32, 32)
    torch.manual_seed(0)
    assert torch.equal(ink_elastic(34.0, 4.0)(white), white)
    torch.manual_seed(0)
    assert random_elastic(34.0, 4.0)(white).min() < 0.9  # the pitfall ink_elastic avoids
    ink = white.clone()
    ink[:, :, 8:24, 14:18] = -1.0
    torch.manual_seed(0)
    out = ink_elastic(34.0, 4.0)(ink)
    assert out.min() >= -1 - 1e-6 and out.max() <= 1 + 1e-6
    assert (out - ink).abs().max() > 0.5


def test_quick_report_has_the_cross_validated_tuned_recipe(quick_run):
    _, results = quick_run("gurmukhi-reg")
    tuning = results["tables"]["tuning"]["rows"]
    assert len(tuning) == 4  # quick: epochs (1, 2) x elastic (none, 34)
    assert [r[-1] for r in tuning].count("yes") == 1
    picked = next(r for r in tuning if r[-1] == "yes")
    assert float(picked[2]) == max(float(r[2]) for r in tuning)
    tuned = results["tables"]["tuned"]["rows"]
    assert tuned[1][1] == picked[0]  # the picked epochs are the ones trained
    claim = next(c for n, c in results["claims"].items() if n.startswith("dropout only, tuned"))
    assert f"{picked[0]} epochs" in claim["note"]
    assert claim["kind"] == "goal" and claim["estimate"]["how"] == "seeds+images"
    pick = next(c for n, c in results["claims"].items() if n.startswith("the tuned recipe"))
    assert pick["kind"] == "comparison" and pick["estimate"]["n"] == 2  # quick: 2 folds
    assert pick["verdict"] in ("holds", "not shown")


def test_probe_norms_are_the_vector_norms_of_grad():
    """Probes' per-layer gradient norm equals torch.linalg.vector_norm of the weight's .grad."""
    g = torch.Generator().manual_seed(0)
    data = {"X_train": torch.randn(64, 1, 8, 8, generator=g),
            "y_train": torch.randint(0, 10, (64,), generator=g)}
    set_seed(0)
    model = BudgetMLP([32, 16], in_features=64)
    twin = BudgetMLP([32, 16], in_features=64)
    twin.load_state_dict(model.state_dict())
    probes = Probes(model, every="step")
    fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=64,
        probes=probes)  # one full batch: the probed gradient is the twin's
    torch.nn.functional.cross_entropy(twin(data["X_train"]), data["y_train"]).backward()
    expected = []
    for name, module in twin.named_children():
        if isinstance(module, torch.nn.Linear):
            norm = torch.linalg.vector_norm(module.weight.grad).item()
            assert probes.history[name]["grad_norm"][0] == pytest.approx(norm, rel=1e-5)
            expected.append(norm)
    assert total_grad_norms(probes.history)[0] == pytest.approx(
        math.sqrt(sum(v * v for v in expected)), rel=1e-5)



class _Claims:
    """A stand-in for Run: keeps what `judge` was given, with its verdict."""

    def __init__(self):
        self.claims = {}

    def judge(self, name, kind, estimate, reference=None, *, unit="", source="", note="",
              key=False, **kw):
        from layerlab.analysis.verdict import judge

        self.claims[name] = {"kind": kind, "estimate": estimate, "note": note, **kw,
                             **judge(kind, estimate, reference, **kw)}

    def note(self, *args):
        pass


# the published full run's final test accuracies (correct of 178), seeds 0-9
PUBLISHED = {"dropout": [168, 170, 171, 169, 167, 160, 168, 170, 167, 164],
             "l1": [17, 18, 18, 18, 18, 20, 17, 18, 18, 18],
             "l2": [168, 170, 165, 168, 167, 159, 169, 167, 164, 161],
             "l1+l2": [17, 18, 18, 18, 18, 17, 17, 18, 18, 18]}


def test_published_numbers_read_below_the_studys_figures_and_the_goal_within_noise():
    """Ours 94.04% against the study's 97.19% on the same 178 images: 'below' (t over seeds,
    the study's noise shared), no longer 'reproduced'; the 97% goal, about new images, adds
    the test set's noise: within noise (on these images alone it would read 'not met')."""
    from layerlab.studies.s6_gurmukhi.cells import GurmukhiRegConfig
    from layerlab.studies.s6_gurmukhi.main import claim_settings, judge_differences

    finals = {s: [c / 178 for c in v] for s, v in PUBLISHED.items()}
    run = _Claims()
    claim_settings(run, GurmukhiRegConfig(), finals, 178, {}, {})  # no setting diverged
    judge_differences(run, finals, 178, {})
    c = run.claims
    fig = c["dropout only: mean final test accuracy over 10 seeds"]
    assert fig["verdict"] == "below" and fig.get("figure_n") is None
    assert fig["estimate"].how == "seeds"
    assert fig["estimate"].high < 0.9719
    assert "0 of our 10 seeds reach the study's 97.19%" in fig["note"]
    goal = c["dropout only: mean test accuracy of at least 97% (layerlab's goal)"]
    assert goal["estimate"].how == "seeds+images" and goal["verdict"] == "within noise"
    assert "it would read 'not met'" in goal["note"]
    for s in ("L1", "L2", "L1 + L2"):
        assert c[f"{s}: mean final test accuracy over 10 seeds"]["verdict"] == "below"
    diff = {s: c[f"{s} vs dropout only: paired difference in final test accuracy"]
            for s in ("L1", "L2", "L1 + L2")}
    assert {s: d["estimate"].how for s, d in diff.items()} == dict.fromkeys(diff, "paired")
    assert {s: d["verdict"] for s, d in diff.items()} == {
        "L1": "below", "L2": "reproduced", "L1 + L2": "below"}


def test_the_l1_note_says_the_net_does_not_learn_only_at_chance():
    from layerlab.studies.s6_gurmukhi.main import l1_reading
    from layerlab.studies.s6_gurmukhi.recipes import above_chance
    assert not above_chance([0.101, 0.101], 178) and above_chance([0.5, 0.6], 178)

    def runs(acc):
        return [{"loss": [2.3, 2.31], "penalty": [8.26, 0.094], "test_acc": [0.1, a],
                 "n_test": 178} for a in acc]
    title, text = l1_reading(1e-3, runs([0.101, 0.101]), 697_504)
    assert title == "Why L1 at lambda1 = 0.001 fails here"
    assert "8.26 over the first epoch, 3.6 times the data loss (2.30;" in text
    assert "does not learn (test accuracy 10.1%, not above chance)" in text
    title, text = l1_reading(1e-5, runs([0.9, 0.92]), 697_504)
    assert title == "L1 at lambda1 = 1e-05" and "does not learn" not in text
    assert "test accuracy 91.0%, against the study's 94.94%" in text


def test_the_study_s_gaps_are_said_inside_the_noise_only_when_they_are():
    from layerlab.studies.s6_gurmukhi.main import study_gaps
    wide = study_gaps(0.036)
    assert "L2 96.07% is 2 images of 178, vs L1 94.94% is 4 images) are inside it." in wide
    assert study_gaps(0.015).endswith("are not all inside it.")
