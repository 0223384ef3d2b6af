"""The one number formatter of the reports: every column of a table in one format.

A column's format is decided from all its numbers together, then applied to each cell:

- integers (also integers stored as floats, 24.0) print as integers, thousands separated
  ('49,000');
- an accuracy column (its header or the claim says "acc", values fractions in [0, 1], no "%"
  in the header) keeps fractions, to 4 decimals at most and 2 at least (0.9848, 1.00): layerlab
  writes accuracies as fractions in tables and claims alike, as the studies' own reasons and
  'mean ± std' cells do;
- a column with very small (below 1e-3) or very large (1e6 and up) numbers, or whose numbers
  span more than four decades, prints all of them in scientific notation with one mantissa
  width ('1.23e-04', '4.40e-16');
- any other column in fixed point, with the decimals that give its largest number 4
  significant digits, trimmed while no number changes (0.1, 0.05 -> '0.10', '0.05').

Missing values never print as Python values: None -> '–', NaN -> 'n/a', inf -> '∞',
True/False -> 'yes'/'no'; a list prints its items in the list's own format, a list of
missing values (or the text 'None, None') as '–'. Strings pass through: they were written
by the study, already formatted.
"""

from __future__ import annotations

import json
import math
import numbers
import re

import numpy as np

from layerlab.analysis import fmt

MISSING = "–"
_NONE_LIST = re.compile(r"^\s*None(\s*[,;/ ]\s*None)*\s*$")


def is_number(x) -> bool:
    """A real number that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _finite(values):
    return [float(v) for v in values if is_number(v) and math.isfinite(v)]


def _is_accuracy(header: str, numbers_: list[float]) -> bool:
    words = header.lower()
    return ("acc" in words and "%" not in words and bool(numbers_)
            and all(0 <= v <= 1 for v in numbers_))


def _trim(values, decimals, lowest=0):
    """The fewest decimals (>= lowest) at which every value rounds as it does at `decimals`."""
    for d in range(lowest, decimals):
        if all(round(v, d) == round(v, decimals) for v in values):
            return d
    return decimals


def _scientific(values):
    nonzero = [abs(v) for v in values if v != 0]
    if not nonzero:
        return False
    small, large = min(nonzero), max(nonzero)
    return small < 1e-3 or large >= 1e6 or large / small > 1e4


def _mantissa_decimals(values):
    """Mantissa decimals (0-2) that write every value to 3 significant digits."""
    texts = [f"{v:.2e}" for v in values if v != 0]
    return max((len(t.split("e")[0].rstrip("0").split(".")[1]) if "." in t else 0)
               for t in texts) if texts else 0


class Column:
    """The format of one column, decided from all of its values (see the module docstring)."""

    def __init__(self, values, header=""):
        flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
        nums = _finite(flat)
        self.kind, self.decimals = "fixed", 0
        if nums and all(v.is_integer() and abs(v) < 1e15 for v in nums) \
                and not _is_accuracy(header, nums):
            self.kind = "int"
        elif _is_accuracy(header, nums):
            self.decimals = _trim(nums, 4, lowest=2)
        elif _scientific(nums):
            self.kind, self.decimals = "sci", _mantissa_decimals(nums)
        elif nums:
            top = max(abs(v) for v in nums) or 1.0
            self.decimals = _trim(nums, min(6, max(0, 3 - math.floor(math.log10(top)))))

    def __call__(self, x) -> str:
        """The text of one cell of this column."""
        if x is None:
            return MISSING
        if isinstance(x, str):
            return MISSING if _NONE_LIST.match(x) else x
        if isinstance(x, list):
            if all(v is None for v in x):
                return MISSING
            return ", ".join(self(v) for v in x)
        if isinstance(x, (bool, np.bool_)) or (is_number(x) and not math.isfinite(x)):
            return fmt.number(x)  # yes / no, n/a, ∞
        if not is_number(x):
            return json.dumps(x, separators=(", ", ": "), default=str)
        if self.kind == "int":
            return f"{int(round(x)):,}"
        if self.kind == "sci":
            return "0" if x == 0 else f"{x:.{self.decimals}e}"
        return f"{x:.{self.decimals}f}"


def cell(x) -> str:
    """One value on its own (a column of one)."""
    return Column([x])(x)


def format_rows(header, rows) -> list[list[str]]:
    """Every cell of a table as text, each column in one format."""
    width = max([len(header)] + [len(r) for r in rows])
    columns = [Column([r[i] for r in rows if i < len(r)],
                      str(header[i]) if i < len(header) else "") for i in range(width)]
    return [[columns[i](c) for i, c in enumerate(row)] for row in rows]
