"""The headline of a report: how many claims came out which way, and the key figures.

    24 claims: 9 reproduced, 8 not met, 7 measured
    - test accuracy, best recipe: 0.9153 [0.9120, 0.9186] (5 seeds) vs 0.91 — reproduced

The key figures are the claims a study marked with `Run.judge(..., key=True)`; when it marked
none, the first (up to three) judged claims.
"""

from __future__ import annotations

from layerlab.analysis.fmt import count
from layerlab.analysis.verdict import VERDICTS
from layerlab.report.mdtext import inline
from layerlab.report.numbers import Column, is_number

# Verdicts of reports written before the verdicts were judged against noise.
OLDER_VERDICTS = ("not reproduced",)
UNJUDGED = ("measured", "not judged")
# The order of the counts: the claims that came out as claimed, then better, in between,
# worse, and not judged.
ORDER = ("reproduced", "met", "holds", "equivalent", "beaten", "within noise", "below",
         "above", "not met", "not shown", "not reproduced", "measured", "not judged")


def slug(verdict: str) -> str:
    """The CSS name of a verdict: 'not met' -> 'not-met'."""
    return str(verdict).strip().lower().replace(" ", "-")


def verdict_counts(claims) -> list[tuple[int, str]]:
    """[(9, 'reproduced'), (8, 'not met'), ...]: the verdicts of a claims dict, in ORDER
    (unknown verdicts after them, in order of appearance)."""
    verdicts = [c.get("verdict", "") for c in claims.values()]
    order = list(ORDER) + [v for v in VERDICTS if v not in ORDER]
    order += [v for v in dict.fromkeys(verdicts) if v not in order]
    return [(verdicts.count(v), v) for v in order if v in verdicts]


def counts_text(claims, strong=True) -> str:
    """'24 claims: **9 reproduced**, **8 not met**' (each count bold, so the HTML colours it);
    '' for no claims."""
    if not claims:
        return ""
    mark = "**" if strong else ""
    parts = [f"{mark}{n} {v}{mark}" for n, v in verdict_counts(claims)]
    return f"{count(len(claims), 'claim')}: " + ", ".join(parts)


def key_claims(claims, limit=3) -> list[dict]:
    """The claims marked key=True; when none are, the first `limit` judged claims (not
    'measured' or 'not judged'), else the first `limit` claims."""
    marked = [c for c in claims.values() if c.get("key")]
    if marked:
        return marked
    judged = [c for c in claims.values() if c.get("verdict") not in UNJUDGED]
    return (judged or list(claims.values()))[:limit]


def _how(est) -> str:
    n = est.get("n")
    n = int(n) if is_number(n) else n
    if est["how"] == "exact":
        return "exact"
    if not isinstance(n, int):
        return est["how"]
    return {"seeds": count(n, "seed"), "images": count(n, "image"),
            "seeds+images": f"{count(n, 'seed')} and the images' noise",
            "paired": f"paired, {count(n, 'seed')}"}.get(est["how"], est["how"])


def figure(claim) -> tuple[str, str]:
    """(ours, reference) of a claim as text, both in one format: 'value [low, high] (how)'
    and the reference, with the unit."""
    est = claim.get("estimate") or {}
    ref = claim.get("reference")
    nums = [est.get(k) for k in ("value", "low", "high")] if est else [claim.get("ours")]
    column = Column(nums + [ref], header=f"{claim.get('name', '')} {claim.get('unit', '')}")
    unit = f" {claim['unit']}" if claim.get("unit") else ""
    if not est:
        ours = column(claim.get("ours")) + unit
    elif est["how"] == "exact" and est["low"] == est["high"]:
        ours = f"{column(est['value'])}{unit} (exact)"
    else:
        ours = (f"{column(est['value'])} [{column(est['low'])}, {column(est['high'])}]"
                f"{unit} ({_how(est)})")
    reference = "" if ref is None else column(ref) + (unit if is_number(ref) else "")
    return ours, reference


def markdown_lines(claims) -> list[str]:
    """The headline block of report.md: counts, then one line per key figure."""
    if not claims:
        return ["No claims: this run reports tables and plots only."]
    lines = [counts_text(claims), ""]
    for claim in key_claims(claims):
        ours, ref = figure(claim)
        vs = f" vs {ref}" if ref else ""
        lines.append(f"- {inline(claim['name'])}: {inline(ours + vs)} — "
                     f"**{claim.get('verdict', '')}**")
    return lines


def summary_lines(run_dir) -> list[str]:
    """What `run`, `sweep` and `report` print at the end: the state and verdict counts, the
    key figures one line each, and the report's paths."""
    from pathlib import Path

    from layerlab.progress import duration
    from layerlab.runfiles import read_run

    doc = read_run(run_dir)
    claims, status = doc["results"].get("claims", {}), doc["status"]
    took = f" in {duration(status['wall_time'])}" if status.get("wall_time") else ""
    lines = [f"{doc['meta'].get('experiment', '')}: {status.get('state', 'no status')}{took}; "
             + (counts_text(claims, strong=False) or "no claims (tables and plots only)")]
    shown = key_claims(claims)
    for claim in shown:
        ours, ref = figure(claim)
        lines.append(f"  {claim.get('verdict', ''):<14} {claim['name']}: {ours}"
                     + (f" vs {ref}" if ref else ""))
    if len(claims) > len(shown):
        lines.append(f"  ... {count(len(claims) - len(shown), 'more claim')} in the report")
    report = Path(run_dir) / "report.md"
    if report.exists():
        lines.append(f"report: {report} and {report.with_suffix('.html')}")
    return lines
