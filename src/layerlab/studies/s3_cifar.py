"""S3 PyTorch on CIFAR-10: one network written three ways, and an open model with a tuning table.

`pytorch-apis`: the course notebook's two-layer FC net (3072 -> 4000 -> ReLU -> 10) and
three-layer conv net (conv 32@5x5 - ReLU - conv 16@3x3 - ReLU - FC 10, 'same' padding), each
functional, as `nn.Module` and as `nn.Sequential` (`layerlab.pytorch.api_styles`), all from the
same Kaiming-normal weights: identical outputs, and one epoch of plain SGD (lr 1e-2 FC, 3e-3
conv, batch 64, pixels standardised per channel) with the same batches gives the same losses.

`open-model`: conv(3->64, k1)-BN-ReLU-maxpool2, conv(64->32, k2)-BN-ReLU-maxpool2, FC w1-ReLU-
dropout, FC w2-ReLU-dropout, FC 10, Adam (the study's model: (k1, k2) = (5, 3), (w1, w2) =
(256, 128), lr 1e-3, weight decay 1e-4). A tuning table varies one factor at a time around it
(lr, weight decay, kernel pairs, FC widths), each cell scored on validation only; the best is
trained for `epochs` on the full training split and evaluated once on test. Every cell trains
through `torch_cell.train_cell` (weights saved for `layerlab eval`) and loads its own data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from layerlab import references as refs
from layerlab.analysis import accuracy, count, first_epoch_reaching, wilson
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid, record_datasets
from layerlab.pytorch import OpenModel, api_styles
from layerlab.pytorch.api_styles import STYLES, conv_params, fc_params, three_styles
from layerlab.trainers.torch_cell import Recipe, data_spec, datasets, load_data, train_cell
from layerlab.trainers.torch_cell import epoch_time_summary as epoch_times

SOURCE = "shared/STUDIES.md S3 (PyTorch on CIFAR-10: three APIs and an open model)"
NETS = ("fc", "conv")


@dataclass
class ApisConfig:
    """The course notebook's settings; num_train limits the one-epoch training (compute)."""

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 10000
    hidden: int = 4000
    conv_channels: tuple = (32, 16)
    conv_kernels: tuple = (5, 3)
    lr_fc: float = 1e-2
    lr_conv: float = 3e-3
    batch_size: int = 64
    epochs: int = 1
    equivalence_images: int = 256
    seed: int = 0


def _styles(cfg, kind):
    """{style: model} of net `kind`, the same fixed weights (drawn by their own generator)."""
    if kind == "fc":
        return three_styles(kind, fc_params(cfg.hidden, seed=cfg.seed), hidden=cfg.hidden)
    channels, kernels = tuple(cfg.conv_channels), tuple(cfg.conv_kernels)
    return three_styles(kind, conv_params(channels, kernels, seed=cfg.seed), channels=channels,
                        kernels=kernels)


def _equivalence(cfg, spec, kind):
    """{images, diffs {dtype: {style: max |logit difference| from the functional net}}}."""
    x = load_data(spec)["X_val"][:cfg.equivalence_images]
    diffs = {str(dtype).removeprefix("torch."): api_styles.max_output_difference(
        {k: m.to(dtype) for k, m in _styles(cfg, kind).items()}, x.to(dtype))
        for dtype in (torch.float32, torch.float64)}
    return {"images": len(x), "diffs": diffs}


def _train_style(run, cfg, spec, kind, style):
    """One epoch of plain SGD of one net in one style: its history, correct, weights, n_train."""
    data = load_data(spec)
    recipe = Recipe(epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                    lr=cfg.lr_fc if kind == "fc" else cfg.lr_conv, optimizer="sgd",
                    momentum=0.0, monitor_test=True, channels_last=False)
    # every style builds all three nets, so each draws the same from torch's generator
    r = train_cell(run, f"train/net={kind},style={style}", lambda: _styles(cfg, kind)[style],
                   data, spec, recipe,
                   keep=("step_loss", "loss", "train_acc", "val_acc", "test_acc", "time"))
    return {**r["history"], "correct": r["correct"], "weights": r["weights"],
            "n_train": len(data["y_train"])}


