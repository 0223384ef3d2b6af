"""One format per column: the formatter alone, and every table of real reports."""

import math
import re

import pytest
from report_helpers import PUBLISHED, parse

from layerlab.report.headline import figure
from layerlab.report.numbers import Column, cell, format_rows, is_number
from layerlab.runfiles import read_json

NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?(e[+-]\d+)?$")


def shape(text):
    """('sci' | 'fixed', mantissa decimals) of a number as printed."""
    mantissa = text.split("e")[0]
    return ("sci" if "e" in text else "fixed",
            len(mantissa.split(".")[1]) if "." in mantissa else 0)


def test_a_column_has_one_number_of_decimals():
    rows = format_rows(["lr", "loss"], [[0.1, 2.30123], [0.05, 0.5], [0.02, 1.0]])
    assert [r[0] for r in rows] == ["0.10", "0.05", "0.02"]
    assert [r[1] for r in rows] == ["2.301", "0.500", "1.000"]


def test_integers_stored_as_floats_print_as_integers():
    assert [r[0] for r in format_rows(["n"], [[24.0], [3], [49000.0]])] == ["24", "3",
                                                                             "49,000"]
    assert cell(24.0) == "24"


def test_small_or_wide_columns_are_all_scientific():
    rows = format_rows(["err"], [[4.4e-16], [0.0], [1.2e-5], [0.25]])
    assert [r[0] for r in rows] == ["4.4e-16", "0", "1.2e-05", "2.5e-01"]


def test_accuracies_are_fractions_everywhere():
    assert [r[0] for r in format_rows(["val acc"], [[1.0], [0.98], [0.9848]])] == [
        "1.0000", "0.9800", "0.9848"]
    assert [r[0] for r in format_rows(["test acc %"], [[97.19], [9.5]])] == ["97.19", "9.50"]
    claim = {"name": "test accuracy", "unit": "", "reference": 0.1,
             "estimate": {"value": 0.292, "low": 0.25385, "high": 0.33332, "how": "images",
                          "n": 500}}
    assert figure(claim) == ("0.2920 [0.2539, 0.3333] (500 images)", "0.1000")


def test_missing_values_never_print_as_python_values():
    column = Column([None, math.nan, math.inf, True, [None, None], "None, None", [1.5, None]])
    assert [column(v) for v in (None, math.nan, math.inf, True, [None, None], "None, None",
                                [1.5, None])] == ["–", "n/a", "∞", "yes", "–", "–",
                                                  "1.5, –"]


def test_one_seed_is_singular_in_a_claims_interval():
    claim = {"name": "x", "unit": "s", "reference": None,
             "estimate": {"value": 2.0, "low": 1.5, "high": 2.5, "how": "seeds", "n": 1}}
    assert figure(claim) == ("2.0 [1.5, 2.5] s (1 seed)", "")


PUBLISHED_TABLES = [(folder.name, name, table)
                    for folder in sorted(PUBLISHED.glob("*")) if (folder / "results.json").exists()
                    for name, table in read_json(folder / "results.json")["tables"].items()]


@pytest.mark.skipif(not PUBLISHED_TABLES, reason="no published results")
def test_every_numeric_column_of_the_published_tables_has_one_format():
    checked = 0
    for experiment, name, table in PUBLISHED_TABLES:
        rows = format_rows(table["header"], table["rows"])
        for i, head in enumerate(table["header"]):
            raw = [r[i] for r in table["rows"] if i < len(r) and r[i] is not None]
            if not raw or not all(is_number(v) for v in raw):
                continue  # text the study wrote is shown as written
            shown = [r[i] for r in rows if NUMBER.match(r[i]) and r[i] != "0"]
            assert len({shape(n) for n in shown}) <= 1, (experiment, name, head, shown)
            checked += 1
    assert checked > 50


def test_a_rendered_table_shows_the_formatter_s_cells(published_copy):
    folder = published_copy("dropout")
    tables = read_json(folder / "results.json")["tables"]
    tree = parse((folder / "report.html").read_text())
    for table in tables.values():
        want = format_rows(table["header"], table["rows"])
        pages = [t for t in tree.iter("table")
                 if [th.text() for th in t.iter("th")] == table["header"]]
        assert pages, table["title"]
        assert [[td.text() for td in tr.iter("td")] for tr in pages[0].iter("tr")][1:] == want
