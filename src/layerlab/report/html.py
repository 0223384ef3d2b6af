"""report.html: report.md rendered by Python-Markdown, with a table of contents, verdict colours
and the plots embedded, as one self-contained page.

Nothing is written twice: the page is the Markdown's HTML plus
- `<nav id="toc">` (the toc extension's list of the h2 sections) where report.md has
  `<!-- contents -->`;
- the class `verdict v-SLUG` on each cell of a table's "verdict" column and on each bold
  verdict ('**9 reproduced**', '**met**');
- plots referenced relative to the report's folder embedded as data URIs.
"""

from __future__ import annotations

import base64
import html as _html
import re
from pathlib import Path

import markdown as _markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from layerlab.analysis.verdict import VERDICTS
from layerlab.report.headline import OLDER_VERDICTS, slug
from layerlab.report.markdown import CONTENTS

KNOWN = set(VERDICTS) | set(OLDER_VERDICTS)
_COUNTED = re.compile(r"^(?:\d[\d,]* )?(.+)$")

GREEN = ("reproduced", "met", "holds", "equivalent")
BLUE = ("beaten",)
# 'above' is the worse side of a lower-is-better quantity (analysis.verdict), as 'below' is
# of a higher-is-better one: both red.
RED = ("not-met", "below", "above", "not-shown", "not-reproduced")
GREY = ("measured", "not-judged")
AMBER = ("within-noise",)


def _verdict_css():
    rules = []
    for names, fg, bg in ((GREEN, "#17692c", "#e2f3e6"), (BLUE, "#0b57c2", "#e2edfd"),
                          (RED, "#a8202f", "#fbe3e5"), (GREY, "#555", "#ececec"),
                          (AMBER, "#8a5300", "#fff1c7")):
        selector = ",".join(f".v-{n}" for n in names)
        rules.append(f"{selector}{{color:{fg}}}")
        rules.append(",".join(f"td.v-{n}" for n in names) + f"{{background:{bg}}}")
    return "\n".join(rules)


STYLE = """body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;
margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin:.2em 0 .4em}h2{font-size:1.25em;margin:1.6em 0 .5em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
.headline{border:1px solid #c9d3e0;background:#f6f9fc;border-radius:6px;padding:.4em 1em;
margin:.6em 0 1em;font-size:1.05em}.headline ul{margin:.3em 0;padding-left:1.2em}
nav#toc{font-size:.9em;margin:.5em 0 1em}nav#toc ul{list-style:none;padding:0;margin:0;
display:flex;flex-wrap:wrap;gap:.2em 1.2em}
table{border-collapse:collapse;margin:.5em 0 1em;display:block;overflow-x:auto;max-width:100%}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.9em;
vertical-align:top}th{background:#f3f3f3}
td.verdict{font-weight:600;white-space:nowrap}strong.verdict{font-weight:700}
img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}pre code{padding:0;background:none}
details{margin:.3em 0}summary{cursor:pointer;color:#0b57c2}
td details summary{color:inherit;text-decoration:underline dotted}
blockquote{background:#fff3cd;margin:.5em 0;padding:.4em 1em;border-left:4px solid #e0a800}
"""


class _Finish(Treeprocessor):
    """Verdict classes and embedded plots (see the module docstring)."""

    def __init__(self, md, base_dir):
        super().__init__(md)
        self.base_dir = base_dir

    def run(self, root):
        for table in root.iter("table"):
            heads = ["".join(th.itertext()).strip().lower() for th in table.iter("th")]
            if "verdict" not in heads:
                continue
            column = heads.index("verdict")
            for row in table.iter("tr"):
                cells = row.findall("td")
                if len(cells) > column:
                    self._mark(cells[column], "".join(cells[column].itertext()).strip())
        for strong in root.iter("strong"):
            self._mark(strong, _COUNTED.match("".join(strong.itertext()).strip()).group(1))
        for img in root.iter("img"):
            self._embed(img)

    @staticmethod
    def _mark(element, verdict):
        if verdict.lower() in KNOWN:
            element.set("class", f"verdict v-{slug(verdict)}")

    def _embed(self, img):
        src = img.get("src", "")
        if self.base_dir is None or ":" in src or src.startswith("/"):
            return
        png = Path(self.base_dir) / src
        if png.is_file():
            img.set("src", "data:image/png;base64,"
                    + base64.b64encode(png.read_bytes()).decode())


class _FinishExtension(Extension):
    def __init__(self, base_dir):
        super().__init__()
        self.base_dir = base_dir

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.treeprocessors.register(_Finish(md, self.base_dir), "layerlab-finish", 4)


def page(text, title, base_dir=None) -> str:
    """One HTML page of Markdown `text`: contents where the text has CONTENTS, verdicts
    coloured, images under base_dir embedded (left as links when base_dir is None)."""
    md = _markdown.Markdown(
        extensions=["tables", "fenced_code", "toc", "attr_list", "md_in_html",
                    _FinishExtension(base_dir)],
        extension_configs={"toc": {"toc_depth": "2-2"}})
    body = md.convert(text)
    nav = f'<nav id="toc"><strong>Contents</strong>{md.toc}</nav>' if md.toc_tokens else ""
    body = body.replace(CONTENTS, nav)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_html.escape(title)}</title><style>{STYLE}{_verdict_css()}</style>"
            f"</head><body>\n{body}\n</body></html>\n")
