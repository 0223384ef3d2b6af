"""Experiments from Python (a notebook): `run` trains as `layerlab run` does, `open_run` reopens
a run folder; both give a `RunResult` with the claims, tables, metrics and report."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path

from threadpoolctl import threadpool_limits

from layerlab.lab import runner
from layerlab.report.headline import summary_lines
from layerlab.runfiles import read_metrics, read_run


@dataclass(frozen=True)
class Claim:
    """One claim of a run: our figure with its interval [low, high] (None where the claim has
    none), the reference, and the verdict with its reason."""

    name: str
    ours: float | None
    low: float | None
    high: float | None
    reference: object
    verdict: str
    reason: str


class RunResult:
    """A run folder read from Python. Every attribute reads the folder when asked, so it shows
    the folder as it is now."""

    def __init__(self, path):
        self.path = Path(path)
        read_run(self.path)  # a folder without a run fails here, with the folder's name

    def __repr__(self):
        return f"RunResult({str(self.path)!r})"

    @property
    def results(self) -> dict:
        """results.json: claims, tables, plots, notes, datasets (each a dict by name)."""
        return read_run(self.path)["results"]

    @property
    def claims(self) -> list[Claim]:
        """The claims as records, in the report's order."""
        claims = []
        for c in self.results["claims"].values():
            est = c.get("estimate") or {}
            claims.append(Claim(c["name"], c.get("ours"), est.get("low"), est.get("high"),
                                c.get("reference"), c.get("verdict", ""), c.get("reason", "")))
        return claims

    def claims_frame(self):
        """The claims as a pandas DataFrame (needs pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("claims_frame needs pandas: pip install pandas") from None
        return pandas.DataFrame([asdict(c) for c in self.claims], columns=list(
            Claim.__dataclass_fields__))

    @property
    def tables(self) -> dict:
        """The report's tables by name: {title, header, rows, note}."""
        return self.results["tables"]

    @property
    def metrics(self) -> list[dict]:
        """The rows of metrics.jsonl (one per logged step)."""
        return read_metrics(self.path / "metrics.jsonl")

    @property
    def report_md(self) -> str:
        """The text of report.md ('' before the report is built)."""
        report = self.path / "report.md"
        return report.read_text() if report.exists() else ""

    def _repr_html_(self):
        """The report page in an iframe: its stylesheet stays inside it instead of restyling
        the notebook, and it is the very page `layerlab run` wrote."""
        page = self.path / "report.html"
        if not page.exists():
            return f"<p>{html.escape(str(self.path))}: no report.html yet</p>"
        return (f'<iframe srcdoc="{html.escape(page.read_text(), quote=True)}" '
                'style="width:100%;height:640px;border:1px solid #ccc"></iframe>')


def set_text(value) -> str:
    """A Python value as the text of `--set key=TEXT`, so that it passes the command line's own
    parser and checks: booleans as true/false, words as they are, the rest as Python literals
    (NumPy values as plain numbers, tuples as lists, as a config's JSON has them)."""
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def _plain(value):
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        value = value.tolist()
    return [_plain(v) for v in value] if isinstance(value, list | tuple) else value


def run(name, quick=True, seed=None, out=None, **settings) -> RunResult:
    """Run experiment `name` as `layerlab run NAME [--quick] [--seed N] [--out DIR]
    [--set k=v ...]` does, progress printed as there; returns its RunResult.

    Each setting is written as its `--set` text (see `set_text`) and checked as there: a refused
    one raises the same ConfigError (a ValueError) before any folder is made.
    """
    overrides = [f"{key}={set_text(value)}" for key, value in settings.items()]
    made = runner.create(name, overrides, seed, quick, out)
    print(f"run folder: {made.path}")
    # One BLAS thread, the command line's default (--threads 1), only while this run trains.
    with threadpool_limits(1):
        runner.execute(made)
    print("\n".join(summary_lines(made.path)))
    return RunResult(made.path)


def open_run(path) -> RunResult:
    """A saved run folder (or a published report's folder) as a RunResult."""
    return RunResult(path)
