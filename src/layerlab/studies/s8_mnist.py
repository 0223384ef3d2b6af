"""S8 MNIST: `mnist-mlp` (three hidden-unit budgets, an architecture search on validation) and
`mnist-cnn` (< 1M parameters, dropout and batchnorm), on the MNIST data both share with
`s8_dropout_sweep`. Budgets are checked by code before training; choices are made on a seeded
validation split, and each final model is tested once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import accuracy, divergence, mean_curve, pm
from layerlab.analysis import verdict as v
from layerlab.lab.config import count_of, rows, sizes
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.pytorch import S8_CNN_LAYERS, S8_MLP_LAYERS, BudgetMLP, SmallCNN, check_budget
from layerlab.studies.arch_search import search_architectures, within_budget
from layerlab.trainers.torch_cell import Recipe, augmentation_text, cell_trainer, data_spec

SOURCE, GOAL = "S8", "layerlab's goal (set for this repository, not a figure of the study)"
QUICK_DATA = {"dataset": "mnist-mini", "num_train": 600, "val": 200, "num_test": 300,
              "seeds": (0, 1)}
STUDY_BEST_EPOCH_IMAGES = 10_000  # behind the study's 'best epoch' (not said): MNIST's test set
NO_MEAN = "a seed diverged: no mean over seeds"


def mlp_budget(max_hidden: int) -> dict:
    """check_budget's arguments for one S8 MLP budget (max hidden units -> min layers)."""
    return {"max_hidden": max_hidden, "min_hidden_layers": ref.S8_MLP_BUDGETS[max_hidden],
            "allowed_layers": S8_MLP_LAYERS}


def cnn_budget() -> dict:
    """check_budget's arguments for the S8 CNN."""
    return {"allowed_layers": S8_CNN_LAYERS, "max_params": ref.S8_CNN_MAX_PARAMS,
            "required_layers": ("Dropout", "BatchNorm2d")}

@dataclass
class MnistData:
    """MNIST with a seeded validation split (quick runs: seeded subsets); seeds: one final
    model per seed (initial weights, dropout masks, batch order)."""

    dataset: str = "mnist"
    val: float = 0.1
    split_seed: int = 0
    num_train: int | None = None
    num_test: int | None = None
    seeds: tuple = (0, 1, 2)
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


def mnist_trainer(cfg, run):
    """train(cell name, model_fn, recipe) -> train_cell's result on cfg's data."""
    return cell_trainer(run, data_spec(cfg.dataset, cfg.val, cfg.split_seed, cfg.num_train,
                                       cfg.num_test))


def _onecycle(cfg, **kw) -> Recipe:
    """Adam, one cycle peaking at cfg.max_lr, cfg's batch size and augmentation (elastic
    distortion where cfg has it)."""
    return Recipe(batch_size=cfg.batch_size, lr=cfg.max_lr, schedule="onecycle",
                  **{k: getattr(cfg, k) for k in ("shift", "degrees", "scale", "elastic",
                                                  "elastic_sigma") if hasattr(cfg, k)}, **kw)


def _final_models(run, name, seeds, train, claims, desc, target):
    """One model per seed (grid `name`, train(cell, seed)), each tested once, and the claims
    on their test accuracy (`_test_claims`; desc: the model) -> (results, diverged cells)."""
    cells = [{"seed": s} for s in seeds]
    results = grid(run, name, cells, lambda c: train(cell_key(name, c), c["seed"]),
                   objective=None)
    gone = divergence.split([cell_key(name, c) for c in cells], results)[1]
    _test_claims(run, claims, results, seeds, f"{desc}; " + (
        NO_MEAN if gone else f"the study's target {target}"), gone)
    return results, gone


def _mean(results, key):
    return float(np.mean([r[key] for r in results]))


def _mean_history(results, key):
    """[epochs, the mean over seeds of history[key]], a curve of a plot."""
    return [max((r["history"]["epoch"] for r in results), key=len),
            mean_curve([r["history"][key] for r in results])]


