"""S5 vanishing gradients on CIFAR-10 (PyTorch).

`vanishing-gradients`: the FC net 3072 -> 512-256-128-64-32-16 -> 10 with sigmoid, tanh or
ReLU, each in three settings (nine runs): plain (PyTorch's default initialisation); deep (ten
extra hidden layers of width 16, to provoke vanishing gradients); fixed (the deep net with the
study's fix: He (Kaiming normal, fan-in) init for ReLU, Xavier (Glorot normal, the
activation's gain) for sigmoid and tanh, zero biases, batchnorm after every hidden Linear,
before the activation). The fix is applied to the deep net: does it restore the gradients of
the net that had lost them? (the study does not say which depth it fixed.) Adam, pixels
(x / 255 - 0.5) / 0.5, a seeded 20% validation split. The probes read every Linear layer's
weight-gradient 2-norm at every step (reported as epoch means); the test split is scored every
epoch for the loss plot the study asks for, nothing is selected on it. The data is read only
inside the cells, so a rebuild reads none. Every run is repeated over `seeds` seeds (initial
weights and batch order; the validation split is the config's seed for all): the claims are
judged over seeds (goals on per-seed means, orderings on differences paired by seed), the plots
and the per-run tables show the first seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerlab.analysis import accuracy, count, per_epoch_means, verdict
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid, record_datasets
from layerlab.pytorch import Probes, VanishingNet
from layerlab.references import (
    S5_DEEP_SIGMOID_EARLY_GRAD,
    S5_FIXED_MAX_SPREAD,
    S5_ORDER,
    S5_SEVERAL_ORDERS,
)
from layerlab.trainers.torch_cell import (
    Recipe,
    data_spec,
    datasets,
    epoch_time_summary,
    load_data,
    train_cell,
)

SOURCE = "S5 (vanishing gradients on CIFAR-10)"
GOAL = "layerlab's goal"
ACTIVATIONS = ("sigmoid", "tanh", "relu")
SETTINGS = ("plain", "deep", "fixed")
HISTORY = ("loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "time")
GRAD_LABEL = "||dL/dW|| (epoch mean)"


def build(setting, activation, widths, extra_layers, extra_width):
    """The model of one of the nine runs: a VanishingNet, input (N, 3, 32, 32) -> (N, 10)."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, not {setting!r}")
    deep = list(widths) + ([extra_width] * extra_layers if setting != "plain" else [])
    if setting == "fixed":
        return VanishingNet(deep, activation, batchnorm=True,
                            init="he" if activation == "relu" else "xavier")
    return VanishingNet(deep, activation)


@dataclass
class VanishingConfig:
    """The study's settings; num_train/num_test 0 keep every image (quick runs take fewer).
    seeds: repeats of every run (seeds seed, seed + 1, ...), what the claims are judged over."""

    widths: tuple = (512, 256, 128, 64, 32, 16)
    extra_layers: int = 10
    extra_width: int = 16
    activations: tuple = ACTIVATIONS
    settings: tuple = SETTINGS
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 10
    val: float = 0.2
    dataset: str = "cifar10"  # quick runs use the built-in CIFAR-10 subset (loads in a second)
    num_train: int = 0
    num_test: int = 0
    seed: int = 0
    seeds: int = 3
    per_run_plots: bool = True  # one plot per run besides the grid (quick runs skip them)


def cifar_spec(cfg):
    """CIFAR-10's description for load_data: pixels (x/255 - 0.5)/0.5, X (N, 3, 32, 32);
    train/val/test, the test subset (quick runs) drawn with the split's seed."""
    return data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                     num_train=cfg.num_train or None, num_test=cfg.num_test or None,
                     pixels="half", test_seed=cfg.seed)


