"""Tag normalisation: one key for matching, a display form for people."""

from __future__ import annotations

import re
import unicodedata

_TAG_IN_TEXT = re.compile(r"(?<![\w#&/])#([^\s#,;()\[\]{}<>\"'`]+)")
_TRAILING_PUNCT = ".,;:!?)]}>…"
_DASH_RUNS = re.compile(r"-{2,}")


def tag_key(raw: str) -> str:
    """Normalised matching key: no leading '#', casefolded, '_' and spaces as '-'."""
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("#").strip()
    text = text.casefold().replace("_", "-").replace(" ", "-")
    text = _DASH_RUNS.sub("-", text).strip("-")
    return text


def tag_display(raw: str) -> str:
    """Display form: the curator's spelling without the '#', trailing punctuation removed."""
    return unicodedata.normalize("NFKC", raw).strip().lstrip("#").rstrip(_TRAILING_PUNCT).strip()


def find_tags(line: str) -> list[str]:
    """Tags written as ``#tag`` in a line, in order, display form, without duplicates by key."""
    seen: set[str] = set()
    found: list[str] = []
    for match in _TAG_IN_TEXT.finditer(line):
        display = tag_display(match.group(1))
        key = tag_key(display)
        if not key or key in seen or key.isdigit():
            continue
        seen.add(key)
        found.append(display)
    return found


def is_tag_line(line: str) -> bool:
    """True when a line consists only of ``#tag`` tokens (a Markdown heading like '# Links' is not)."""
    tokens = line.split()
    if not tokens:
        return False
    return all(tok.startswith("#") and len(tok) > 1 and tok[1] != "#" for tok in tokens)
