"""What S1.6 batchnorm and S1.7 layernorm share: the nets (Adam, the Solver's CIFAR-10 data
loaded inside the cells), (b) the weight-scale sweep, (c) the batch-size sweep, the settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import count, divergence, log_grid, mean_std, paired_difference, pm, verdict
from layerlab.analysis.curves import accuracy_panels
from layerlab.lab.sweep import cell, cell_key, grid
from layerlab.probing import views
from layerlab.references import S1_6_CLAIMS, S1_7_CLAIMS
from layerlab.scratch.models import FullyConnectedNet
from layerlab.scratch.norm import BatchNorm
from layerlab.scratch.sandwich import Sandwich, Stage
from layerlab.studies.s1_fc.common import cifar_data
from layerlab.trainers.solver_cell import train_solver

SOURCE = {"batchnorm": "S1.6 (course notebook BatchNormalization)",
          "layernorm": "S1.7 (course notebook BatchNormalization, layernorm part)"}
CLAIMS = {"batchnorm": S1_6_CLAIMS, "layernorm": S1_7_CLAIMS}
LABELS = {"none": "baseline", "batchnorm": "batchnorm", "layernorm": "layernorm"}
ACCS = (("final_train_acc", "final train acc"), ("best_val_acc", "best val acc"))
CHANCE = 0.1  # ten classes
ACTIVATION_NOTE = (
    "From the probes: one panel per hidden layer and step (the end of the first epoch, then "
    "the last step), each line the share of the layer's ReLU outputs (after the normalisation, "
    "in a net that has one) on the step's batch in each bin 0.1 wide (the outer bins also hold "
    "what lies beyond ±4), on a log scale. Outputs piled up at 0 pass little signal on; a "
    "spread that keeps its shape from layer to layer is what normalisation is for.")


def count_within(values, tolerance):
    """How many values are within `tolerance` of the largest (NaN counts as not within)."""
    values = np.asarray(values, dtype=float)
    return int(np.sum(values >= np.nanmax(values) - tolerance))


def final_loss(loss_history, iterations_per_epoch):
    """Mean training loss over the last epoch's iterations (inf if training diverged)."""
    tail = np.asarray(loss_history[-iterations_per_epoch:], dtype=float)
    return float(tail.mean()) if len(tail) and np.all(np.isfinite(tail)) else float("inf")


class ClosedFormBatchNorm(BatchNorm):
    """BatchNorm whose `backward` is the closed form `BatchNorm.backward_alt`."""

    backward = staticmethod(BatchNorm.backward_alt)


def use_closed_form_backward(model):
    """Make a FullyConnectedNet's batchnorm layers use the closed-form backward."""
    model.hidden = Sandwich([Stage(ClosedFormBatchNorm, s.params, s.option)
                             if s.layer is BatchNorm else s for s in model.hidden.stages])
    return model


def split(cfg):
    """cifar_data's keywords for cfg."""
    return {"val": cfg.val, "num_train": cfg.num_train, "seed": cfg.seed}


def train(cfg, run, grid_name, cells, hidden_dims, learning_rate, view=None, **fixed):
    """Train a FullyConnectedNet with Adam per cell: 'norm' first, 'seed' last, and whichever
    of 'weight_scale' and 'batch_size' `fixed` lacks. 'backward' ('graph' or 'closed'): float64,
    keeping the first 2,000 entries of every parameter. view(cell) true: with probes on, the
    activation histograms at the end of the first epoch and the last step, as 'probe_view'.
    Returns (by {cell values: summary}, lost {cell values but the seed: {cell name: divergence
    record}} of the groups with a diverged cell, which have no mean over seeds)."""

    def one(c):
        s, data, key = {**fixed, **c}, cifar_data(cfg.dataset, **split(cfg)), cell_key(grid_name, c)
        model = FullyConnectedNet(
            list(hidden_dims), input_dim=data["X_train"][0].size, num_classes=10,
            weight_scale=s["weight_scale"], seed=s["seed"],
            dtype=np.float64 if "backward" in s else np.float32,
            normalization=None if s["norm"] == "none" else s["norm"])
        if s.get("backward") == "closed":
            use_closed_form_backward(model)
        summary, solver = train_solver(
            run, key, model, data, update_rule="adam",
            optim_config={"learning_rate": learning_rate}, num_epochs=cfg.epochs,
            batch_size=s["batch_size"], num_train_samples=None, print_every=0, verbose=False,
            seed=s["seed"])
        acc, per_epoch = summary["train_acc_history"], solver.iterations_per_epoch
        summary.update(final_loss=final_loss(summary["loss_history"], per_epoch),
                       best_train_acc=max(acc), final_train_acc=acc[-1])
        if "backward" in s:
            summary["params"] = {k: v.ravel()[:2000].tolist() for k, v in model.params.items()}
        if view and view(c) and (probed := views.summary(
                run, key, histograms=("act",), at_steps=(per_epoch, len(summary["loss_history"])),
                layers=lambda row: row["activation"] != "linear")):
            summary["probe_view"] = probed
        return summary

    results = grid(run, grid_name, cells, one, objective="best_val_acc")
    by = {tuple(c.values()): r for c, r in zip(cells, results, strict=True)}
    lost = {}
    for c, r in zip(cells, results, strict=True):
        if divergence.of(r):
            lost.setdefault(tuple(c.values())[:-1], {})[cell_key(grid_name, c)] = divergence.of(r)
    return by, lost


