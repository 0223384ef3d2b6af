"""A small architecture search: candidates checked against a budget before any training (one
outside it is rejected with the checker's message and never trained), the rest trained as cells
of one grid, the best on validation kept. The test split plays no part in the choice."""

from __future__ import annotations

from layerlab.analysis import divergence
from layerlab.lab.sweep import cell_key, grid


def within_budget(model, budget: dict) -> tuple[dict | None, str]:
    """(check_budget's summary, '') when the model fits the budget, else (None, the reason)."""
    from layerlab.pytorch import check_budget

    try:
        return check_budget(model, **budget), ""
    except ValueError as err:
        return None, str(err)


def search_architectures(run, grid_name: str, candidates: list[dict], build, budget: dict,
                         train, objective: str = "val") -> tuple[dict, list[dict]]:
    """Train every candidate that fits `budget`; return (the best, one row per candidate).

    build(candidate) -> nn.Module; budget: check_budget's keyword arguments; train(candidate,
    cell) -> a result with result['final'][objective] (never the test split). Rows: {candidate,
    params, hidden_units, accepted, reason, val (None when rejected or diverged), result,
    diverged (a divergence record or None)}; the best: the highest val (the first on a tie),
    None when every accepted candidate diverged. ValueError when no candidate fits."""
    from layerlab.pytorch import count_params, hidden_units

    rows = []
    for cand in candidates:
        model = build(cand)
        summary, reason = within_budget(model, budget)
        rows.append({"candidate": cand, "params": count_params(model),
                     "hidden_units": hidden_units(model), "accepted": summary is not None,
                     "reason": reason, "val": None, "result": None, "diverged": None})
    accepted = [r for r in rows if r["accepted"]]
    if not accepted:
        raise ValueError(f"{grid_name}: no candidate fits the budget {budget}: "
                         + "; ".join(r["reason"] for r in rows))
    results = grid(run, grid_name, [r["candidate"] for r in accepted],
                   lambda c: train(c, cell_key(grid_name, c)), objective=None)
    for row, result in zip(accepted, results, strict=True):
        row.update(result=result, diverged=divergence.of(result))
        row["val"] = None if row["diverged"] else result["final"][objective]
    best = max((r for r in rows if r["val"] is not None), key=lambda r: r["val"], default=None)
    return best, rows
