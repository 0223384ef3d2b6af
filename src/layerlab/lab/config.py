"""Resolve an experiment's config: defaults, then --quick overrides, then --set key=value.

Every value is checked before a run folder is made, and a refused one raises `ConfigError`
(a ValueError) whose message names the setting, the rule and the fix:

- types: a value has the default's type (a bool is not an int; an int is taken for a float;
  the elements of a tuple have the type of the default's elements);
- rules: a config field may declare one, `field(default=..., metadata={"check": rule})`, or its
  class may hold a table `checks = {"name": rule}`; a rule takes the value and returns None
  (fine) or the text of the problem. Settings without one get the common rule of their name,
  by its last word (`epochs`, `deep_epochs`, ...): see `COMMON`;
- the config dataclass itself: a ValueError or TypeError raised while it is built (its
  `__post_init__`, the experiment's own validation) becomes a ConfigError.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import json
import math
import typing


class ConfigError(ValueError):
    """A setting refused by a check: the message names the setting, the rule and the fix."""


# Settings of the run every experiment takes without a field in its config: with their
# defaults, written to config.json only when given (the cell trainers read them from the run)
RUN_SETTINGS = {"probes": "off"}  # per-layer probes: "off" or "every:K" (layerlab.probing)


def _literal(text, key):
    """ast.literal_eval, with every way it can fail (deep nesting, huge ints, NUL bytes,
    complex numbers...) a ConfigError."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConfigError(f"--set {key}={text}: not a Python literal (a number, a list "
                          "[1, 2], a quoted string...)") from None


def _plain(value):
    """True for what config.json can hold: None, bool, int, finite float, str, and lists,
    tuples and string-keyed dicts of those."""
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _like(value, example, key, text):
    """`value` as the type of `example` (int -> float allowed, bool never a number), or a
    ConfigError."""
    kind = type(example)
    if kind is float and type(value) is int:
        return float(value)
    if kind is tuple and type(value) is list:
        value = tuple(value)
    if type(value) is not kind:
        raise ConfigError(f"--set {key}={text}: expected {kind.__name__}, like the default "
                          f"{example!r}")
    return value


def _parse(text, current, key):
    """Turn the text of `--set key=text` into a value of the same kind as the default."""
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--set {key}={text}: expected true or false")
    if isinstance(current, str) or current is None and not text[:1].isdigit() \
            and text[:1] not in "[(-{":
        return text
    value = _literal(text, key)
    if not _plain(value):
        raise ConfigError(f"--set {key}={text}: expected a finite number, a word or a list of "
                          "them")
    if current is None:
        return value
    value = _like(value, current, key, text)
    kinds = {type(v) for v in current} if isinstance(current, tuple | list) else set()
    if len(kinds) == 1 and kinds <= {int, float, str}:  # a list of one kind: keep the kind
        value = type(value)(_like(v, current[0], key, text) for v in value)
    return value


def parse_overrides(items):
    """['a=1', 'b=x'] -> [('a', '1'), ('b', 'x')], with a clear error for a missing '='."""
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: write it as key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def resolve(experiment, overrides=(), quick=False, seed=None):
    """The full config as a dict: every default written out, then quick, --set and seed.

    Raises ConfigError naming an unknown key (and listing the known ones) or a refused value.
    """
    defaults = dataclasses.asdict(experiment.config())
    config = dict(defaults)
    if quick:
        config.update(experiment.quick)
    for key, text in parse_overrides(overrides):
        if key not in config and key in RUN_SETTINGS:
            config[key] = RUN_SETTINGS[key]
        if key not in config:
            close = difflib.get_close_matches(key, list(config), n=3)
            known = (f"did you mean {' or '.join(close)}?" if close else
                     f"its settings are: {', '.join(sorted(config))}")
            raise ConfigError(f"--set {key}: {experiment.name} has no setting {key!r}; {known} "
                              f"(`layerlab list {experiment.name}` shows every setting)")
        config[key] = _parse(text, config[key], key)
    if seed is not None:
        if "seed" not in config:
            raise ConfigError(f"{experiment.name} takes no seed")
        config["seed"] = _parse(str(seed), config["seed"], "seed")
    check(experiment, config, defaults)
    json.dumps(config)  # a config must be writable to config.json
    build(experiment, config)  # the experiment's own validation, before a run folder exists
    return config


def check(experiment, config, defaults):
    """Apply each setting's rule (declared by the config, else the common rule of its name);
    the first refusal raises ConfigError."""
    for key, value in config.items():
        rule = rule_for(experiment, key)
        problem = rule(value, defaults.get(key)) if rule else None
        if problem:
            raise ConfigError(f"--set {key}={_show(value)}: {problem}")


