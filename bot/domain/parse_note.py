"""Parser for one-paper Markdown notes (``YYMMDD Title.md``) in all the formats the vault has used.

A note is read in passes over its lines. Each line gets one role; whatever is left is commentary.

1. ``# Links`` sections and lines that are only ``[[wiki links]]`` -> Entry.links (inline ``[[x]]`` in
   a sentence stays in the commentary and is also added to links).
2. ``<english>`` ... ``</english>`` blocks -> commentary_en. A misspelt opening tag (``<enligsh>``) is
   accepted; a block left open ends at the next tag line, ``# Links`` or a second opening tag.
3. Tag lines (only ``#tokens``) -> tags, wherever they are. A tag line with one stray short word
   (``#moe #llm F``) still counts, with a warning.
4. The main URL: the first line among the first three that starts with a URL (``https://arxiv.org/abs/ID``,
   ``arxiv.org/abs/ID``, ``[url](redirect)``); text after the URL on that line is commentary. Failing
   that, an old-style ``Title URL`` / ``Title (URL) rest`` line gives both title and URL.
5. The title, near the top: ``*Title* (Authors)``, ``Title (Authors)`` (either may wrap onto a second
   line), ``*Title*``, ``## [Title](url)``, or a lone non-Korean line right after the URL line.
   Without one, the file name minus its ``YYMMDD`` prefix and `` 1`` duplicate suffix, with a warning.
6. The abstract: a ``>`` blockquote right after the title (or the URL when there is no title).
   arXiv listing stubs (``| 2005.07310``) are dropped; tags typed at the end of a line are taken.
7. Commentary that is N Korean paragraphs then N English ones: the English half is the translation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

from bot.domain.arxiv import arxiv_url, parse_arxiv_id
from bot.domain.models import Entry, ParsedFile, ParseIssue
from bot.domain.note_lines import Note, mark_english, mark_links, mark_tags
from bot.domain.note_meta import commentary_parts, mark_meta, split_leading_urls
from bot.domain.parse_digest import (
    has_hangul,
    join_paragraphs,
    split_authors,
    split_title_authors,
    split_translation,
)
from bot.domain.tags import find_tags, tag_key

_URL = re.compile(r"https?://[^\s<>()\[\]]+|(?<![\w./])arxiv\.org/[^\s<>()\[\]]+", re.IGNORECASE)
# One stray character before the URL is tolerated: "[https://..](..)", "<https://..>", a typo "zhttps://".
_URL_LEAD = re.compile(r"\s*(?P<token>\S?(?:https?://|arxiv\.org/)\S*)(?:\s+(?P<rest>.*))?", re.IGNORECASE)
_TITLE_URL = re.compile(r"\s*(?P<title>[^()]*?)\s*\(?\s*(?P<url>https?://\S+?)\s*\)?(?:\s+(?P<rest>.*))?")
_HEADING_LINK = re.compile(r"\s*#{1,6}\s+\[(?P<title>[^\]]+)\]\((?P<url>[^)\s]+)\)\s*")
_LISTING_STUB = re.compile(r"\s*\|\s*(?:.*\s-\s*)?(?:\d{4}\.\d{4,5})(?:v\d+)?\s*")
_SPACES = re.compile(r"\s+")
_QUOTE_MARK = re.compile(r"^\s*>\s?")
_DATE_PREFIX = re.compile(r"^\d{6}(?:\s+|$)")
_DUPLICATE_SUFFIX = re.compile(r"\s+1$")
_SENTENCE_END = (".", "다", "요", ":", ";", "!")
_HEADER_WINDOW = 4


def _first_url(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(0).rstrip(".,;:!?'\"") if match else None


@dataclass
class _Header:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    url: str | None = None
    arxiv_id: str | None = None
    title_line: int | None = None
    after: int = -1  # index after which the abstract may start


def _find_url(note: Note, header: _Header) -> None:
    window = note.free(3)
    for i in window:
        heading = _HEADING_LINK.fullmatch(note.lines[i])
        if heading is not None:
            header.arxiv_id = parse_arxiv_id(heading.group("url"))
            header.url = arxiv_url(header.arxiv_id) if header.arxiv_id else heading.group("url")
            nxt = note.lines[i + 1] if i + 1 < len(note.lines) else ""
            authors = split_title_authors("x " + nxt.strip()) if nxt.lstrip().startswith("(") else None
            _set_title(note, header, [i, i + 1] if authors else [i], heading.group("title"), None)
            header.authors = split_authors(authors[1]) if authors else []
            return
    for i in window:
        match = _URL_LEAD.fullmatch(note.lines[i])
        if match is None:
            continue
        token = match.group("token")
        header.arxiv_id = parse_arxiv_id(token)
        header.url = arxiv_url(header.arxiv_id) if header.arxiv_id else _first_url(token)
        note.role[i] = "url"
        header.after = i
        rest = (match.group("rest") or "").strip()
        if rest:
            note.extra[i] = rest
        _warn_several_papers(note, i, header.arxiv_id)
        return
    for i in window:
        old = _TITLE_URL.fullmatch(note.lines[i])
        if old is None or not old.group("title") or has_hangul(old.group("title")):
            continue
        rest = (old.group("rest") or "").strip()
        if rest and len(old.group("title").split()) < 3:
            continue  # "BYOL(https://...)이 ..." is a sentence, not a title line
        header.title, header.title_line, header.after = old.group("title").strip(" *"), i, i
        header.arxiv_id = parse_arxiv_id(old.group("url"))
        header.url = arxiv_url(header.arxiv_id) if header.arxiv_id else _first_url(old.group("url"))
        note.role[i] = "title"
        if rest:
            note.extra[i] = rest
        _warn_several_papers(note, i, header.arxiv_id)
        return


def _warn_several_papers(note: Note, i: int, first_id: str | None) -> None:
    """A list of arXiv links straight under the URL line means the note covers several papers."""
    others: list[str] = []
    for line in note.lines[i + 1 :]:
        listed = _URL_LEAD.fullmatch(line) or (_TITLE_URL.fullmatch(line) and not has_hangul(line))
        other = parse_arxiv_id(line) if listed else None
        if other is None:
            break
        if other != first_id and other not in others:
            others.append(other)
    if first_id and others:
        stored = f"it is stored under the first ({first_id}). Write one note per paper"
        note.warn(i + 1, "url", f"the note links {len(others) + 1} papers; {stored}")


def _set_title(note: Note, header: _Header, lines: list[int], title: str, authors: str | None) -> None:
    header.title = _SPACES.sub(" ", title.strip(" *")).strip()
    header.authors = split_authors(authors) if authors else []
    header.title_line = lines[0]
    header.after = max(header.after, lines[-1])
    for i in lines:
        note.role[i] = "title"


def _find_title(note: Note, header: _Header) -> None:
    lines = note.lines
    window: list[int] = []
    for i in note.free(_HEADER_WINDOW):
        if lines[i].lstrip().startswith(">"):
            break
        window.append(i)
        if has_hangul(lines[i]) and sum(has_hangul(lines[j]) for j in window) > 1:
            break
    for pos, i in enumerate(window):
        line, nxt = lines[i], (lines[i + 1] if i + 1 < len(lines) and not note.role[i + 1] else "")
        star = _star_title(line)
        if star is None and line.lstrip().startswith("*") and nxt.strip():
            star = _star_title(f"{line.rstrip()} {nxt.strip()}")
            if star:
                _set_title(note, header, [i, i + 1], *star)
                return
        if star:
            _set_title(note, header, [i], *star)
            return
        if nxt.strip() and line.count("(") > line.count(")"):  # the author list goes on below
            joined = split_title_authors(f"{line.rstrip()} {nxt.strip()}")
            if joined:
                _set_title(note, header, [i, i + 1], *joined)
                return
        plain = split_title_authors(line)
        if plain:
            _set_title(note, header, [i], *plain)
            return
        if nxt.strip() and not has_hangul(line) and "://" not in line:
            wrapped = split_title_authors(f"{line.rstrip()} {nxt.strip()}")
            if wrapped:
                _set_title(note, header, [i, i + 1], *wrapped)
                return
        if pos == 0 and _lone_title(line, header, i):
            _set_title(note, header, [i], line, None)
            return


def _star_title(line: str) -> tuple[str, str | None] | None:
    """``*Title*``, ``*Title* (Authors)`` or a cut-off ``*Title* (Authors, ...``: (title, authors)."""
    text = line.strip()
    if len(text) < 3 or text[0] != "*" or text[1] == "*":
        return None
    paren = text.find("(")
    for close in (text.find("*", 1), text.rfind("*", 0, paren if paren > 0 else len(text))):
        rest = text[close + 1 :].strip()
        if close <= 1 or not (rest == "" or rest.startswith("(")):
            continue
        authors = rest[1:-1] if rest.endswith(")") else rest[1:]
        return text[1:close], (authors if rest else None)
    return None


def _lone_title(line: str, header: _Header, i: int) -> bool:
    """A short non-Korean line with no URL directly under the URL line reads as a bare title."""
    text = line.strip()
    return (
        header.url is not None
        and header.after < i
        and not has_hangul(text)
        and "://" not in text
        and not text.startswith((">", "-", "|", "(", "[", "!", "1."))
        and len(text) <= 200
        and not text.endswith(_SENTENCE_END)
    )


def _find_abstract(note: Note, header: _Header) -> str:
    start = next(iter(note.free(1, header.after)), None)
    if start is None or not note.lines[start].lstrip().startswith(">"):
        return ""
    body: list[str] = []
    i = start
    while i < len(note.lines) and not note.role[i]:
        line = note.lines[i]
        if line.lstrip().startswith(">"):
            body.append(_QUOTE_MARK.sub("", line))
        elif line.strip() and not has_hangul(line):
            body.append(line)  # a lazy continuation line of the quote
        else:
            break
        note.role[i] = "abstract"
        i += 1
    return join_paragraphs(body)


def _take_trailing_tags(note: Note) -> None:
    """Older notes end the commentary with tags on the same line: ``... 흥미로움. #quantization #gan``."""
    for i in note.free():
        line = note.extra.get(i, note.lines[i]).rstrip()
        tokens = line.split()
        count = 0
        while count < len(tokens) and tokens[-1 - count].startswith("#"):
            count += 1
        found = find_tags(" ".join(tokens[-count:])) if 0 < count < len(tokens) else []
        if not found:
            continue
        cut = len(line)
        for token in reversed(tokens[-count:]):
            cut = line.rfind(token, 0, cut)
        note.extra[i] = line[:cut].rstrip()
        keys = {tag_key(t) for t in note.tags}
        note.tags.extend(t for t in found if tag_key(t) not in keys)


def _fallback_title(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return _DUPLICATE_SUFFIX.sub("", _DATE_PREFIX.sub("", stem)).strip() or stem


def parse_note(text: str, path: str, note_date: dt.date | None) -> ParsedFile:
    """Parse one Markdown note into exactly one Entry (or an error), with warnings for gaps."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    note = Note(lines=lines, path=path, role=[""] * len(lines))
    if not text.strip():
        error = ParseIssue(path=path, line=1, message="file is empty")
        return ParsedFile(path=path, kind="note", issues=[error])
    meta = mark_meta(lines, note.role, lambda line, name, message: note.warn(line, name, message))
    # Whole-text checks skip the passes most notes do not need.
    if "[[" in text or "links" in text.lower():
        mark_links(note)
    if "<" in text:
        mark_english(note)
    if "#" in text:
        mark_tags(note)
    for i, line in enumerate(lines) if "|" in text else ():
        if line.startswith("|") and not note.role[i] and _LISTING_STUB.fullmatch(line):
            note.role[i] = "stub"
    header = _Header()
    _find_url(note, header)
    if header.title is None:
        _find_title(note, header)
    abstract = _find_abstract(note, header)
    if not note.tags:
        _take_trailing_tags(note)
    commentary = join_paragraphs([note.extra.get(i, "" if note.role[i] else s) for i, s in enumerate(lines)])
    commentary, urls = split_leading_urls(commentary)  # a project page above the words is a link
    note.links.extend(url for url in urls if url not in note.links)
    commentary_en = "\n\n".join(block for block in note.english if block)
    if not commentary_en:
        commentary, commentary_en = split_translation(commentary)
    if header.url is None and header.title is None and not note.tags:
        message = "not a paper note: no URL, title line or #tags; start it with the paper's URL"
        error = ParseIssue(path=path, line=1, field="url", message=f"{message}, end it with #tags")
        return ParsedFile(path=path, kind="note", issues=[*note.issues, error])
    title = header.title
    if not title:
        title = _fallback_title(path)
        note.warn(1, "title", f"no title line found; using the file name '{title}'")
    if not note.tags:
        note.warn(None, "tags", "note has no #tags; add a line like '#llm #pretraining'")
    entry = Entry(
        title=title,
        authors=header.authors,
        arxiv_id=header.arxiv_id,
        url=header.url,
        abstract=abstract,
        commentary=commentary,
        commentary_en=commentary_en,
        links=note.links,
        tags=note.tags,
        note_date=note_date,
        line=(header.title_line + 1) if header.title_line is not None else 1,
        parts=commentary_parts(
            meta, lines, note.role, note.extra, list(zip(note.english_at, note.english, strict=True))
        ),
        entry_dates=meta.entry_dates,
    )
    return ParsedFile(path=path, kind="note", entries=[entry], issues=note.issues)
