"""Plain text written into Markdown: what must be escaped so it reads as written."""

from __future__ import annotations

import re

# A '*' with a non-space on either side can open or close emphasis ('N*H*W'); ' * ' cannot.
_STAR = re.compile(r"\*(?=\S)|(?<=\S)\*")
# A '<' that would open an HTML tag ('train/<class>/' is a path, not a tag).
_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def inline(text) -> str:
    """Plain text made safe inside Markdown and a table cell: pipes and emphasis stars
    escaped, '<' that would open a tag written as '&lt;', line breaks as spaces. Backticks
    are kept: a study writes `code` on purpose."""
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return _TAG.sub("&lt;", _STAR.sub(r"\\*", text))
