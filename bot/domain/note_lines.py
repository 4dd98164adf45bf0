"""A note's lines and the role each has been given, and parse_note's first passes over them: ``# Links``
sections and wiki links, tag lines, and ``<english>`` blocks (passes 1-3 in ``bot.domain.parse_note``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.models import ParseIssue, Severity
from bot.domain.parse_digest import join_paragraphs
from bot.domain.tags import find_tags, is_tag_line, tag_key

_LINKS_HEADING = re.compile(r"#{1,6}\s*links\s*:?", re.IGNORECASE)
_WIKI = re.compile(r"\[\[([^\[\]|]+)(?:\|[^\[\]]*)?\]\]")
_WIKI_ONLY = re.compile(r"\s*(?:\[\[[^\[\]]*\]\]\s*)+")
_EN_OPEN = re.compile(r"<\s*en[gl][a-z]{3,5}\s*>", re.IGNORECASE)
_EN_CLOSE = re.compile(r"<\s*/\s*en[gl][a-z]{3,5}\s*>", re.IGNORECASE)


@dataclass
class Note:
    lines: list[str]
    path: str
    role: list[str] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    english: list[str] = field(default_factory=list)
    english_at: list[int] = field(default_factory=list)  # the line each English block starts on
    extra: dict[int, str] = field(default_factory=dict)  # commentary that replaces a line's text

    def warn(self, line: int | None, name: str, message: str) -> None:
        issue = ParseIssue(path=self.path, line=line, field=name, message=message, severity=Severity.WARNING)
        self.issues.append(issue)

    def free(self, limit: int | None = None, after: int = -1) -> list[int]:
        """Indexes (past ``after``) of the first ``limit`` non-blank lines no pass has claimed yet."""
        found: list[int] = []
        for i in range(after + 1, len(self.lines)):
            if not self.role[i] and self.lines[i].strip():
                found.append(i)
                if len(found) == limit:
                    break
        return found


def mark_links(note: Note) -> None:
    in_section = False
    for i, line in enumerate(note.lines):
        if line.lstrip().startswith("#") and _LINKS_HEADING.fullmatch(line.strip()):
            note.role[i], in_section = "links", True
            continue
        for target in _WIKI.findall(line) if "[[" in line else ():
            name = target.strip().removesuffix(".md").strip()
            if name and name not in note.links:
                note.links.append(name)
        if ("[[" in line and _WIKI_ONLY.fullmatch(line)) or (in_section and not line.strip()):
            note.role[i] = "links"
        else:
            in_section = False


def _tag_line_with_stray(line: str) -> str:
    """For a tag line with one stray short word typed after it (``#moe #llm F``), that word, else ''."""
    tokens = line.split()
    if len(tokens) < 2 or len(tokens[-1]) > 2 or tokens[-1].startswith("#"):
        return ""
    return tokens[-1] if is_tag_line(" ".join(tokens[:-1])) else ""


def mark_tags(note: Note) -> None:
    keys: set[str] = set()
    for i, line in enumerate(note.lines):
        if note.role[i] or not line.lstrip().startswith("#"):
            continue
        stray = None if is_tag_line(line) else _tag_line_with_stray(line)
        if stray:
            note.warn(i + 1, "tags", f"ignored '{stray}' after the tags; a tag line should hold only #tags")
        elif stray is not None:
            continue
        note.role[i] = "tags"
        for tag in find_tags(line):
            key = tag_key(tag)
            if key not in keys:
                keys.add(key)
                note.tags.append(tag)


def mark_english(note: Note) -> None:
    i, n = 0, len(note.lines)
    while i < n:
        line = note.lines[i]
        opened = _EN_OPEN.search(line) if "<" in line and not note.role[i] else None
        if opened is None:
            if "<" in line and _EN_CLOSE.fullmatch(line.strip()):
                note.role[i] = "english"  # a stray closing tag
            i += 1
            continue
        start, body = i, [line[opened.end() :]]
        note.role[i] = "english"
        if line[: opened.start()].strip():
            note.extra[i] = line[: opened.start()].rstrip()
        closed = _EN_CLOSE.search(body[0])
        i += 1
        # A block left open ends at the tags or the links section.
        while closed is None and i < n and not (is_tag_line(note.lines[i]) or note.role[i] == "links"):
            if _EN_OPEN.fullmatch(note.lines[i].strip()):  # a second opening tag used as the closing one
                note.role[i] = "english"
                i += 1
                break
            body.append(note.lines[i])
            note.role[i] = "english"
            closed = _EN_CLOSE.search(note.lines[i])
            i += 1
        else:
            if closed is None:
                note.warn(start + 1, "commentary_en", "<english> block is not closed; add </english>")
        note.english.append(join_paragraphs(_EN_CLOSE.sub("", "\n".join(body), count=1).split("\n")))
        note.english_at.append(start)
