"""S5 vanishing gradients on CIFAR-10 (PyTorch): `vanishing-gradients`.

The FC net 3072 -> 512-256-128-64-32-16 -> 10 with sigmoid, tanh or ReLU: plain (PyTorch's
default init), deep (ten extra hidden layers of width 16), fixed (the deep net with He or Xavier
init, zero biases, batchnorm after every hidden Linear). Every Linear layer's weight-gradient
norm is read at every step. The claims are judged over seeds; the plots and per-run tables show
the first seed (with layer probes on, also its per-step views: `views.gradient_plots`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import accuracy, count, divergence, per_epoch_means, verdict
from layerlab.analysis.fmt import per_seed
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
SPREAD = "orders of magnitude"


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
    """One run (a grid cell) through `train` (cell_trainer's): the per-epoch HISTORY, numel,
    images, params, correct, weights, diverged; probe_view (first seed, probes on); unless it
    diverged, grad_epoch, grad_first_step, grad_min_step (per layer), fc1_first_epoch."""
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
    kept = [r for r in first if not divergence.of(r)]
    _gradient_plots(run, cfg, kept, res)
    if found := views.of(run, kept):  # probes on: per-step views from the probe summaries
        views.gradient_plots(run, [(f"{r['activation']}, {r['setting']}", v)
                                   for r, v in zip(kept, found, strict=True)],
                             f"seed {seeds[0]}", "Linear layer")
    _gradient_tables(run, cfg, first, res)
    _first_epoch_note(run, res)
    keys = {(r["activation"], r["setting"], r["seed"]): r for r in results}
    measures = {key: _measures(r) for key, r in keys.items()}
    lost = {key: divergence.of(r) for key, r in keys.items() if divergence.of(r)}
    _seed_table(run, measures, lost, seeds)
    _claims(run, cfg, measures, lost, seeds)
    _settings_note(run, cfg, results, seeds)


def _gradient_plots(run, cfg, kept, res):
    """Per-layer norms of the runs that did not diverge (`kept`), the norm against depth in
    the first and last epoch, the train/test loss."""
    if not kept:
        return
    seed, epochs = f"seed {kept[0]['seed']}", list(range(1, cfg.epochs + 1))
    run.plot("grad_grid", "layers", title=f"Per-layer gradient norm ({seed})", xlabel="epoch",
             ylabel=GRAD_LABEL, log=True, note="One row per Linear layer, fc1 (the input layer) "
             "on top; each cell is the epoch's mean 2-norm of dL/dW.",
             panels=[{"title": f"{r['activation']}, {r['setting']}", "x": epochs,
                      "layers": list(r["grad_epoch"]), "values": list(r["grad_epoch"].values())}
                     for r in kept])
    depth_panels, loss_panels = [], []
    for a in cfg.activations:
        depth, loss = {}, {}
        for s in (s for s in cfg.settings if not divergence.of(res[(a, s)])):
            g = list(res[(a, s)]["grad_epoch"].values())
            for e, tag in ((0, "first"), (len(epochs) - 1, "last")):
                depth[f"{s}, {tag} epoch"] = [list(range(1, len(g) + 1)), [v[e] for v in g]]
            loss[f"{s} train"] = [epochs, res[(a, s)]["loss"]]
            loss[f"{s} test"] = [epochs, res[(a, s)]["test_loss"]]
        depth_panels.append({"title": a, "ylabel": GRAD_LABEL, "logy": True,
                             "xlabel": "Linear layer (1 = input side)", "series": depth})
        loss_panels.append({"title": a, "ylabel": "cross-entropy", "series": loss})
    run.plot("grad_by_depth", "curves", title=f"Gradient norm against depth ({seed})",
             panels=depth_panels)
    run.plot("loss", "curves", title=f"Train and test loss ({seed})", xlabel="epoch",
             panels=loss_panels, note="Train: mean over the epoch's batches; test: after the "
                                      "epoch, eval mode.")


def _gradient_tables(run, cfg, first, res):
    """Early against last layer for every run; the per-epoch spread of the deep and fixed nets."""
    rows, early = [], ref.S5_DEEP_SIGMOID_EARLY_GRAD
    for r in first:
        study = f"{early:.0e}" if (r["activation"], r["setting"]) == ("sigmoid", "deep") else "-"
        if d := divergence.of(r):
            cells = [divergence.label(d)] * 8
        else:
            g = r["grad_epoch"]
            fc1 = next(iter(g))
            cells = [min(g[fc1]), r["grad_min_step"][fc1], r["grad_first_step"][fc1],
                     last_over_first(g), log10(max(max(v) for v in g.values()))
                     - log10(min(min(v) for v in g.values())), r["test_acc"][-1],
                     r["val_acc"][-1], float(np.median(r["time"]))]
        rows.append([r["activation"], r["setting"], len(r["numel"]), *cells[:3], study,
                     *cells[3:]])
    seed = f"seed {first[0]['seed']}"
    run.table("gradients", ["activation", "setting", "Linear layers",
                            "smallest fc1 grad norm (epoch mean)",
                            "smallest fc1 grad norm (one step)", "fc1 grad norm, first step",
                            "study", f"{SPREAD}, last layer over fc1",
                            f"{SPREAD} across all layers and epochs",
                            "final test acc", "final val acc", "median epoch s"], rows,
              title=f"Early-layer gradient norms beside the reference ({seed})",
              note="fc1 is the first layer. 'last layer over fc1': log10 of the output layer's "
                   "norm over fc1's, in the epoch where fc1's was smallest. 'across': log10 of "
                   "the largest over the smallest epoch-mean norm of any layer. The study: "
                   f"about {early:.0e} in the deep sigmoid net's early layers.")
    rows, most, epochs = [], ref.S5_FIXED_MAX_SPREAD, range(1, cfg.epochs + 1)
    for a, s in ((a, s) for a in cfg.activations for s in ("deep", "fixed") if (a, s) in res):
        if d := divergence.of(res[(a, s)]):
            rows.append([a, s, *[divergence.label(d)] * cfg.epochs, ""])
        else:
            sp = spreads(res[(a, s)]["grad_epoch"])
            rows.append([a, s, *sp, f"{sum(x <= most for x in sp)} of {len(sp)}"])
    if rows:
        run.table("spread", ["activation", "setting", *(f"epoch {e}" for e in epochs),
                             f"epochs within {most:g} order"], rows,
                  title=f"Orders of magnitude between the layers' gradient norms ({seed})",
                  note="log10 of the largest over the smallest epoch-mean norm of any Linear "
                       f"layer in each epoch: layerlab's goal for the fixed runs is at most "
                       f"{most:g} in every epoch (judged over seeds).")


def _first_epoch_note(run, res):
    """How large fc1's gradients of the fixed ReLU net start, step by step."""
    r = res.get(("relu", "fixed"))
    if r is None or divergence.of(r):
        return
    run.note("The first epoch of the fixed ReLU net", _first_epoch_text(r))


def _first_epoch_text(r):
    """fc1's norms over the first epoch against the output layer's first step; 'as here' only
    when fc1's first step is the larger, and the layers' weight counts as measured."""
    first, g, sizes = r["fc1_first_epoch"], r["grad_epoch"], list(r["numel"].values())
    step, out = min(50, len(first)), r["grad_first_step"][list(g)[-1]]
    return (f"fc1's gradient norm is {first[0]:.3g} on the first step, {first[step - 1]:.3g} on "
            f"step {step} and {first[-1]:.3g} on the epoch's last step ({len(first)} steps; "
            f"median {float(np.median(first)):.3g}, mean {next(iter(g.values()))[0]:.3g}); the "
            f"output layer's first step is {out:.3g}. Mean-field theory of batchnorm predicts "
            "large gradients near the input at initialisation (Yang et al. 2019)" + (
                ", as here" if first[0] > out else ", which this run's first step does not "
                "show") + f"; fc1 has {sizes[0]:,} weights, the next largest layer "
            f"{max(sizes[1:]):,}. The spread table shows every epoch apart.")


def _measures(r):
    """What the claims judge of one run: fc1 (log10 of its smallest epoch mean), orders, spread
    (the largest per-epoch `spreads`), spread_rms (the same of norm / sqrt(weights): equal
    per-weight gradients of fc1 and a 16x16 layer differ by ~1.9 orders in the norm), test_acc,
    n_test; a diverged run has only n_test."""
    if divergence.of(r):
        return {"n_test": r["images"]["test"]}
    g = r["grad_epoch"]
    rms = {k: [x / math.sqrt(r["numel"][k]) for x in v] for k, v in g.items()}
    return {"fc1": log10(min(next(iter(g.values())))), "orders": last_over_first(g),
            "spread": max(spreads(g)), "spread_rms": max(spreads(rms)),
            "test_acc": r["test_acc"][-1], "n_test": r["images"]["test"]}


def _seed_table(run, measures, lost, seeds):
    """The per-seed numbers the claims judge; lost: the diverged runs' records."""
    rows = []
    for key in ((a, s, k) for a in ACTIVATIONS for s in SETTINGS for k in seeds):
        if key in lost:
            rows.append([*key, *[divergence.label(lost[key])] * 5])
        elif m := measures.get(key):
            rows.append([*key, *(m[k] for k in ("fc1", "orders", "spread", "spread_rms",
                                                 "test_acc"))])
    run.table("per_seed", ["activation", "setting", "seed", "log10 smallest fc1 norm",
                           "last layer over fc1 (orders)", "largest spread in one epoch",
                           "largest per-weight spread in one epoch", "final test acc"], rows,
              title="Per seed: the numbers the claims are judged on",
              note="Spreads: log10 of the largest over the smallest epoch-mean norm of any "
                   "Linear layer, the largest over the epochs (per weight: norm / sqrt(weights)).")


def _claims(run, cfg, measures, lost, seeds):
    """The deep sigmoid net's vanishing, the fixed nets' spread, the orderings and accuracies,
    over seeds. A claim on a run with a diverged seed is not judged and names the cells."""
    def judge(name, kind, runs, what, note, estimate=None, **kw):
        """runs: one (a, s) judged over seeds, or two paired by seed; note(*columns)."""
        if not all((a, s, k) in measures for a, s in runs for k in seeds):
            return  # not in this grid
        cols = [[measures[(a, s, k)].get(what) for k in seeds] for a, s in runs]
        gone = [cell_key("runs", {"activation": a, "setting": s, "seed": k})
                for a, s in runs for k in seeds if (a, s, k) in lost]
        estimate = estimate or (verdict.from_seeds if len(runs) == 1 else verdict.from_pairs)
        run.judge(name, kind, None if gone else estimate(*cols), diverged=gone or False,
                  note=note(*cols), **kw)

    several, most, early = (ref.S5_SEVERAL_ORDERS, ref.S5_FIXED_MAX_SPREAD,
                            ref.S5_DEEP_SIGMOID_EARLY_GRAD)
    sd = [("sigmoid", "deep")]
    judge("deep sigmoid net: smallest early-layer (fc1) gradient norm, log10", "figure", sd,
          "fc1", lambda c: "fc1's smallest epoch mean, " + per_seed(c, lambda x: f"{10 ** x:.3g}")
          + "; the study gives no spread for its 'about', so only our seeds' interval counts",
          reference=math.log10(early), better="equal", unit="log10", key=True,
          source=f"{SOURCE} ('gradients in early layers fall to about {early:.0e}')")
    judge(f"deep sigmoid net: fc1's gradient norm at least {several} orders of magnitude below "
          "the last layer's", "goal", sd, "orders",
          lambda c: f"log10 of the last layer's over fc1's norm, {per_seed(c)}",
          reference=several, better="higher", unit=SPREAD,
          source=f"{GOAL}: its reading of 'vanishing' as 'several orders of magnitude'")
    for a in cfg.activations:
        judge(f"{a}, fixed: per-weight gradient size (norm / sqrt(weights)) within one order of "
              "magnitude across layers, in every epoch", "goal", [(a, "fixed")], "spread_rms",
              lambda c: f"largest spread in one epoch, {per_seed(c)}", reference=most,
              better="lower", unit=SPREAD, source=f"{GOAL}, per weight")
        judge(f"{a}, fixed: every layer's gradient norm within one order of magnitude of every "
              "other's, in every epoch", "goal", [(a, "fixed")], "spread",
              lambda c: f"largest spread across layers in one epoch, {per_seed(c)}",
              reference=most, better="lower", unit=SPREAD,
              source=f"{GOAL}: its reading of 'the fix restores the gradients'")
        judge(f"{a}: the fix narrows the layers' gradient spread (fixed below deep)",
              "comparison", [(a, "fixed"), (a, "deep")], "spread",
              lambda f, d: f"fixed minus deep, largest spread in one epoch; deep {per_seed(d)}, "
              f"fixed {per_seed(f)}", better="lower", unit=SPREAD,
              source=f"{SOURCE} (the fix, against the deep net it fixes)")
    judge("deep nets: ReLU's layer-to-layer gradient spread below sigmoid's", "comparison",
          [("relu", "deep"), ("sigmoid", "deep")], "spread",
          lambda r, s: f"ReLU minus sigmoid, largest spread in one epoch; ReLU {per_seed(r)}, "
          f"sigmoid {per_seed(s)}", better="lower", unit=SPREAD,
          source="layerlab's reading of the study's 'to provoke vanishing gradients'")
    order = ref.S5_ORDER  # the study's 'ReLU best, tanh slightly better than sigmoid'
    for i, hi in enumerate(order):
        for lo in order[i + 1:]:
            judge(f"plain nets: {hi}'s final test accuracy above {lo}'s", "comparison",
                  [(hi, "plain"), (lo, "plain")], "test_acc",
                  lambda x, y, hi=hi, lo=lo: f"{hi} minus {lo}, paired by seed; "
                  f"{per_seed(x, accuracy, hi + ' ')}; {per_seed(y, accuracy, lo + ' ')}",
                  better="higher", source=SOURCE + " ('ReLU best, tanh slightly better than "
                  "sigmoid')")
    n_test = next(iter(measures.values()))["n_test"]  # every run has the same test images
    for a, s in ((a, s) for a in cfg.activations for s in cfg.settings if s != "plain"):
        judge(f"{a}, {s}: final test accuracy", "measured", [(a, s)], "test_acc",
              lambda c: f"mean over {count(len(seeds), 'seed')} on {n_test} test images; "
              + per_seed(c, accuracy), lambda c: verdict.from_seeds_and_images(c, n_test),
              source=SOURCE)


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
