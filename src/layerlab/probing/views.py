"""A cell's probe records as the small series a report draws, for any study.

A probe file (probes/<cell>.jsonl) can hold megabytes, and a published run keeps cells.json,
not probes/. So a study sums up its cell's own file when the cell ends (`summary`: at most
MAX_STEPS columns per layer, histograms at a few chosen steps only) and keeps the summary in
the cell's result; its report draws from there (`layer_panel`, `update_ratio_panels`,
`mean_series`, `histogram_panels`, `gradient_plots`), so a report rebuilt from cells.json
alone draws the same pictures.

A summary ("view") is {"every": K, "layers": [names], "activations": [names],
"steps": [the last probed step of each window], "window": probed steps per window,
"stats": {stat: [one row per layer]},
"hist": {kind: {"edges": [...], "steps": [probed steps], "counts": [per layer: [per step:
counts]]}}}; a value is None where the probe wrote null for every step of its window.
"""

from __future__ import annotations

import math

from layerlab.probing import setting, store

# columns per layer kept in a cell's result: enough for a heat map over a run, and S5's 123
# layers (9 nets) x 2 statistics stay about 250 kB in cells.json
MAX_STEPS = 50
DIGITS = 3  # significant digits kept of each value (cells.json stays small)
RULE_OF_THUMB = 1e-3  # a usual update-to-weight ratio (docs/probes.md): a reference line only
UPDATE_RATIO_NOTE = (
    ": how much one step changes a layer's weight relative to its size "
    "(norm of the change over norm of the weight), for the first, middle and last layer; the "
    f"dashed line is the common rule of thumb of about {RULE_OF_THUMB:g}, not a goal of the "
    "study: far below it a layer barely learns, far above it (0.1 and more) training is "
    "unstable.")


def enabled(run) -> bool:
    """True when the run was made with probes on (`--set probes=every:K`)."""
    return setting.run_every(run) is not None


def of(run, results: list[dict]) -> list[dict] | None:
    """The 'probe_view' of every result when the run's probes are on and each result has
    one (a report draws a view from all its cells or not at all), else None."""
    if not enabled(run) or not results or any("probe_view" not in r for r in results):
        return None
    return [r["probe_view"] for r in results]


def window_text(view: dict) -> str:
    """'From the probes, every K steps ...': how a view's columns were made, for a note."""
    every = view["every"]
    text = "From the probes, every " + ("step" if every == 1 else f"{every} steps")
    if view.get("window", 1) > 1:
        text += f" (each point the mean of {view['window']} probed steps, at the last of them)"
    return text


def _round(value):
    return float(f"{value:.{DIGITS}g}")


