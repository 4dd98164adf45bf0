"""What a note says about its commentaries beyond their text, and how commentary text is compared.

An exported note keeps every commentary of its paper, with its author and dates, and the paper's
digest dates, in HTML comments (Obsidian does not show them)::

    <!-- paperbot:entries 2024-07-11 2024-07-15 -->
    <!-- paperbot:commentary author="curator" created="2024-07-11T00:00:00+00:00" updated="..." -->
    first commentary paragraphs
    <english>
    its English version
    </english>
    <!-- paperbot:commentary author="Jane" author_id="42" created="..." updated="..." -->
    the next one

Without such lines a note is one curator commentary dated by the note, as before.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.models import CommentaryPart
from bot.domain.parse_digest import is_url_only, join_paragraphs

_META = re.compile(r"\s*<!--\s*paperbot:(?P<kind>commentary|entries)\b(?P<attrs>.*?)-->\s*")
_ATTR = re.compile(r'(?P<name>[a-z_]+)="(?P<value>[^"]*)"')
_SPACES = re.compile(r"\s+")


def commentary_key(text: str) -> str:
    """Commentary compared as a reader sees it: NFC, leading URL-only lines dropped, whitespace collapsed."""
    body, _ = split_leading_urls(text)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", body)).strip()


def split_leading_urls(text: str) -> tuple[str, list[str]]:
    """(commentary without the URL-only lines it opens with, those URLs): a project page pasted on
    its own line above the curator's words is a link of the paper, not part of what they wrote."""
    lines = text.strip().split("\n")
    urls: list[str] = []
    while lines and (not lines[0].strip() or is_url_only(lines[0])):
        line = lines.pop(0).strip().strip("<>")
        if line and line not in urls:
            urls.append(line)
    return "\n".join(lines).strip(), urls


def day_stamp(day: dt.date) -> str:
    """A commentary date from a note's date: midnight UTC of that day."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).isoformat(timespec="seconds")


def render_entries(days: list[dt.date]) -> str:
    return "<!-- paperbot:entries " + " ".join(d.isoformat() for d in days) + " -->"


def render_commentary(author: str, author_id: int | None, created: str, updated: str) -> str:
    attrs = [f'author="{html.escape(author, quote=True)}"']
    if author_id is not None:
        attrs.append(f'author_id="{author_id}"')
    attrs += [f'created="{created}"', f'updated="{updated}"']
    return "<!-- paperbot:commentary " + " ".join(attrs) + " -->"


@dataclass
class NoteMeta:
    """The marker lines of one note: where each commentary starts, and the listed digest dates."""

    starts: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line index, attributes)
    entry_dates: list[dt.date] | None = None


def mark_meta(lines: list[str], role: list[str], warn: Callable[[int, str, str], None]) -> NoteMeta:
    """Claim the marker lines (role ``meta``) and read them; a malformed one is a warning, not data."""
    meta = NoteMeta()
    for i, line in enumerate(lines):
        if "paperbot:" not in line:
            continue
        match = _META.fullmatch(line)
        if match is None:
            continue
        role[i] = "meta"
        attrs = {m["name"]: html.unescape(m["value"]) for m in _ATTR.finditer(match["attrs"])}
        if match["kind"] == "entries":
            try:
                meta.entry_dates = sorted({dt.date.fromisoformat(p) for p in match["attrs"].split()})
            except ValueError:
                warn(i + 1, "entries", "paperbot:entries line has a date that is not YYYY-MM-DD; ignored")
            continue
        try:
            for name in ("created", "updated"):
                if name in attrs:
                    dt.datetime.fromisoformat(attrs[name])
            if "author_id" in attrs:
                int(attrs["author_id"])
        except ValueError:
            warn(i + 1, "commentary", "paperbot:commentary line has a bad date or author_id; ignored")
            role[i] = "meta"
            continue
        meta.starts.append((i, attrs))
    return meta


def commentary_parts(
    meta: NoteMeta,
    lines: list[str],
    role: list[str],
    extra: dict[int, str],
    english: list[tuple[int, str]],
) -> list[CommentaryPart]:
    """One part per commentary marker: the free lines and ``<english>`` blocks up to the next marker."""
    if not meta.starts:
        return []
    bounds = [i for i, _ in meta.starts] + [len(lines)]
    parts: list[CommentaryPart] = []
    for (start, attrs), end in zip(meta.starts, bounds[1:], strict=True):
        body = join_paragraphs([extra.get(i, "" if role[i] else lines[i]) for i in range(start + 1, end)])
        body_en = "\n\n".join(text for at, text in english if start < at < end and text)
        parts.append(
            CommentaryPart(
                body=body,
                body_en=body_en,
                author=attrs.get("author") or "curator",
                author_id=int(attrs["author_id"]) if "author_id" in attrs else None,
                created_at=attrs.get("created"),
                updated_at=attrs.get("updated"),
            )
        )
    return parts