def _test_claims(run, claims, results, seeds, note, gone):
    """Test accuracies over seeds against the study's figure (t over seeds: the same MNIST test
    images, so that noise is shared) and layerlab's goal (seeds and images); neither is judged
    when cells behind them diverged (`gone`). claims: ((name, figure), (name, goal))."""
    (figure_name, figure), (goal_name, goal) = claims
    est, notes = (None, None), (note, note)
    if not gone:
        tests = [r["final"]["test"] for r in results]
        counts = [r["correct"]["test"] for r in results]
        n, over = counts[0][1], f"mean over seeds {list(seeds)}"
        est = v.from_seeds(tests), v.from_seeds_and_images(tests, n)
        notes = (f"{note}; {over} (" + ", ".join(f"{c:,}" for c, _ in counts) + f" of {n:,} "
                 "correct); interval over seeds (the same test images as the study's)",
                 f"{over}; interval over seeds and the {n:,} test images' binomial noise")
    run.judge(figure_name, "figure", est[0], figure, key=True, diverged=list(gone) or False,
              source=f"{SOURCE}: the study's reference", note=notes[0])
    run.judge(goal_name, "goal", est[1], goal, diverged=list(gone) or False, source=GOAL,
              note=notes[1])


@dataclass
class MnistMLPConfig(MnistData):
    """candidates: per budget (max hidden units), the hidden sizes the search tries (some
    outside it, to show the checker refusing them); seed: the search's."""

    checks = {"candidates": rows(count_of, lambda hidden: next(
        (p for p in map(sizes, hidden) if p), None) if hidden else "give a list of sizes")}

    candidates: tuple = ((100, ((100,), (80, 20), (128,))),
                         (200, ((150, 50), (120, 80), (200,))),
                         (1000, ((500, 300, 200), (600, 300, 100), (400, 300, 200, 100),
                                 (1000,), (800, 400, 200))))
    dropout: float = 0.0
    search_epochs: int = 6
    epochs: int = 50
    batch_size: int = 128
    max_lr: float = 3e-3
    # elastic distortion alone, chosen on validation: in three full runs it had more correct
    # validation images than ±2 px shifts alone or both; rotations/scalings gave nothing
    shift: int = 0
    degrees: float = 0.0
    scale: float = 0.0
    elastic: float = 34.0
    elastic_sigma: float = 4.0
    seed: int = 0


@experiment("mnist-mlp", study="S8", title="MNIST MLPs under three hidden-unit budgets: "
            "budget checked by code, architecture search on validation, test once per seed",
            estimate="40 min", config=MnistMLPConfig,
            quick={**QUICK_DATA, "search_epochs": 1, "epochs": 1,
                   "candidates": ((100, ((100,), (60, 40), (128,))),
                                  (200, ((150, 50), (200,))),
                                  (1000, ((500, 300, 200),)))})
def mnist_mlp(cfg, run):
    """Per budget: the search on validation, then its winner over seeds, tested once each."""
    train = mnist_trainer(cfg, run)

    def build(cand):
        return BudgetMLP(list(cand["hidden"]), dropout=cfg.dropout)

    def fit(epochs, test):  # train(cand, cell[, seed]) of arch_search, and of the final models
        return lambda cand, cell, seed=cfg.seed: train(
            cell, lambda: build(cand), _onecycle(cfg, epochs=epochs, test=test, seed=seed))

    search_rows, final_rows, curves, dead = [], [], {"val": {}, "train": {}}, {}
    for max_hidden, hidden_list in cfg.candidates:
        name = f"search/budget={max_hidden}"
        best, found = search_architectures(run, name, [{"hidden": list(h)} for h in hidden_list],
                                           build, mlp_budget(max_hidden),
                                           fit(cfg.search_epochs, False))
        search_rows += [[max_hidden, str(r["candidate"]["hidden"]), r["hidden_units"],
                         f"{r['params']:,}", "trained" if r["accepted"] else
                         f"rejected: {r['reason']}", divergence.value_or_label(
                             r["result"], accuracy(r["val"])), "best" if r is best else ""]
                        for r in found]
        searched = {cell_key(name, r["candidate"]): r["diverged"] for r in found if r["diverged"]}
        row, results, gone = _final_mlp(run, max_hidden, best, build, fit(cfg.epochs, True),
                                        cfg.seeds, searched)
        final_rows.append(row)
        dead.update({**searched, **gone})
        if results:  # none when a seed diverged
            for split in ("val", "train"):
                curves[split][row[0]] = _mean_history(results, f"{split}_acc")
    divergence.note(run, dead, "a candidate that diverged is not picked; a budget with a "
                                "diverged seed has no mean")
    run.table("search", ["budget", "hidden sizes", "hidden units", "parameters", "checked",
                         f"val acc after {cfg.search_epochs} epochs", ""], search_rows,
              title="Architecture search on validation, every candidate checked first",
              note="Rejected candidates are refused by `check_budget` and never trained; the "
                   f"rest train for {cfg.search_epochs} epochs, seed {cfg.seed}, without the test "
                   "set. The pick is a choice on one seed, not a finding.")
    run.table("final", ["budget", "hidden sizes", "hidden units", "hidden layers",
                        "parameters", "best val", "final val", "test (mean ± std, %)", "study",
                        "layerlab's goal", "s / epoch", "training s per seed"], final_rows,
              title=f"The search's winners, full recipe, seeds {list(cfg.seeds)}",
              note="Each seed's model is tested once, on its final weights (last epoch); "
                   "validation and timings are means over the seeds.")
    if curves["val"]:  # none when every budget diverged
        run.plot("final", "curves", title="Final MLPs: accuracy per epoch", xlabel="epoch",
                 panels=[{"ylabel": "val accuracy", "series": curves["val"]},
                         {"ylabel": "train accuracy (running, augmented)",
                          "series": curves["train"]}],
                 note=f"Means over {len(cfg.seeds)} seeds, one curve per budget.")
    run.note("Recipe", (
        "Adam with a one-cycle schedule peaking at max_lr; every training image is "
        + augmentation_text(cfg.elastic, cfg.elastic_sigma, cfg.shift, cfg.degrees, cfg.scale)
        + ". Pixels / 255, cross-entropy on logits (Softmax is in the loss). Validation: a "
        "seeded random part of the training images, never trained on."))


