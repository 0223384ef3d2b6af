"""A session saved as a run folder, written by the lab's own writers (`Run`), so that
`layerlab report DIR` renders it like any study's run:

    config.json    the setup (and its query), the problem, epochs and steps
    env.json       versions, BLAS and threads
    status.json    finished
    metrics.jsonl  one line per recorded epoch (every epoch up to 100,000; see
                   session.HISTORY_LIMIT): train/test loss and accuracy
    results.json   the final figures as claims 'measured', the per-layer table, the confusion
                   matrix, the loss curve and the decision map as plots
    points.csv     the points (split, x1, x2, label), so custom data is kept
    weights.json   every parameter, to read the trained net back
    plots/, report.md, report.html
"""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path

import numpy as np

from layerlab.analysis import verdict
from layerlab.atomic import atomic_write_bytes
from layerlab.lab.environment import environment
from layerlab.lab.rundir import Run
from layerlab.playground import measure
from layerlab.playground import setup as setups
from layerlab.playground.data import features
from layerlab.runfiles import dumps, write_json
from layerlab.studies.s7_playground import measure as s7

MAP_STEPS = 61
# Matplotlib's pyplot is not thread-safe, and each session saves from its own worker thread:
# two sessions saving at once draw their plots one after the other.
REPORT_LOCK = threading.Lock()


def _folder(runs_dir):
    """runs_dir/playground-YYYYmmdd-HHMMSS, with -2, -3 ... when taken."""
    base = Path(runs_dir) / f"playground-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _title(session):
    s = session.setup
    net = " - ".join(map(str, (len(s["features"]), *s["hidden"],
                               1 if session.regression else s["classes"])))
    return f"playground: {s['dataset']}, net {net}, {s['activation']}, {s['optimizer']}"


def write_run(session):
    """Write the session's run folder under session.runs_dir and build its report; returns
    the folder."""
    from layerlab.report.build import build_report

    path = _folder(session.runs_dir)
    meta = {"experiment": "playground", "study": "playground", "title": _title(session),
            "quick": False, "run_id": path.name, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "config": {**session.setup, "query": setups.to_query(session.setup),
                       "problem": session.problem, "epochs": session.epoch,
                       "steps": session.step, "diverged": session.diverged}}
    run = Run.create(path, meta)
    write_json(path / "env.json", environment())
    lines = [dumps({"cell": "playground", "kind": "epoch", "epoch": e, "train_loss": tr,
                    "test_loss": te, "train_acc": tra, "test_acc": tea})
             for e, tr, te, tra, tea in session.history]
    atomic_write_bytes(path / "metrics.jsonl", ("\n".join(lines) + "\n").encode())
    _files(session, path)
    _results(session, run)
    run.set_status("finished", wall_time=round(session.train_seconds, 3))
    with REPORT_LOCK:
        build_report(path)
    return path


def _files(session, path):
    """points.csv and weights.json."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["split", "x1", "x2", "label"])
    for name, points in (("train", session.train), ("test", session.test)):
        for (x1, x2), label in zip(points.X.tolist(), points.y.tolist(), strict=True):
            writer.writerow([name, repr(x1), repr(x2), label])
    atomic_write_bytes(path / "points.csv", out.getvalue().encode())
    write_json(path / "weights.json", {k: v.tolist() for k, v in session.model.params.items()})


def _results(session, run):
    """Claims, tables, plots and notes of the saved session: the figures of the net as it is
    now (a weight set by hand after the last epoch included), as the page shows it."""
    frame = session.frame()
    figures = [("final training loss", frame["train_loss"], ""),
               ("final test loss", frame["test_loss"], "")]
    if not session.regression:
        figures += [("final training accuracy", frame["train_acc"], ""),
                    ("final test accuracy", frame["test_acc"], "")]
    figures.append(("epochs trained", session.epoch, "epochs"))
    for i, (name, value, unit) in enumerate(figures):
        estimate = verdict.exact(value) if value is not None else None
        run.judge(name, "measured", estimate, unit=unit, key=i < 2, source="this session",
                  diverged=bool(session.diverged) and value is None,
                  note=session.diverged or "")
    run.table("layers", ["layer", "units", "gradient norm", "weight norm", "dead", "saturated",
                         "activation mean", "activation std"],
              [[s["name"], s["units"], s["grad_norm"], s["weight_norm"], s["dead"],
                s["saturated"], s["act_mean"], s["act_std"]] for s in frame["layers"]],
              title="Hidden layers at the end", note=measure.DEFINITIONS)
    if frame["confusion"] is not None:
        k = len(frame["confusion"])
        run.table("confusion", ["true \\ predicted", *map(str, range(k))],
                  [[str(i), *row] for i, row in enumerate(frame["confusion"])],
                  title="Confusion matrix of the test split", note="Rows: the true class.")
    history = np.array([[e, tr if tr is not None else np.nan, te if te is not None else np.nan]
                        for e, tr, te, *_ in session.history], dtype=float)
    run.plot("loss", "curves", title="Loss over training", xlabel="epoch", ylabel="loss",
             series={"train": [history[:, 0].tolist(), history[:, 1].tolist()],
                     "test": [history[:, 0].tolist(), history[:, 2].tolist()]})
    run.plot("decision_map", "boundary", title="The output over the plane",
             panels=_map_panels(session), ncols=3,
             note="Blue +1, orange -1. Classification with two classes: P(class 1) - "
             "P(class 0); more classes: one panel per class, P(class) - P(other classes); "
             "regression: the output, clipped to [-1, 1] (points: target above 0 blue).")
    run.note("setup", f"Open this setup again: `layerlab playground`, then the page with "
             f"`?{setups.to_query(session.setup)}`"
             + (" (the points are in points.csv: upload them)"
                if session.setup["dataset"] == "custom" else "") + ".")


def _map_panels(session):
    """Boundary panels of the output over the plane, each with the training points."""
    grid = s7.plane(s7.EXTENT, MAP_STEPS)  # the S7 studies' maps: row 0 at the bottom
    _, scores = session.model.hidden_outputs(features(grid, session.setup["features"]))
    points = np.round(session.train.X, 3).tolist()
    y = session.train.y

    def panel(title, values, labels):
        values = s7.as_map(np.nan_to_num(np.clip(values, -1, 1)), MAP_STEPS)
        return s7.panel(title, values, {"points": points,
                                        "labels": np.asarray(labels, dtype=int).tolist()})

    if session.regression:
        return [panel("regression output", scores[:, 0], y > 0)]
    with np.errstate(all="ignore"):
        p = measure.probabilities(scores)
    if p.shape[1] == 2:
        return [panel("P(class 1) - P(class 0)", 2 * p[:, 1] - 1, y == 1)]
    return [panel(f"class {k}", 2 * p[:, k] - 1, y == k) for k in range(p.shape[1])]
