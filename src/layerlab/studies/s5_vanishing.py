"""S5 vanishing gradients on CIFAR-10 (PyTorch).

`vanishing-gradients`: the FC net 3072 -> 512-256-128-64-32-16 -> 10 with sigmoid, tanh or
ReLU, in three settings each (nine runs):

- plain: the study's widths, PyTorch's default initialisation;
- deep: ten extra hidden layers of width 16 after the 16 (to provoke vanishing gradients);
- fixed: the deep net with the study's fix: He (Kaiming normal, fan-in) initialisation for
  ReLU, Xavier (Glorot normal, with the activation's gain) for sigmoid and tanh, zero biases,
  plus batchnorm after every hidden Linear (before the activation).

The fix is applied to the deep net, so the fixed runs answer "does the fix restore the
gradients of the net that had lost them?"; the study does not say which depth it fixed.

Adam lr 1e-3, batch 128, 10 epochs, cross-entropy, pixels normalised with mean and std 0.5
per channel (x / 255 - 0.5) / 0.5, 20% of the training images held out for validation (a
seeded random draw). The probes (`layerlab.pytorch.Probes`) read the 2-norm of every Linear
layer's weight gradient at every step; the report shows the per-epoch mean per layer. The
test split is evaluated after every epoch for the train/test loss plot the study asks for;
nothing is selected on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
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

SOURCE = "shared/STUDIES.md S5 (vanishing gradients on CIFAR-10)"
ACTIVATIONS = ("sigmoid", "tanh", "relu")
SETTINGS = ("plain", "deep", "fixed")


def build(setting, activation, widths, extra_layers, extra_width):
    """The model of one of the nine runs."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, not {setting!r}")
    deep = list(widths) + ([extra_width] * extra_layers if setting != "plain" else [])
    if setting == "fixed":
        return VanishingNet(deep, activation, batchnorm=True,
                            init="he" if activation == "relu" else "xavier")
    return VanishingNet(deep, activation)


@dataclass
class VanishingConfig:
    """The study's settings; num_train/num_test 0 keep every image (quick runs take fewer)."""

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
    per_run_plots: bool = True  # one plot per run besides the grid (quick runs skip them)


def cifar_spec(cfg):
    """CIFAR-10's description for load_data: pixels (x/255 - 0.5)/0.5, X (N, 3, 32, 32);
    train/val/test, the test subset (quick runs) drawn with the split's seed."""
    return data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                     num_train=cfg.num_train or None, num_test=cfg.num_test or None,
                     pixels="half", test_seed=cfg.seed)


def per_epoch(values, epochs):
    """Per-step values -> the mean of each epoch (steps split evenly into `epochs`)."""
    v = np.asarray(values, dtype=float)
    return v.reshape(epochs, -1).mean(axis=1).tolist()