def _final_mlp(run, max_hidden, best, build, final, seeds, searched):
    """The search's winner (best: its row; None when every candidate diverged, `searched`)
    checked again, trained by final(cand, cell, seed) once per seed, each tested once. -> (its
    row of the final table, the seeds' results (none when a cell diverged), the diverged cells)."""
    layers = ref.S8_MLP_BUDGETS[max_hidden]
    what = f"<= {max_hidden} hidden units" + ("" if layers == 1 else f", >= {layers} hidden layers")
    figures = (ref.S8_MLP_REFERENCE[max_hidden], ref.S8_MLP_GOAL[max_hidden])
    claims = ((f"MLP {what}: test accuracy", figures[0]),
              (f"MLP {what}: layerlab's goal", figures[1]))
    if best is None:  # nothing to train
        _test_claims(run, claims, [], seeds, "every candidate of the search diverged: no model",
                     searched)
        row, results, gone = [what, "-", "", "", ""], [], searched
    else:
        cand = best["candidate"]
        s = check_budget(build(cand), **mlp_budget(max_hidden))
        results, gone = _final_models(
            run, f"final/budget={max_hidden}", seeds, lambda cell, seed: final(cand, cell, seed),
            claims, f"hidden {cand['hidden']} ({s['hidden_units']} units, {s['hidden_layers']} "
            f"layers, {s['params']:,} parameters)", ref.S8_MLP_TARGET[max_hidden])
        row = [what, str(cand["hidden"]), s["hidden_units"], s["hidden_layers"],
               f"{s['params']:,}"]
    if gone:
        return row + ["", "", divergence.label(gone), *figures, "", ""], [], gone
    tests = [r["final"]["test"] for r in results]
    return row + [accuracy(_mean(results, "best_val_acc")),
                  accuracy(np.mean([r["final"]["val"] for r in results])),
                  pm(100 * np.mean(tests), 100 * np.std(tests, ddof=1) if len(tests) > 1 else None,
                     2) + "%", *figures, f"{_mean(results, 'epoch_time'):.2f}",
                  f"{_mean(results, 'train_time'):.0f}"], results, gone


@dataclass
class MnistCNNConfig(MnistData):
    """SmallCNN's stages and widths, its dropout and the recipe (one-cycle Adam, augmented)."""

    channels: tuple = ((32, 32), (64, 64))
    fc: tuple = (128,)
    dropout: float = 0.25
    epochs: int = 10
    batch_size: int = 32
    max_lr: float = 3e-3
    shift: int = 2
    degrees: float = 10.0
    scale: float = 0.1


