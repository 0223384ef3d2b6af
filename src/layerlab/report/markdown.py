"""A run's report as Markdown text: the one source that report.html is rendered from.

Order: title, headline (verdict counts and key figures), what the run is, the claims with
their sources, plots with their notes, tables, notes, looks at the test split, data,
environment, settings. Long tables, the settings, the environment and the looks at the test
split are collapsed (`<details>`, read by Python-Markdown's md_in_html). `<!-- contents -->`
marks where the HTML puts its table of contents.
"""

from __future__ import annotations

import html as _html
import json
import re

from layerlab import ledger
from layerlab.analysis.fmt import count
from layerlab.report import headline
from layerlab.report.mdtext import inline
from layerlab.report.numbers import cell, format_rows

CONTENTS = "<!-- contents -->"
LONG_TABLE = 12  # rows; a longer table is collapsed
WHY_LENGTH = 120  # characters of the short "why" shown before the click


def fmt(value) -> str:
    """One value as a table cell would show it on its own (see layerlab.report.numbers)."""
    return cell(value)


def md_table(header, rows) -> str:
    """A Markdown table, each column of numbers in one format."""
    lines = ["| " + " | ".join(inline(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(inline(c) for c in row) + " |"
              for row in format_rows(header, rows)]
    return "\n".join(lines)


def collapsed(summary, body: str, open_=False) -> list[str]:
    """Lines of a <details> block whose body is Markdown."""
    return [f"<details markdown=\"1\"{' open' if open_ else ''}>",
            f"<summary>{_html.escape(str(summary))}</summary>", "", body, "", "</details>", ""]


def table_block(header, rows) -> list[str]:
    """A table, collapsed behind its row count when longer than LONG_TABLE rows."""
    text = md_table(header, rows)
    if len(rows) > LONG_TABLE:
        return collapsed(f"{count(len(rows), 'row')}: show the table", text)
    return [text, ""]


def why(claim) -> str:
    """The claim's reason as a short first clause; the full reasoning behind a click."""
    full = claim.get("reason", "") + (f"; {claim['note']}" if claim.get("note") else "")
    short = full.split("; ")[0]
    if len(short) > WHY_LENGTH:
        short = short[:WHY_LENGTH - 1].rsplit(" ", 1)[0] + "…"
    if short == full:
        return inline(full)
    return f"<details><summary>{inline(short)}</summary>{inline(full)}</details>"


CLAIM_HEADER = ["figure", "ours", "reference", "verdict", "why"]


def claims_block(claims) -> list[str]:
    """The claims table and, below it, its sources numbered once each."""
    sources = list(dict.fromkeys(c.get("source") for c in claims.values() if c.get("source")))
    lines = ["| " + " | ".join(CLAIM_HEADER) + " |", "|" + " --- |" * len(CLAIM_HEADER)]
    for claim in claims.values():
        ours, ref = headline.figure(claim)
        mark = f" [{sources.index(claim['source']) + 1}]" if claim.get("source") else ""
        lines.append("| " + " | ".join([inline(claim["name"]), inline(ours),
                                        inline(ref) + mark, inline(claim.get("verdict", "")),
                                        why(claim)]) + " |")
    lines.append("")
    if sources:
        lines += ["Sources:", ""] + [f"{i}. {inline(s)}" for i, s in enumerate(sources, 1)]
        lines.append("")
    return lines


def claim_rows(claims):
    """Rows [figure, ours, reference, verdict] of a claims dict (the catalogue's tables)."""
    return [[c["name"], *headline.figure(c), c.get("verdict", "")] for c in claims.values()]


_BLOCK_START = re.compile(r"\s*([-*+>|#]|\d+[.)]|    )")


def note_markdown(text) -> str:
    """A note's Markdown as written, except blocks of two or more bare lines (log lines, a
    printout), which Markdown would run together into one paragraph: those are fenced."""
    if "```" in text or "~~~" in text:
        return text
    blocks = re.split(r"\n[ \t]*\n", text.strip())
    out = []
    for block in blocks:
        lines = block.split("\n")
        bare = len(lines) >= 2 and not any(_BLOCK_START.match(line) for line in lines)
        out.append("```\n" + block + "\n```" if bare else block)
    return "\n\n".join(out)


def quick_banner(results):
    """The banner text of a quick run: what it is, and which built-in subsets it trained on."""
    builtin = sorted({d.get("name", "") for d in results.get("datasets", {}).values()
                      if d.get("place") == "inside the package"})
    data = (f", on the built-in subsets shipped inside the package ({', '.join(builtin)}), the "
            "same on every machine" if builtin else "")
    return (f"reduced samples and epochs, for smoke tests{data}. Its figures are not the "
            "study's; run without `--quick` to reproduce it.")


def title(meta) -> str:
    """'name: title', without the name twice when the title already begins with it."""
    name, text = meta["experiment"], meta.get("title", "")
    if not text or text.lower() == name.lower():
        return name
    return text if text.lower().startswith(name.lower() + ":") else f"{name}: {text}"


def _about(meta, status, looks) -> list[str]:
    wall = status.get("wall_time")
    lines = [f"- study: {inline(meta.get('study', ''))}",
             f"- run: `{meta.get('run_id')}`, created {meta.get('created', '')}, "
             f"status **{status.get('state', 'unknown')}**"
             + (f", wall time {wall:.1f} s" if wall is not None else ""),
             f"- seed: {meta['config'].get('seed', 'n/a')}"]
    if looks:
        recipes = len({e["recipe"] for e in looks})
        lines.append(f"- test split: scored {count(len(looks), 'time')} in this repository "
                     f"(over {count(recipes, 'recipe')}; every score is listed under Looks at "
                     "the test split)")
    elif looks is not None:  # a full run whose experiment the ledger has never seen score test
        lines.append("- test split: never scored in this repository (the test-set ledger has "
                     "no look for this experiment)")
    return lines + [""]


def _looks(looks) -> list[str]:
    if not looks:
        return []
    text = ("Every score of this experiment's test split in this repository's ledger "
            "(`docs/results/test_ledger.jsonl`), oldest first; scores published before the "
            "ledger existed are read from the history of `docs/results/` (runs scored but "
            "never published left no trace).\n\n"
            + md_table(["date", "revision", "what", "test accuracy", "recipe"],
                       [[e["date"], e["revision"] or "", e["cell"], e["accuracy"], e["recipe"]]
                        for e in looks]))
    history = ledger.TEST_SPLIT_HISTORY.get(looks[0]["experiment"])
    changes = [f"**What changed after which test score.** {history}", ""] if history else []
    return ["## Looks at the test split", ""] + changes + collapsed(
        f"{count(len(looks), 'score')} on the test split", text)


def _pools(pools) -> str:
    if not isinstance(pools, list):
        return str(pools or "")
    return ", ".join(" ".join(str(p.get(k)) for k in ("internal_api", "version")
                              if p.get(k) not in (None, "None"))
                     + f" ({count(int(p.get('num_threads') or 0), 'thread')})" for p in pools)


def _environment(env) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    cpus = env.get("cpu_count")
    lines = [f"- {env.get('platform', '')}, "
             + (f"{count(int(cpus), 'CPU')}, " if isinstance(cpus, int) else "")
             + f"Python {env.get('python', '')}"]
    for label, value in (("", packages), ("thread pools: ", _pools(env.get("threadpools"))),
                         ("source revision: ", env.get("source_revision"))):
        if value:  # a field an older env.json lacks is left out, never printed as None
            lines.append(f"- {label}{inline(value)}")
    return ["## Environment", ""] + collapsed(
        f"Python {env.get('python', '')}, revision {env.get('source_revision') or 'unknown'}",
        "\n".join(lines))


def _settings(config) -> list[str]:
    rows = [[key, value if isinstance(value, str) else
             json.dumps(value, separators=(", ", ": "))] for key, value in config.items()]
    return ["## Settings", ""] + collapsed(count(len(rows), "setting"),
                                           md_table(["setting", "value"], rows))


def markdown(doc, image_prefix="plots/") -> str:
    """The report as Markdown text (the order is in the module docstring)."""
    meta, status, env, results = doc["meta"], doc["status"], doc["env"], doc["results"]
    claims = results["claims"]
    out = [f"# {inline(title(meta))}", ""]
    if meta.get("quick"):
        out += [f"> **Quick run**: {quick_banner(results)}", ""]
    out += ['<div id="headline" class="headline" markdown="1">', "",
            *headline.markdown_lines(claims), "", "</div>", ""]
    book = ledger.repository_ledger()  # None outside a checkout: nothing to count against
    looks = None if meta.get("quick") or book is None or not book.is_file() else [
        e for e in ledger.read(book) if e["experiment"] == meta["experiment"]]
    out += _about(meta, status, looks) + [CONTENTS, ""]
    if claims:
        out += ["## Reference figures and verdicts", ""] + claims_block(claims)
    for name, spec in results["plots"].items():
        out += [f"## {inline(spec['title'])}", "",
                f"![{inline(spec['title'])}]({image_prefix}{name}.png)", ""]
        if spec.get("note"):
            out += [note_markdown(spec["note"]), ""]
    for table in results["tables"].values():
        out += [f"## {inline(table['title'])}", ""] + table_block(table["header"], table["rows"])
        if table.get("note"):
            out += [note_markdown(table["note"]), ""]
    for name, text in results["notes"].items():
        out += [f"## {inline(name)}", "", note_markdown(text), ""]
    out += _looks(looks)
    if results["datasets"]:
        out += ["## Data", ""] + [f"- {inline(d['description'])}"
                                  for d in results["datasets"].values()] + [""]
    out += _environment(env) + _settings(meta["config"])
    return "\n".join(out)