def train_run(run, cfg, data, spec, activation, setting):
    """One of the nine runs: the history and the per-layer gradient norms."""
    probed = []

    def probes(model):  # every Linear layer's weight-gradient norm at every step
        probed.append(Probes(model, every="step", layers=model.linear_names()))
        return probed[0]

    recipe = Recipe(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.learning_rate,
                    seed=cfg.seed, monitor_test=True, channels_last=False)
    r = train_cell(run, f"runs/activation={activation},setting={setting}",
                   lambda: build(setting, activation, cfg.widths, cfg.extra_layers,
                                 cfg.extra_width), data, spec, recipe, probes=probes,
                   keep=("epoch", "loss", "train_acc", "val_loss", "val_acc", "test_loss",
                         "test_acc", "time"))
    history, layers = r["history"], probed[0].layers
    grads = {n.removeprefix("net."): r["probes"][n]["grad_norm"] for n in layers}
    epochs = len(history["epoch"])
    fc1 = next(iter(grads.values()))
    return {"activation": activation, "setting": setting,
            **{k: history[k] for k in ("loss", "train_acc", "val_loss", "val_acc", "test_loss",
                                       "test_acc", "time")},
            "grad_epoch": {n: per_epoch(g, epochs) for n, g in grads.items()},
            "grad_first_step": {n: g[0] for n, g in grads.items()},
            # fc1's every step of the first epoch: how fast its first large norms fall
            "fc1_first_epoch": fc1[:len(fc1) // epochs],
            "grad_min_step": {n: float(np.min(g)) for n, g in grads.items()},
            "numel": {n.removeprefix("net."): m.weight.numel() for n, m in layers.items()},
            "params": r["params"], "correct": r["correct"], "weights": r["weights"]}


def _log10(x):
    return math.log10(x) if x > 0 else float("-inf")


@experiment("vanishing-gradients", study="S5",
            title="sigmoid, tanh, ReLU x plain, deep, fixed: per-layer gradient norms",
            estimate="45 min (busy 2-core machine; 10 min quiet, sweep --workers 2)",
            config=VanishingConfig,
            quick={"dataset": "builtin", "epochs": 1, "num_train": 300, "num_test": 200,
                   "val": 100, "extra_layers": 3, "widths": (64, 32, 32, 16, 16, 16),
                   "per_run_plots": False})
def vanishing_gradients(cfg, run):
    spec = cifar_spec(cfg)
    data = load_data(spec, run)
    cells = [{"activation": a, "setting": s} for a in cfg.activations for s in cfg.settings]
    results = grid(run, "runs", cells, lambda c: train_run(run, cfg, data, spec,
                                                           c["activation"], c["setting"]))
    res = {(r["activation"], r["setting"]): r for r in results}
    epochs = list(range(1, cfg.epochs + 1))

    # --- per-layer gradient norms: one plot per run, and the grid of nine -------------------
    panels = []
    for r in results:
        layers = list(r["grad_epoch"])
        series = {f"{n} ({i + 1}/{len(layers)})" if i in (0, len(layers) - 1) else n:
                  [epochs, r["grad_epoch"][n]] for i, n in enumerate(layers)}
        title = f"{r['activation']}, {r['setting']}"
        panel = {"title": title, "ylabel": "||dL/dW|| (epoch mean)", "series": series,
                 "logy": True, "legend_size": 5}
        panels.append(panel)
        if not cfg.per_run_plots:
            continue
        run.plot(f"grad_{r['activation']}_{r['setting']}", "curves",
                 title=f"Per-layer weight-gradient norm: {title}", xlabel="epoch",
                 panels=[{**panel, "legend_size": 7}],
                 note="One line per Linear layer, fc1 the first (input) layer; each point "
                      "is the mean over the epoch's steps of the 2-norm of dL/dW.")
    run.plot("grad_grid", "curves", title="Per-layer gradient norm, all nine runs (log scale)",
             xlabel="epoch", panels=panels, ncols=len(cfg.settings))

    # --- gradient norm against depth, first and last epoch (the vanishing in one picture) ---
    depth_panels = []
    for a in cfg.activations:
        series = {}
        for s in cfg.settings:
            if (a, s) not in res:
                continue
            g = res[(a, s)]["grad_epoch"]
            layers = list(range(1, len(g) + 1))
            for e, tag in ((0, "first"), (len(epochs) - 1, "last")):
                series[f"{s}, {tag} epoch"] = [layers, [v[e] for v in g.values()]]
        depth_panels.append({"title": a, "ylabel": "||dL/dW|| (epoch mean)", "logy": True,
                             "xlabel": "Linear layer (1 = input side)", "series": series})
    run.plot("grad_by_depth", "curves", title="Gradient norm against depth, first and last "
             "epoch", panels=depth_panels)

    # --- train/test loss per activation ----------------------------------------------------
    loss_panels = []
    for a in cfg.activations:
        series = {}
        for s in cfg.settings:
            r = res[(a, s)]
            series[f"{s} train"] = [epochs, r["loss"]]
            series[f"{s} test"] = [epochs, r["test_loss"]]
        loss_panels.append({"title": a, "ylabel": "cross-entropy", "series": series})
    run.plot("loss", "curves", title="Train and test loss per activation", xlabel="epoch",
             panels=loss_panels,
             note="Train: mean loss over the epoch's batches (weights changing); test: after "
                  "the epoch, eval mode.")

    # --- the table: early vs last layer ----------------------------------------------------
    rows = []
    for r in results:
        g = r["grad_epoch"]
        first, last = next(iter(g)), list(g)[-1]
        early_min = min(g[first])
        ratio = _log10(g[last][int(np.argmin(g[first]))]) - _log10(early_min)
        across = [min(v) for v in g.values()], [max(v) for v in g.values()]
        spread = _log10(max(across[1])) - _log10(min(across[0]))
        ref = S5_DEEP_SIGMOID_EARLY_GRAD if (r["activation"], r["setting"]) == \
            ("sigmoid", "deep") else None
        rows.append([r["activation"], r["setting"], len(g), early_min,
                     r["grad_min_step"][first], r["grad_first_step"][first],
                     f"{ref:.0e}" if ref else "-", ratio, spread,
                     r["test_acc"][-1], r["val_acc"][-1], float(np.median(r["time"]))])
    run.table("gradients", ["activation", "setting", "Linear layers",
                            "smallest fc1 grad norm (epoch mean)",
                            "smallest fc1 grad norm (one step)", "fc1 grad norm, first step",
                            "study", "orders of magnitude, last layer over fc1",
                            "orders of magnitude across all layers and epochs",
                            "final test acc", "final val acc", "median epoch s"], rows,
              title="Early-layer gradient norms beside the reference",
              note="fc1 is the first (earliest) layer. 'last layer over fc1': log10 of the "
                   "output layer's gradient norm over fc1's, in the epoch where fc1's was "
                   "smallest. 'across': log10 of the largest over the smallest epoch-mean "
                   "norm of any layer. The reference is the study's 'about 1e-14' for the "
                   "deep sigmoid net's early layers.")

    # --- the layer-to-layer spread in every epoch (what "within one order" is judged on) ----
    def spreads(g):
        """log10 of the largest over the smallest layer's epoch-mean norm, per epoch."""
        return [_log10(max(v[e] for v in g.values())) - _log10(min(v[e] for v in g.values()))
                for e in range(len(epochs))]

    spread_rows = []
    for a in cfg.activations:
        for s in ("deep", "fixed"):
            if (a, s) in res:
                sp = spreads(res[(a, s)]["grad_epoch"])
                spread_rows.append([a, s, *sp,
                                    f"{sum(x <= S5_FIXED_MAX_SPREAD for x in sp)} of {len(sp)}"])
    if spread_rows:
        run.table("spread", ["activation", "setting", *[f"epoch {e}" for e in epochs],
                             f"epochs within {S5_FIXED_MAX_SPREAD:g} order"], spread_rows,
                  title="Orders of magnitude between the layers' gradient norms, per epoch",
                  note="log10 of the largest over the smallest epoch-mean weight-gradient "
                       "norm of any Linear layer in that epoch: the fixed runs' claims ask for "
                       f"at most {S5_FIXED_MAX_SPREAD:g} in every epoch.")
    if ("relu", "fixed") in res:
        r = res[("relu", "fixed")]
        first = r["fc1_first_epoch"]
        g = r["grad_epoch"]
        fc1, last = next(iter(g)), list(g)[-1]
        run.note("The first epoch of the fixed ReLU net", (
            f"fc1's gradient norm is {first[0]:.3g} on the first step, "
            f"{first[min(49, len(first) - 1)]:.3g} on step {min(50, len(first))} and "
            f"{first[-1]:.3g} on the epoch's last step ({len(first)} steps; median "
            f"{float(np.median(first)):.3g}, mean {g[fc1][0]:.3g}); the output layer's first "
            f"step is {r['grad_first_step'][last]:.3g}. Large gradients near the input at "
            "initialisation are what the mean-field theory of batchnorm predicts (Yang et al. "
            "2019: a batchnorm net amplifies gradients layer by layer towards the input), and "
            "fc1, with its 3072 inputs, has by far the most weights. Where the first steps "
            "are large, the first epoch's mean is theirs: the spread table shows every epoch "
            "apart."))

    # --- claims ------------------------------------------------------------------------------
    def orders(a, s):
        g = res[(a, s)]["grad_epoch"]
        first, last = next(iter(g)), list(g)[-1]
        i = int(np.argmin(g[first]))
        return _log10(g[last][i]) - _log10(g[first][i])

    if ("sigmoid", "deep") in res:
        g = res[("sigmoid", "deep")]["grad_epoch"]
        early = min(next(iter(g.values())))
        run.claim("deep sigmoid net: smallest early-layer (fc1) gradient norm, log10",
                  _log10(early), _log10(S5_DEEP_SIGMOID_EARLY_GRAD), better="lower",
                  tolerance=2.0, source=SOURCE + " ('gradients in early layers fall to about "
                  "1e-14')", note=f"{early:.3g} (epoch mean); smallest single step "
                  f"{res[('sigmoid', 'deep')]['grad_min_step']['fc1']:.3g}; within 2 orders "
                  "of magnitude counts as 'about'")
        o = orders("sigmoid", "deep")
        run.claim(f"deep sigmoid net: fc1's gradient norm at least {S5_SEVERAL_ORDERS} orders "
                  "of magnitude below the last layer's", bool(o >= S5_SEVERAL_ORDERS), True,
                  better="equal", source="issue 7 must-show ('several orders of magnitude')",
                  note=f"{o:.1f} orders of magnitude")
    for a in cfg.activations:
        if (a, "fixed") not in res:
            continue
        g = res[(a, "fixed")]["grad_epoch"]
        worst = max(spreads(g))
        # per weight (norm / sqrt(entries)): fc1 has 1.5 million weights, a 16x16 layer 256,
        # so equal per-weight gradients differ by sqrt(6144) ~ 1.9 orders in the norm
        n = res[(a, "fixed")]["numel"]
        rms = {k: [x / math.sqrt(n[k]) for x in v] for k, v in g.items()}
        worst_rms = max(spreads(rms))
        run.claim(f"{a}, fixed: per-weight gradient size (norm / sqrt(weights)) within one "
                  "order of magnitude across layers, in every epoch",
                  bool(worst_rms <= S5_FIXED_MAX_SPREAD), True, better="equal",
                  source="issue 7 must-show, per weight", note=f"largest spread in one epoch: "
                  f"{worst_rms:.2f} orders of magnitude")
        deep = orders(a, "deep") if (a, "deep") in res else float("nan")
        run.claim(f"{a}, fixed: every layer's gradient norm within one order of magnitude of "
                  "every other's, in every epoch", bool(worst <= S5_FIXED_MAX_SPREAD), True,
                  better="equal", source="issue 7 must-show (the fixed runs restore the "
                  "gradients)", note=f"largest spread across layers in one epoch: "
                  f"{worst:.2f} orders of magnitude (deep, not fixed: last layer over fc1 "
                  f"{deep:.1f} orders)")
    plain = {a: res[(a, "plain")]["test_acc"][-1] for a in cfg.activations if (a, "plain") in res}
    if set(plain) == set(ACTIVATIONS):
        order = tuple(sorted(plain, key=plain.get, reverse=True))
        run.claim("plain nets: order of final test accuracy, best first", " > ".join(order),
                  " > ".join(S5_ORDER), better="equal", source=SOURCE + " ('ReLU best, tanh "
                  "slightly better than sigmoid')",
                  note=", ".join(f"{a} {100 * plain[a]:.2f}%" for a in order))
        run.claim("plain nets: ReLU's test accuracy is the best of the three",
                  bool(plain["relu"] >= max(plain.values())), True, better="equal",
                  source=SOURCE, note=", ".join(f"{a} {100 * v:.2f}%" for a, v in plain.items()))
    for a in cfg.activations:
        for s in cfg.settings:
            if (a, s) in res and s != "plain":
                r = res[(a, s)]
                run.claim(f"{a}, {s}: final test accuracy", r["test_acc"][-1], None,
                          source=SOURCE, note=f"val {100 * r['val_acc'][-1]:.2f}%")

    run.note("Settings and choices", (
        f"Widths 3072 -> {'-'.join(map(str, cfg.widths))} -> 10 (plain); deep adds "
        f"{cfg.extra_layers} hidden layers of width {cfg.extra_width}; fixed is the deep net "
        "with He (ReLU) or Xavier (sigmoid, tanh; gain of the activation) normal "
        "initialisation, zero biases and BatchNorm1d after every hidden Linear. Adam lr "
        f"{cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.epochs} epochs, seed {cfg.seed} "
        f"(initial weights and batch order; the same for all nine runs); "
        f"{len(data['y_train'])} training, {len(data['y_val'])} validation (a seeded random "
        f"{cfg.val:g} of the training images) and {len(data['y_test'])} test images; pixels "
        "(x/255 - 0.5)/0.5. Gradient norms are of the weights only (not biases), read every "
        "step before the update; plots show each epoch's mean. Epoch wall time (training "
        "only, one torch thread): " + epoch_time_summary(results) + "."))
    run.note("The CIFAR-10 copy", f"{datasets(spec)[0].describe()}. The CIFAR-10 here is the "
             "JPEG copy when the official batches are absent (lossy, mean PSNR 30.5 dB): see "
             "docs/data.md.")
