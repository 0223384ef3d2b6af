"""The playground's setup: every parameter with its default and limits, the presets, validation
and the URL query string in both directions.

A setup is a plain dict with the keys of PARAMS in their order. Values arrive as text (a URL)
or as JSON values (the page's messages); `validate` turns them into the canonical types or
raises SetupError naming the parameter and the allowed values, so nothing invalid ever reaches
a session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

CLASSIFICATION_SETS = ("circle", "xor", "gauss", "spiral", "or")
REGRESSION_SETS = ("plane", "multigauss")
DATASETS = (*CLASSIFICATION_SETS, *REGRESSION_SETS, "custom")
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
INITS = ("xavier", "kaiming", "gaussian", "zeros", "playground")
MAX_LAYERS, MAX_WIDTH, MAX_CLASSES = 6, 8, 5


class SetupError(ValueError):
    """A parameter outside its limits: `field` names it, the message says what is allowed."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Param:
    """One parameter: kind 'choice', 'int', 'float' or 'list', its default and limits.
    For 'list': choices (names) or low/high (widths), and at most `most` items."""

    kind: str
    default: object
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    least: int = 0
    most: int = 0
    help: str = ""

    def limits(self):
        """The limits as JSON for the page: choices, min/max, items."""
        out = {"kind": self.kind, "help": self.help}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.low is not None:
            out.update(min=self.low, max=self.high)
        if self.kind == "list":
            out.update(least=self.least, most=self.most)
        return out


PARAMS = {
    "dataset": Param("choice", "circle", DATASETS, help="the points; plane and multigauss are "
                     "regression, custom the uploaded or clicked points"),
    "classes": Param("int", 2, low=2, high=MAX_CLASSES, help="classes (more than 2: spiral "
                     "arms, or custom points)"),
    "noise": Param("int", 0, low=0, high=50, help="noise in percent"),
    "train_ratio": Param("int", 50, low=10, high=90, help="percent of the points for training"),
    "points": Param("int", 500, low=50, high=2000, help="points in all (train + test)"),
    "batch": Param("int", 10, low=1, high=100, help="minibatch size"),
    "seed": Param("int", 0, low=0, high=2**31 - 1, help="seeds the data, the weights, the "
                  "order and dropout"),
    "order": Param("choice", "shuffled", ("shuffled", "sorted"), help="minibatch order: a new "
                   "shuffle every epoch, or sorted by label (every class 0 point first), the "
                   "same every epoch"),
    "features": Param("list", ("x1", "x2"), FEATURES, least=1, most=len(FEATURES),
                      help="input features"),
    "hidden": Param("list", (4, 2), low=1, high=MAX_WIDTH, least=0, most=MAX_LAYERS,
                    help="hidden layer widths (empty: no hidden layer)"),
    "activation": Param("choice", "tanh", ACTIVATIONS, help="activation of the hidden units"),
    "optimizer": Param("choice", "sgd", OPTIMIZERS, help="update rule"),
    "lr": Param("float", 0.03, low=1e-5, high=10.0, help="learning rate"),
    "reg": Param("choice", "none", ("none", "l1", "l2"), help="weight penalty"),
    "reg_rate": Param("float", 0.0, low=0.0, high=10.0, help="penalty strength"),
    "init": Param("choice", "xavier", INITS, help="initial weights; playground: uniform in "
                  "[-0.5, 0.5] with biases 0.1, as the TensorFlow Playground (and S7)"),
    "batchnorm": Param("int", 0, low=0, high=1, help="batch normalisation before each "
                       "activation (1 = on)"),
    "dropout": Param("float", 0.0, low=0.0, high=0.9, help="probability of dropping a hidden "
                     "unit while training"),
    "discretize": Param("int", 0, low=0, high=1, help="page only: the output map in flat "
                        "colours (1 = on)"),
}


def defaults():
    """The default setup (a fresh dict)."""
    return {key: list(p.default) if p.kind == "list" else p.default for key, p in PARAMS.items()}


