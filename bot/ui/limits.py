"""Discord's size limits and text splitting that never cuts a word in half."""

from __future__ import annotations

MESSAGE = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
EMBEDS_PER_MESSAGE = 10
CHOICE_NAME = 100
CHOICES = 25
SELECT_LABEL = 100
MODAL_TEXT = 4000

ELLIPSIS = "…"


def truncate(text: str, limit: int, *, more: str = "") -> str:
    """``text`` cut to ``limit`` characters on a word boundary, ending with ``…`` and ``more``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS) - len(more)
    if room <= 0:
        return text[:limit]
    cut = text[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > room // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS + more


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, split at paragraph, line, sentence or word boundaries."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", "다. ", " "):
            pos = window.rfind(sep)
            if pos > limit // 3:
                cut = pos + len(sep)
                break
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def shorten_authors(authors: list[str], *, keep: int = 3) -> str:
    """``A, B, C et al. (12 authors)`` style author line."""
    if len(authors) <= keep + 1:
        return ", ".join(authors)
    return f"{', '.join(authors[:keep])} et al. ({len(authors)} authors)"