def train_run(run, cfg, activation, setting, seed):
    """One of the nine runs with one seed (a grid cell; the data is loaded here, cached per
    process).

    Returns the per-epoch history lists (HISTORY), grad_epoch {layer: per-epoch mean norm},
    grad_first_step and grad_min_step {layer: norm}, fc1_first_epoch (fc1's norm at every step
    of epoch 1), numel {layer: weights}, images {split: count}, params, correct, weights."""
    spec = cifar_spec(cfg)
    data = load_data(spec)
    probed = []

    def probes(model):  # every Linear layer's weight-gradient norm at every step
        probed.append(Probes(model, every="step", layers=model.linear_names()))
        return probed[0]

    recipe = Recipe(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.learning_rate,
                    seed=seed, monitor_test=True, channels_last=False)
    r = train_cell(run, f"runs/activation={activation},setting={setting},seed={seed}",
                   lambda: build(setting, activation, cfg.widths, cfg.extra_layers,
                                 cfg.extra_width), data, spec, recipe, probes=probes,
                   keep=("epoch", *HISTORY))
    history, layers = r["history"], probed[0].layers
    grads = {n.removeprefix("net."): r["probes"][n]["grad_norm"] for n in layers}
    epochs = len(history["epoch"])
    return {"activation": activation, "setting": setting, "seed": seed,
            **{k: history[k] for k in HISTORY},
            "grad_epoch": {n: per_epoch_means(g, epochs=epochs) for n, g in grads.items()},
            "grad_first_step": {n: g[0] for n, g in grads.items()},
            # fc1's every step of the first epoch: how fast its first large norms fall
            "fc1_first_epoch": grads["fc1"][:len(grads["fc1"]) // epochs],
            "grad_min_step": {n: float(np.min(g)) for n, g in grads.items()},
            "numel": {n.removeprefix("net."): m.weight.numel() for n, m in layers.items()},
            "images": {s: len(data[f"y_{s}"]) for s in ("train", "val", "test")},
            "params": r["params"], "correct": r["correct"], "weights": r["weights"]}


def _log10(x):
    return math.log10(x) if x > 0 else float("-inf")


def _orders(g):
    """log10 of the last layer's over fc1's norm, in the epoch where fc1's was smallest."""
    fc1, last = list(g.values())[0], list(g.values())[-1]
    i = int(np.argmin(fc1))
    return _log10(last[i]) - _log10(fc1[i])


def _spreads(g):
    """log10 of the largest over the smallest layer's epoch-mean norm, per epoch."""
    return [_log10(max(c)) - _log10(min(c)) for c in zip(*g.values(), strict=True)]


@experiment("vanishing-gradients", study="S5",
            title="sigmoid, tanh, ReLU x plain, deep, fixed: per-layer gradient norms",
            estimate="2.3 h (busy 2-core machine; 30 min quiet, sweep --workers 2)",
            config=VanishingConfig,
            quick={"dataset": "builtin", "epochs": 1, "num_train": 300, "num_test": 200,
                   "val": 100, "extra_layers": 3, "widths": (64, 32, 32, 16, 16, 16),
                   "seeds": 2, "per_run_plots": False})
def vanishing_gradients(cfg, run):
    entries = record_datasets(run, lambda: datasets(cifar_spec(cfg)))
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    cells = [{"activation": a, "setting": s, "seed": k}
             for k in seeds for a in cfg.activations for s in cfg.settings]
    results = grid(run, "runs", cells, lambda c: train_run(run, cfg, **c))
    first = [r for r in results if r["seed"] == seeds[0]]  # what the plots and tables show
    res = {(r["activation"], r["setting"]): r for r in first}
    epochs = list(range(1, cfg.epochs + 1))
    _gradient_plots(run, cfg, first, res, epochs)
    _gradient_tables(run, cfg, first, res, epochs)
    _first_epoch_note(run, res)
    measures = {(r["activation"], r["setting"], r["seed"]): _measures(r) for r in results}
    _seed_table(run, measures, seeds)
    _claims(run, cfg, measures, seeds)
    _settings_notes(run, cfg, results, entries, seeds)


def _gradient_plots(run, cfg, results, res, epochs):
    """Per-layer norms of every run of the first seed (the grid of nine; one plot per run with
    per_run_plots), the norm against depth in the first and last epoch, the train/test loss."""
    panels = []
    for r in results:
        layers = list(r["grad_epoch"])
        series = {f"{n} ({i + 1}/{len(layers)})" if i in (0, len(layers) - 1) else n:
                  [epochs, r["grad_epoch"][n]] for i, n in enumerate(layers)}
        title = f"{r['activation']}, {r['setting']}"
        panels.append({"title": title, "ylabel": GRAD_LABEL, "series": series, "logy": True,
                       "legend_size": 5})
        if cfg.per_run_plots:
            run.plot(f"grad_{r['activation']}_{r['setting']}", "curves",
                     title=f"Per-layer weight-gradient norm: {title}", xlabel="epoch",
                     panels=[{**panels[-1], "legend_size": 7}],
                     note="One line per Linear layer, fc1 the first (input) layer; each point "
                          "is the mean over the epoch's steps of the 2-norm of dL/dW.")
    seed = f"seed {results[0]['seed']}"
    run.plot("grad_grid", "curves", title=f"Per-layer gradient norm, all nine runs (log scale, "
             f"{seed})",
             xlabel="epoch", panels=panels, ncols=len(cfg.settings))

    depth_panels, loss_panels = [], []
    for a in cfg.activations:
        series = {}
        for s in (s for s in cfg.settings if (a, s) in res):
            g = list(res[(a, s)]["grad_epoch"].values())
            for e, tag in ((0, "first"), (len(epochs) - 1, "last")):
                series[f"{s}, {tag} epoch"] = [list(range(1, len(g) + 1)), [v[e] for v in g]]
        depth_panels.append({"title": a, "ylabel": GRAD_LABEL, "logy": True,
                             "xlabel": "Linear layer (1 = input side)", "series": series})
        loss = {}
        for s in cfg.settings:
            loss[f"{s} train"] = [epochs, res[(a, s)]["loss"]]
            loss[f"{s} test"] = [epochs, res[(a, s)]["test_loss"]]
        loss_panels.append({"title": a, "ylabel": "cross-entropy", "series": loss})
    run.plot("grad_by_depth", "curves", title="Gradient norm against depth, first and last "
             f"epoch ({seed})", panels=depth_panels)
    run.plot("loss", "curves", title=f"Train and test loss per activation ({seed})",
             xlabel="epoch",
             panels=loss_panels,
             note="Train: mean loss over the epoch's batches (weights changing); test: after "
                  "the epoch, eval mode.")


def _gradient_tables(run, cfg, results, res, epochs):
    """Early against last layer for every run, and the layer-to-layer spread per epoch of the
    deep and fixed nets (what "within one order" is judged on)."""
    rows = []
    for r in results:
        g = r["grad_epoch"]
        first = next(iter(g))
        ref = (S5_DEEP_SIGMOID_EARLY_GRAD if (r["activation"], r["setting"]) ==
               ("sigmoid", "deep") else None)
        spread = (_log10(max(max(v) for v in g.values()))
                  - _log10(min(min(v) for v in g.values())))
        rows.append([r["activation"], r["setting"], len(g), min(g[first]),
                     r["grad_min_step"][first], r["grad_first_step"][first],
                     f"{ref:.0e}" if ref else "-", _orders(g), spread,
                     r["test_acc"][-1], r["val_acc"][-1], float(np.median(r["time"]))])
    run.table("gradients", ["activation", "setting", "Linear layers",
                            "smallest fc1 grad norm (epoch mean)",
                            "smallest fc1 grad norm (one step)", "fc1 grad norm, first step",
                            "study", "orders of magnitude, last layer over fc1",
                            "orders of magnitude across all layers and epochs",
                            "final test acc", "final val acc", "median epoch s"], rows,
              title=f"Early-layer gradient norms beside the reference (seed {results[0]['seed']})",
              note="fc1 is the first (earliest) layer. 'last layer over fc1': log10 of the "
                   "output layer's gradient norm over fc1's, in the epoch where fc1's was "
                   "smallest. 'across': log10 of the largest over the smallest epoch-mean "
                   f"norm of any layer. The reference is the study's 'about "
                   f"{S5_DEEP_SIGMOID_EARLY_GRAD:.0e}' for the deep sigmoid net's early layers.")

    spread_rows = []
    for a, s in ((a, s) for a in cfg.activations for s in ("deep", "fixed") if (a, s) in res):
        sp = _spreads(res[(a, s)]["grad_epoch"])
        spread_rows.append([a, s, *sp, f"{sum(x <= S5_FIXED_MAX_SPREAD for x in sp)} of "
                                       f"{len(sp)}"])
    if spread_rows:
        run.table("spread", ["activation", "setting", *[f"epoch {e}" for e in epochs],
                             f"epochs within {S5_FIXED_MAX_SPREAD:g} order"], spread_rows,
                  title="Orders of magnitude between the layers' gradient norms, per epoch "
                        f"(seed {results[0]['seed']})",
                  note="log10 of the largest over the smallest epoch-mean weight-gradient "
                       "norm of any Linear layer in that epoch: layerlab's goal for the fixed "
                       f"runs is at most {S5_FIXED_MAX_SPREAD:g} in every epoch (judged over "
                       "seeds: the per-seed table).")


def _first_epoch_note(run, res):
    """How large fc1's gradients of the fixed ReLU net start, step by step."""
    if ("relu", "fixed") not in res:
        return
    r = res[("relu", "fixed")]
    first, g = r["fc1_first_epoch"], r["grad_epoch"]
    step = min(50, len(first))
    run.note("The first epoch of the fixed ReLU net", (
        f"fc1's gradient norm is {first[0]:.3g} on the first step, {first[step - 1]:.3g} on "
        f"step {step} and {first[-1]:.3g} on the epoch's last step ({len(first)} steps; median "
        f"{float(np.median(first)):.3g}, mean {next(iter(g.values()))[0]:.3g}); the output "
        f"layer's first step is {r['grad_first_step'][list(g)[-1]]:.3g}. Large gradients near "
        "the input at initialisation are what the mean-field theory of batchnorm predicts (Yang "
        "et al. 2019: a batchnorm net amplifies gradients layer by layer towards the input), "
        "and fc1, with its 3072 inputs, has by far the most weights. Where the first steps are "
        "large, the first epoch's mean is theirs: the spread table shows every epoch apart."))


def _measures(r):
    """What the claims judge, of one run: fc1 (log10 of fc1's smallest epoch mean), orders
    (_orders), spread (largest per-epoch _spreads), spread_rms (the same per weight, norm /
    sqrt(weights): equal per-weight gradients of fc1 (1.5M weights) and a 16x16 layer differ by
    sqrt(6144) ~ 1.9 orders in the norm), test_acc (final), n_test."""
    g = r["grad_epoch"]
    rms = {k: [x / math.sqrt(r["numel"][k]) for x in v] for k, v in g.items()}
    return {"fc1": _log10(min(next(iter(g.values())))), "orders": _orders(g),
            "spread": max(_spreads(g)), "spread_rms": max(_spreads(rms)),
            "test_acc": r["test_acc"][-1], "n_test": r["images"]["test"]}


def _seed_table(run, measures, seeds):
    """Every run's measures, seed by seed: what each claim's interval is made from."""
    run.table("per_seed", ["activation", "setting", "seed", "log10 smallest fc1 norm",
                           "last layer over fc1 (orders)", "largest spread in one epoch",
                           "largest per-weight spread in one epoch", "final test acc"],
              [[a, s, k, m["fc1"], m["orders"], m["spread"], m["spread_rms"], m["test_acc"]]
               for a in ACTIVATIONS for s in SETTINGS for k in seeds
               if (m := measures.get((a, s, k)))],
              title="Per seed: the numbers the claims are judged on",
              note="Spreads: log10 of the largest over the smallest epoch-mean norm of any "
                   "Linear layer, the largest over the epochs (per weight: norm / sqrt(weights)).")


def _claims(run, cfg, measures, seeds):
    """The deep sigmoid net's vanishing, the fixed nets' spread, the orderings over seeds."""
    def col(a, s, what):
        if not all((a, s, k) in measures for k in seeds):
            return None
        return [measures[(a, s, k)][what] for k in seeds]

    def values(xs, fmt="{:.2f}"):
        return "per seed " + ", ".join(fmt.format(x) for x in xs)

    if (fc1 := col("sigmoid", "deep", "fc1")) is not None:
        run.judge("deep sigmoid net: smallest early-layer (fc1) gradient norm, log10", "figure",
                  verdict.from_seeds(fc1), math.log10(S5_DEEP_SIGMOID_EARLY_GRAD),
                  better="equal", unit="log10", source=f"{SOURCE} ('gradients in early layers "
                  f"fall to about {S5_DEEP_SIGMOID_EARLY_GRAD:.0e}')",
                  note=f"fc1's smallest epoch mean, {values([10 ** x for x in fc1], '{:.3g}')}; "
                  "the study gives no spread for its 'about', so only our seeds' interval counts")
        orders = col("sigmoid", "deep", "orders")
        run.judge(f"deep sigmoid net: fc1's gradient norm at least {S5_SEVERAL_ORDERS} orders "
                  "of magnitude below the last layer's", "goal", verdict.from_seeds(orders),
                  S5_SEVERAL_ORDERS, better="higher", unit="orders of magnitude",
                  source=f"{GOAL}: its reading of 'vanishing' as 'several orders of magnitude'",
                  note=f"log10 of the last layer's over fc1's norm, {values(orders)}")
    for a in cfg.activations:
        if (fixed := col(a, "fixed", "spread")) is None:
            continue
        rms = col(a, "fixed", "spread_rms")
        run.judge(f"{a}, fixed: per-weight gradient size (norm / sqrt(weights)) within one "
                  "order of magnitude across layers, in every epoch", "goal",
                  verdict.from_seeds(rms), S5_FIXED_MAX_SPREAD, better="lower",
                  unit="orders of magnitude", source=f"{GOAL}, per weight",
                  note=f"largest spread in one epoch, {values(rms)}")
        run.judge(f"{a}, fixed: every layer's gradient norm within one order of magnitude of "
                  "every other's, in every epoch", "goal", verdict.from_seeds(fixed),
                  S5_FIXED_MAX_SPREAD, better="lower", unit="orders of magnitude",
                  source=f"{GOAL}: its reading of 'the fix restores the gradients'",
                  note=f"largest spread across layers in one epoch, {values(fixed)}")
        if (deep := col(a, "deep", "spread")) is not None:
            run.judge(f"{a}: the fix narrows the layers' gradient spread (fixed below deep)",
                      "comparison", verdict.from_pairs(fixed, deep), better="lower",
                      unit="orders of magnitude", source=f"{SOURCE} (the fix, against the "
                      "deep net it fixes)", note=f"fixed minus deep, largest spread in one "
                      f"epoch; deep {values(deep)}, fixed {values(fixed)}")
    relu, sigmoid = col("relu", "deep", "spread"), col("sigmoid", "deep", "spread")
    if relu is not None and sigmoid is not None:
        run.judge("deep nets: ReLU's layer-to-layer gradient spread below sigmoid's",
                  "comparison", verdict.from_pairs(relu, sigmoid), better="lower",
                  unit="orders of magnitude", source="layerlab's reading of the study's "
                  "'to provoke vanishing gradients'", note=f"ReLU minus sigmoid, largest "
                  f"spread in one epoch; ReLU {values(relu)}, sigmoid {values(sigmoid)}")
    _accuracy_claims(run, cfg, col, seeds)


def _accuracy_claims(run, cfg, col, seeds):
    """The plain nets' order ('ReLU best, tanh slightly better than sigmoid') as comparisons
    paired by seed, and every deep and fixed net's final test accuracy (measured)."""
    plain = {a: col(a, "plain", "test_acc") for a in S5_ORDER}
    for i, better_one in enumerate(S5_ORDER):
        for worse in S5_ORDER[i + 1:]:
            a, b = plain[better_one], plain[worse]
            if a is None or b is None:
                continue
            run.judge(f"plain nets: {better_one}'s final test accuracy above {worse}'s",
                      "comparison", verdict.from_pairs(a, b), better="higher",
                      source=SOURCE + " ('ReLU best, tanh slightly better than sigmoid')",
                      note=f"{better_one} minus {worse}, paired by seed; {better_one} "
                      f"{', '.join(map(accuracy, a))}; {worse} {', '.join(map(accuracy, b))}")
    for a, s in ((a, s) for a in cfg.activations for s in cfg.settings if s != "plain"):
        if (accs := col(a, s, "test_acc")) is None:
            continue
        n_test = col(a, s, "n_test")[0]
        run.judge(f"{a}, {s}: final test accuracy", "measured",
                  verdict.from_seeds_and_images(accs, n_test), source=SOURCE,
                  note=f"mean over {count(len(seeds), 'seed')} on {n_test} test images; "
                  f"per seed {', '.join(map(accuracy, accs))}")


def _settings_notes(run, cfg, results, entries, seeds):
    """The settings (image counts from the cells) and the CIFAR-10 copy (from the data cell)."""
    images = results[0]["images"]
    run.note("Settings and choices", (
        f"Widths 3072 -> {'-'.join(map(str, cfg.widths))} -> 10 (plain); deep adds "
        f"{cfg.extra_layers} hidden layers of width {cfg.extra_width}; fixed is the deep net "
        "with He (ReLU) or Xavier (sigmoid, tanh; gain of the activation) normal "
        "initialisation, zero biases and BatchNorm1d after every hidden Linear. Adam lr "
        f"{cfg.learning_rate:g}, batch {cfg.batch_size}, {count(cfg.epochs, 'epoch')}; "
        f"{count(len(seeds), 'seed')} {', '.join(map(str, seeds))} (initial weights and batch "
        "order; the nine runs of one seed share it); "
        f"{images['train']} training, {images['val']} validation (a random {cfg.val:g} of the "
        f"training images drawn with seed {cfg.seed} for every run) and {images['test']} test "
        "images; pixels "
        "(x/255 - 0.5)/0.5. Gradient norms are of the weights only (not biases), read every "
        "step before the update; plots show each epoch's mean. Epoch wall time (training "
        "only, one torch thread): " + epoch_time_summary(results) + "."))
    run.note("The CIFAR-10 copy", f"{entries[0]['description']}. The CIFAR-10 here is the "
             "JPEG copy when the official batches are absent (lossy; docs/data.md gives its "
             "PSNR against the originals).")