def declared_rules(experiment) -> dict:
    """{setting: rule(value)} the experiment's config declares: its `checks` table and its
    fields' `metadata={"check": rule}`."""
    declared = dict(getattr(experiment.config, "checks", {}) or {})
    for f in dataclasses.fields(experiment.config):
        if "check" in f.metadata:
            declared[f.name] = f.metadata["check"]
    return declared


def rule_for(experiment, key):
    """The rule of setting `key` as rule(value, default) -> the problem or None (its docstring
    kept, for `layerlab list NAME`); None for a setting without one."""
    declared = declared_rules(experiment).get(key)
    if declared is None:
        return common_rule(key)
    return functools.wraps(declared)(lambda value, default: declared(value))


def _show(value):
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def build(experiment, config: dict):
    """The experiment's config dataclass from a resolved dict (lists become tuples, at every
    depth, where the field is a tuple). A ValueError or TypeError from the dataclass's own
    validation (its __post_init__) is raised as ConfigError."""
    hints = typing.get_type_hints(experiment.config)
    values = {}
    for f in dataclasses.fields(experiment.config):
        value = config.get(f.name)
        if isinstance(value, list) and "tuple" in str(hints.get(f.name, "")):
            value = _tuples(value)
        values[f.name] = value
    try:
        return experiment.config(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{experiment.name}: {err}") from err


def _tuples(value):
    """JSON lists back to tuples, at every depth (config.json has no tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


# The common rules: by the last word(s) of a setting's name -------------------------------------

def _int_rule(minimum, what):
    def rule(v):
        if type(v) is not int or v < minimum:
            return f"{what} must be an int >= {minimum}"
        return None
    return rule


def _positive_number(what):
    def rule(v):
        if type(v) not in (int, float) or not (math.isfinite(v) and v > 0):
            return f"{what} must be a number > 0"
        return None
    return rule


def _each(rule, nonempty):
    """Apply `rule` to a scalar, or to every element of a list (refusing an empty one if
    `nonempty`)."""
    def each(value, default):
        if isinstance(value, tuple | list):
            if nonempty and not value:
                return "give at least one value"
            return next((p for p in map(rule, value) if p), None)
        return rule(value)
    return each


def _seeds(value, default):
    if isinstance(value, tuple | list):
        return _each(_int_rule(0, "a seed"), True)(value, default)
    return _int_rule(1, "the number of seeds")(value)


def _val(value, default):
    """Examples held out for validation: a count >= 1 or a fraction in (0, 1) (the studies
    pick on validation, so none of them runs without it)."""
    if type(value) is float:
        return None if 0 < value < 1 else "a fraction held out must lie in (0, 1)"
    return _int_rule(1, "the number of examples held out for validation")(value)


def _optional_count(value, default):
    return None if value is None else _int_rule(0, "a number of examples (0: all)")(value)


def _probability(value, default):
    def one(p):
        if type(p) not in (int, float) or not 0 <= p < 1:
            return "a drop probability must lie in [0, 1)"
        return None
    return _each(one, False)(value, default)


def _normalization(value, default):
    from layerlab.scratch.norm import NORMS

    if value is None or value in NORMS:
        return None
    return f"choose one of {', '.join(sorted(NORMS))}"


def _weight_scale(value, default):
    from layerlab.scratch.init import INITS

    if isinstance(value, str):
        return None if value in INITS else f"an init word is one of {', '.join(sorted(INITS))}"
    return _each(_positive_number("a weight scale"), True)(value, default)


def _dataset(value, default):
    from layerlab.data import registry, toy2d

    if default in toy2d.KINDS:
        return None if value in toy2d.KINDS else f"choose one of {', '.join(toy2d.KINDS)}"
    if value in registry.DATASETS or value in registry.GENERATED or \
            isinstance(value, str) and value.startswith("imagefolder:") and len(value) > 12:
        return None
    return f"unknown dataset; known: {', '.join(registry.known_names())}"


def _nonnegative_number(what):
    def rule(v):
        if type(v) not in (int, float) or not (math.isfinite(v) and v >= 0):
            return f"{what} must be a number >= 0"
        return None
    return rule


def _finite(what):
    def rule(v):
        if type(v) not in (int, float) or not math.isfinite(v):
            return f"{what} must be a finite number"
        return None
    return rule


def _fraction(what):
    def rule(v):
        if type(v) not in (int, float) or not 0 <= v < 1:
            return f"{what} must lie in [0, 1)"
        return None
    return rule


def _shape(value, default):
    """A shape: a non-empty tuple of ints >= 1, or a list of such shapes where the default is
    a list of them."""
    def one(shape):
        if not isinstance(shape, tuple | list) or not shape or \
                any(type(d) is not int or d < 1 for d in shape):
            return "a shape is a list of sizes >= 1, like [2, 3, 4]"
        return None
    if default and isinstance(default[0], tuple | list):
        return _each(one, True)(value, default)
    return one(value)


def _sizes(value, default):
    """Sizes of layers, kernels or channels: ints (>= 1; pool positions >= 0) at any depth of
    nesting, as the default nests them."""
    flat = _flatten(value)
    if not flat:
        return "give at least one size"
    if any(type(v) is not int or v < 0 for v in flat):
        return "sizes must be ints >= 0 (positions) or >= 1 (widths), like [32, 64]"
    if any(v == 0 for v in flat) and not any(v == 0 for v in _flatten(default)):
        return "sizes must be ints >= 1, like [32, 64]"
    return None


def _flatten(value):
    """The scalars of a value nested in lists or tuples, in order ([] for an empty list)."""
    return [x for v in value for x in _flatten(v)] if isinstance(value, tuple | list) \
        else [value]


def _choice(names, what):
    """One word, or a list of words, from `names` (a callable, so that the table is read only
    when a value is checked: torch is imported only by the experiments that need it)."""
    def one(word):
        known = names()
        return None if word in known else f"{what} is one of {', '.join(sorted(known))}"
    return _each(one, True)


def _activations():
    from layerlab.scratch.layers import ACTIVATIONS

    return set(ACTIVATIONS)


def _update_rules():
    from layerlab.scratch.optim import UPDATE_RULES

    return set(UPDATE_RULES)


def _schedule(value, default):
    return None if value in (None, "onecycle") else "a schedule is onecycle (or None: constant)"


def _probes(value, default):
    """off, or every:K with K an int >= 1 (per-layer probes every K steps)"""
    from layerlab.probing.setting import problem

    return problem(value)


def _device(value, default):
    """auto, cpu, cuda, cuda:N or mps, present on this machine (auto: CUDA if any, else CPU)"""
    from layerlab.pytorch.device import device_problem

    return device_problem(value)


# Rules a config declares in its `checks` table, for settings no name rule fits ---------------

def words(allowed, empty=False):
    """A rule: a list of words, each one of `allowed` (a tuple, or a callable returning one,
    read when a value is checked); an empty list only if `empty`."""
    def rule(value):
        """A list of known words."""
        known = allowed() if callable(allowed) else allowed
        if not isinstance(value, tuple | list) or (not value and not empty):
            return f"give a list of one or more of {', '.join(known)}"
        wrong = [v for v in value if v not in known]
        return f"{wrong[0]!r} is not one of {', '.join(known)}" if wrong else None
    if not callable(allowed):
        rule.__doc__ = f"a list of words from {', '.join(allowed)}" + (" (or none)" if empty
                                                                      else "")
    return rule


def text(v):
    return None if isinstance(v, str) and v else "a non-empty label"


def positive(v):
    return _positive_number("a value")(v)


def count_of(v):
    return _int_rule(1, "a count")(v)


def count_or_zero(v):
    return _int_rule(0, "a count")(v)


def flag(v):
    return None if isinstance(v, bool) else "true or false"


def shape(v):
    return _shape(v, ())


def sizes(v):
    flat = _flatten(v) if isinstance(v, tuple | list) else [None]
    return None if flat and all(type(x) is int and x >= 1 for x in flat) else \
        "a list of sizes >= 1, like [100, 50]"


def scale_or_init(v):
    return _weight_scale(v, None)


def rows(*columns):
    """A rule: a non-empty list of rows, each with one value per column rule (text,
    positive, count_of, count_or_zero, flag, shape, sizes, scale_or_init, or any rule of one
    value)."""
    def rule(value):
        if not isinstance(value, tuple | list) or not value:
            return "give at least one row"
        for row in value:
            if not isinstance(row, tuple | list) or len(row) != len(columns):
                return f"each row has {len(columns)} values, like the default's"
            problem = next((p for p in (c(v) for c, v in zip(columns, row, strict=True))
                            if p), None)
            if problem:
                return f"row {_show(row)}: {problem}"
        return None
    rule.__doc__ = ("rows of " + ", ".join(getattr(c, "__name__", "value").replace("_", " ")
                                           for c in columns))
    return rule


COMMON = {
    "epochs": _each(_int_rule(1, "a number of epochs"), True),
    "batch_size": _each(_int_rule(1, "a batch size"), True),
    "batch_sizes": _each(_int_rule(1, "a batch size"), True),
    "repeats": _each(_int_rule(1, "a number of repeats"), True),
    "iterations": _each(_int_rule(1, "a number of iterations"), True),
    "threads": _each(_int_rule(1, "a number of threads"), True),
    "seeds": _seeds,
    "seed": _each(_int_rule(0, "a seed"), True),
    "val": _val,
    "num_train": _optional_count,
    "num_test": _optional_count,
    "hidden": _each(_int_rule(1, "a layer width"), False),
    "hidden_dim": _each(_int_rule(1, "a layer width"), False),
    "hidden_dims": _each(_int_rule(1, "a layer width"), False),
    "hidden_sizes": _each(_int_rule(1, "a layer width"), False),
    "widths": _each(_int_rule(1, "a layer width"), False),
    "learning_rate": _each(_positive_number("a learning rate"), True),
    "learning_rates": _each(_positive_number("a learning rate"), True),
    "lr": _each(_positive_number("a learning rate"), True),
    "lrs": _each(_positive_number("a learning rate"), True),
    "dropout": _probability,
    "normalization": _normalization,
    "weight_scale": _weight_scale,
    "weight_scales": _weight_scale,
    "dataset": _dataset,
    # scales, penalties, tolerances and other sizes of things
    "scale": _each(_nonnegative_number("a scale"), True),
    "scales": _each(_nonnegative_number("a scale"), True),
    "loc": _each(_finite("a mean"), True),
    "mean": _each(_finite("a mean"), True),
    "gamma": _each(_finite("a gamma"), True),
    "beta": _each(_finite("a beta"), True),
    "low": _each(_positive_number("a lower end"), True),
    "high": _each(_positive_number("an upper end"), True),
    "reg": _each(_nonnegative_number("a penalty"), True),
    "decay": _each(_positive_number("a decay factor"), True),
    "weight_decay": _each(_nonnegative_number("a weight decay"), True),
    "weight_decays": _each(_nonnegative_number("a weight decay"), True),
    "l1": _each(_nonnegative_number("an L1 penalty"), True),
    "l2": _each(_nonnegative_number("an L2 penalty"), True),
    "sweep": _each(_nonnegative_number("a swept value"), True),
    "tolerance": _each(_positive_number("a tolerance"), True),
    "limit": _each(_positive_number("a limit"), True),
    "eps": _each(_positive_number("a step for finite differences"), True),
    "z": _each(_positive_number("a z value"), True),
    "time": _each(_nonnegative_number("a time in seconds"), True),
    "rate": _each(_positive_number("a rate"), True),
    "sigma": _each(_positive_number("a sigma"), True),
    "elastic": _each(_nonnegative_number("an elastic-distortion strength"), True),
    "degrees": _each(_nonnegative_number("a rotation in degrees"), True),
    "shift": _each(_int_rule(0, "a shift in pixels"), True),
    "smoothing": _each(_fraction("a label smoothing"), True),
    "noise": _each(_fraction("a noise level"), True),
    "fraction": _each(lambda v: None if type(v) in (int, float) and 0 < v < 1 else
                      "a fraction must lie in (0, 1)", True),
    "momentum": _each(_fraction("a momentum"), True),
    "ps": _probability,
    "shape": _shape,
    "shapes": _shape,
    # counts
    **{word: _each(_int_rule(1, f"a number of {word.replace('_', ' ')}"), True)
       for word in ("n", "count", "records", "steps", "every", "batch", "eval", "passes",
                    "warmup", "images", "entries", "filter_size", "folds", "width", "layers",
                    "depths")},
    **{word: _sizes for word in ("filters", "channels", "kernels", "fc", "fcs", "dims",
                                 "pools")},
    # words
    "activation": _choice(_activations, "an activation"),
    "activations": _choice(_activations, "an activation"),
    "pool": _choice(lambda: {"max", "avg"}, "a pooling"),
    "rule": _choice(_update_rules, "an update rule"),
    "schedule": _schedule,
    "probes": _probes,
    "device": _device,
}


def common_rule(key):
    """The common rule of a setting's name: its full name, else its last words after a
    prefix (`deep_epochs` -> `epochs`, `scale_hidden_dims` -> `hidden_dims`), else None."""
    words = key.split("_")
    if words[0] in ("lr", "learning") and len(words) > 1:  # lr_fc, lr_conv: learning rates
        return COMMON["lr"]
    for start in range(len(words)):
        rule = COMMON.get("_".join(words[start:]))
        if rule:
            return rule
    return None
