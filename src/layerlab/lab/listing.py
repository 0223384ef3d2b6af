"""What `layerlab list` prints: every experiment with the wall time of its last published run
(or, with none published, its registered estimate), and `layerlab list NAME`: one
experiment's description and every setting with its defaults and its rule."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from layerlab.lab import config as configs
from layerlab.progress import duration
from layerlab.runfiles import checkout_results, read_json


def default_results() -> Path:
    """docs/results of the checkout this package runs from, else ./docs/results."""
    return checkout_results() or Path("docs") / "results"


def published_time(name, results) -> tuple[float, str] | None:
    """(wall seconds, date) of the finished full run published in results/NAME, or None."""
    folder = Path(results) / name
    status = read_json(folder / "status.json", {})
    meta = read_json(folder / "config.json", {})
    seconds = status.get("wall_time")
    if status.get("state") != "finished" or meta.get("quick") or not seconds:
        return None
    return float(seconds), str(meta.get("created", ""))[:10]


def time_of(exp, results) -> str:
    """'31 min' (the last published full run's wall time) or '~4 min (estimate)'."""
    published = published_time(exp.name, results)
    if published:
        return duration(published[0])
    return f"~{exp.estimate} (estimate)"


def list_lines(experiments, results) -> list[str]:
    """The table of `layerlab list`: a header, one line per experiment (by study), a key."""
    rows = [(exp.name, exp.study, time_of(exp, results), exp.title)
            for exp in sorted(experiments.values(), key=lambda e: (e.study, e.name))]
    header = ("experiment", "study", "full run", "what it reproduces")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(row):
        return "  ".join(f"{v:<{w}}" for v, w in zip(row[:3], widths, strict=True)) + \
            "  " + row[3]

    return [line(header), *map(line, rows), "",
            f"full run: wall time of the last published full run ({results}/NAME, on the "
            "project's 2-core machine),",
            "or '~... (estimate)' where none is published. `layerlab list NAME` shows an "
            "experiment's settings."]


def rule_text(exp, key, default) -> str:
    """The rule `--set KEY=...` is checked against ('' for a setting without one): the first
    paragraph of its docstring, else its own refusal of a value of no kind at all (of a list
    of one such value where the default is a list), which states what it accepts."""
    rule = configs.rule_for(exp, key)
    if rule is None:
        return ""
    doc = (inspect.getdoc(rule) or "").split("\n\n")[0].replace("\n", " ")
    if doc:
        return doc
    probe = [_NoKind()] if isinstance(default, tuple | list) else _NoKind()
    try:
        text = rule(probe, default)
    except Exception:  # a rule written for values of its own kind only
        text = None
    return text or rule.__name__.strip("_").replace("_", " ")


class _NoKind:
    """A value of no kind: every type rule refuses it, so its message states the rule."""

    def __repr__(self):
        return "?"


def show_lines(exp, results) -> list[str]:
    """`layerlab list NAME`: title, study, description, time, and every setting with its
    default, its --quick value and its rule."""
    doc = inspect.getdoc(exp.fn) or ""
    config_doc = inspect.getdoc(exp.config) or ""
    published = published_time(exp.name, results)
    when = (f"{duration(published[0])} (the last published full run, {published[1]}; "
            f"registered estimate ~{exp.estimate})" if published
            else f"~{exp.estimate} (estimate; no full run published in {results})")
    lines = [f"{exp.name} ({exp.study}): {exp.title}", ""]
    lines += [doc, ""] if doc else []
    lines += [config_doc, ""] if config_doc and not config_doc.startswith(
        exp.config.__name__ + "(") else []  # a dataclass's generated doc says nothing
    lines += [f"full run: {when}", f"run it: layerlab run {exp.name} [--quick] "
              "[--set KEY=VALUE ...]", ""]
    defaults = dataclasses.asdict(exp.config())
    rows = [("setting", "default", "--quick", "rule")]
    for key, value in defaults.items():
        quick = _show(exp.quick[key]) if key in exp.quick else "same"
        rows.append((key, _show(value), quick, rule_text(exp, key, value)))
    for key, value in configs.RUN_SETTINGS.items():  # every run takes these, whatever its config
        if key not in defaults:
            rows.append((key, _show(value), "same", rule_text(exp, key, value)))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(3)]
    lines += ["  ".join(f"{v:<{w}}" for v, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
              for r in rows]
    return lines


def _show(value):
    """A setting as `--set` takes it (lists in brackets)."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) and not value else str(value)
