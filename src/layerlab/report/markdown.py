"""A run's report as Markdown text (and the table helpers the other outputs share)."""

from __future__ import annotations

import json

from layerlab import ledger
from layerlab.analysis.fmt import count


def fmt(value):
    """A table cell: numbers to 4 significant digits, everything else as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def md_table(header, rows):
    """A Markdown table."""
    lines = ["| " + " | ".join(str(h).replace("|", "\\|") for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


CLAIM_HEADER = ["figure", "ours", "reference", "verdict", "why", "reference source"]


def ours(claim):
    """Our figure as the claims table shows it: the value and, for a claim judged against
    noise, its interval and how it was made."""
    est = claim.get("estimate")
    if est:
        text = (f"{fmt(est['value'])} (exact)" if est["how"] == "exact" and est["low"] ==
                est["high"] else f"{fmt(est['value'])} [{fmt(est['low'])}, {fmt(est['high'])}]"
                f" ({est['how']}, n={est['n']})")
    else:
        text = fmt(claim["ours"])
    return text + (f" {claim['unit']}" if claim.get("unit") else "")


def claim_rows(claims):
    return [[c["name"], ours(c), fmt(c["reference"]), c["verdict"],
             c["reason"] + (f"; {c['note']}" if c.get("note") else ""), c.get("source", "")]
            for c in claims.values()]


def quick_banner(results):
    """The banner text of a quick run: what it is, and which built-in subsets it trained on."""
    builtin = sorted({d.get("name", "") for d in results.get("datasets", {}).values()
                      if d.get("place") == "inside the package"})
    data = (f", on the built-in subsets shipped inside the package ({', '.join(builtin)}), the "
            "same on every machine" if builtin else "")
    return (f"reduced samples and epochs, for smoke tests{data}. Its figures are not the "
            "study's; run without `--quick` to reproduce it.")


def markdown(doc, image_prefix="plots/"):
    """The report as Markdown text."""
    meta, status, env, results = doc["meta"], doc["status"], doc["env"], doc["results"]
    out = [f"# {meta['experiment']}: {meta.get('title', '')}", ""]
    if meta.get("quick"):
        out += [f"> **Quick run**: {quick_banner(results)}", ""]
    wall = status.get("wall_time")
    out += [f"- study: {meta.get('study', '')}",
            f"- run: `{meta.get('run_id')}`, created {meta.get('created', '')}, "
            f"status **{status.get('state', 'unknown')}**"
            + (f", wall time {wall:.1f} s" if wall is not None else ""),
            f"- seed: {meta['config'].get('seed', 'n/a')}"]
    looks = [] if meta.get("quick") else [e for e in ledger.read()
                                          if e["experiment"] == meta["experiment"]]
    if looks:
        recipes = len({e["recipe"] for e in looks})
        out.append(f"- test split: scored {count(len(looks), 'time')} in this repository "
                   f"(over {count(recipes, 'recipe')}; every score is listed under Looks at "
                   "the test split)")
    out.append("")
    if results["claims"]:
        out += ["## Reference figures and verdicts", "", md_table(CLAIM_HEADER,
                                                                   claim_rows(results["claims"])),
                ""]
    for table in results["tables"].values():
        out += [f"## {table['title']}", "", md_table(table["header"], table["rows"]), ""]
        if table.get("note"):
            out += [table["note"], ""]
    for name, spec in results["plots"].items():
        out += [f"## {spec['title']}", "", f"![{spec['title']}]({image_prefix}{name}.png)", ""]
        if spec.get("note"):
            out += [spec["note"], ""]
    for name, text in results["notes"].items():
        out += [f"## {name}", "", text, ""]
    if looks:
        out += ["## Looks at the test split", "",
                "Every score of this experiment's test split in this repository's ledger "
                "(`docs/results/test_ledger.jsonl`), oldest first; scores published before the "
                "ledger existed are read from the history of `docs/results/` (runs scored but "
                "never published left no trace).", "",
                md_table(["date", "revision", "what", "test accuracy", "recipe"],
                         [[e["date"], e["revision"] or "", e["cell"], e["accuracy"],
                           e["recipe"]] for e in looks]), ""]
    if results["datasets"]:
        out += ["## Data", ""] + [f"- {d['description']}" for d in results["datasets"].values()]
        out += [""]
    pools = env.get("threadpools")
    blas = ", ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} "
                     "threads)" for p in pools) if isinstance(pools, list) else pools
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    out += ["## Environment", "",
            f"- {env.get('platform', '')}, {env.get('cpu_count')} CPUs, Python "
            f"{env.get('python', '')}",
            f"- {packages}", f"- thread pools: {blas}",
            f"- source revision: {env.get('source_revision')}", "",
            "## Settings", "", "```json", json.dumps(meta["config"], indent=1), "```", ""]
    return "\n".join(out)
