"""Helpers of the report tests: real CLI runs and a small HTML tree to read the pages with
(html.parser, no browser)."""

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

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


def claim(name, verdict, value=0.5, low=0.4, high=0.6, reference=0.45, **extra):
    """A stored claim as Run.judge writes it."""
    return {"name": name, "kind": "figure", "ours": value,
            "estimate": {"value": value, "low": low, "high": high, "how": "seeds", "n": 3,
                         "level": 0.95},
            "reference": reference, "unit": "", "source": extra.pop("source", "study A"),
            "note": "", "key": False, "verdict": verdict,
            "reason": extra.pop("reason", f"the reason for {verdict}"), **extra}