@experiment("mnist-cnn", study="S8", title="MNIST CNN < 1M parameters with dropout and "
            "batchnorm, 10 epochs at batch 32 (checked by code), test once per seed",
            estimate="75 min", config=MnistCNNConfig,
            quick={**QUICK_DATA, "epochs": 1, "channels": (8, 16), "fc": (32,)})
def mnist_cnn(cfg, run):
    """The CNN checked against S8's rules, trained once per seed, each tested once."""
    train = mnist_trainer(cfg, run)

    def build():
        return SmallCNN(channels=cfg.channels, fc=cfg.fc, dropout=cfg.dropout, batchnorm=True)

    summary, reason = within_budget(build(), cnn_budget())
    if summary is None:
        raise ValueError(f"the configured CNN is outside S8's rules: {reason}")
    desc = (f"channels {list(cfg.channels)}, fc {list(cfg.fc)}, dropout {cfg.dropout:g}, "
            f"{summary['params']:,} parameters")
    claims = ((f"CNN, {cfg.epochs} epochs at batch {cfg.batch_size}: final test accuracy",
               ref.S8_CNN_REFERENCE_FINAL), ("CNN: layerlab's goal", ref.S8_CNN_GOAL))
    results, gone = _final_models(run, "cnn", cfg.seeds, lambda cell, seed: train(
        cell, build, _onecycle(cfg, epochs=cfg.epochs, seed=seed)), claims, desc,
        ref.S8_CNN_TARGET)
    divergence.note(run, gone, "with a diverged seed the CNN has no mean over seeds")
    n_val = results[0]["correct"]["val"][1]
    run.judge("CNN: best epoch (validation accuracy)", "figure", None if gone else
              v.from_seeds_and_images([r["best_val_acc"] for r in results], n_val),
              ref.S8_CNN_REFERENCE_BEST_EPOCH, figure_n=STUDY_BEST_EPOCH_IMAGES,
              diverged=list(gone) or False, source=f"{SOURCE}: the study's best epoch",
              note=NO_MEAN if gone else f"best epochs {[r['best_epoch'] for r in results]} of "
                   f"{cfg.epochs}, read as validation accuracy; our {n_val:,} validation images "
                   f"and the study's (taken as {STUDY_BEST_EPOCH_IMAGES:,}) both add noise")
    run.judge("CNN parameters (checked by code: fewer than 1,000,000, with Dropout and "
              "BatchNorm2d, only allowed layers)", "goal", v.exact(summary["params"]),
              ref.S8_CNN_MAX_PARAMS, better="lower", source=f"S8's rule ({SOURCE})",
              note=f"{desc}; checked before training")
    rows = [["", divergence.label(gone), "", "", ""]]  # no mean over seeds
    if not gone:
        h = {k: _mean_history(results, k) for k in ("train_acc", "val_acc", "lr", "time")}
        rows = [[e, f"{a:.4f}", f"{va:.4f}", f"{lr:.2e}", f"{t:.1f}"] for e, a, va, lr, t in
                zip(h["time"][0], *(ys for _, ys in h.values()), strict=True)]
    run.table("cnn", ["epoch", "train acc (running, augmented)", "val acc", "lr at the end",
                      "training s"], rows,
              title=f"CNN per epoch, means over seeds {list(cfg.seeds)} ({desc})",
              note="Test accuracy once per seed, after the last epoch: " + ", ".join(
                  divergence.value_or_label(r, f"{r['final']['test']:.4f}") for r in results)
              + ".")
    if not gone:
        run.plot("cnn", "curves", title="CNN: accuracy per epoch", xlabel="epoch",
                 ylabel="accuracy", note=f"Means over {len(cfg.seeds)} seeds.",
                 series={"train (running, augmented)": h["train_acc"], "val": h["val_acc"]})
    run.note("Recipe", (
        "SmallCNN: per stage one 3×3 convolution (same padding) – BatchNorm2d – ReLU per "
        "channels entry, then 2×2 max pooling; then Flatten – [Dropout – Linear – ReLU] per fc "
        "width – Dropout – Linear. Adam with a one-cycle schedule peaking at max_lr; every "
        "training image is " + augmentation_text(0, 0, cfg.shift, cfg.degrees, cfg.scale)
        + "." + ("" if gone else " Mean training time per epoch "
                 f"{_mean(results, 'epoch_time'):.1f} s (one thread).")))
