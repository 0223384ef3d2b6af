"""The index of published reports (results/index.html) and the catalogue's table, written by
`layerlab catalog --write` on copies of published results in a temporary folder."""

import shutil
from pathlib import Path

import pytest
from report_helpers import PUBLISHED, layerlab, parse

from layerlab.report.headline import slug
from layerlab.runfiles import read_json

COPIED = ("dropout", "theory", "gurmukhi-reg")


@pytest.fixture(scope="module")
def catalogued(tmp_path_factory, quick_folder):
    """A results folder of published copies (one with its report.html built, one published
    from a real quick run), and the catalogue written from it."""
    root = tmp_path_factory.mktemp("catalog")
    results = root / "results"
    results.mkdir()
    for name in COPIED:
        if (PUBLISHED / name / "results.json").exists():
            shutil.copytree(PUBLISHED / name, results / name)
    layerlab("report", results / COPIED[0])  # the others keep their published report.md
    layerlab("publish", quick_folder, results / "quickstart", "--allow-quick")
    page = root / "experiments.md"
    layerlab("catalog", "--results", results, "--write", page)
    return results, page


def test_the_index_lists_every_published_experiment_and_its_links_resolve(catalogued):
    results, _ = catalogued
    index = results / "index.html"
    tree = parse(index.read_text())
    published = sorted(p.parent.name for p in results.glob("*/results.json"))
    table = next(tree.iter("table"))
    rows = [[td for td in tr.iter("td")] for tr in table.iter("tr")][1:]
    assert sorted(r[0].text() for r in rows) == published
    for row in rows:
        links = [a.attrs["href"] for a in row[-1].iter("a")]
        assert len(links) == 1 and (index.parent / links[0]).is_file(), links
    # a folder whose report.html was built links to it; the others to report.md
    assert f"{COPIED[0]}/report.html" in [a.attrs["href"] for a in table.iter("a")]
    assert "quickstart/report.html" in [a.attrs["href"] for a in table.iter("a")]


def test_the_index_colours_the_counts_and_lists_every_claim(catalogued):
    results, _ = catalogued
    tree = parse((results / "index.html").read_text())
    table = next(tree.iter("table"))
    for tr in list(table.iter("tr"))[1:]:
        name = next(tr.iter("td")).text()
        claims = read_json(results / name / "results.json")["claims"]
        counts = [s for s in tr.iter("strong") if s.text()[0].isdigit()]
        assert sum(int(s.text().split()[0]) for s in counts) == len(claims)
        assert all(f"v-{slug(s.text().split(' ', 1)[1])}" in s.classes() for s in counts)
        assert all("verdict" in s.classes() for s in tr.iter("strong"))  # key-figure verdicts
    details = list(tree.iter("details"))
    assert len(details) == len(list(results.glob("*/results.json")))
    for block in details:
        figures = {tr.children[1].text() for tr in list(block.iter("tr"))[1:]}
        name = _heading_before(tree, block).text()
        claims = read_json(results / name.split(" (")[0] / "results.json")["claims"]
        assert figures == set(claims)
        assert all("verdict" in td.classes() for td in block.iter("td")
                   if td.text() in {c["verdict"] for c in claims.values()})


def _heading_before(tree, node):
    order = list(tree.iter())
    return [n for n in order[:order.index(node)] if n.tag == "h3"][-1]


def test_the_catalogue_table_has_counts_and_key_figures(catalogued):
    results, page = catalogued
    text = page.read_text()
    assert "| verdicts | key figures |" in text
    claims = read_json(results / "dropout" / "results.json")["claims"]
    assert f"| {len(claims)} claims: " in text
    assert "docs/results/index.html" in text


def test_a_catalogue_without_results_writes_no_index(tmp_path):
    page = tmp_path / "experiments.md"
    layerlab("catalog", "--results", tmp_path / "none", "--write", page)
    assert "not published yet" in page.read_text()
    assert not (tmp_path / "none").exists()


def test_the_index_page_parses_as_one_page(catalogued):
    results, _ = catalogued
    text = (results / "index.html").read_text()
    assert text.startswith("<!doctype html>") and text.count("<body>") == 1
    assert "```" not in parse(text).text(skip=("style", "code", "pre"))
    assert Path(results / "index.html").stat().st_size < 500_000