def _training_report(run, cfg, res):
    """Per net: the step-loss agreement and validation claims; the training table and plot."""
    rows = []
    for kind in NETS:
        ref = np.asarray(res[(kind, "functional")]["step_loss"])
        diff = {s: float(np.max(np.abs(np.asarray(res[(kind, s)]["step_loss"]) - ref)))
                for s in STYLES}
        for s in STYLES:
            r = res[(kind, s)]
            rows.append([kind, s, r["loss"][-1], r["train_acc"][-1], r["val_acc"][-1],
                         r["test_acc"][-1], diff[s], r["time"][-1]])
        worst = max(diff.values())
        run.claim(f"{kind} net: one epoch of training gives the same losses in all three "
                  "styles (max step-loss difference <= 1e-3)", bool(worst <= 1e-3), True,
                  better="equal", source="follows from identical outputs and gradients",
                  note=f"{len(ref)} steps; largest difference {worst:.3g}")
        run.claim(f"{kind} net after {cfg.epochs} epoch(s): validation accuracy (module style)",
                  res[(kind, "module")]["val_acc"][-1], None, source=SOURCE)
    run.table("training", ["net", "style", "mean train loss", "train acc (running)", "val acc",
                           "test acc", "max |step loss - functional's|", "epoch s"], rows,
              title=f"{cfg.epochs} epoch(s) of SGD from the same weights",
              note=f"{res[('fc', 'module')]['n_train']} training images (a seeded random "
                   f"subset: compute), batch {cfg.batch_size}, plain SGD lr {cfg.lr_fc:g} (FC) "
                   f"/ {cfg.lr_conv:g} (conv), same batch order for all styles.")
    run.plot("step_loss", "curves", title="Training loss per step, three styles",
             xlabel="step", panels=[
                 {"title": f"{kind} net", "ylabel": "loss",
                  "series": {s: [list(range(1, len(res[(kind, s)]["step_loss"]) + 1)),
                                 res[(kind, s)]["step_loss"]] for s in STYLES}}
                 for kind in NETS])


@experiment("pytorch-apis", study="S3",
            title="one FC and one conv net in three PyTorch API styles: same outputs, same "
                  "training", estimate="6 min (busy 2-core machine)", config=ApisConfig,
            quick={"dataset": "builtin", "val": 100, "num_train": 256, "hidden": 64,
                   "equivalence_images": 16})
def pytorch_apis(cfg, run):
    """The equivalence table and claim, then one epoch of each net in each style."""
    # pixels normalised per channel with the training part's mean and std
    spec = data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                     num_train=cfg.num_train or None, pixels="channel")
    record_datasets(run, lambda: datasets(spec))
    eq = grid(run, "equivalence", [{"net": k} for k in NETS],
              lambda c: _equivalence(cfg, spec, c["net"]))
    rows = [[kind, dtype, f"{style} vs functional", d] for kind, e in zip(NETS, eq, strict=True)
            for dtype, diffs in e["diffs"].items() for style, d in diffs.items()]
    worst32 = max([0.0] + [row[3] for row in rows if row[1] == "float32"])
    run.table("equivalence", ["net", "dtype", "styles", "max |logit difference|"], rows,
              title="Identical weights, identical outputs",
              note=f"{eq[0]['images']} validation images; the Module and Sequential nets get "
                   "copies of the functional net's tensors.")
    tol = refs.S3_API_TOLERANCE
    run.claim(f"the three API styles give the same outputs for the same weights (max abs "
              f"difference <= {tol:g}, float32)", bool(worst32 <= tol), True,
              better="equal", source=f"layerlab's goal (identical outputs to {tol:g})",
              note=f"largest difference over both nets: {worst32:.3g}")

    cells = [{"net": k, "style": s} for k in NETS for s in STYLES]
    trained = grid(run, "train", cells,
                   lambda c: _train_style(run, cfg, spec, c["net"], c["style"]))
    _training_report(run, cfg, {(c["net"], c["style"]): r
                                for c, r in zip(cells, trained, strict=True)})
    (c1, c2), (k1, k2), n = cfg.conv_channels, cfg.conv_kernels, trained[0]["correct"]
    run.note("Settings", (
        f"Two-layer FC 3072 -> {cfg.hidden} -> 10; three-layer conv net conv {c1}@{k1}x{k1} - "
        f"ReLU - conv {c2}@{k2}x{k2} - ReLU - FC 10; Kaiming-normal weights (std "
        f"sqrt(2/fan_in)), zero biases, drawn once (seed {cfg.seed}). Data: "
        f"{trained[0]['n_train']} training images, {n['val'][1]} validation, {n['test'][1]} "
        "test, normalised per channel. Epoch wall time (training only, one torch thread): "
        + epoch_times(trained) + "."))


# --- the open model -------------------------------------------------------------------------


