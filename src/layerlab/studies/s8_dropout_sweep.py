"""S8 `mnist-dropout-sweep`: validation accuracy after one epoch for 10 dropout probabilities
in [0, 1], over seeds; the best p is judged against the runner-up, paired by seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import divergence, over_seeds
from layerlab.analysis import verdict as v
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell_key, grid
from layerlab.pytorch import SmallCNN
from layerlab.studies.s8_mnist import QUICK_DATA, SOURCE, MnistData, mnist_trainer
from layerlab.trainers.torch_cell import Recipe


def dropout_grid(count: int = 10) -> list[float]:
    """`count` equally spaced probabilities from 0 to 1 (both ends), rounded to 4 digits."""
    return [round(float(p), 4) for p in np.linspace(0.0, 1.0, count)]


@dataclass
class DropoutSweepConfig(MnistData):
    """A narrower SmallCNN than mnist-cnn's, so that one epoch per p and seed fits the time."""

    count: int = 10
    channels: tuple = (16, 32)
    fc: tuple = (64,)
    batch_size: int = 32
    lr: float = 1e-3
    seeds: tuple = (0, 1, 2, 3, 4)  # a cell takes well under two minutes: five seeds per p


def sweep_picks(val: dict) -> dict:
    """{p: [val acc per seed]} (grid order) -> {'best', 'runner_up' (the two highest means; an
    exact tie goes to grid order, so the pick is judged as a comparison), 'est' {p: Estimate
    over seeds}, 'tied' (the other p whose t interval overlaps the best's; none for one seed)}."""
    est = {p: v.from_seeds(accs) for p, accs in val.items()}  # fewer than 2 p: no runner-up
    best, runner_up = (sorted(val, key=lambda p: -est[p].value) + [None, None])[:2]
    tied = [p for p in val if p != best and est[p].high >= est[best].low]
    return {"best": best, "runner_up": runner_up, "est": est, "tied": tied}


@experiment("mnist-dropout-sweep", study="S8", title="MNIST CNN dropout sweep: 10 p in [0, 1], "
            "one epoch each, on validation, over seeds",
            estimate="20 min with `layerlab sweep mnist-dropout-sweep --workers 2`",
            config=DropoutSweepConfig,
            quick={**QUICK_DATA, "count": 3, "channels": (8, 16), "fc": (32,)})
def mnist_dropout_sweep(cfg, run):
    """Validation accuracy after one epoch per p and seed; a p with a diverged seed: no pick."""
    train = mnist_trainer(cfg, run)
    ps = dropout_grid(cfg.count)
    cells = [{"p": p, "seed": s} for p in ps for s in cfg.seeds]
    results = grid(run, "sweep", cells, lambda c: train(
        cell_key("sweep", c),
        lambda: SmallCNN(channels=cfg.channels, fc=cfg.fc, dropout=c["p"], batchnorm=True),
        Recipe(epochs=1, batch_size=cfg.batch_size, lr=cfg.lr, seed=c["seed"], test=False)),
        objective=None)
    records = [{**c, "val": r["final"]["val"], "time": r["train_time"]}
               for c, r in zip(cells, results, strict=True)]
    val, times = over_seeds(records, "p", "val"), over_seeds(records, "p", "time")
    lost = divergence.groups(run, [c["p"] for c in cells],
                             [cell_key("sweep", c) for c in cells], results)
    pick = sweep_picks({p: accs for p, accs in val.items() if p not in lost})
    est = pick["est"]
    run.plot("sweep", "curves", title="Validation accuracy after one epoch", xlabel="dropout p",
             ylabel="val accuracy", series={f"ours (mean over {len(cfg.seeds)} seeds)": [
                 ps, [est[p].value if p in est else None for p in ps]]})
    run.table("sweep", ["p", "val acc per seed", "mean [95% t interval]", "training s"],
              [[f"{p:.4f}", " ".join(f"{a:.4f}" for a in val[p]), est[p].text(),
                f"{np.mean(times[p]):.1f}"] if p in est else
               [f"{p:.4f}", divergence.label(lost[p]), "", ""] for p in ps],
              title=f"One epoch per dropout probability, seeds {list(cfg.seeds)}")
    _sweep_claims(run, cfg.seeds, val, pick, lost)
    run.note("What one-epoch validation cannot show", sweep_reading(est) + " SmallCNN with "
             "batchnorm, dropout p before each Linear layer, Adam, no augmentation.")


def sweep_reading(est):
    """The note on one-epoch validation, with the best and worst p as measured ({p: Estimate});
    'a small p' only when the best p is below 1/2, 'too little capacity' only when the
    largest p does worst."""
    text = ("Dropout trades slower fitting now for less over-fitting later, and one epoch shows "
            "only the first half of that trade: it cannot show which p is best after full "
            "training.")
    if not est:
        return text
    best, worst = (f(est, key=lambda p: est[p].value) for f in (max, min))
    return text + (f" Here the best p is {best:.4f} (mean val {est[best].value:.4f}), "
                   + ("a small p" if best < 0.5 else "not a small one") + f"; the worst is "
                   f"{worst:.4f} ({est[worst].value:.4f})" + (
                       ": the largest p leaves too little capacity to fit." if worst == max(est)
                       else "."))


def _sweep_claims(run, seeds, val, pick, lost):
    """'Our best p beats the runner-up' and 'the study's best p beats every other p', paired
    by seed. pick: sweep_picks of the p that finished; lost: {p: {its diverged cells}}."""
    best, runner_up, est = pick["best"], pick["runner_up"], pick["est"]
    tied = f"p in {pick['tied']}" if best is not None and est[best].judgeable else \
        "not known with one seed"
    study_p, gone = round(ref.S8_DROPOUT_BEST_P, 4), [n for cells in lost.values() for n in cells]
    run.judge("best dropout p after one epoch (validation) beats the runner-up", "comparison",
              None if runner_up is None else v.from_pairs(val[best], val[runner_up]),
              diverged=gone if runner_up is None else [], key=True,
              source=f"{SOURCE}: the study's best p = 1/9 ({study_p})",
              note="fewer than two p finished: no pick" if runner_up is None else
              f"p {best:.4f} (mean val {est[best].value:.4f}) minus the runner-up p "
              f"{runner_up:.4f} ({est[runner_up].value:.4f}), paired by seed over seeds "
              f"{list(seeds)}; tied with the best: {tied}")
    rival = max((p for p in est if p != study_p), key=lambda p: est[p].value, default=None)
    ok = study_p in est and rival is not None  # else not in the grid, or diverged
    run.judge(f"the study's best p ({study_p}) beats every other p after one epoch "
              "(validation)", "comparison", v.from_pairs(val[study_p], val[rival]) if ok
              else None, diverged=[] if ok or study_p not in val else
              list(lost.get(study_p, gone)), source=f"{SOURCE}: the study's best p = 1/9", note=(
                  f"p {study_p} minus the strongest other p ({rival:.4f}, mean val "
                  f"{est[rival].value:.4f}), paired by seed" if ok else
                  f"p {study_p} is not in this grid of {len(val)} p" if study_p not in val
                  else f"p {study_p} or every other p diverged"))
