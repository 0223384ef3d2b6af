"""S5 vanishing gradients on CIFAR-10 (PyTorch): `vanishing-gradients`.

The FC net 3072 -> 512-256-128-64-32-16 -> 10 with sigmoid, tanh or ReLU, in three settings:
plain (PyTorch's default initialisation); deep (ten extra hidden layers of width 16); fixed
(the deep net with the study's fix: He init for ReLU, Xavier for sigmoid and tanh, zero biases,
batchnorm after every hidden Linear). Probes read every Linear layer's weight-gradient 2-norm at
every step. Every run is repeated over `seeds` seeds: the claims are judged over seeds, the
plots and per-run tables show the first seed. With the run's layer probes on (`--set
probes=every:K`, layerlab.probing), the first seed's runs also show their gradient norms step
by step and their update-to-weight ratios (`views.gradient_plots`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import accuracy, count, divergence, per_epoch_means, verdict
from layerlab.analysis.orders import last_over_first, log10, spreads
from layerlab.lab.config import words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.probing import views
from layerlab.pytorch import Probes, VanishingNet
from layerlab.trainers.torch_cell import (
    Recipe,
    cell_trainer,
    data_spec,
    epoch_time_summary,
    load_data,
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
    """The study's settings; num_train/num_test 0 keep every image. seeds: repeats of every run
    (seed, seed + 1, ...); the validation split is drawn with `seed` for all."""

    checks = {"settings": words(SETTINGS)}

    widths: tuple = (512, 256, 128, 64, 32, 16)
    extra_layers: int = 10
    extra_width: int = 16
    activations: tuple = ACTIVATIONS
    settings: tuple = SETTINGS
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 10
    val: float = 0.2
    dataset: str = "cifar10"
    num_train: int = 0
    num_test: int = 0
    seed: int = 0
    seeds: int = 3
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


def cifar_spec(cfg):
    """CIFAR-10 for load_data: pixels (x/255 - 0.5)/0.5, X (N, 3, 32, 32); train/val/test."""
    return data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                     num_train=cfg.num_train or None, num_test=cfg.num_test or None,
                     pixels="half", test_seed=cfg.seed)


def train_run(train, cfg, activation, setting, seed, run=None):
    """One run with one seed (a grid cell) through `train` (cell_trainer's).

    Returns the per-epoch HISTORY lists, numel {layer: weights}, images {split: count},
    params, correct, weights, diverged (train_cell's), with probes on for the first seed
    probe_view (views.summary of grad_norm and update_ratio) and, for a run that did not
    diverge, grad_epoch {layer: per-epoch mean norm}, grad_first_step and grad_min_step
    {layer: norm}, fc1_first_epoch (fc1's norm at every step of epoch 1)."""
    probed = []

    def probes(model):  # every Linear layer's weight-gradient norm at every step
        probed.append(Probes(model, every="step", layers=model.linear_names()))
        return probed[0]

    recipe = Recipe(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.learning_rate,
                    seed=seed, monitor_test=True, channels_last=False)
    key = f"runs/activation={activation},setting={setting},seed={seed}"
    r = train(key, lambda: build(setting, activation, cfg.widths, cfg.extra_layers,
                                 cfg.extra_width), recipe, probes=probes, keep=("epoch", *HISTORY))
    history, layers, data = r["history"], probed[0].layers, load_data(cifar_spec(cfg))
    out = {"activation": activation, "setting": setting, "seed": seed,
           **{k: history[k] for k in HISTORY},
           "numel": {n.removeprefix("net."): m.weight.numel() for n, m in layers.items()},
           "images": {s: len(data[f"y_{s}"]) for s in ("train", "val", "test")},
           "params": r["params"], "correct": r["correct"], "weights": r["weights"],
           "diverged": r["diverged"]}
    if run is not None and seed == cfg.seed and (view := views.summary(
            run, key, stats=("grad_norm", "update_ratio"))):
        out["probe_view"] = view
    if r["diverged"]:  # stopped mid-epoch: its gradients have no epoch means
        return out
    grads = {n.removeprefix("net."): r["probes"][n]["grad_norm"] for n in layers}
    epochs = len(history["epoch"])
    return {**out, "grad_epoch": {n: per_epoch_means(g, epochs=epochs) for n, g in grads.items()},
            "grad_first_step": {n: g[0] for n, g in grads.items()},
            "fc1_first_epoch": grads["fc1"][:len(grads["fc1"]) // epochs],
            "grad_min_step": {n: float(np.min(g)) for n, g in grads.items()}}


@experiment("vanishing-gradients", study="S5",
            title="sigmoid, tanh, ReLU x plain, deep, fixed: per-layer gradient norms",
            estimate="2.3 h (busy 2-core machine; 30 min quiet, sweep --workers 2)",
            config=VanishingConfig,
            quick={"dataset": "builtin", "epochs": 1, "num_train": 300, "num_test": 200,
                   "val": 100, "extra_layers": 3, "widths": (64, 32, 32, 16, 16, 16),
                   "seeds": 2})
def vanishing_gradients(cfg, run):
    """Nine runs per seed, the per-layer gradient plots and tables, the claims over seeds."""
    train = cell_trainer(run, cifar_spec(cfg))
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    cells = [{"activation": a, "setting": s, "seed": k}
             for k in seeds for a in cfg.activations for s in cfg.settings]
    results = grid(run, "runs", cells, lambda c: train_run(train, cfg, **c, run=run))
    # a diverged run is an outcome to show (its rows say so), never a figure to average
    divergence.note(run, divergence.split([cell_key("runs", c) for c in cells], results)[1])
    first = [r for r in results if r["seed"] == seeds[0]]  # what the plots and tables show
    res = {(r["activation"], r["setting"]): r for r in first}
    epochs = list(range(1, cfg.epochs + 1))
    kept = [r for r in first if not divergence.of(r)]
    _gradient_plots(run, cfg, kept, res, epochs)
    if found := views.of(run, kept):  # probes on: per-step views from the probe summaries
        views.gradient_plots(run, [(f"{r['activation']}, {r['setting']}", v)
                                   for r, v in zip(kept, found, strict=True)],
                             f"seed {seeds[0]}", "Linear layer")
    _gradient_tables(run, cfg, first, res, epochs)
    _first_epoch_note(run, res)
    keys = {(r["activation"], r["setting"], r["seed"]): r for r in results}
    measures = {key: _measures(r) for key, r in keys.items()}
    lost = {key: divergence.of(r) for key, r in keys.items() if divergence.of(r)}
    _seed_table(run, measures, lost, seeds)
    _claims(run, cfg, measures, lost, seeds)
    _settings_note(run, cfg, results, seeds)


def _gradient_plots(run, cfg, results, res, epochs):
    """Per-layer norms of every run, the norm against depth in the first and last epoch, the
    train/test loss; results: the runs that did not diverge (none: no plots)."""
    if not results:
        return
    panels = [{"title": f"{r['activation']}, {r['setting']}", "layers": list(r["grad_epoch"]),
               "x": epochs, "values": list(r["grad_epoch"].values())} for r in results]
    seed = f"seed {results[0]['seed']}"
    run.plot("grad_grid", "layers", title=f"Per-layer gradient norm ({seed})", xlabel="epoch",
             ylabel=GRAD_LABEL, log=True, panels=panels, note="One row per Linear layer, fc1 "
             "(the input layer) on top; each cell is the epoch's mean 2-norm of dL/dW.")
    depth_panels, loss_panels = [], []
    for a in cfg.activations:
        series = {}
        for s in (s for s in cfg.settings if (a, s) in res and not divergence.of(res[(a, s)])):
            g = list(res[(a, s)]["grad_epoch"].values())
            for e, tag in ((0, "first"), (len(epochs) - 1, "last")):
                series[f"{s}, {tag} epoch"] = [list(range(1, len(g) + 1)), [v[e] for v in g]]
        depth_panels.append({"title": a, "ylabel": GRAD_LABEL, "logy": True,
                             "xlabel": "Linear layer (1 = input side)", "series": series})
        loss = {}
        for s in (s for s in cfg.settings if not divergence.of(res[(a, s)])):
            loss[f"{s} train"] = [epochs, res[(a, s)]["loss"]]
            loss[f"{s} test"] = [epochs, res[(a, s)]["test_loss"]]
        loss_panels.append({"title": a, "ylabel": "cross-entropy", "series": loss})
    run.plot("grad_by_depth", "curves", title=f"Gradient norm against depth ({seed})",
             panels=depth_panels)
    run.plot("loss", "curves", title=f"Train and test loss ({seed})", xlabel="epoch",
             panels=loss_panels, note="Train: mean over the epoch's batches; test: after the "
                                      "epoch, eval mode.")


def _gradient_tables(run, cfg, results, res, epochs):
    """Early against last layer for every run; the per-epoch spread of the deep and fixed nets."""
    rows = []
    for r in results:
        study = (ref.S5_DEEP_SIGMOID_EARLY_GRAD if (r["activation"], r["setting"]) ==
                 ("sigmoid", "deep") else None)
        study = f"{study:.0e}" if study else "-"
        if d := divergence.of(r):
            rows.append([r["activation"], r["setting"], len(r["numel"]),
                         *[divergence.label(d)] * 3, study, *[divergence.label(d)] * 5])
            continue
        g = r["grad_epoch"]
        first = next(iter(g))
        spread = (log10(max(max(v) for v in g.values()))
                  - log10(min(min(v) for v in g.values())))
        rows.append([r["activation"], r["setting"], len(g), min(g[first]),
                     r["grad_min_step"][first], r["grad_first_step"][first], study,
                     last_over_first(g), spread, r["test_acc"][-1], r["val_acc"][-1],
                     float(np.median(r["time"]))])
    seed = f"seed {results[0]['seed']}"
    run.table("gradients", ["activation", "setting", "Linear layers",
                            "smallest fc1 grad norm (epoch mean)",
                            "smallest fc1 grad norm (one step)", "fc1 grad norm, first step",
                            "study", "orders of magnitude, last layer over fc1",
                            "orders of magnitude across all layers and epochs",
                            "final test acc", "final val acc", "median epoch s"], rows,
              title=f"Early-layer gradient norms beside the reference ({seed})",
              note="fc1 is the first layer. 'last layer over fc1': log10 of the output layer's "
                   "norm over fc1's, in the epoch where fc1's was smallest. 'across': log10 of "
                   "the largest over the smallest epoch-mean norm of any layer. The study: "
                   f"about {ref.S5_DEEP_SIGMOID_EARLY_GRAD:.0e} in the deep sigmoid net's early "
                   "layers.")
    spread_rows = []
    for a, s in ((a, s) for a in cfg.activations for s in ("deep", "fixed") if (a, s) in res):
        if d := divergence.of(res[(a, s)]):
            spread_rows.append([a, s, *[divergence.label(d)] * len(epochs), ""])
            continue
        sp = spreads(res[(a, s)]["grad_epoch"])
        spread_rows.append([a, s, *sp, f"{sum(x <= ref.S5_FIXED_MAX_SPREAD for x in sp)} of "
                                       f"{len(sp)}"])
    if spread_rows:
        run.table("spread", ["activation", "setting", *[f"epoch {e}" for e in epochs],
                             f"epochs within {ref.S5_FIXED_MAX_SPREAD:g} order"], spread_rows,
                  title=f"Orders of magnitude between the layers' gradient norms ({seed})",
                  note="log10 of the largest over the smallest epoch-mean norm of any Linear "
                       f"layer in each epoch: layerlab's goal for the fixed runs is at most "
                       f"{ref.S5_FIXED_MAX_SPREAD:g} in every epoch (judged over seeds).")


def _first_epoch_note(run, res):
    """How large fc1's gradients of the fixed ReLU net start, step by step."""
    if ("relu", "fixed") not in res or divergence.of(res[("relu", "fixed")]):
        return
    r = res[("relu", "fixed")]
    first, g = r["fc1_first_epoch"], r["grad_epoch"]
    step = min(50, len(first))
    run.note("The first epoch of the fixed ReLU net", (
        f"fc1's gradient norm is {first[0]:.3g} on the first step, {first[step - 1]:.3g} on "
        f"step {step} and {first[-1]:.3g} on the epoch's last step ({len(first)} steps; median "
        f"{float(np.median(first)):.3g}, mean {next(iter(g.values()))[0]:.3g}); the output "
        f"layer's first step is {r['grad_first_step'][list(g)[-1]]:.3g}. Mean-field theory of "
        "batchnorm predicts large gradients near the input at initialisation (Yang et al. "
        "2019), and fc1, with its 3072 inputs, has by far the most weights; the spread table "
        "shows every epoch apart."))


def _measures(r):
    """What the claims judge, of one run: fc1 (log10 of fc1's smallest epoch mean), orders,
    spread (largest per-epoch `spreads`), spread_rms (the same per weight: norm / sqrt(weights),
    since equal per-weight gradients of fc1 and a 16x16 layer differ by ~1.9 orders in the
    norm), test_acc (final), n_test; a diverged run has only n_test."""
    if divergence.of(r):
        return {"n_test": r["images"]["test"]}
    g = r["grad_epoch"]
    rms = {k: [x / math.sqrt(r["numel"][k]) for x in v] for k, v in g.items()}
    return {"fc1": log10(min(next(iter(g.values())))), "orders": last_over_first(g),
            "spread": max(spreads(g)), "spread_rms": max(spreads(rms)),
            "test_acc": r["test_acc"][-1], "n_test": r["images"]["test"]}


def _seed_table(run, measures, lost, seeds):
    """measures {(activation, setting, seed): _measures}; lost {the same keys: divergence} of
    the runs that diverged."""
    rows = []
    for key in ((a, s, k) for a in ACTIVATIONS for s in SETTINGS for k in seeds):
        if key in lost:
            rows.append([*key, *[divergence.label(lost[key])] * 5])
        elif m := measures.get(key):
            rows.append([*key, m["fc1"], m["orders"], m["spread"], m["spread_rms"], m["test_acc"]])
    run.table("per_seed", ["activation", "setting", "seed", "log10 smallest fc1 norm",
                           "last layer over fc1 (orders)", "largest spread in one epoch",
                           "largest per-weight spread in one epoch", "final test acc"], rows,
              title="Per seed: the numbers the claims are judged on",
              note="Spreads: log10 of the largest over the smallest epoch-mean norm of any "
                   "Linear layer, the largest over the epochs (per weight: norm / sqrt(weights)).")


def _values(xs, show="{:.2f}".format, prefix="per seed "):
    """'per seed 1.23, diverged': each seed's value (None: the seed diverged)."""
    return prefix + ", ".join("diverged" if x is None else show(x) for x in xs)


def _claims(run, cfg, measures, lost, seeds):
    """The deep sigmoid net's vanishing, the fixed nets' spread, the orderings over seeds. A
    claim on a run with a diverged seed is not judged and names the cells."""
    def col(a, s, what):  # per seed (None: that seed diverged); None: not in this grid
        if not all((a, s, k) in measures for k in seeds):
            return None
        return [measures[(a, s, k)].get(what) for k in seeds]

    def judge(name, kind, estimate, args, pairs, **kw):  # estimate(*args) unless a run of
        gone = [cell_key("runs", {"activation": a, "setting": s, "seed": k})  # pairs diverged
                for a, s in pairs for k in seeds if (a, s, k) in lost]
        run.judge(name, kind, None if gone else estimate(*args), diverged=gone or False, **kw)

    if (fc1 := col("sigmoid", "deep", "fc1")) is not None:
        judge("deep sigmoid net: smallest early-layer (fc1) gradient norm, log10", "figure",
              verdict.from_seeds, [fc1], [("sigmoid", "deep")],
              reference=math.log10(ref.S5_DEEP_SIGMOID_EARLY_GRAD),
              better="equal", unit="log10", key=True, source=f"{SOURCE} ('gradients in "
              f"early layers fall to about {ref.S5_DEEP_SIGMOID_EARLY_GRAD:.0e}')",
              note="fc1's smallest epoch mean, " + _values(fc1, lambda x: f"{10 ** x:.3g}")
              + "; the study gives no spread for its 'about', so only our seeds' interval "
              "counts")
        orders = col("sigmoid", "deep", "orders")
        judge(f"deep sigmoid net: fc1's gradient norm at least {ref.S5_SEVERAL_ORDERS} orders "
              "of magnitude below the last layer's", "goal", verdict.from_seeds, [orders],
              [("sigmoid", "deep")], reference=ref.S5_SEVERAL_ORDERS, better="higher",
              unit="orders of magnitude",
              source=f"{GOAL}: its reading of 'vanishing' as 'several orders of magnitude'",
              note=f"log10 of the last layer's over fc1's norm, {_values(orders)}")
    for a in cfg.activations:
        if (fixed := col(a, "fixed", "spread")) is None:
            continue
        rms = col(a, "fixed", "spread_rms")
        judge(f"{a}, fixed: per-weight gradient size (norm / sqrt(weights)) within one "
              "order of magnitude across layers, in every epoch", "goal", verdict.from_seeds,
              [rms], [(a, "fixed")], reference=ref.S5_FIXED_MAX_SPREAD, better="lower",
              unit="orders of magnitude", source=f"{GOAL}, per weight",
              note=f"largest spread in one epoch, {_values(rms)}")
        judge(f"{a}, fixed: every layer's gradient norm within one order of magnitude of "
              "every other's, in every epoch", "goal", verdict.from_seeds, [fixed],
              [(a, "fixed")], reference=ref.S5_FIXED_MAX_SPREAD, better="lower",
              unit="orders of magnitude",
              source=f"{GOAL}: its reading of 'the fix restores the gradients'",
              note=f"largest spread across layers in one epoch, {_values(fixed)}")
        if (deep := col(a, "deep", "spread")) is not None:
            judge(f"{a}: the fix narrows the layers' gradient spread (fixed below deep)",
                  "comparison", verdict.from_pairs, [fixed, deep], [(a, "fixed"), (a, "deep")],
                  better="lower", unit="orders of magnitude", source=f"{SOURCE} (the fix, "
                  "against the deep net it fixes)", note=f"fixed minus deep, largest spread in "
                  f"one epoch; deep {_values(deep)}, fixed {_values(fixed)}")
    relu, sigmoid = col("relu", "deep", "spread"), col("sigmoid", "deep", "spread")
    if relu is not None and sigmoid is not None:
        judge("deep nets: ReLU's layer-to-layer gradient spread below sigmoid's",
              "comparison", verdict.from_pairs, [relu, sigmoid],
              [("relu", "deep"), ("sigmoid", "deep")], better="lower",
              unit="orders of magnitude", source="layerlab's reading of the study's "
              "'to provoke vanishing gradients'", note=f"ReLU minus sigmoid, largest "
              f"spread in one epoch; ReLU {_values(relu)}, sigmoid {_values(sigmoid)}")
    _accuracy_claims(judge, cfg, col, seeds)


def _accuracy_claims(judge, cfg, col, seeds):
    """The plain nets' order ('ReLU best, tanh slightly better than sigmoid') paired by seed,
    and every deep and fixed net's final test accuracy (measured)."""
    plain = {a: col(a, "plain", "test_acc") for a in ref.S5_ORDER}
    for i, better_one in enumerate(ref.S5_ORDER):
        for worse in ref.S5_ORDER[i + 1:]:
            a, b = plain[better_one], plain[worse]
            if a is None or b is None:
                continue
            judge(f"plain nets: {better_one}'s final test accuracy above {worse}'s",
                  "comparison", verdict.from_pairs, [a, b],
                  [(better_one, "plain"), (worse, "plain")], better="higher",
                  source=SOURCE + " ('ReLU best, tanh slightly better than sigmoid')",
                  note=f"{better_one} minus {worse}, paired by seed; "
                  f"{_values(a, accuracy, better_one + ' ')}; {_values(b, accuracy, worse + ' ')}")
    for a, s in ((a, s) for a in cfg.activations for s in cfg.settings if s != "plain"):
        if (accs := col(a, s, "test_acc")) is None:
            continue
        n_test = col(a, s, "n_test")[0]
        judge(f"{a}, {s}: final test accuracy", "measured", verdict.from_seeds_and_images,
              [accs, n_test], [(a, s)], source=SOURCE,
              note=f"mean over {count(len(seeds), 'seed')} on {n_test} test images; "
              + _values(accs, accuracy))


def _settings_note(run, cfg, results, seeds):
    images = results[0]["images"]
    run.note("Settings and choices", (
        f"Widths 3072 -> {'-'.join(map(str, cfg.widths))} -> 10 (plain); deep adds "
        f"{cfg.extra_layers} hidden layers of width {cfg.extra_width}; fixed is the deep net "
        "with He (ReLU) or Xavier (sigmoid, tanh; the activation's gain) normal init, zero "
        f"biases and BatchNorm1d after every hidden Linear. Adam lr {cfg.learning_rate:g}, "
        f"batch {cfg.batch_size}, {count(cfg.epochs, 'epoch')}; {count(len(seeds), 'seed')} "
        f"{', '.join(map(str, seeds))} (initial weights and batch order); {images['train']} "
        f"training, {images['val']} validation (a random {cfg.val:g} of the training images, "
        f"seed {cfg.seed} for every run) and {images['test']} test images; pixels (x/255 - "
        "0.5)/0.5. Gradient norms are of the weights only, read every step before the update. "
        "Epoch wall time (training only, one torch thread): " + epoch_time_summary(results)
        + ". The CIFAR-10 here is the JPEG copy when the official batches are absent (lossy; "
        "docs/data.md gives its PSNR)."))
