"""The user's own points from CSV text, read defensively: a size limit, a row limit, every cell
checked, and one clear message for the first thing wrong (nothing is half-read).

Rows are x1, x2, label; a first row that is not numbers is taken as a header. Points must lie on
the canvas [-6, 6]^2. Labels that are all whole numbers are classes: 0..4, or -1 / 1 (the
TensorFlow Playground's two classes, read as 0 / 1). Any fractional label makes the set a
regression, whose targets must lie in [-1, 1].
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from layerlab.playground.setup import MAX_CLASSES

MAX_BYTES = 1_000_000
MAX_ROWS = 10_000
MIN_ROWS = 4
EXTENT = 6.0


class UploadError(ValueError):
    """The CSV cannot be used; the message names the row or limit and the fix."""


def _number(text, row, column):
    try:
        value = float(text)
    except ValueError:
        raise UploadError(f"row {row}: {column} {text.strip()[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise UploadError(f"row {row}: {column} is {text.strip()!r}; give a finite number")
    return value


def _rows(text):
    """The numeric rows [(x1, x2, label)] of the CSV text, header skipped."""
    reader = csv.reader(io.StringIO(text))
    rows = []
    try:
        for number, cells in enumerate(reader, 1):
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != 3:
                raise UploadError(f"row {number}: {len(cells)} columns; each row must be x1, "
                                  "x2, label")
            if number == 1 and not rows and _is_header(cells):
                continue
            if len(rows) == MAX_ROWS:
                raise UploadError(f"more than {MAX_ROWS:,} rows; upload at most {MAX_ROWS:,}")
            x1, x2, label = (_number(c, number, name)
                             for c, name in zip(cells, ("x1", "x2", "label"), strict=True))
            for name, value in (("x1", x1), ("x2", x2)):
                if abs(value) > EXTENT:
                    raise UploadError(f"row {number}: {name} = {value:g} lies outside the "
                                      f"canvas [-{EXTENT:g}, {EXTENT:g}]; scale the points")
            rows.append((x1, x2, label))
    except csv.Error as err:
        raise UploadError(f"not readable as CSV: {err}") from None
    return rows


def _is_header(cells):
    try:
        [float(c) for c in cells]
    except ValueError:
        return True
    return False


def _labels(values):
    """(labels, problem, classes) from the label column."""
    if np.all(values == np.round(values)):
        if set(np.unique(values)) <= {-1.0, 1.0}:
            values = (values > 0).astype(float)
        if values.min() < 0 or values.max() >= MAX_CLASSES:
            raise UploadError(f"class labels must be 0..{MAX_CLASSES - 1} (or -1 and 1), got "
                              f"{values.min():g}..{values.max():g}")
        return values.astype(np.int64), "classification", max(int(values.max()) + 1, 2)
    if np.abs(values).max() > 1:
        raise UploadError("regression targets (labels with fractions) must lie in [-1, 1], "
                          f"got {values.min():g}..{values.max():g}")
    return values, "regression", 2


def parse(text):
    """CSV text -> (X (N, 2) float64, y (N,), problem, classes); UploadError when unusable."""
    if not isinstance(text, str):
        raise UploadError("the upload must be the CSV file's text")
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise UploadError(f"the file is over {MAX_BYTES // 1_000_000} MB; upload at most "
                          f"{MAX_ROWS:,} rows of x1, x2, label")
    if "\x00" in text:
        raise UploadError("the file holds NUL bytes: upload a text CSV of x1, x2, label")
    rows = _rows(text)
    if len(rows) < MIN_ROWS:
        raise UploadError(f"{len(rows)} data rows; give at least {MIN_ROWS} rows of x1, x2, "
                          "label")
    data = np.array(rows, dtype=np.float64)
    y, problem, classes = _labels(data[:, 2])
    return data[:, :2], y, problem, classes
