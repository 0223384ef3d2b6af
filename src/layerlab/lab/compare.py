"""`layerlab compare RUN_DIR...`: the runs' claims and differing settings in one table, and
their curves overlaid in one figure (one panel per curve plot the runs share, a colour per
run)."""

from __future__ import annotations

from pathlib import Path

from layerlab.runfiles import read_run

LINESTYLES = ("-", "--", ":", "-.")


def table(run_dirs, docs) -> str:
    """Markdown: every claim (reference, then ours and the verdict per run) and every setting
    whose value differs between the runs."""
    from layerlab.report.markdown import fmt, md_table

    names = []
    for doc in docs:
        names += [n for n in doc["results"]["claims"] if n not in names]
    header = ["figure", "reference"] + [Path(d).name for d in run_dirs]
    rows = []
    for name in names:
        claims = [doc["results"]["claims"].get(name) for doc in docs]
        reference = next((c["reference"] for c in claims if c), None)
        rows.append([name, fmt(reference)] + [
            f"{fmt(c['ours'])} ({c['verdict']})" if c else "" for c in claims])
    settings = sorted({k for doc in docs for k in doc["meta"]["config"]})
    differing = [k for k in settings
                 if len({repr(doc["meta"]["config"].get(k)) for doc in docs}) > 1]
    rows += [[f"setting: {k}", ""] + [fmt(doc["meta"]["config"].get(k)) for doc in docs]
             for k in differing]
    return md_table(header, rows)


def shared_panels(docs) -> list[tuple[str, int, dict]]:
    """(plot name, panel index, panel title) of every panel of a 'curves' plot that two or
    more runs have, in the order of the first run that has it."""
    seen = {}
    for doc in docs:
        for name, spec in doc["results"].get("plots", {}).items():
            if spec.get("kind") != "curves":
                continue
            for i, panel in enumerate(_panels(spec)):
                seen.setdefault((name, i), []).append(panel.get("title") or spec.get("title")
                                                      or name)
    return [(name, i, titles[0]) for (name, i), titles in seen.items() if len(titles) > 1]


def _panels(spec):
    """A curves spec's panels (a spec without `panels` is one panel)."""
    return spec.get("panels") or [{"series": spec.get("series", {}),
                                   "ylabel": spec.get("ylabel", ""),
                                   "logy": spec.get("logy", False)}]


def overlay(run_dirs, docs, out) -> int:
    """Draw the shared curve panels of the runs to `out` (PNG), each run in its own colour and
    each series of a run in its own line style; returns the number of panels drawn (0: no
    curve plot is shared, and no file is written)."""
    from layerlab.report.figure import pyplot
    from layerlab.report.plots import finite_points

    panels = shared_panels(docs)
    if not panels:
        return 0
    plt = pyplot()
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    colours = plt.get_cmap("tab10")
    for ax, (name, index, title) in zip(axes.flat, panels, strict=False):
        for r, (run_dir, doc) in enumerate(zip(run_dirs, docs, strict=True)):
            spec = doc["results"]["plots"].get(name)
            if not spec or spec.get("kind") != "curves" or index >= len(_panels(spec)):
                continue
            panel = _panels(spec)[index]
            for s, (label, points) in enumerate(panel["series"].items()):
                xs, ys = finite_points(*points)
                if xs:
                    ax.plot(xs, ys, LINESTYLES[s % len(LINESTYLES)], color=colours(r % 10),
                            label=f"{Path(run_dir).name}: {label}", linewidth=1.2)
            ax.set_xlabel(panel.get("xlabel") or spec.get("xlabel", ""))
            ax.set_ylabel(panel.get("ylabel") or spec.get("ylabel", ""))
            if panel.get("logy"):
                ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return len(panels)


def compare(run_dirs, out) -> tuple[str, int]:
    """(the table, panels drawn into `out`) for the runs in `run_dirs`."""
    docs = [read_run(d) for d in run_dirs]
    return table(run_dirs, docs), overlay(run_dirs, docs, out)