def limits():
    """Every parameter's limits, for the page."""
    return {key: p.limits() for key, p in PARAMS.items()}


def _allowed(p):
    if p.kind == "choice":
        return "one of " + ", ".join(p.choices)
    if p.kind == "list" and p.choices:
        return f"a comma list of {', '.join(p.choices)} (at least {p.least})"
    if p.kind == "list":
        return (f"a comma list of at most {p.most} widths, each {p.low:g}..{p.high:g} "
                "(empty for none)")
    kind = "a whole number" if p.kind == "int" else "a number"
    return f"{kind} from {p.low:g} to {p.high:g}"


def shown(value, most=60):
    """repr(value) cut to `most` characters: a message quotes what it refuses, never a
    megabyte of it."""
    text = repr(value)
    return text if len(text) <= most else text[:most - 3] + "..."


def _bad(key, value):
    p = PARAMS[key]
    return SetupError(key, f"{key}={shown(value)} is not allowed: {key} must be {_allowed(p)}")


def _number(key, value):
    """value as int or float within the limits, from text or a JSON number."""
    p = PARAMS[key]
    if isinstance(value, bool) and p.kind == "int" and p.high == 1:
        value = int(value)  # batchnorm: true / false from JSON
    if isinstance(value, bool) or isinstance(value, list | dict) or value is None:
        raise _bad(key, value)
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _bad(key, value) from None
    if not math.isfinite(number) or not p.low <= number <= p.high:
        raise _bad(key, value)
    if p.kind == "int":
        if number != int(number):
            raise _bad(key, value)
        return int(number)
    return number


def _items(key, value):
    """A list parameter from 'a,b' text or a JSON list."""
    p = PARAMS[key]
    if isinstance(value, str):
        parts = [v.strip() for v in value.split(",")] if value.strip() else []
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise _bad(key, value)
    if not p.least <= len(parts) <= p.most:
        raise _bad(key, value)
    if p.choices:
        if any(part not in p.choices for part in parts):
            raise _bad(key, value)
        return [c for c in p.choices if c in parts]  # canonical order, each once
    try:
        return [_width(key, part) for part in parts]
    except SetupError:
        raise _bad(key, value) from None


def _width(key, part):
    p = PARAMS[key]
    if isinstance(part, bool):
        raise _bad(key, part)
    try:
        number = float(part)
    except (TypeError, ValueError):
        raise _bad(key, part) from None
    if number != int(number) or not p.low <= number <= p.high:
        raise _bad(key, part)
    return int(number)


def check_value(key, value):
    """One parameter's value in its canonical type, or SetupError."""
    if key not in PARAMS:
        raise SetupError(key, f"unknown parameter {shown(key)}; the parameters are "
                         + ", ".join(PARAMS))
    p = PARAMS[key]
    if p.kind == "choice":
        if not isinstance(value, str) or value.strip() not in p.choices:
            raise _bad(key, value)
        return value.strip()
    if p.kind == "list":
        return _items(key, value)
    return _number(key, value)


def _check_together(setup):
    """Rules between parameters (each value is already valid on its own)."""
    if setup["classes"] > 2 and setup["dataset"] not in ("spiral", "custom"):
        raise SetupError("classes", f"classes={setup['classes']} needs dataset=spiral or "
                         f"custom (dataset={setup['dataset']} has 2 classes): use classes=2")
    if setup["batchnorm"] and setup["batch"] < 2:
        raise SetupError("batch", "batchnorm=1 needs batch of at least 2 (a batch of one "
                         "point has no variance): raise batch or set batchnorm=0")


def validate(changes, base=None):
    """`changes` (a dict, values as text or JSON) merged onto `base` (default: the defaults),
    checked: the whole setup in canonical order and types, or SetupError for the first bad
    parameter."""
    if not isinstance(changes, dict):
        raise SetupError(None, "a setup must be an object of parameter: value")
    setup = dict(base) if base is not None else defaults()
    for key, value in changes.items():
        setup[key] = check_value(key, value)
    if "classes" not in changes and setup["dataset"] not in ("spiral", "custom"):
        setup["classes"] = 2  # a change of dataset alone takes the classes along
    setup = {key: setup[key] for key in PARAMS}
    _check_together(setup)
    return setup


