"""report.md and report.html as a reader meets them: headline, verdict colours, collapsed
parts, settings, contents, notes; built by `layerlab report` on real folders."""

import re
from collections import Counter

import pytest
from report_helpers import parse

from layerlab.analysis.verdict import VERDICTS
from layerlab.report.build import build_report
from layerlab.report.headline import slug
from layerlab.runfiles import read_json


def page_of(folder, build=False):
    """report.md and the parsed report.html of a folder; build=True writes them first."""
    if build or not (folder / "report.html").exists():
        build_report(folder)
    return (folder / "report.md").read_text(), parse((folder / "report.html").read_text())


def by_id(tree, ident):
    found = [n for n in tree.iter() if n.attrs.get("id") == ident]
    assert len(found) == 1, f"{len(found)} elements with id {ident}"
    return found[0]


def visible_text(tree):
    """The page's text outside <code> and <pre> (where backticks may be the content)."""
    return tree.text(skip=("style", "script", "code", "pre"))


def test_headline_counts_match_the_claims(made_folder, published_copy):
    for folder in (made_folder, published_copy("dropout")):
        _, tree = page_of(folder)
        claims = read_json(folder / "results.json")["claims"]
        box = by_id(tree, "headline")
        assert "headline" in box.classes()
        text = " ".join(box.text().split())
        assert f"{len(claims)} claims:" in text
        for verdict, n in Counter(c["verdict"] for c in claims.values()).items():
            counted = [s for s in box.iter("strong") if s.text() == f"{n} {verdict}"]
            assert counted and f"v-{slug(verdict)}" in counted[0].classes(), verdict
        # the headline comes before everything else but the title and the quick banner
        first_h2 = next(tree.iter("h2"))
        order = list(tree.iter())
        assert order.index(box) < order.index(first_h2)


def test_key_figures_are_the_marked_claims(made_folder):
    results = read_json(made_folder / "results.json")
    _, tree = page_of(made_folder)
    unmarked = [li.text() for li in by_id(tree, "headline").iter("li")]
    assert [t.split(":")[0] for t in unmarked] == ["figure reproduced", "figure beaten",
                                                   "figure below"]  # first three judged
    results["claims"]["figure measured"]["key"] = True
    from layerlab.runfiles import write_json

    write_json(made_folder / "results.json", results)
    _, tree = page_of(made_folder, build=True)
    marked = [li.text() for li in by_id(tree, "headline").iter("li")]
    assert len(marked) == 1 and marked[0].startswith("figure measured: 0.50 [0.40, 0.60]")
    assert marked[0].endswith("— measured")


def test_every_verdict_cell_has_its_class_and_the_css_colours_it(made_folder):
    _, tree = page_of(made_folder)
    style = next(tree.iter("style")).text(skip=())
    cells = [td for td in tree.iter("td") if "verdict" in td.classes()]
    assert sorted(td.text() for td in cells) == sorted(VERDICTS)
    for td in cells:
        name = slug(td.text())
        assert f"v-{name}" in td.classes()
        assert re.search(rf"\.v-{name}[,{{][^}}]*?color:#", style.replace(f"td.v-{name}", "")) \
            or re.search(rf"\.v-{name}\b[^{{]*\{{color:", style), name


def test_long_tables_collapse_and_short_ones_do_not(made_folder):
    _, tree = page_of(made_folder)
    tables = {t.iter("th").__next__().text(): t for t in tree.iter("table")}
    long_table = tables["epoch"]
    details = [a for a in long_table.ancestors() if a.tag == "details"]
    assert details and "13 rows" in next(details[0].iter("summary")).text()
    assert "open" not in details[0].attrs
    assert not any(a.tag == "details" for a in tables["seed"].ancestors())


