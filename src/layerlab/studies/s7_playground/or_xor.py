"""or-xor: OR and XOR with ReLU units set by hand; exact proofs (Fourier-Motzkin,
layerlab.theory.logic) that no net without a hidden layer computes XOR or outputs OR exactly;
nets trained on the four XOR points over seeds and hidden widths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.analysis import group_by, mean_std, verdict
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.references import S7_XOR_LAYERS
from layerlab.studies.s7_playground import measure as pg
from layerlab.theory import feasibility, logic

EXTENT = (-0.5, 1.5, -0.5, 1.5)  # the four inputs with a margin
OPS = {"OR": logic.OR, "AND": logic.AND, "XOR": logic.XOR}


@dataclass
class LogicConfig:
    """hidden: widths of the trained XOR nets (full-batch gradient descent on the four points);
    init_scale: std of the Gaussian initial weights."""

    hidden: tuple = (2, 3, 4, 8)
    seeds: tuple = tuple(range(10))
    iterations: int = 2000
    learning_rate: float = 0.1
    init_scale: float = 1.0
    grid_steps: int = 61
    seed: int = 0


def _separable_system(y):
    """The rows (A, b) of `logic.separable`'s system for labels y (4,), rebuilt to check it."""
    A = [[-x1, -x2, -1.0] if label else [x1, x2, 1.0]
         for (x1, x2), label in zip(logic.INPUTS, y, strict=True)]
    return A, [-1 if label else 0 for label in y]


def _hand_checks():
    """The hand-set nets on the four inputs, and the exact feasibility questions."""
    def answer(result):
        values = result.point if result.feasible else result.certificate
        return {"feasible": result.feasible, "evidence": ", ".join(str(v) for v in values)}

    nets = {"or_no_hidden": logic.OR_NO_HIDDEN, "or_one_hidden": logic.OR_ONE_HIDDEN,
            "xor_two_layers": logic.XOR_TWO_LAYERS}
    sep = {op: logic.separable(logic.INPUTS, y) for op, y in OPS.items()}
    return {**{k: [float(v) for v in logic.evaluate(net, logic.INPUTS)] for k, net in nets.items()},
            "or_hidden_units": [logic.hidden_units(logic.OR_NO_HIDDEN),
                                logic.hidden_units(logic.OR_ONE_HIDDEN)],
            "xor_layers": len(logic.XOR_TWO_LAYERS),
            "separable": {op: answer(r) for op, r in sep.items()},
            "or_exact_without_hidden": {
                out: answer(logic.fit_without_hidden(logic.INPUTS, logic.OR, out))
                for out in ("relu", "linear")},
            "certificates_check": all(feasibility.check(*_separable_system(y), sep[op])
                                      for op, y in OPS.items())}


def _xor_cell(cfg, hidden, seed):
    r = logic.train_xor(hidden, seed, cfg.iterations, cfg.learning_rate, cfg.init_scale)
    return {"hidden": hidden, "seed": seed, "solved": r["solved"], "loss": r["loss"],
            "dead": pg.dead_units(r["model"], logic.INPUTS)[0],
            "predictions": r["predictions"].tolist(),
            "grid": pg.decision_grid(r["model"], EXTENT, cfg.grid_steps)}


@experiment("or-xor", study="S7", title="OR and XOR with ReLU units: by hand, proofs of what "
            "one layer cannot do, and trained nets", estimate="30 s", config=LogicConfig,
            quick={"hidden": (2, 4), "seeds": (0, 1), "iterations": 300, "grid_steps": 21})
def or_xor(cfg, run):
    """Hand-set OR/XOR nets, exact infeasibility of XOR without a hidden layer, trained nets."""
    _hand_report(run, cell(run, "hand", _hand_checks))
    cells = [{"hidden": int(h), "seed": int(s)} for h in cfg.hidden for s in cfg.seeds]
    trained = grid(run, "xor", cells, lambda c: _xor_cell(cfg, **c))
    rows = []
    for h, rs in group_by(trained, "hidden").items():
        solved, failed = [r for r in rs if r["solved"]], [r for r in rs if not r["solved"]]
        rows.append([h[0], len(solved), len(rs), " ".join(str(r["seed"]) for r in solved),
                     mean_std([r["loss"] for r in solved] or [float("nan")])[0],
                     " ".join(str(r["dead"]) for r in failed),
                     " ".join(f"{r['loss']:.3f}" for r in failed)])
    run.table("trained", ["hidden ReLU units", "seeds solving XOR", "seeds", "which",
                          "mean final loss of those", "failed runs: dead hidden units",
                          "failed runs: final loss"], rows,
              title="Trained 2 - h - 2 ReLU nets on the four XOR points",
              note=f"{cfg.iterations} full-batch steps, learning rate {cfg.learning_rate}. "
              + trained_reading(trained))
    run.judge("a trained net finds an XOR solution (seeds solving it, all widths)", "measured",
              verdict.exact(sum(r["solved"] for r in trained)), unit="runs", source=pg.SOURCE,
              note=f"of {len(trained)} runs; the study: 'a trained net confirms'")
    _boundaries(cfg, run, trained)


def trained_reading(trained):
    """The trained nets' failures and widths, as measured: 'wider nets have spare units' only
    when the widest nets solve a larger share of their seeds than the narrowest."""
    failed = [r for r in trained if not r["solved"]]
    widths = sorted((h[0], sum(r["solved"] for r in rs), len(rs))
                    for h, rs in group_by(trained, "hidden").items())
    text = (f"Of the {len(failed)} failed runs, {sum(r['dead'] > 0 for r in failed)} have a "
            "hidden unit that is zero on all four inputs (dead for good); log 2 = 0.693 is the "
            "loss of a net that answers 1/2 everywhere.")
    if len(widths) > 1:
        (h, a, k), (w, b, m) = widths[0], widths[-1]
        text += (f" The widest nets ({w} units) solve {b} of {m} seeds, the narrowest ({h}) "
                 f"{a} of {k}: " + ("wider nets have spare units." if b / m > a / k else
                                    "more units do not help here."))
    return text