def windows(n: int, most: int = MAX_STEPS) -> list[tuple[int, int]]:
    """(start, end) index ranges cutting n probed steps into at most `most` windows of
    consecutive steps, all of one size but the last."""
    size = max(1, -(-n // most))
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def window_means(values: list, spans: list[tuple[int, int]]) -> list:
    """The mean of each window's values (None and non-finite values left out; None for a
    window without any), rounded to DIGITS significant digits."""
    means = []
    for start, end in spans:
        kept = [v for v in values[start:end] if v is not None and math.isfinite(v)]
        means.append(_round(sum(kept) / len(kept)) if kept else None)
    return means


def at_or_before(steps: list[int], targets) -> list[int]:
    """For each target step, the last of `steps` (sorted) at or before it, else the first."""
    return [max((s for s in steps if s <= t), default=steps[0]) for t in targets]


def _stat_rows(records, names, stats, most):
    series = {stat: store.probe_series(records, stat) for stat in stats}
    steps = series[stats[0]][names[0]][0]
    spans = windows(len(steps), most)
    rows = {stat: [window_means(list(series[stat][name][1]), spans) for name in names]
            for stat in stats}
    return [steps[end - 1] for _, end in spans], rows, spans[0][1] - spans[0][0]


def _histograms(records, header, names, kinds, targets):
    out = {}
    for kind in kinds:
        found = store.probe_histograms(records, kind)
        steps = found[names[0]][0]
        keep = list(dict.fromkeys(at_or_before(steps, targets))) if targets else steps
        out[kind] = {"edges": header["bins"][kind], "steps": keep,
                     "counts": [[found[name][1][found[name][0].index(s)] for s in keep]
                                for name in names]}
    return out


def summary(run, cell: str, stats=(), histograms=(), at_steps=(), layers=None,
            most: int = MAX_STEPS) -> dict | None:
    """The summary of `cell`'s probe file for its result (the module docstring's form), or
    None when the run's probes are off or the cell wrote no record.

    stats: the statistics kept (store.STATS), as window means over at most `most` windows of
    consecutive probed steps; histograms: the kinds kept ('act', 'grad', 'weight'), at the
    probed step at or before each of `at_steps` (all probed steps when none is given);
    layers: a test on a header layer ({"name", "activation", "units"}), the layers kept
    (default all)."""
    if not enabled(run):
        return None
    path = store.probe_path(run.path, cell)
    if not path.exists():
        return None
    content = store.read_file(path)
    header, records = content["header"], content["records"]
    kept = [row for row in header["layers"] if layers is None or layers(row)]
    names = [row["name"] for row in kept]
    if not records or not names:
        return None
    view = {"every": header["every"], "layers": names,
            "activations": [row["activation"] for row in kept]}
    if stats:
        view["steps"], view["stats"], view["window"] = _stat_rows(records, names, tuple(stats),
                                                                  most)
    if histograms:
        view["hist"] = _histograms(records, header, names, histograms, list(at_steps))
    return view


def short_names(names: list[str]) -> list[str]:
    """Layer names without a module path ('net.fc1' -> 'fc1') when that keeps them apart."""
    short = [name.rsplit(".", 1)[-1] for name in names]
    return short if len(set(short)) == len(short) else list(names)


def layer_panel(view: dict, stat: str, title: str = "") -> dict:
    """A panel of plot kind 'layers' (layer x step heat map) of one statistic of a view."""
    return {"title": title, "layers": short_names(view["layers"]), "x": view["steps"],
            "values": view["stats"][stat]}


def update_ratio_panels(titled: list[tuple[str, dict]]) -> list[dict]:
    """'curves' panels of the update-to-weight ratio, one per (title, view): the first, middle
    and last layer (labelled so, for one legend under all panels) and a dashed reference line
    at RULE_OF_THUMB, on a log scale."""
    panels = []
    for title, view in titled:
        rows = view["stats"]["update_ratio"]
        picks = sorted({0, (len(rows) - 1) // 2, len(rows) - 1})
        where = {picks[0]: "first", picks[-1]: "last"}  # one layer: its line is "last"
        series = {f"{where.get(i, 'middle')} layer": [view["steps"], rows[i]] for i in picks}
        series[f"reference: rule of thumb {RULE_OF_THUMB:g}"] = [
            [view["steps"][0], view["steps"][-1]], [RULE_OF_THUMB] * 2]
        panels.append({"title": title, "series": series, "logy": True,
                       "ylabel": "||w after - w before|| / ||w before||"})
    return panels


def _bin_span(counts_lists):
    """(first, last + 1) of the bins that hold a value in any of the histograms."""
    used = [i for counts in counts_lists for i, c in enumerate(counts) if c]
    return (min(used), max(used) + 1) if used else (0, 0)


def histogram_panels(views: dict, kind: str = "act",
                     ylabel: str = "share of the values") -> list[dict]:
    """'curves' panels of a histogram kind: one per layer and kept step (layer by layer, the
    steps side by side), one series per view ({label: view}) giving the share of the values
    in each bin against the bin's centre; empty bins are left out (the y axis is
    logarithmic). The bins shown are those any panel uses."""
    first = next(iter(views.values()))
    rows = range(len(first["layers"]))
    hists = {label: view["hist"][kind] for label, view in views.items()}
    low, high = _bin_span([c for h in hists.values() for i in rows for c in h["counts"][i]])
    edges = first["hist"][kind]["edges"]
    centres = [_round((a + b) / 2) for a, b in zip(edges[low:high], edges[low + 1:high + 1],
                                                   strict=True)]
    names = short_names(first["layers"])
    panels = []
    for i in rows:
        for j, step in enumerate(first["hist"][kind]["steps"]):
            series = {}
            for label, h in hists.items():
                counts = h["counts"][i][j] or [0] * (len(edges) - 1)  # [] where not seen
                total = sum(counts) or 1
                series[label] = [centres, [_round(c / total) if c else None
                                           for c in counts[low:high]]]
            panels.append({"title": f"{names[i]}, step {step}", "series": series,
                           "ylabel": ylabel, "logy": True})
    return panels


def mean_series(views: list[dict], stat: str, prefix: str = "") -> dict:
    """{PREFIX + layer: [steps, values]} of one statistic averaged over views of one shape
    (cells that differ by seed only); each window's mean leaves out the views with None
    there (None where all have None); a shorter view (a run that stopped) counts where it
    reaches."""
    first = views[0]
    out = {}
    for i, name in enumerate(short_names(first["layers"])):
        rows = [v["stats"][stat][i] for v in views]
        means = []
        for j in range(len(first["steps"])):
            kept = [row[j] for row in rows if j < len(row) and row[j] is not None]
            means.append(_round(sum(kept) / len(kept)) if kept else None)
        out[prefix + name] = [first["steps"], means]
    return out


def gradient_plots(run, titled: list[tuple[str, dict]], which: str, layer: str = "layer"):
    """Plots 'grad_steps' (every layer's gradient norm per step, a layer x step heat map on a
    log scale) and 'update_ratio' (`update_ratio_panels`) of views with both statistics, one
    panel per (title, view); which: what the panels show ('seed 0'); layer: what a row is."""
    run.plot("grad_steps", "layers", title=f"Per-layer gradient norm, step by step ({which})",
             xlabel="step", ylabel="||dL/dW||", log=True,
             panels=[layer_panel(view, "grad_norm", title) for title, view in titled],
             note=window_text(titled[0][1]) + f": one row per {layer}, the input side on top, "
             "coloured by the 2-norm of dL/dW on a log scale; rows several colours darker "
             "than the last are gradients orders of magnitude smaller (vanishing), and the "
             "lines beside each map follow the first, middle and last row.")
    run.plot("update_ratio", "curves", title=f"Update-to-weight ratio per step ({which})",
             xlabel="step", panels=update_ratio_panels(titled),
             note=window_text(titled[0][1]) + UPDATE_RATIO_NOTE)