def activation_plot(run, name, title, cells):
    """With probes on, plot `name`: a panel per hidden layer and kept step, a line per net
    ({label: a cell's result with 'probe_view'}); nothing when a cell has no view."""
    if found := views.of(run, list(cells.values())):
        run.plot(name, "curves", title=title, ncols=len(found[0]["hist"]["act"]["steps"]),
                 panels=views.histogram_panels(dict(zip(cells, found, strict=True)),
                                               ylabel="share of the layer's outputs"),
                 xlabel="activation (bin centre, bins 0.1 wide)", note=ACTIVATION_NOTE)


def gone(lost, *groups):
    """'diverged (step N)' of the first of `groups` (keys of `lost`) with a diverged cell, or
    None when all of them finished: a table's cell in place of a figure."""
    return next((divergence.label(lost[g]) for g in groups if g in lost), None)


def behind(lost, norms=tuple(LABELS)):
    """The diverged cells of the nets `norms` in `lost`: run.judge's `diverged` for a claim on
    those nets (False when none, so it is judged)."""
    return [name for g, cells in lost.items() if g[0] in norms for name in cells] or False


def note_diverged(run, *losts):
    """The report's 'Diverged cells' note of every grid's `lost`."""
    divergence.note(run, {n: r for lost in losts for cells in lost.values()
                          for n, r in cells.items()},
                    "a net with one has no mean over the seeds of that weight scale or batch "
                    "size, and is left out of the plots")


def weight_scale_sweep(cfg, run, norm):
    """(b) weight scale x {baseline, norm} x seeds: table, plot, claims, note; returns lost."""
    seeds, norms = range(cfg.seed, cfg.seed + cfg.scale_seeds), ("none", norm)
    scales = list(log_grid(cfg.scale_low, cfg.scale_high, count=cfg.num_scales))
    by, lost = train(cfg, run, "b_weight_scale", [{"norm": n, "weight_scale": w, "seed": s}
                                                  for n in norms for w in scales for s in seeds],
                     cfg.scale_hidden_dims, cfg.learning_rate, batch_size=cfg.batch_size)
    keys = ("best_train_acc", "best_val_acc", "final_loss")
    per = {(n, k): [[by[(n, w, s)][k] for s in seeds] for w in scales] for n in norms
           for k in keys}
    mean = {(n, k): [float("nan") if (n, w) in lost else float(np.mean(v))  # no mean: no point
                     for w, v in zip(scales, vs, strict=True)] for (n, k), vs in per.items()}

    def row(i, w):
        return [w] + [x for n in norms for x in ([gone(lost, (n, w))] * 3 if (n, w) in lost else (
            *(pm(*mean_std(per[(n, k)][i])) for k in keys[:2]), mean[(n, keys[2])][i]))]

    run.table("b_weight_scale", ["weight scale"] + [f"{LABELS[n]} {k.replace('_', ' ')}"
                                                    for n in norms for k in keys],
              [row(i, w) for i, w in enumerate(scales)],
              title=f"(b) Weight-scale sweep, with and without {norm} (mean ± std over "
                    f"{count(len(seeds), 'seed')})", note="Final loss: mean training loss over "
              "the last epoch, mean over seeds.")
    run.plot("b_weight_scale", "curves", title=f"(b) Weight scale, with and without {norm}",
             xlabel="weight scale", logx=True, panels=[
                 {"ylabel": label, "series": {LABELS[n]: [scales, mean[(n, k)]] for n in norms},
                  **({"logy": True} if k == "final_loss" else {})} for k, label in (
                     ("best_train_acc", "best train accuracy"),
                     ("best_val_acc", "best val accuracy"),
                     ("final_loss", "final training loss"))])
    # per net, per seed: best val acc over the scales
    cols = {n: [np.asarray(c, float) for c in zip(*per[n, "best_val_acc"], strict=True)]
            for n in norms}
    _sensitivity_claims(cfg, run, norm, cols, len(scales), lost)

    def input_power():  # E[|x|^2] over the training images sets the first layer's variance
        x = np.asarray(cifar_data(cfg.dataset, **split(cfg))["X_train"], np.float64)
        return {"x2": float(np.mean(np.sum(x.reshape(len(x), -1) ** 2, axis=1)))}

    x2, width = cell(run, "b_input_power", input_power)["x2"], cfg.scale_hidden_dims[0]
    run.note(f"(b) {norm} at small weight scales", "The normalisation divides by "
             "sqrt(var + eps), eps = 1e-5, so it undoes the weight scale only while a layer's "
             f"pre-activation variance is well above 1e-5: about scale^2 x {x2:.0f} (E[|x|^2]) "
             f"in the first layer, 1e-5 at scale {np.sqrt(1e-5 / x2):.1e}; scale^2 x {width} / "
             f"2 in a later one fed by {width} unit-variance ReLU outputs, 1e-5 at scale "
             f"{np.sqrt(1e-5 / (width / 2)):.1e}. Below, the outputs shrink with the scale.")
    return lost


