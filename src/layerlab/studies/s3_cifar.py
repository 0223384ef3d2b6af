"""S3 PyTorch on CIFAR-10.

`pytorch-apis`: the course notebook's two-layer FC net and three-layer conv net, each
functional, as `nn.Module` and as `nn.Sequential` (`layerlab.pytorch.api_styles`), from the same
weights: identical outputs, and one epoch of plain SGD with the same batches gives the same
losses.

`open-model`: `OpenModel` (two conv-BN-ReLU-pool blocks, two FC layers with dropout) with Adam,
tuned one factor at a time on validation (`s3_picks`); the best recipe is trained on the full
training split over `final_seeds` and evaluated once per seed on test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from layerlab import references as refs
from layerlab.analysis import accuracy, count, divergence, first_epoch_reaching, mean_curve
from layerlab.analysis.picks import val_estimate, winner
from layerlab.analysis.verdict import exact, exact_range, from_images, from_seeds_and_images
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid, record_datasets
from layerlab.pytorch import OpenModel, api_styles
from layerlab.pytorch.api_styles import STYLES, conv_params, fc_params, three_styles
from layerlab.studies.s3_picks import label, tuning_cells, tuning_report
from layerlab.trainers.torch_cell import (
    Recipe,
    cell_trainer,
    data_spec,
    datasets,
    epoch_time_summary,
    load_data,
    train_cell,
)

SOURCE = "S3 (PyTorch on CIFAR-10: three APIs and an open model)"
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
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


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


def _train_style(train, cfg, spec, kind, style):
    """One epoch of plain SGD of one net in one style: its history, correct, weights, diverged,
    n_train."""
    recipe = Recipe(epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                    lr=cfg.lr_fc if kind == "fc" else cfg.lr_conv, optimizer="sgd",
                    momentum=0.0, monitor_test=True, channels_last=False)
    # every style builds all three nets, so each draws the same from torch's generator
    r = train(f"train/net={kind},style={style}", lambda: _styles(cfg, kind)[style], recipe,
              keep=("step_loss", "loss", "train_acc", "val_acc", "test_acc", "time"))
    return {**r["history"], "correct": r["correct"], "weights": r["weights"],
            "diverged": r["diverged"], "n_train": len(load_data(spec)["y_train"])}


def _training_report(run, cfg, res, diverged):
    """Per net: the step-loss agreement and validation claims; the training table and plot.
    A net with a diverged style is not judged; a diverged style's row and curve are left out."""
    rows, tol = [], refs.S3_STEP_LOSS_TOLERANCE
    for kind in NETS:
        names = {s: cell_key("train", {"net": kind, "style": s}) for s in STYLES}
        lost = divergence.needed(diverged, names.values())
        module = divergence.needed(diverged, [names["module"]])
        ref = np.asarray(res[kind, "functional"]["step_loss"])
        diff = {} if lost else {s: float(np.max(np.abs(
            np.asarray(res[kind, s]["step_loss"]) - ref))) for s in STYLES}
        for s in STYLES:
            r, d = res[kind, s], divergence.of(res[kind, s])
            rows.append([kind, s, *([divergence.label(d)] * 6 if d else [
                r["loss"][-1], r["train_acc"][-1], r["val_acc"][-1], r["test_acc"][-1],
                diff.get(s, ""), r["time"][-1]])])
        run.judge(f"{kind} net: one epoch of training gives the same losses in all three "
                  f"styles (max step-loss difference <= {tol:g})", "goal",
                  None if lost else exact(max(diff.values())), tol, better="lower",
                  diverged=lost or False,
                  source="layerlab's goal (follows from identical outputs and gradients)",
                  note=f"{len(ref)} steps, the same batches: an exact quantity of this run")
        run.judge(f"{kind} net after {count(cfg.epochs, 'epoch')}: validation accuracy (module "
                  "style)", "measured", None if module else
                  from_images(*res[kind, "module"]["correct"]["val"]), diverged=module or False,
                  source=SOURCE, note=f"one seed ({cfg.seed}); Wilson on the validation images")
    run.table("training", ["net", "style", "mean train loss", "train acc (running)", "val acc",
                           "test acc", "max |step loss - functional's|", "epoch s"], rows,
              title=f"{count(cfg.epochs, 'epoch')} of SGD from the same weights",
              note=f"{res['fc', 'module']['n_train']} training images (a seeded random subset: "
                   f"compute), batch {cfg.batch_size}, plain SGD lr {cfg.lr_fc:g} (FC) / "
                   f"{cfg.lr_conv:g} (conv), same batch order for all styles.")
    run.plot("step_loss", "curves", title="Training loss per step, three styles",
             xlabel="step", panels=[
                 {"title": f"{kind} net", "ylabel": "loss",
                  "series": {s: [list(range(1, len(res[kind, s]["step_loss"]) + 1)),
                                 res[kind, s]["step_loss"]] for s in STYLES
                             if not divergence.of(res[kind, s])}}
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
    train = cell_trainer(run, spec)
    eq = grid(run, "equivalence", [{"net": k} for k in NETS],
              lambda c: _equivalence(cfg, spec, c["net"]))
    rows = [[kind, dtype, f"{style} vs functional", d] for kind, e in zip(NETS, eq, strict=True)
            for dtype, diffs in e["diffs"].items() for style, d in diffs.items()]
    tol, worst32 = refs.S3_API_TOLERANCE, max([0.0] + [r[3] for r in rows if r[1] == "float32"])
    run.table("equivalence", ["net", "dtype", "styles", "max |logit difference|"], rows,
              title="The three styles' outputs from identical weights",
              note=f"{eq[0]['images']} validation images; the Module and Sequential nets get "
                   "copies of the functional net's tensors.")
    run.judge(f"the three API styles give the same outputs for the same weights (max abs "
              f"difference <= {tol:g}, float32)", "goal", exact(worst32), tol, better="lower",
              key=True, source=f"layerlab's goal (identical outputs to {tol:g})",
              note="the largest |logit difference| over both nets and all "
                   f"{eq[0]['images']} images: a deterministic quantity (exact)")

    cells = [{"net": k, "style": s} for k in NETS for s in STYLES]
    trained = grid(run, "train", cells,
                   lambda c: _train_style(train, cfg, spec, c["net"], c["style"]))
    diverged = divergence.split([cell_key("train", c) for c in cells], trained)[1]
    divergence.note(run, diverged)
    _training_report(run, cfg, {(c["net"], c["style"]): r
                                for c, r in zip(cells, trained, strict=True)}, diverged)
    (c1, c2), (k1, k2), n = cfg.conv_channels, cfg.conv_kernels, trained[0]["correct"]
    run.note("Settings", (
        f"Two-layer FC 3072 -> {cfg.hidden} -> 10; three-layer conv net conv {c1}@{k1}x{k1} - "
        f"ReLU - conv {c2}@{k2}x{k2} - ReLU - FC 10; Kaiming-normal weights (std "
        f"sqrt(2/fan_in)), zero biases, drawn once (seed {cfg.seed}). Data: "
        f"{trained[0]['n_train']} training images, {n['val'][1]} validation, {n['test'][1]} "
        "test, normalised per channel. Epoch wall time (training only, one torch thread): "
        + epoch_time_summary(trained) + "."))


# --- the open model -------------------------------------------------------------------------


@dataclass
class OpenModelConfig:
    """Base recipe = the study's model; tune_*: the factors varied one at a time around it, and
    each tuning cell's budget (3 epochs on all images, on each of `tune_seeds`;
    `layerlab sweep open-model --workers 2` trains the cells two at a time). seed: the split's."""

    dataset: str = "cifar10"
    val: int = 5000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    kernels: tuple = (5, 3)
    fc: tuple = (256, 128)
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
    tune_seeds: tuple = (0, 1, 2)  # a pick over seeds: ties named when intervals overlap
    final_seeds: tuple = (0, 1, 2)
    num_test: int = 0
    seed: int = 0
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


def _open_cell(run, cfg, c, spec, epochs, seed, final):
    """OpenModel trained with recipe c and training seed on load_data(spec) (final: also
    scored on test): train_cell's summary and n_train."""
    data, name = load_data(spec), ("final/" if final else "tune/") + f"{label(c)}, seed={seed}"
    result = train_cell(run, name, lambda: OpenModel(tuple(c["kernels"]), tuple(c["fc"]),
                                                     dropout=cfg.dropout), data, spec, Recipe(
        epochs=epochs, batch_size=cfg.batch_size, lr=c["lr"], seed=seed, optimizer="adam",
        weight_decay=c["weight_decay"], flip=cfg.flip, shift=cfg.shift,
        schedule=None if cfg.schedule == "none" else cfg.schedule, monitor_test=final,
        test=final))
    return {**result, "n_train": len(data["y_train"])}


def _budget_report(run, cfg, tuned, ok, done, lost):
    """The tuning grid's wall-time claim (not judged when a cell diverged: it stopped early)
    and the note on its budget and noise (when a final seed finished)."""
    rs = [r for rows in tuned.values() for r in rows]
    tune_n, goal = rs[0]["n_train"], refs.S3_OPEN_MODEL_TEST_ACC
    # the span of the cells' own start and end times (kept in cells.json, so a rebuild gives
    # the same figure): less than their summed training with `layerlab sweep --workers K`
    minutes = (max(r["ended"] for r in rs) - min(r["started"] for r in rs)) / 60
    times = [t for r in rs for t in r["history"]["time"]]
    mean_time = float(np.mean(times)) if times else 1.0
    fast, slow = (min(times) / mean_time, max(times) / mean_time) if times else (1.0, 1.0)
    run.judge(f"tuning grid ({len(rs)} cells, {count(cfg.tune_epochs, 'epoch')} each on "
              f"{tune_n:,} images): wall time, minutes", "goal", None if lost else exact_range(
                  round(minutes, 2), round(minutes * fast, 2), round(minutes * slow, 2)),
              refs.S3_GRID_MINUTES, diverged=lost or False, better="lower",
              source=f"layerlab's goal (the full tuning grid on this machine in under "
                     f"{refs.S3_GRID_MINUTES:g} minutes)",
              note="one timing of one run, first cell's start to last cell's end (a resumed run "
                   "counts its pause; it depends on `--workers`); the range is the grid as if "
                   f"every epoch ran at the fastest ({100 * (fast - 1):+.0f}%) or the slowest "
                   f"({100 * (slow - 1):+.0f}%) epoch speed seen in it, not an interval over "
                   "repeats; the cells' training times add up to "
                   f"{sum(r['train_time'] for r in rs) / 60:.1f} min")
    if not done:
        return
    final_n, epoch_s = done[0]["n_train"], float(np.mean([f["epoch_time"] for f in done]))
    mean_test = mean_curve([f["history"]["test_acc"] for f in done])
    reached = first_epoch_reaching(mean_test, goal, epochs=done[0]["history"]["epoch"])
    e = val_estimate(next(iter(ok.values()))[:1])
    run.note("Tuning budget and noise", _budget_text(cfg, tune_n, final_n, len(tuned), epoch_s)
             + f" The 95% Wilson intervals on {e.n} validation images are about "
             f"±{50 * (e.high - e.low):.1f} points wide, and a seed's own noise comes on top. "
             f"The final model's test accuracy (mean of {count(len(done), 'seed')}) first "
             f"reached {goal:.0%} " + (f"after epoch {reached}." if reached else
                                       f"in none of its {len(mean_test)} epochs."))


def _budget_text(cfg, tune_n, final_n, recipes, epoch_s):
    """What a tuning cell trains against a final run, and what the grid's recipes would cost at
    the final runs' length (one seed each); 'a shorter training' only when the tuning budget is
    the smaller."""
    return (f"Each tuning cell trained {count(cfg.tune_epochs, 'epoch')} on {tune_n:,} images "
            f"({cfg.tune_epochs * tune_n:,} image-passes, the one-cycle schedule over those "
            f"epochs); each final run {count(cfg.epochs, 'epoch')} on {final_n:,}. At the final "
            f"runs' {epoch_s:.0f} s per epoch, the {recipes} recipes at that length would take "
            f"{recipes * cfg.epochs * epoch_s / 3600:.1f} h of training here (one seed each, one "
            "thread)" + (
                ", so the table ranks recipes by a shorter training, not by their "
                f"{cfg.epochs}-epoch accuracy" if cfg.tune_epochs * tune_n < cfg.epochs * final_n
                else "") + ".")


def _final_report(run, cfg, tuned, picked, finals, gone):
    """The test claim over seeds, curves and table of the picked recipe (None: every recipe
    diverged); the settings note. gone {cell: divergence}: the claim is not judged, and the
    final cells among them are left out of the curves and shown in the table."""
    done, goal = [f for f in finals if not divergence.of(f)], refs.S3_OPEN_MODEL_TEST_ACC
    tests = [f["final"]["test"] for f in done]
    n_test = finals[0]["correct"]["test"][1] if finals else 0
    run.judge(f"open model: test accuracy after {count(cfg.epochs, 'epoch')} (recipe picked on "
              "validation)", "goal", None if gone else from_seeds_and_images(tests, n_test),
              goal, key=True, diverged=list(gone) or False,
              source=f"layerlab's goal (>= {goal:.0%} within {refs.S3_OPEN_MODEL_EPOCHS} "
                     "epochs; the study quotes none)",
              note="every recipe diverged in tuning: no pick" if not picked else
              f"{label(picked)}; " + ("a final seed diverged" if gone else
                   f"{count(len(tests), 'seed')} ({', '.join(map(accuracy, tests))}); val "
                   f"{val_estimate(finals).text(3)}; {finals[0]['params']:,} parameters; "
                   f"{np.mean([f['train_time'] for f in finals]) / 60:.1f} min of training a seed"))
    if not picked:
        return
    hs = [f["history"] for f in done]
    if hs:
        epochs = hs[0]["epoch"]
        mean = {k: [epochs, mean_curve([h[k] for h in hs])]
                for k in ("train_acc", "val_acc", "test_acc", "loss")}
        run.plot("final_curves", "curves", title=f"Final model: {label(picked)}", xlabel="epoch",
                 panels=[{"ylabel": f"accuracy (mean of {count(len(hs), 'seed')})", "series": {
                     "train (running, dropout on)": mean["train_acc"], "val": mean["val_acc"],
                     "test": mean["test_acc"],
                     f"reference: {goal:.0%} (layerlab's goal)": [epochs, [goal] * len(epochs)]}},
                     {"ylabel": "train loss", "series": {"train": mean["loss"]}}],
                 note="Test accuracy per epoch is shown, not used: the recipe was picked on "
                      "validation in the tuning table.")
    run.table("final", ["recipe", "seed", "epochs", "val acc", "test acc", "test correct",
                        "epoch s (mean)", "training min"],
              [[label(picked), s, *([divergence.label(d)] * 6 if (d := divergence.of(f)) else [
                  len(f["history"]["epoch"]), f["final"]["val"], f["final"]["test"],
                  f"{f['correct']['test'][0]} / {n_test}", f["epoch_time"],
                  f["train_time"] / 60])] for s, f in zip(cfg.final_seeds, finals, strict=True)],
              title="The picked recipe on the full training split, evaluated once on test")
    schedule = ("a one-cycle schedule (OneCycleLR, per batch, peaking at the recipe's lr)"
                if cfg.schedule == "onecycle" else "constant lr")
    run.note("Settings and choices", (
        f"Batch {cfg.batch_size}, dropout {cfg.dropout:g} after each hidden FC layer, "
        f"{schedule}, Adam with its own (coupled, L2-style) weight decay on every parameter, "
        + ("left-right flip of a random half of each batch" if cfg.flip else "no flips")
        + (f", shifts of up to {cfg.shift} px" if cfg.shift else "") + ", pixels / 255 (no "
        f"mean subtraction: batchnorm follows the first conv), {finals[0]['n_train']} training "
        f"and {finals[0]['correct']['val'][1]} validation images (a seeded random split), "
        f"{n_test} test images. The study gives neither batch size, dropout nor augmentation: "
        "these are ours. Epoch wall time (training only, one torch thread, channels-last "
        "convolutions): tuning "
        f"{epoch_time_summary([r['history'] for v in tuned.values() for r in v])}; final "
        f"{epoch_time_summary(hs)}."))


@experiment("open-model", study="S3",
            title="S3 open model on CIFAR-10: tuning table on validation, best model on test",
            estimate="2.5 h with `layerlab sweep open-model --workers 2` (2 cores)",
            config=OpenModelConfig,
            quick={"dataset": "builtin", "val": 100, "epochs": 1, "tune_epochs": 1,
                   "tune_num_train": 128, "final_num_train": 128, "num_test": 100,
                   "tune_lrs": (1e-3,), "tune_weight_decays": (1e-4,),
                   "tune_kernels": ((5, 3), (3, 1)), "tune_fcs": ((256, 128),),
                   "final_seeds": (0, 1)})
def open_model(cfg, run):
    """The tuning grid on validation, then the best recipe that did not diverge on all
    training images, scored on test once per final seed."""
    tune_spec, final_spec = (data_spec(cfg.dataset, val=cfg.val, split_seed=cfg.seed,
                                       num_train=n or None, num_test=cfg.num_test or None)
                             for n in (cfg.tune_num_train, cfg.final_num_train))
    record_datasets(run, lambda: datasets(tune_spec))
    by_label = {label(c): c for c in tuning_cells(cfg)}
    keys = [{"recipe": lab, "seed": s} for lab in by_label for s in cfg.tune_seeds]
    results = grid(run, "tune", keys, lambda k: _open_cell(
        run, cfg, by_label[k["recipe"]], tune_spec, cfg.tune_epochs, k["seed"], final=False),
        objective="best_val_acc")
    tuned = {lab: [r for k, r in zip(keys, results, strict=True) if k["recipe"] == lab]
             for lab in by_label}
    lost = divergence.groups(run, [k["recipe"] for k in keys],  # a recipe with a diverged seed
                             [cell_key("tune", k) for k in keys], results)  # is left out
    ok = {lab: rs for lab, rs in tuned.items() if lab not in lost}
    picked = by_label.get(winner(ok))
    fkeys = [{"recipe": label(picked), "seed": s} for s in cfg.final_seeds] if picked else []
    finals = grid(run, "final", fkeys, lambda k: _open_cell(
        run, cfg, picked, final_spec, cfg.epochs, k["seed"], final=True)) if picked else []
    gone = divergence.split([cell_key("final", k) for k in fkeys], finals)[1]
    lost_cells = {n: d for g in lost.values() for n, d in g.items()}
    if gone:  # the note names the final cells too
        divergence.note(run, lost_cells | gone)
    tuning_report(run, cfg, list(by_label.values()), tuned, picked, lost, SOURCE)
    _budget_report(run, cfg, tuned, ok, [f for f in finals if not divergence.of(f)],
                   list(lost_cells))
    _final_report(run, cfg, tuned, picked, finals, gone if picked else lost_cells)
