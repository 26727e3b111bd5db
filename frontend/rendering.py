"""Markdown to HTML with an allow-list of tags; any other HTML in the source is shown as text, never run."""

from __future__ import annotations

import bleach
import markdown as md
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}


def markdown_safe(text: str) -> SafeString:
    html = md.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    cleaned = bleach.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=False
    )
    cleaned = bleach.linkify(cleaned, callbacks=[bleach.callbacks.nofollow])
    return mark_safe(cleaned)
