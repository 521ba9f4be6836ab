"""Catalog Markdown (``aboutText``, ``usageText``) to HTML that cannot carry a script.

markdown-it-py in CommonMark mode with raw HTML off: ``<script>`` and every other tag in the
text come out escaped, as text; link and image URLs with ``javascript:``, ``vbscript:``,
``file:`` or non-image ``data:`` schemes are dropped by its link validator. The gallery's
Content-Security-Policy (no inline scripts, nothing from other origins) is the second wall.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"])


def render(text: str | None) -> Markup:
    """``text`` as safe HTML (empty for no text)."""
    if not text:
        return Markup("")
    return Markup(_parser().render(text))