def test_settings_are_a_collapsed_key_value_table(made_folder):
    _, tree = page_of(made_folder)
    heading = [h for h in tree.iter("h2") if h.text() == "Settings"]
    assert heading
    tables = [t for t in tree.iter("table") if next(t.iter("th")).text() == "setting"]
    assert len(tables) == 1
    assert any(a.tag == "details" for a in tables[0].ancestors())
    rows = {tr.children[1].text(): tr for tr in tables[0].iter("tr")}
    cells = {td.text() for td in tables[0].iter("td")}
    assert {"seed", "7", "hidden_dims", "[100, 50]", "schedule",
            '{"kind": "one-cycle", "peak": 0.003}'} <= cells, rows


def test_no_backticks_or_fences_in_the_text_a_reader_sees(made_folder, quick_folder,
                                                          published_copy):
    for folder in (made_folder, quick_folder, published_copy("gurmukhi-reg"),
                   published_copy("theory")):
        _, tree = page_of(folder)
        text = visible_text(tree)
        assert "```" not in text and "`" not in text, folder.name
        assert next(tree.iter("code"))  # inline code became <code>


def test_contents_links_resolve_and_ids_are_unique(made_folder, published_copy):
    for folder in (made_folder, published_copy("vanishing-gradients")):
        _, tree = page_of(folder)
        ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
        assert len(ids) == len(set(ids))
        nav = by_id(tree, "toc")
        assert nav.tag == "nav"
        links = [a.attrs["href"] for a in nav.iter("a")]
        assert len(links) == len(list(tree.iter("h2"))) > 3
        assert all(link.startswith("#") and link[1:] in ids for link in links)


def test_a_note_of_log_lines_is_a_code_block_and_note_markdown_renders(made_folder):
    text, tree = page_of(made_folder)
    blocks = [pre.text() for pre in tree.iter("pre")]
    assert any(b.startswith("Epoch 1/2, Loss: 2.1\nEpoch 2/2") for b in blocks)
    items = [li.text() for li in tree.iter("li")]
    assert "none: never" in items  # the table note's list
    assert "train/<class>/ images" in visible_text(tree)  # a path, not a tag


def test_missing_values_and_integers_print_plainly(made_folder):
    text, tree = page_of(made_folder)
    table = next(t for t in tree.iter("table") if next(t.iter("th")).text() == "seed")
    rows = [[td.text() for td in tr.iter("td")] for tr in table.iter("tr")][1:]
    assert rows == [["0", "–", "24"], ["1", "–", "3"], ["2", "–", "1,000"]]
    assert "None" not in visible_text(tree) and "None" not in text


def test_title_does_not_repeat_the_name(made_folder, published_copy):
    _, tree = page_of(made_folder)
    assert next(tree.iter("h1")).text() == "made: a folder written by hand"
    folder = published_copy("dropout")
    md, tree = page_of(folder)
    title = read_json(folder / "config.json")["title"]
    assert md.startswith(f"# {title}\n") if title.startswith("dropout:") else True
    assert not next(tree.iter("h1")).text().startswith("dropout: dropout")
    assert next(tree.iter("title")).text() == next(tree.iter("h1")).text()


@pytest.mark.parametrize("name", ["dropout", "gurmukhi-reg", "vanishing-gradients", "theory",
                                  "mnist-mlp"])
def test_the_page_has_everything_report_md_has(name, published_copy):
    folder = published_copy(name)
    md, tree = page_of(folder)
    meta = read_json(folder / "config.json")
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert [h.text() for h in tree.iter("h2")] == [
        re.sub(r"`([^`]*)`", r"\1", h).replace("\\|", "|").replace("&lt;", "<")
        for h in headings]
    for section in ("Data", "Environment", "Settings"):
        assert section in headings or (section == "Data" and "Data" not in md)
    text = visible_text(tree)
    assert meta["created"] in text and "seed:" in text
    images = list(tree.iter("img"))
    assert len(images) == len(read_json(folder / "results.json")["plots"])
    assert all(img.attrs["src"].startswith("data:image/png;base64,") for img in images)
    assert not re.search(r"\bNone\b", md.split("## Environment")[0])