@dataclass
class OpenModelConfig:
    """Base recipe = the study's model; the tuning factors vary one at a time around it.

    tune_epochs / tune_num_train: each tuning cell's budget (the study's: 10 epochs on all
    training images). 3 epochs on all fit the nine cells in about half an hour with `layerlab
    sweep open-model --workers 2` on 2 cores; 3 epochs on 4,000 images ranked recipes by their
    first progress (kernels (3, 1) at lr 1e-3 won, well below the best after 10 epochs).
    """

    dataset: str = "cifar10"
    val: int = 5000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    kernels: tuple = (5, 3)
    fc: tuple = (256, 128)
    # chosen on validation (10 epochs of the recipe lr 3e-3, wd 1e-4, (5, 3), 256-128 on all
    # training images): 0.3 beat 0.5; the study gives no rate
    dropout: float = 0.3
    batch_size: int = 128
    flip: bool = True
    shift: int = 0
    schedule: str = "onecycle"  # OneCycleLR peaking at lr, per batch; "none": constant lr
    epochs: int = 10
    final_num_train: int = 0  # 0: every training image (quick runs take fewer)
    tune_lrs: tuple = (3e-4, 1e-3, 3e-3)
    tune_weight_decays: tuple = (1e-4, 3e-4, 5e-4)
    tune_kernels: tuple = ((5, 3), (3, 1), (5, 1))
    tune_fcs: tuple = ((128, 64), (256, 64), (256, 128))
    tune_epochs: int = 3
    tune_num_train: int = 0
    num_test: int = 0
    seed: int = 0


# each tuned factor: the config field of its values, its short name, how a value is written
FACTORS = {"lr": ("tune_lrs", "lr", lambda v: f"{v:g}"),
           "weight_decay": ("tune_weight_decays", "wd", lambda v: f"{v:g}"),
           "kernels": ("tune_kernels", "kernels", lambda v: str(tuple(v))),
           "fc": ("tune_fcs", "fc", lambda v: "-".join(map(str, v)) + "-10")}


def _value(key, v):
    return float(v) if key in ("lr", "weight_decay") else list(v)


def tuning_cells(cfg) -> list[dict]:
    """One factor at a time around the base: each distinct recipe {lr, weight_decay, kernels
    [k1, k2], fc [w1, w2]} once, the base first."""
    base = {key: _value(key, getattr(cfg, key)) for key in FACTORS}
    cells = [base]
    for key, (field, _, _) in FACTORS.items():
        for v in getattr(cfg, field):
            c = {**base, key: _value(key, v)}
            if c not in cells:
                cells.append(c)
    return cells


def _label(c):
    return ", ".join(f"{short} {fmt(c[key])}" for key, (_, short, fmt) in FACTORS.items())


def _open_cell(run, cfg, c, spec, epochs, final):
    """Train OpenModel with recipe c on load_data(spec): train_cell's summary and n_train."""
    data = load_data(spec)
    name = ("final/" if final else "tune/") + _label(c)
    result = train_cell(run, name, lambda: OpenModel(tuple(c["kernels"]), tuple(c["fc"]),
                                                     dropout=cfg.dropout), data, spec, Recipe(
        epochs=epochs, batch_size=cfg.batch_size, lr=c["lr"], seed=cfg.seed, optimizer="adam",
        weight_decay=c["weight_decay"], flip=cfg.flip, shift=cfg.shift,
        schedule=None if cfg.schedule == "none" else cfg.schedule, monitor_test=final,
        test=final))
    return {**result, "n_train": len(data["y_train"])}


def _scores(by, prefix=""):
    return ", ".join(f"{prefix}{k}: {accuracy(v)}" for k, v in by.items())


