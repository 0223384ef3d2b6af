"""S6's config and cells (training, cross-validation, gradient check). Every cell loads its
data itself (cached per process), so a rebuild from cells.json reads no data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from layerlab.analysis import per_epoch_means, wilson
from layerlab.pytorch import BudgetMLP, Probes, l1_penalty, l2_penalty, set_seed
from layerlab.pytorch.gradcheck import gradient_check
from layerlab.trainers.torch_cell import Recipe, data_spec, load_data, train_cell

SETTINGS = ("dropout", "l1", "l2", "l1+l2")
LABELS = {"dropout": "dropout only", "l1": "L1", "l2": "L2", "l1+l2": "L1 + L2"}
PENALTIES = {"dropout": (), "l1": ("l1",), "l2": ("l2",), "l1+l2": ("l1", "l2")}


@dataclass
class GurmukhiRegConfig:
    """The study's settings, then ours: a sensitivity grid (on the test set, nothing is chosen
    on it) and a tuned dropout-only recipe, each (epochs, elastic alpha in pixels, 0 = none)
    scored by stratified k-fold CV on the training images."""

    hidden_sizes: tuple = (512, 256, 128, 64, 16)
    dropout: float = 0.2
    l1: float = 1e-3
    l2: float = 1e-3
    learning_rate: float = 1e-3
    epochs: int = 10
    batch_size: int = 64
    seeds: tuple = tuple(range(10))
    dataset: str = "gurmukhi"  # quick runs: "gurmukhi-mini", the subset inside the package
    num_train: int = 0  # 0: all 1,000 training images (quick runs take fewer)
    gradcheck_images: int = 16
    gradcheck_entries: int = 12  # random entries per parameter tensor
    dropout_sweep: tuple = (0.0, 0.1, 0.3, 0.5)
    l1_sweep: tuple = (1e-4, 1e-5, 1e-6)
    epochs_sweep: tuple = (20, 30)  # dropout only, trained longer: is 10 epochs the limit?
    sensitivity_seeds: tuple = (0, 1, 2, 3, 4)
    tune_epochs: tuple = (10, 30, 60)
    tune_elastic: tuple = (0.0, 34.0)
    tune_sigma: float = 4.0  # the elastic field's Gaussian smoothing, pixels
    tune_folds: int = 5
    gradcheck_eps: float = 1e-4  # float64 round-off dominates below
    device: str = "auto"  # where PyTorch trains: auto, cpu, cuda, cuda:N, mps


def gurmukhi_spec(cfg, fold=None):
    """Pixels in [-1, 1], X (N, 1, 32, 32), no validation split (fold: that one of
    `tune_folds` stratified folds of the training images is, and there is no test)."""
    return data_spec(cfg.dataset, val=None, split_seed=0, num_train=cfg.num_train or None,
                     pixels="signed",
                     folds=None if fold is None else (cfg.tune_folds, fold, 0))


def total_grad_norms(probes):
    """Per probe entry (a Probes' history {layer: {'grad_norm': [...]}}), the 2-norm of all
    weight gradients as one vector: sqrt(sum over layers of grad_norm**2)."""
    per_layer = np.array([h["grad_norm"] for h in probes.values()], dtype=float)
    return np.sqrt((per_layer ** 2).sum(axis=0)).tolist()


def build_model(cfg, in_features=1024, dropout=None):
    """FC in_features -> hidden_sizes -> 10, dropout p (cfg.dropout) after each hidden ReLU."""
    return BudgetMLP(list(cfg.hidden_sizes), in_features=in_features,
                     dropout=cfg.dropout if dropout is None else dropout)


def recipe(cfg, epochs, seed, **kw):
    """Adam at the study's lr and batch; an elastic distortion keeps the white background."""
    return Recipe(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.learning_rate, seed=seed,
                  channels_last=False, elastic_sigma=cfg.tune_sigma, ink=True, **kw)


def train_setting(train, cfg, setting, seed, name=None, dropout=None, penalties=None,
                  epochs=None, elastic=0.0):
    """One cell of `train` (dropout, penalties, epochs override the setting's; elastic: alpha
    in pixels): the per-epoch lists of the epochs that finished, test_correct, n_test,
    n_train, test_ci, weights, diverged."""
    data = load_data(gurmukhi_spec(cfg))  # cached: the tensors `train` trains on
    if penalties is None:
        penalties = {k: getattr(cfg, k) for k in PENALTIES[setting]}
    r = train(name or f"reg/setting={setting},seed={seed}",
              lambda: build_model(cfg, data["X_train"][0].numel(), dropout),
              recipe(cfg, epochs or cfg.epochs, seed, monitor_test=True, penalties=penalties,
                     elastic=elastic),
              probes=lambda model: Probes(model, every="step"),
              keep=("loss", "penalty", "train_acc", "test_acc", "test_loss", "time"))
    steps = -(-len(data["y_train"]) // cfg.batch_size)
    done = steps * len(r["history"]["loss"])  # the probes also saw a diverged epoch's steps
    correct, n_test = r["correct"]["test"]
    return {"setting": setting, "seed": seed, **r["history"],
            "grad_norm": per_epoch_means(total_grad_norms(r["probes"])[:done],
                                         steps_per_epoch=steps),
            "test_correct": correct, "n_test": n_test, "n_train": len(data["y_train"]),
            "test_ci": wilson(correct, n_test), "weights": r["weights"],
            "diverged": r["diverged"]}


def cv_score(run, cfg, epochs, elastic, fold):
    """One cross-validation cell: dropout only, trained outside `fold`, scored inside it:
    val_acc (final; None when it diverged), n_val, time (per epoch), weights, diverged."""
    spec = gurmukhi_spec(cfg, fold)
    split = load_data(spec)
    r = train_cell(run, f"tune/epochs={epochs},elastic={elastic},fold={fold}",
                   lambda: build_model(cfg, split["X_train"][0].numel()), split, spec,
                   recipe(cfg, epochs, 0, test=False, elastic=elastic), keep=("val_acc", "time"))
    return {"val_acc": None if r["diverged"] else r["history"]["val_acc"][-1],
            "n_val": len(split["y_val"]), "time": r["history"]["time"], "weights": r["weights"],
            "diverged": r["diverged"]}


def gradient_checks(cfg):
    """Autograd against centred differences (float64) per check and tensor on
    `gradcheck_images` seeded training images, dropout off (a numerical derivative needs the
    same function at both points); and the penalties' closed forms' largest error."""
    data = load_data(gurmukhi_spec(cfg))
    in_features = data["X_train"][0].numel()
    set_seed(0)
    model = build_model(cfg, in_features).double().eval()
    pick = torch.randperm(len(data["y_train"]), generator=torch.Generator().manual_seed(0))
    pick = pick[:cfg.gradcheck_images]
    X, y = data["X_train"][pick].double(), data["y_train"][pick]
    params = dict(model.named_parameters())
    weights = {n: p for n, p in params.items() if n.endswith("weight")}
    penalty = {"L1 penalty": lambda: l1_penalty(model, cfg.l1),
               "L2 penalty": lambda: l2_penalty(model, cfg.l2)}
    kw = {"entries": cfg.gradcheck_entries, "eps": cfg.gradcheck_eps}
    kink = 10 * cfg.gradcheck_eps  # |w| has no derivative at 0: skip entries this close to it

    def data_loss():
        return F.cross_entropy(model(X), y)

    def total():
        return data_loss() + penalty["L1 penalty"]() + penalty["L2 penalty"]()

    checks = {"data loss (model)": gradient_check(data_loss, params, **kw),
              "L1 penalty": gradient_check(penalty["L1 penalty"], weights, avoid_zero=kink, **kw),
              "L2 penalty": gradient_check(penalty["L2 penalty"], weights, **kw),
              "loss + L1 + L2": gradient_check(total, params, avoid_zero=kink, **kw)}
    closed = {}  # the penalties' closed-form gradients against autograd's, on every weight
    for label, form in (("L1 penalty", lambda w: cfg.l1 * torch.sign(w)),
                        ("L2 penalty", lambda w: 2 * cfg.l2 * w)):
        model.zero_grad(set_to_none=True)
        penalty[label]().backward()
        closed[label] = max(float((w.grad - form(w.detach())).abs().max())
                            for w in weights.values())
    return {"numerical": checks, "closed_form": closed, "images": len(y),
            "entries": cfg.gradcheck_entries, "eps": cfg.gradcheck_eps,
            "in_features": in_features}
