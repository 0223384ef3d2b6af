"""Divergence as an outcome of a cell: what counts as diverged, and keeping diverged cells out
of means, picks, comparisons and tables.

Both engines record a divergence the same way: `{"step", "epoch", "last_finite_loss"}` (steps
and epochs counted from 1; the last loss before the divergent step, None when the first step
diverged), or None when training finished. `layerlab.pytorch.fit` stops at the step (history
'diverged'), the scratch `Solver` too (its `diverged`), and the one-cell trainers
(`trainers.solver_cell.train_solver`, `trainers.torch_cell.train_cell`) return it in every
cell's result as 'diverged'.

A loss diverged when it is not finite, or when it exceeds EXPLOSION times the first step's
loss (at least 1): a net whose loss jumped a million-fold is dead even while its numbers stay
finite, and its accuracy (chance, or whatever a saturated net predicts) is not a result.

    finished, diverged = divergence.split(names, results)   # {name: result}, {name: record}
    divergence.note(run, diverged)                          # the report's "Diverged cells"
    run.judge(..., diverged=divergence.needed(diverged, names_behind_the_claim))
"""

from __future__ import annotations

import math

from layerlab.analysis.fmt import count

EXPLOSION = 1e6  # a loss this many times the first step's (or 1) counts as divergence


def loss_diverged(loss: float, first: float | None = None) -> bool:
    """True when a training loss counts as divergence: not finite, or above EXPLOSION times
    max(|first|, 1), first being the loss of the run's first step (None: finiteness only)."""
    if not math.isfinite(loss):
        return True
    return first is not None and math.isfinite(first) and \
        abs(loss) > EXPLOSION * max(abs(first), 1.0)


def find(losses, steps_per_epoch: int | None = None) -> dict | None:
    """The first divergent step of a per-step loss history, as a record {"step", "epoch"
    (None without steps_per_epoch), "last_finite_loss"}; None when no step diverged."""
    losses = [float(x) for x in losses]
    first = losses[0] if losses else None
    for i, loss in enumerate(losses):
        if loss_diverged(loss, first):
            return {"step": i + 1,
                    "epoch": i // steps_per_epoch + 1 if steps_per_epoch else None,
                    "last_finite_loss": losses[i - 1] if i else None}
    return None


def of(result) -> dict | None:
    """A cell result's divergence record, or None when it finished. Reads 'diverged'; a result
    stored before that key existed counts as diverged when its stopped_early says so."""
    if not isinstance(result, dict):
        return None
    if result.get("diverged"):
        return result["diverged"]
    if result.get("stopped_early") == "diverged":
        return {"step": None, "epoch": None, "last_finite_loss": None}
    return None


def label(record: dict | None) -> str:
    """'diverged (step 12)', what a table shows in place of a diverged cell's numbers; record:
    a divergence record, or a group's {name: record} (its first cell)."""
    if record and "step" not in record:
        record = next(iter(record.values()))
    step = (record or {}).get("step")
    return f"diverged (step {step})" if step is not None else "diverged"


def value_or_label(result, value):
    """`value`, or the label of `result`'s divergence when it diverged (a table cell)."""
    record = of(result)
    return label(record) if record else value


def split(names, results) -> tuple[dict, dict]:
    """(finished {name: result}, diverged {name: record}) of cells named `names` (one name
    per result, in order)."""
    finished, diverged = {}, {}
    for name, result in zip(names, results, strict=True):
        record = of(result)
        if record:
            diverged[name] = record
        else:
            finished[name] = result
    return finished, diverged


def groups(run, keys, names, results, what="") -> dict:
    """Cells grouped by `keys` (one per cell, e.g. the dropout p of each seed's cell): writes
    the 'Diverged cells' note (see `note`) and returns {key: {name: record}} of the groups with
    a diverged cell, which have no mean over seeds (leave them out of picks and claims)."""
    lost = {}
    for key, name, result in zip(keys, names, results, strict=True):
        if of(result):
            lost.setdefault(key, {})[str(name)] = of(result)
    note(run, {n: r for group in lost.values() for n, r in group.items()}, what)
    return lost


def needed(diverged: dict, names) -> list:
    """The names among `names` (the cells a claim's estimate rests on) that diverged: pass it
    as run.judge(..., diverged=...), an empty list judges the claim as usual."""
    return [str(n) for n in names if n in diverged]


def describe(diverged: dict) -> str:
    """'lr=1e+06 at step 2 of epoch 1 (last finite loss 2.54); ...' for a note."""
    parts = []
    for name, record in diverged.items():
        where = ""
        if record.get("step") is not None:
            where = f" at step {record['step']}" + (
                f" of epoch {record['epoch']}" if record.get("epoch") is not None else "")
        last = record.get("last_finite_loss")
        parts.append(f"{name}{where}" + (f" (last finite loss {last:.4g})"
                                         if last is not None else ""))
    return "; ".join(parts)


def note(run, diverged: dict, what: str = "") -> None:
    """Write the report's 'Diverged cells' note listing `diverged` (nothing when empty)."""
    if not diverged:
        return
    run.note("Diverged cells", (
        f"{count(len(diverged), 'cell')} diverged (a non-finite loss or parameters, or a loss "
        f"over {EXPLOSION:g} times the first step's), left out of every mean, pick and claim"
        f"{' (' + what + ')' if what else ''}: {describe(diverged)}. A claim that needed one "
        "reads *not judged*."))


def lost_cells(lost: dict, groups) -> list | bool:
    """The diverged cells of `groups` in `lost` ({group: {name: record}}, as `groups` returns),
    as run.judge's `diverged`: their names, or False when none diverged."""
    return [name for g in groups for name in lost.get(g, {})] or False


def figures_or_label(lost: dict, group, figures) -> list:
    """A table row's `figures`, or, when `group` is in `lost`, its `label` in place of each."""
    return [label(lost[group])] * len(figures) if group in lost else list(figures)