def _tuning_report(run, cfg, cells, tuned, picked):
    """The tuning table (each cell a run, scored on validation); the best lr and FC widths and
    the kernel pairs' order on validation, as the study has them."""
    rows = []
    for c, r in zip(cells, tuned, strict=True):
        varied = [k for k in FACTORS if c[k] != cells[0][k]]
        low, high = wilson(*r["correct"]["val"])
        rows.append([", ".join(varied) or "base", c["lr"], c["weight_decay"],
                     FACTORS["kernels"][2](c["kernels"]), FACTORS["fc"][2](c["fc"]),
                     r["params"], r["final"]["val"], f"[{100 * low:.1f}, {100 * high:.1f}]",
                     r["epoch_time"], "picked" if c is picked else ""])
    run.table("tuning", ["varied", "lr", "weight decay", "kernels", "FC", "params",
                         "val acc (final epoch)", "95% CI %", "epoch s", ""], rows,
              title="Tuning table (one factor at a time around the study's model)",
              note=f"Each row is one run: {count(cfg.tune_epochs, 'epoch')} on "
                   f"{tuned[0]['n_train']} training images, Adam, batch {cfg.batch_size}, "
                   f"dropout {cfg.dropout:g}, {'flip' if cfg.flip else 'no'} augmentation, "
                   f"seed {cfg.seed}; scored on the {tuned[0]['correct']['val'][1]} validation "
                   "images (the test split is not evaluated).")
    scores, by = [r["final"]["val"] for r in tuned], {}
    for key in ("lr", "fc", "kernels"):
        field, _, fmt = FACTORS[key]
        want = [(fmt(v), {**cells[0], key: _value(key, v)}) for v in getattr(cfg, field)]
        by[key] = {k: scores[cells.index(c)] for k, c in want if c in cells}
    for key, name, ref, prefix in (("lr", "learning rate", f"{refs.S3_BEST_LR:g}", "lr "),
                                   ("fc", "FC widths", refs.S3_BEST_FC, "")):
        if len(by[key]) > 1:
            run.claim(f"best {name} (validation)", max(by[key], key=by[key].get), ref,
                      better="equal", source=SOURCE, note=_scores(by[key], prefix))
    by_k = by["kernels"]
    if len(by_k) > 1:
        run.claim("kernel pairs by validation accuracy, best first",
                  " > ".join(sorted(by_k, key=by_k.get, reverse=True)), None, source=SOURCE,
                  note=f"the study: {refs.S3_KERNEL_ORDER} (a tie is not tested; the next claim "
                       "tests that (5,1) is last); " + _scores(by_k))
        if "(5, 1)" in by_k:
            run.claim("kernel pair (5,1) is the worst of the three (validation)",
                      bool(by_k["(5, 1)"] <= min(by_k.values())), True, better="equal",
                      source=SOURCE)


def _budget_report(run, cfg, cells, tuned, final):
    """The tuning grid's wall-time claim and the note on its budget and noise."""
    tune_n, final_n, h = tuned[0]["n_train"], final["n_train"], final["history"]
    # the span of the cells' own start and end times (kept in cells.json, so a rebuild gives
    # the same figure): less than their summed training with `layerlab sweep --workers K`
    grid_minutes = (max(r["ended"] for r in tuned) - min(r["started"] for r in tuned)) / 60
    full_grid_h = len(cells) * 10 * final["epoch_time"] / 3600
    low, high = wilson(*tuned[0]["correct"]["val"])
    goal = refs.S3_OPEN_MODEL_TEST_ACC
    reached = first_epoch_reaching(h["test_acc"], goal, epochs=h["epoch"])
    run.claim(f"tuning grid ({len(cells)} cells, {cfg.tune_epochs} epoch(s) each on "
              f"{tune_n:,} images): wall time, minutes", round(grid_minutes, 2),
              refs.S3_GRID_MINUTES, better="lower", source="layerlab's goal (the full tuning "
              "grid on this machine in under an hour)",
              note=f"from the first cell's start to the last cell's end (a resumed run counts "
                   "its pause); the cells' training times add up to "
                   f"{sum(r['train_time'] for r in tuned) / 60:.1f} min (cells run side by side "
                   "with `layerlab sweep --workers K`)")
    run.note("Tuning budget and noise", (
        f"Each tuning cell trained {count(cfg.tune_epochs, 'epoch')} on {tune_n} images "
        f"({cfg.tune_epochs * tune_n:,} image-passes, the one-cycle schedule over those "
        f"epochs); the study's table has 10 epochs on {final_n:,}. At the final run's "
        f"{final['epoch_time']:.0f} s per epoch, the study's {len(cells)} cells would take "
        f"{full_grid_h:.1f} h of training on this machine (one thread), so the table ranks "
        "recipes by a shorter training, not by their 10-epoch accuracy. The 95% Wilson "
        f"intervals on {tuned[0]['correct']['val'][1]} validation images are about "
        f"±{50 * (high - low):.1f} points wide: rows whose intervals overlap are not separated "
        f"by this data. The final model's test accuracy first reached {goal:.0%} "
        + (f"after epoch {reached}." if reached
           else f"in none of its {count(len(h['epoch']), 'epoch')}.")))