def _sensitivity_claims(cfg, run, norm, cols, n_scales, lost):
    """(b) claims paired by seed on each seed's count of good scales, range over scales and
    count of scales that learn at all. cols: {net: [per seed: best val acc per scale]}."""
    tol, src, norms = cfg.scale_tolerance, SOURCE[norm], ("none", norm)
    good = {n: [count_within(v, tol) for v in cols[n]] for n in norms}
    span = {n: [float(np.nanmax(v) - np.nanmin(v)) for v in cols[n]] for n in norms}
    learns = {n: [int(np.sum(v >= CHANCE + tol)) for v in cols[n]] for n in norms}
    decades = np.log10(cfg.scale_high / cfg.scale_low) / max(cfg.num_scales - 1, 1)
    dead = behind(lost, norms)
    for n in norms:
        est = verdict.from_seeds(good[n])
        run.judge(f"(b) {LABELS[n]}: weight scales (of {n_scales}) whose best val acc is "
                  f"within {tol:g} of its best", "measured", None if behind(lost, (n,)) else est,
                  diverged=behind(lost, (n,)), source=src,
                  note=f"per seed: {good[n]}; about {est.value * decades:.1f} decades of scale; "
                       f"range of best val acc over scales {[round(x, 3) for x in span[n]]}")
    for criterion, est, better, measured in (
            (f"at least twice as many scales within {tol:g} of its own best as the baseline",
             verdict.from_pairs(good[norm], [2 * g for g in good["none"]]), "higher",
             f"count minus twice the baseline's count; counts {good[norm]} vs {good['none']}"),
            ("at most half the baseline's range of best val acc over scales",
             verdict.from_pairs(span[norm], [s / 2 for s in span["none"]]), "lower",
             "range minus half the baseline's range (bounded below by chance, "
             f"{CHANCE:g})")):
        run.judge(f"(b) {norm} is much less sensitive: {criterion}", "comparison",
                  None if dead else est, better=better, source=src, key=better == "higher",
                  diverged=dead, note=f"{CLAIMS[norm]['b']}. Paired by seed: {measured}")
    run.judge(f"(b) scales (of {n_scales}) where the net learns at all (best val acc >= "
              f"{CHANCE + tol:g}), {norm} minus baseline", "measured",
              None if dead else verdict.from_pairs(learns[norm], learns["none"]),
              diverged=dead, source=src, note=f"per seed {learns[norm]} vs {learns['none']}")


