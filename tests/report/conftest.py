"""Fixtures of the report tests: real run folders (a quick run made by the CLI, copies of
published results) and a small HTML tree to read the pages with (html.parser, no browser)."""

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from layerlab.analysis.verdict import VERDICTS
from layerlab.runfiles import write_json

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "docs" / "results"
VOID = {"img", "meta", "br", "hr", "input", "link", "source", "col", "wbr"}


class Node:
    """An element of a parsed page: tag, attributes, children (Nodes and strings)."""

    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def iter(self, tag=None):
        """This element and every element below it (of `tag` when given)."""
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter(tag)

    def text(self, skip=("style", "script")):
        """The text a reader sees under this element."""
        if self.tag in skip:
            return ""
        return "".join(c if isinstance(c, str) else c.text(skip) for c in self.children)

    def classes(self):
        return set(self.attrs.get("class", "").split())

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text) -> Node:
    """The tree of an HTML page."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def layerlab(*args, check=True):
    """Run the real CLI in a subprocess."""
    done = subprocess.run([sys.executable, "-m", "layerlab", *map(str, args)],
                          capture_output=True, text=True)
    if check and done.returncode:
        raise AssertionError(done.stderr)
    return done


@pytest.fixture(scope="session")
def quick_folder(tmp_path_factory):
    """A real quick run of quickstart, made by `layerlab run`."""
    out = tmp_path_factory.mktemp("quick") / "run"
    layerlab("run", "quickstart", "--quick", "--out", out)
    return out


@pytest.fixture(scope="session")
def published_copy(tmp_path_factory):
    """published_copy(name): a copy of docs/results/NAME with its report rebuilt by
    `layerlab report` (skips when that result is not published)."""
    made = {}

    def copy(name):
        if name not in made:
            source = PUBLISHED / name
            if not (source / "results.json").exists():
                pytest.skip(f"docs/results/{name} is not published")
            dest = tmp_path_factory.mktemp("published") / name
            shutil.copytree(source, dest)
            layerlab("report", dest)
            made[name] = dest
        return made[name]

    return copy


def claim(name, verdict, value=0.5, low=0.4, high=0.6, reference=0.45, **extra):
    """A stored claim as Run.judge writes it."""
    return {"name": name, "kind": "figure", "ours": value,
            "estimate": {"value": value, "low": low, "high": high, "how": "seeds", "n": 3,
                         "level": 0.95},
            "reference": reference, "unit": "", "source": extra.pop("source", "study A"),
            "note": "", "key": False, "verdict": verdict,
            "reason": extra.pop("reason", f"the reason for {verdict}"), **extra}


@pytest.fixture
def made_folder(tmp_path):
    """A run folder written by hand with what the renderer must handle: a claim of every
    verdict, a long table, None and lists of None, integers stored as floats, a note of log
    lines, a nested config."""
    folder = tmp_path / "made"
    (folder / "plots").mkdir(parents=True)
    claims = {f"figure {v}": claim(f"figure {v}", v) for v in VERDICTS}
    claims["figure reproduced"]["reason"] = ("inside the interval; " + "a long reason " * 20)
    write_json(folder / "config.json", {
        "experiment": "made", "study": "S0", "title": "made: a folder written by hand",
        "run_id": "made-1", "created": "2026-12-07 10:00:00", "quick": False,
        "config": {"seed": 7, "hidden_dims": [100, 50], "schedule": {"kind": "one-cycle",
                                                                     "peak": 0.003}}})
    write_json(folder / "status.json", {"state": "finished", "wall_time": 12.5})
    write_json(folder / "env.json", {"python": "3.11", "platform": "Linux", "cpu_count": 2,
                                     "packages": {"numpy": "2"}, "source_revision": "abc"})
    write_json(folder / "results.json", {
        "claims": claims,
        "tables": {
            "long": {"title": "A long table", "header": ["epoch", "val acc", "loss", "lr"],
                     "rows": [[float(e), 0.5 + e / 100, 2.0 / (e + 1), 10.0 ** -e]
                              for e in range(13)], "note": ""},
            "short": {"title": "A short table", "header": ["seed", "first epoch", "count"],
                      "rows": [[0, None, 24.0], [1, [None, None], 3.0],
                               [2, "None, None, None", 1000.0]],
                      "note": "Read `first epoch` as:\n\n- none: never\n- a number"}},
        "plots": {}, "datasets": {"d:train": {"description": "train/<class>/ images"}},
        "notes": {"Log lines": "Epoch 1/2, Loss: 2.1\nEpoch 2/2, Loss: 1.2\nEpoch 3/2, x"}})
    return folder
