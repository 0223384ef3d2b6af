"""The hand-written docs quote no published test score and link only to files that exist:
results live in the generated reports (docs/results/NAME/report.md) and the catalog, which a
new run rewrites, so a figure typed into a page goes stale."""

import numbers
import re
from pathlib import Path

from needs import missing

from layerlab import ledger, references

ROOT = Path(__file__).resolve().parents[1]
# written by `layerlab catalog --write docs/experiments.md` and by scripts/reliability.py
GENERATED = {"experiments.md", "reliability.md"}


def hand_written_pages():
    """README.md and every docs/*.md a person writes (docs/results/ is generated)."""
    if not (ROOT / "docs" / "results" / ledger.LEDGER_NAME).is_file():
        missing("the repository's docs/ and docs/results (a source checkout)")
    pages = [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in GENERATED]
    return pages + [ROOT / "README.md"]


def reference_values():
    """Every number of layerlab.references, to 4 places: a page may quote a study's figure or a
    goal even when one of our test scores happens to equal it."""
    found = set()

    def walk(value):
        if isinstance(value, bool):
            return
        if isinstance(value, numbers.Real):
            found.add(f"{float(value):.4f}")
        elif isinstance(value, dict):
            for item in (*value.keys(), *value.values()):
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)

    for name, value in vars(references).items():
        if name.isupper():
            walk(value)
    return found


def quoted(figure, text):
    """Whether `figure` stands in `text` as a number of its own (not inside a longer one)."""
    return re.search(r"(?<![\d.])" + re.escape(figure) + r"(?![\d])", text) is not None


def test_hand_written_docs_quote_no_test_score_of_the_ledger():
    """A full run's test score (as 0.1234 or 12.34%) appears in no hand-written page."""
    pages = hand_written_pages()
    allowed = reference_values()
    scores = {round(look["accuracy"], 4) for look in ledger.read(
        ROOT / "docs" / "results" / ledger.LEDGER_NAME)
        if look.get("accuracy") is not None and not look.get("quick")}
    scores = {s for s in scores if f"{s:.4f}" not in allowed}
    assert len(scores) > 20  # the ledger holds the published scores, not an empty file
    found = {}
    for page in pages:
        text = page.read_text()
        hits = sorted(f for s in scores for f in (f"{s:.4f}", f"{100 * s:.2f}%")
                      if quoted(f, text))
        if hits:
            found[page.relative_to(ROOT).as_posix()] = hits
    assert not found, f"test scores typed into the docs (link the report instead): {found}"


def test_a_typed_in_score_is_caught():
    """The check above finds a score written either way, and not inside a longer number."""
    assert quoted("0.9960", "scored 0.9960 on test")
    assert quoted("99.60%", "(99.60%)")
    assert not quoted("0.9960", "0.99601")
    assert not quoted("0.9960", "10.9960")


def test_every_relative_link_of_the_docs_reaches_a_file():
    """Each [text](path) in a hand-written page names a file or folder that exists."""
    broken = []
    for page in hand_written_pages():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            path = target.split("#")[0]
            if path and not re.match(r"[a-z]+:", path) and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT).as_posix()}: {target}")
    assert not broken, broken