def _final_report(run, cfg, tuned, picked, final):
    """The test claim, curves and table of the picked recipe; the settings note."""
    h, epochs, correct = final["history"], final["history"]["epoch"], final["correct"]
    goal = refs.S3_OPEN_MODEL_TEST_ACC
    run.claim(f"open model: test accuracy after {cfg.epochs} epochs (recipe picked on "
              "validation)", final["final"]["test"], goal, better="higher",
              source=f"layerlab's goal (>= {goal:.0%} within 10 epochs; the study quotes none)",
              note=f"{_label(picked)}; val {accuracy(final['final']['val'])}; "
                   f"{final['params']:,} parameters; {final['train_time'] / 60:.1f} min of "
                   f"training, {final['epoch_time']:.0f} s per epoch")
    run.plot("final_curves", "curves", title=f"Final model: {_label(picked)}", xlabel="epoch",
             panels=[{"ylabel": "accuracy", "series": {
                 "train (running, dropout on)": [epochs, h["train_acc"]],
                 "val": [epochs, h["val_acc"]], "test": [epochs, h["test_acc"]],
                 f"reference: {goal:.0%} (layerlab's goal)": [epochs, [goal] * len(epochs)]}},
                 {"ylabel": "train loss", "series": {"train": [epochs, h["loss"]]}}],
             note="Test accuracy per epoch is shown, not used: the recipe was picked on "
                  "validation in the tuning table.")
    run.table("final", ["recipe", "epochs", "val acc", "test acc", "test correct",
                        "epoch s (mean)", "training min"],
              [[_label(picked), len(epochs), final["final"]["val"], final["final"]["test"],
                f"{correct['test'][0]} / {correct['test'][1]}", final["epoch_time"],
                final["train_time"] / 60]],
              title="The picked recipe on the full training split, evaluated once on test")
    schedule = ("a one-cycle schedule (OneCycleLR, per batch, peaking at the recipe's lr)"
                if cfg.schedule == "onecycle" else "constant lr")
    run.note("Settings and choices", (
        f"Batch {cfg.batch_size}, dropout {cfg.dropout:g} after each hidden FC layer, "
        f"{schedule}, Adam with its own (coupled, L2-style) weight decay on every parameter, "
        "left-right flip of a random half of each batch"
        + (f", shifts of up to {cfg.shift} px" if cfg.shift else "") + ", pixels / 255 (no "
        f"mean subtraction: batchnorm follows the first conv), {final['n_train']} training and "
        f"{correct['val'][1]} validation images (a seeded random split), {correct['test'][1]} "
        "test images. The study gives neither batch size, dropout nor augmentation: these are "
        "ours. Epoch wall time (training only, one torch thread, channels-last convolutions): "
        f"tuning {epoch_times([r['history'] for r in tuned])}; final {epoch_times([h])}."))


@experiment("open-model", study="S3",
            title="S3 open model on CIFAR-10: tuning table on validation, best model on test",
            estimate="1 h with `layerlab sweep open-model --workers 2` (2 cores)",
            config=OpenModelConfig,
            quick={"dataset": "builtin", "val": 100, "epochs": 1, "tune_epochs": 1,
                   "tune_num_train": 128, "final_num_train": 128, "num_test": 100,
                   "tune_lrs": (1e-3,), "tune_weight_decays": (1e-4,),
                   "tune_kernels": ((5, 3), (3, 1)), "tune_fcs": ((256, 128),)})
def open_model(cfg, run):
    """The tuning grid on validation, then the best recipe trained on all and scored on test."""
    tune_spec, final_spec = (data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                                       num_train=n or None, num_test=cfg.num_test or None)
                             for n in (cfg.tune_num_train, cfg.final_num_train))
    record_datasets(run, lambda: datasets(tune_spec))
    cells = tuning_cells(cfg)
    by_label = {_label(c): c for c in cells}
    tuned = grid(run, "tune", [{"recipe": label} for label in by_label],
                 lambda cell: _open_cell(run, cfg, by_label[cell["recipe"]], tune_spec,
                                         cfg.tune_epochs, final=False), objective="best_val_acc")
    picked = cells[int(np.argmax([r["final"]["val"] for r in tuned]))]
    final = grid(run, "final", [{"recipe": _label(picked)}],
                 lambda _: _open_cell(run, cfg, picked, final_spec, cfg.epochs, final=True))[0]
    _tuning_report(run, cfg, cells, tuned, picked)
    _budget_report(run, cfg, cells, tuned, final)
    _final_report(run, cfg, tuned, picked, final)
