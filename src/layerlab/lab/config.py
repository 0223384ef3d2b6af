"""Resolve an experiment's config: defaults, then --quick overrides, then --set key=value."""

from __future__ import annotations

import ast
import dataclasses
import json
import typing


def _parse(text, current, key):
    """Turn the text of `--set key=text` into a value of the same kind as the default."""
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"--set {key}={text}: expected true or false")
    if isinstance(current, str) or current is None and not text[:1].isdigit() \
            and text[:1] not in "[(-{":
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"--set {key}={text}: not a Python literal (a number, a list "
                         "[1, 2], a quoted string...)") from None
    if isinstance(current, float) and isinstance(value, int):
        value = float(value)
    if isinstance(current, tuple) and isinstance(value, list):
        value = tuple(value)
    if current is not None and isinstance(current, int | float | tuple | list) \
            and not isinstance(value, type(current)):
        raise ValueError(f"--set {key}={text}: expected {type(current).__name__}, like "
                         f"the default {current!r}")
    return value


def parse_overrides(items):
    """['a=1', 'b=x'] -> [('a', '1'), ('b', 'x')], with a clear error for a missing '='."""
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: write it as key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def resolve(experiment, overrides=(), quick=False, seed=None):
    """The full config as a dict: every default written out, then quick, --set and seed.

    Raises ValueError naming the unknown key and listing the known ones.
    """
    config = dataclasses.asdict(experiment.config())
    if quick:
        config.update(experiment.quick)
    for key, text in parse_overrides(overrides):
        if key not in config:
            raise ValueError(f"--set {key}: {experiment.name} has no setting {key!r}; "
                             f"its settings are: {', '.join(sorted(config))}")
        config[key] = _parse(text, config[key], key)
    if seed is not None:
        if "seed" not in config:
            raise ValueError(f"{experiment.name} takes no seed")
        config["seed"] = int(seed)
    json.dumps(config)  # a config must be writable to config.json
    return config


def build(experiment, config: dict):
    """The experiment's config dataclass from a resolved dict (lists become tuples, at every
    depth, where the field is a tuple)."""
    hints = typing.get_type_hints(experiment.config)
    values = {}
    for f in dataclasses.fields(experiment.config):
        value = config.get(f.name)
        if isinstance(value, list) and "tuple" in str(hints.get(f.name, "")):
            value = _tuples(value)
        values[f.name] = value
    return experiment.config(**values)


def _tuples(value):
    """JSON lists back to tuples, at every depth (config.json has no tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