def batch_size_sweep(cfg, run, norms, gain_title, histograms=False):
    """(c) batch size x norms x seeds: curves, table, the gain plot and (histograms) with probes
    on, each net's activations at one batch size, first seed. Returns vals(norm, batch, key) ->
    per seed, gains(norm, key) -> {batch: per seed norm - baseline}, and the grid's lost."""
    seeds, sizes = range(cfg.seed, cfg.seed + cfg.seeds), cfg.batch_sizes
    shown = cfg.batch_size if cfg.batch_size in sizes else max(sizes)  # histograms' batch
    by, lost = train(cfg, run, "c_batch_size", [{"norm": n, "batch_size": b, "seed": s}
                                                for n in norms for b in sizes for s in seeds],
                     cfg.hidden_dims, cfg.batch_learning_rate, weight_scale=cfg.weight_scale,
                     view=lambda c: histograms and c["seed"] == cfg.seed
                     and c["batch_size"] == shown)

    def vals(n, b, key):
        return [by[(n, b, s)][key] for s in seeds]

    def gains(n, key):
        return {b: [x - y for x, y in zip(vals(n, b, key), vals("none", b, key), strict=True)]
                for b in sizes}

    run.plot("c_batch_size", "curves", title="(c) Accuracy per epoch by batch size",
             xlabel="epoch", panels=accuracy_panels({
                 f"{LABELS[n]} batch {b}": [by[(n, b, s)] for s in seeds]
                 for n in norms for b in sizes if (n, b) not in lost}))

    def row(b, n):
        return [b, LABELS[n]] + [x for key, _ in ACCS for x in (
            gone(lost, (n, b)) or pm(*mean_std(vals(n, b, key))), "" if n == "none" else
            gone(lost, (n, b), ("none", b)) or pm(*paired_difference(
                vals(n, b, key), vals("none", b, key)), sign=True))]

    run.table("c_batch_size", ["batch size", "net", "final train acc", "gain over baseline",
                               "best val acc", "gain over baseline"],
              [row(b, n) for b in sizes for n in norms],
              title=f"(c) Batch size (mean ± std over {count(len(seeds), 'seed')}; gains are "
                    "paired by seed, mean ± standard error)",
              note="With a fixed number of epochs a smaller batch makes more updates, which "
                   "changes every net; the gain over the baseline at the same batch size "
                   "isolates what the normalisation adds.")
    run.plot("c_gain", "curves", title=gain_title, xlabel="batch size", logx=True, panels=[
        {"ylabel": f"gain over baseline, {label}", "series": {LABELS[n]: [list(sizes), [
            float("nan") if gone(lost, (n, b), ("none", b)) else float(np.mean(g))
            for b, g in gains(n, key).items()]] for n in norms[1:]}}
        for key, label in ACCS])
    if histograms:
        activation_plot(run, "c_activations", f"(c) Activations per layer of each net at batch "
                        f"{shown} (probes, seed {cfg.seed})",
                        {LABELS[n]: by[(n, shown, cfg.seed)] for n in norms})
    return vals, gains, lost


def growth(gains, sizes):
    """Estimate of gain(largest batch) - gain(smallest batch), paired by seed."""
    return verdict.from_pairs(gains[max(sizes)], gains[min(sizes)])


@dataclass
class NormStudyConfig:
    """S1.7's settings, and S1.6's but (d): the study's, the course's where it is silent."""

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 1000
    seed: int = 0
    seeds: int = 5  # seed repeats for (a) and (c)
    epochs: int = 10
    batch_size: int = 50
    learning_rate: float = 1e-3
    hidden_dims: tuple = (100, 100, 100, 100, 100)  # (a), (c), (d): the six-layer net
    weight_scale: float = 2e-2
    # (b): the course's eight-layer net, 20 scales from 1e-4 to 1
    scale_hidden_dims: tuple = (50, 50, 50, 50, 50, 50, 50)
    scale_low: float = 1e-4
    scale_high: float = 1.0
    num_scales: int = 20
    scale_seeds: int = 5
    scale_tolerance: float = 0.05  # "within this of the best" counts as a good scale
    batch_sizes: tuple = (5, 10, 50)  # (c)
    batch_learning_rate: float = 10 ** -3.5


QUICK = {"dataset": "builtin", "val": 100, "num_train": 100, "seeds": 2, "epochs": 2,
         "num_scales": 3, "scale_seeds": 1, "scale_hidden_dims": (20, 20, 20),
         "hidden_dims": (20, 20, 20), "batch_sizes": (10, 50)}


def settings_note(cfg, run, *parts):
    """The report's 'Settings and choices': data, (b), then `parts` (markdown list items)."""
    run.note("Settings and choices", "\n".join([
        "- Data: CIFAR-10 training images, a random draw fixed by the seed (a lossy JPEG copy, "
        "see Data), mean image subtracted; Adam throughout. The seed repeats change the "
        "initial weights and the minibatch order.",
        f"- (b): the course's {len(cfg.scale_hidden_dims) + 1}-layer net (the study names "
        f"none); best accuracies are the best over epochs 0..{cfg.epochs}.", *parts]))