def _boundaries(cfg, run, trained):
    """The hand-set XOR and exact OR nets over the plane, then a solved and a failed narrowest
    net and one of the widest."""
    def data(labels):
        return {"points": logic.INPUTS.tolist(), "labels": labels.tolist()}

    plane = pg.plane(EXTENT, cfg.grid_steps)
    panels = [pg.panel(title, pg.as_map(2 * np.clip(logic.evaluate(net, plane), 0, 1) - 1,
                                        cfg.grid_steps), data(labels), EXTENT)
              for title, net, labels in (
                  ("hand-set XOR (2 layers)", logic.XOR_TWO_LAYERS, logic.XOR),
                  ("hand-set exact OR (1 hidden unit)", logic.OR_ONE_HIDDEN, logic.OR))]
    narrow = [r for r in trained if r["hidden"] == min(cfg.hidden)]
    for r in (next((r for r in narrow if r["solved"]), None),
              next((r for r in narrow if not r["solved"]), None),
              next((r for r in trained if r["hidden"] == max(cfg.hidden)), None)):
        if r is not None:
            panels.append(pg.panel(f"trained, {r['hidden']} hidden, seed {r['seed']}: "
                                   f"{'solved' if r['solved'] else 'failed'}", r["grid"],
                                   data(logic.XOR), EXTENT))
    run.plot("xor_boundaries", "boundary", title="OR and XOR over the plane", panels=panels,
             ncols=min(3, len(panels)), note="Points: the four inputs, blue = 1.")


def _hand_report(run, hand):
    """The truth table of the hand-set nets, their claims and the feasibility proofs."""
    inputs = [f"({int(a)}, {int(b)})" for a, b in logic.INPUTS]
    run.table("truth", ["input", "OR", "relu(x1 + x2)  [no hidden unit]",
                        "1 - relu(1 - x1 - x2)  [one hidden unit]", "XOR",
                        "relu(x1 + x2) - 2 relu(x1 + x2 - 1)  [two layers]"],
              [[inputs[k], int(logic.OR[k]), hand["or_no_hidden"][k], hand["or_one_hidden"][k],
                int(logic.XOR[k]), hand["xor_two_layers"][k]] for k in range(4)],
              title="The hand-set networks on all four inputs",
              note="relu(x1 + x2) is OR as a classifier (output > 0 means true); exact 0/1 "
              "outputs without a hidden unit: the proof below.")
    exact_or, xor_separable = hand["or_exact_without_hidden"], hand["separable"]["XOR"]["feasible"]
    none_exact = not any(r["feasible"] for r in exact_or.values())
    two_layers = sum(np.equal(hand["xor_two_layers"], logic.XOR))
    right = "{}: inputs right (of 4)".format
    for name, value, reference, more in (
            (right("OR as a classifier with no hidden unit"), sum(
                (v > 0) == bool(t) for v, t in zip(hand["or_no_hidden"], logic.OR, strict=True)),
             4, {"note": "relu(x1 + x2) > 0"}),
            (right("OR with exact 0/1 outputs and one hidden ReLU unit"),
             sum(np.equal(hand["or_one_hidden"], logic.OR)), 4, {}),
            (right("XOR with two layers (hand-set)"), two_layers, 4, {}),
            (f"exact OR without a hidden layer: feasible systems (of {len(exact_or)}: ReLU or "
             "linear output)", sum(r["feasible"] for r in exact_or.values()), 0,
             {"note": ("0: infeasible, proved; so one hidden unit is the fewest for exact "
                       "outputs" if none_exact else "a system is feasible: its (w1, w2, b)")
              + " in the table below"}),
            ("fewest layers of weights that compute XOR",
             1 if xor_separable else hand["xor_layers"], S7_XOR_LAYERS,
             {"unit": "layers", "key": True, "note": ("one layer is ruled out by the "
              "infeasibility proof below" if not xor_separable else "XOR is separable here: "
              "one layer") + ("; two suffice" if two_layers == 4 else "")}),
            ("XOR is linearly separable (1 yes, 0 no; so a net without a hidden layer could "
             "compute it)", int(xor_separable), 0,
             {"note": "exact Fourier-Motzkin elimination; its certificate checked "
              f"independently: {hand['certificates_check']}"})):
        run.judge(name, "figure", verdict.exact(int(value)), reference, better="equal",
                  source=pg.SOURCE, **more)
    questions = [(f"{op} linearly separable", r) for op, r in hand["separable"].items()]
    questions += [(f"exact OR by {out}(w.x + b)", r) for out, r in exact_or.items()]
    run.table("feasibility", ["question", "feasible", "evidence"],
              [[q, r["feasible"], ("(w1, w2, b) = " if r["feasible"] else
                                   "Farkas multipliers: ") + r["evidence"]]
               for q, r in questions],
              title="What a network without a hidden layer can do (exact)",
              note="Separable: is there (w1, w2, b) with w.x + b >= 1 on the 1s and <= 0 on "
              "the 0s? An infeasible system comes with multipliers y >= 0 combining its rows "
              "into 0 <= (a negative number). A net without a hidden layer thresholds one "
              "w.x + b, so it computes exactly the separable ones.")
