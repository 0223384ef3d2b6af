"""Render the plot data of a run (results.json 'plots') to PNG files with matplotlib (Agg)."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np

from layerlab.report.figure import panel_grid, pyplot


def finite_points(xs, ys):
    """(xs, ys) without the points where either is missing, NaN or infinite (matplotlib cannot
    scale axes to them; a diverged run's curve ends where its numbers stop being finite)."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=False)
            if (isinstance(x, str) or _finite(x)) and _finite(y)]
    return [x for x, _ in keep], [y for _, y in keep]


def _finite(v):
    return isinstance(v, numbers.Real) and math.isfinite(v)


def render(spec, path):
    """Draw one plot spec to `path` (PNG). Kinds: 'curves', 'heatmap'."""
    plt = pyplot()
    kind = spec["kind"]
    if kind == "curves":
        panels = spec.get("panels") or [{"series": spec["series"],
                                         "ylabel": spec.get("ylabel", ""),
                                         "logy": spec.get("logy", False)}]
        fig, axes = panel_grid(plt, spec, len(panels), 5.5, 4)
        for ax, panel in zip(axes, panels, strict=True):
            for label, (xs, ys) in panel["series"].items():
                xs, ys = finite_points(xs, ys)  # a diverged run's nan/inf are not drawn
                if not xs:
                    continue
                style = "--" if label.startswith("reference") else "-"
                ax.plot(xs, ys, style, label=label, marker="o" if len(xs) <= 31 else None,
                        markersize=3)
            ax.set_xlabel(panel.get("xlabel", spec.get("xlabel", "")))
            ax.set_ylabel(panel.get("ylabel", ""))
            if panel.get("title"):
                ax.set_title(panel["title"], fontsize=10)
            if panel.get("logy"):
                ax.set_yscale("log")
            if panel.get("logx", spec.get("logx")):
                ax.set_xscale("log")
            ax.grid(alpha=0.3)
            if len(panel["series"]) > 1:
                ax.legend(fontsize=panel.get("legend_size", 8))
    elif kind == "heatmap":
        values = np.asarray(spec["values"], dtype=float)
        finite = values[np.isfinite(values)]  # a diverged cell is left blank
        middle = float(finite.mean()) if finite.size else 0.0
        fig, ax = plt.subplots(figsize=(1.2 + 1.1 * values.shape[1], 1 + 0.7 * values.shape[0]))
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
        ax.set_xticks(range(values.shape[1]), [str(c) for c in spec["col_labels"]])
        ax.set_yticks(range(values.shape[0]), [str(r) for r in spec["row_labels"]])
        ax.set_xlabel(spec.get("xlabel", ""))
        ax.set_ylabel(spec.get("ylabel", ""))
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.3g}" if np.isfinite(v) else "n/a", ha="center", va="center",
                    fontsize=8, color="white" if np.isfinite(v) and v < middle else "black")
        fig.colorbar(image, ax=ax)
    elif kind == "boundary":  # decision-boundary maps with the points (S7 playground)
        from layerlab.report.boundary import draw

        fig = draw(plt, spec)
    else:
        raise ValueError(f"unknown plot kind {kind!r}: use 'curves', 'heatmap' or 'boundary'")
    fig.suptitle(spec.get("title", ""), fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path
