"""S8 mnist-dropout-sweep: the pick of a dropout p judged as comparisons paired by seed, not
by argmax; a p with a diverged seed is left out of the pick."""

from __future__ import annotations

from layerlab import references as ref
from layerlab.analysis import verdict as v

SOURCE = "S8"


def sweep_picks(val: dict) -> dict:
    """{p: [val acc per seed]} (grid order) -> {'best', 'runner_up' (the two highest means; an
    exact tie goes to grid order, so the pick is judged as a comparison), 'est' {p: Estimate
    over seeds}, 'tied' (the other p whose t interval overlaps the best's; none for one seed)}."""
    est = {p: v.from_seeds(accs) for p, accs in val.items()}  # fewer than 2 p: best is None
    best, runner_up = (sorted(val, key=lambda p: -est[p].value) + [None, None])[:2]
    tied = [p for p in val if p != best and est[p].high >= est[best].low]
    return {"best": best, "runner_up": runner_up, "est": est, "tied": tied}


def sweep_claims(run, cfg, val, pick, tied, lost):
    """'Our best p beats the runner-up' and 'the study's best p beats every other p', paired
    by seed. pick: sweep_picks of the p that finished; lost: {p: [its diverged cells]}."""
    best, runner_up, est = pick["best"], pick["runner_up"], pick["est"]
    study_p, gone = round(ref.S8_DROPOUT_BEST_P, 4), sum(lost.values(), [])
    run.judge("best dropout p after one epoch (validation) beats the runner-up", "comparison",
              None if runner_up is None else v.from_pairs(val[best], val[runner_up]),
              diverged=gone if runner_up is None else [], key=True,
              source=f"{SOURCE}: the study's best p = 1/9 ({study_p})",
              note="fewer than two p finished: no pick" if runner_up is None else
              f"p {best:.4f} (mean val {est[best].value:.4f}) minus the runner-up p "
              f"{runner_up:.4f} ({est[runner_up].value:.4f}), paired by seed over seeds "
              f"{list(cfg.seeds)}; tied with the best: {tied}")
    rival = max((p for p in est if p != study_p), key=lambda p: est[p].value, default=None)
    ok = study_p in est and rival is not None  # else not in the grid, or diverged
    run.judge(f"the study's best p ({study_p}) beats every other p after one epoch "
              "(validation)", "comparison", v.from_pairs(val[study_p], val[rival]) if ok
              else None, diverged=[] if ok or study_p not in val else lost.get(study_p, gone),
              source=f"{SOURCE}: the study's best p = 1/9", note=(
                  f"p {study_p} minus the strongest other p ({rival:.4f}, mean val "
                  f"{est[rival].value:.4f}), paired by seed" if ok else
                  f"p {study_p} is not in this grid of {len(val)} p" if study_p not in val
                  else f"p {study_p} or every other p diverged"))