def to_query(setup):
    """The canonical query string of a valid setup: every parameter, in PARAMS order."""
    pairs = []
    for key, p in PARAMS.items():
        value = setup[key]
        if p.kind == "list":
            value = ",".join(map(str, value))
        elif p.kind == "float":
            value = repr(float(value))
        pairs.append((key, value))
    return urlencode(pairs, safe=",")


def from_query(query):
    """The setup of a URL query string ('?' optional); parameters it leaves out keep their
    defaults. SetupError for a bad or repeated parameter."""
    query = (query or "").lstrip("?")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query),
                          max_num_fields=4 * len(PARAMS))
    except ValueError:
        raise SetupError(None, f"cannot read the query {query[:80]!r}: write it as "
                         "key=value&key=value") from None
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise SetupError(key, f"{shown(key)} is given twice in the query; give it once")
        seen[key] = value
    return validate(seen)


def problem(setup):
    """'regression' for the regression sets, else 'classification' (custom data says its own:
    see the session)."""
    return "regression" if setup["dataset"] in REGRESSION_SETS else "classification"


def _preset(title, study, description, **changes):
    return {"title": title, "description": f"Sets up {study}. {description}",
            "setup": validate(changes)}


def presets():
    """The presets, each the setup of one S7 study's condition (its description says which)."""
    init = {"dataset": "circle", "hidden": "4,2", "activation": "relu", "lr": 0.03,
            "batch": 10, "points": 500}
    dying = {"dataset": "circle", "hidden": "8,8", "activation": "relu", "init": "playground",
             "lr": 1.0, "batch": 10, "points": 1000, "train_ratio": 90}
    xor = {"dataset": "xor", "activation": "relu", "init": "playground", "lr": 0.03}
    return {
        "zero-init": _preset(
            "Zero initialisation", "S7 playground-init (zero init, ReLU)",
            "Every weight starts at 0: with ReLU every hidden unit outputs 0 and gets no "
            "gradient, so only the output bias learns and the error stays at chance.",
            init="zeros", **init),
        "random-init": _preset(
            "Random initialisation", "S7 playground-init (random init, ReLU)",
            "The playground's random weights (uniform in [-0.5, 0.5], biases 0.1) break the "
            "symmetry: the net learns the circle to under 1% training error.",
            init="playground", **init),
        "dying-relu-sorted": _preset(
            "Dying ReLU: sorted", "S7 dying-relu (sorted order)",
            "Every negative point before any positive, the same order every epoch, at a high "
            "learning rate: long one-class runs of SGD steps push hidden units to zero on "
            "every point; watch the dead count per layer.",
            order="sorted", **dying),
        "dying-relu-shuffled": _preset(
            "Dying ReLU: shuffled", "S7 dying-relu (shuffled order)",
            "The same net and learning rate with a new shuffle every epoch: mixed minibatches, "
            "far fewer dead units.", order="shuffled", **dying),
        "or-no-hidden": _preset(
            "OR without a hidden layer", "S7 or-xor (OR, no hidden layer)",
            "OR is linearly separable: a net with no hidden layer (one straight boundary) "
            "learns it.", hidden="", **{**xor, "dataset": "or"}),
        "xor-no-hidden": _preset(
            "XOR without a hidden layer", "S7 or-xor (XOR, no hidden layer)",
            "No straight line separates XOR: with no hidden layer the net cannot learn it "
            "(the study proves it exactly).", hidden="", **xor),
        "xor-hidden": _preset(
            "XOR with a hidden layer", "S7 or-xor (XOR, one hidden layer of ReLU units)",
            "One hidden layer of ReLU units is enough for XOR: two layers, the fewest.",
            hidden="4", **xor),
    }
