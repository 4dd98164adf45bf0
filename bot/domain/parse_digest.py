"""Parser for pasted daily digests (.txt).

Format: a date line, then entries with no blank lines between them. Each entry is

    Title
    (Author One, Author Two)
    Abstract, one or more lines (English).
    Commentary, one or more lines (usually Korean); URLs may sit on their own lines.
    #tag #other-tag

The tag line ends an entry. Abstract versus commentary: after the authors line, lines are abstract
until the first line containing Hangul; when the body has no Hangul at all, the first line is the
abstract and the rest is commentary. A URL split onto its own line between a line ending in ``(``
and a line starting with ``)`` is joined back into one line.

The text helpers here (Hangul detection, author lists, paragraphs, translations) are shared with
the Markdown note parser.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.domain.models import Entry, ParsedFile, ParseIssue, Severity
from bot.domain.tags import find_tags, is_tag_line, tag_key

_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_URL_ONLY = re.compile(r"\s*<?(?:https?://|www\.)\S+?>?\s*")
_AUTHORS_LINE = re.compile(r"\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*")
_AUTHOR_JOINERS = re.compile(r"\s+(?:and|&)\s+")
_ET_AL = re.compile(r"(?:,?\s*(?:et\s+al\.?|and\s+others|\.\.\.|…))+$", re.IGNORECASE)
_ET_AL_ENDINGS = ("al", "al.", "others", "...", "…")

_PARENS = re.compile(r"[()]")
_LINKISH = re.compile(r"https?://\S+|\[\[[^\]]*\]\]")
_WORD = re.compile(r"[a-z]{2,}")
_STOPWORDS = frozenset(
    ("the", "a", "an", "is", "are", "of", "to", "and", "in", "this", "that", "it", "for", "with")
)
_NAME = re.compile(r"[^\W\d_][\w.'’()\- ]{0,79}")
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_WEEKDAY_EN = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DATE_PATTERNS = (
    re.compile(
        r"(?P<year>\d{4})\s*년\s*(?P<month>\d{1,2})\s*월\s*(?P<day>\d{1,2})\s*일"
        r"(?:\s*\(?[월화수목금토일](?:요일)?\)?)?"
    ),
    re.compile(r"(?P<year>\d{4})[-./](?P<month>\d{1,2})[-./](?P<day>\d{1,2})\.?"),
    re.compile(_WEEKDAY_EN + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I),
    re.compile(_WEEKDAY_EN + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})", re.I),
)


def has_hangul(text: str) -> bool:
    """True when the text contains any Korean letter."""
    return _HANGUL.search(text) is not None


def is_url_only(line: str) -> bool:
    """True when the line is a single URL and nothing else."""
    return _URL_ONLY.fullmatch(line) is not None


def split_authors(raw: str) -> list[str]:
    """Author names from ``A, B and C`` / ``A & B`` / ``A and B and C``, dropping 'et al.' and '...'."""
    text = raw.strip()
    if text.lower().endswith(_ET_AL_ENDINGS):
        text = _ET_AL.sub("", text)
    names: list[str] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part.startswith(("and ", "& ")):
            part = part[4:] if part[0] == "a" else part[2:]
        if " and " in part or " & " in part:
            names.extend(name.strip() for name in _AUTHOR_JOINERS.split(part))
        else:
            names.append(part)
    return [name for name in names if name]


def join_paragraphs(lines: list[str]) -> str:
    """Lines of one paragraph joined with '\\n'; paragraphs (split by blank lines) with '\\n\\n'."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return "\n\n".join("\n".join(block) for block in blocks if block)


def authors_in_line(line: str) -> str | None:
    """The inside of an authors line ``(A, B, C)``, or None when the line is not one."""
    match = _AUTHORS_LINE.fullmatch(line)
    if match is None:
        return None
    inner = match.group(1).strip()
    if not inner or has_hangul(inner) or "://" in inner:
        return None
    return inner


def _matching_open_paren(text: str) -> int:
    """Index of the '(' that the final ')' closes, or -1."""
    depth = 0
    for match in reversed(list(_PARENS.finditer(text))):
        depth += 1 if match.group() == ")" else -1
        if depth == 0:
            return match.start()
    return -1


def split_title_authors(line: str) -> tuple[str, str] | None:
    """``(title, authors)`` from ``Title (Authors)``, split at the last balanced group, when it names people.

    A list cut off without its closing parenthesis (``Title (A, B, C``) is accepted too.
    """
    text = line.rstrip()
    if "(" not in text or "://" in text or has_hangul(text):
        return None
    if text.endswith(")"):
        pos = _matching_open_paren(text)
        inner = text[pos + 1 : -1]
    else:
        pos = text.rfind("(")
        inner = text[pos + 1 :]
        if ")" in inner or "," not in inner:
            return None
    title = text[:pos].strip() if pos > 0 else ""
    names = split_authors(inner)
    # The first names and the last decide: a formula or a sentence fails there already.
    if not title or not names or (inner == inner.lower() and inner.isascii()):
        return None
    if not all(_looks_like_name(name) for name in {*names[:3], names[-1]}):
        return None
    return title, inner.strip()


def _looks_like_name(name: str) -> bool:
    """A person or team: starts with a letter, at most eight words, no formula symbols."""
    return _NAME.fullmatch(name) is not None and name.count(" ") < 8


def _is_english_prose(paragraph: str) -> bool:
    # Short glosses ("One-step generation without JVP.") have no function words; longer prose does.
    words = _WORD.findall(_LINKISH.sub(" ", paragraph).casefold())
    if len(words) < 2 or has_hangul(paragraph):
        return False
    return len(words) <= 12 or not _STOPWORDS.isdisjoint(words)


def split_translation(commentary: str) -> tuple[str, str]:
    """Korean paragraphs followed by the same number of English ones: the English is a translation.

    Notes from 2025 add the translation without ``<english>`` tags.
    """
    blocks = commentary.split("\n\n")
    half = len(blocks) // 2
    if len(blocks) < 2 or len(blocks) % 2:
        return commentary, ""
    korean, english = blocks[:half], blocks[half:]
    if all(has_hangul(b) for b in korean) and all(_is_english_prose(b) for b in english):
        return "\n\n".join(korean), "\n\n".join(english)
    return commentary, ""


def _date_parts(line: str) -> tuple[int, int, int] | None:
    text = line.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        raw = match.group("month").lower()
        names = (n for n, name in enumerate(_MONTH_NAMES, start=1) if name.startswith(raw))
        month = int(raw) if raw.isdigit() else next(names, None)
        if month is None:
            return None
        return int(match.group("year")), month, int(match.group("day"))
    return None


def is_date_line(line: str) -> bool:
    """True when the line is written as a date (Korean, ISO or English), valid or not."""
    return _date_parts(line) is not None


def parse_date_line(line: str) -> dt.date | None:
    """The date a line states (``2024년 7월 11일``, ``2024-07-11``, ``July 11, 2024``), or None."""
    parts = _date_parts(line)
    if parts is None:
        return None
    try:
        return dt.date(*parts)
    except ValueError:
        return None


def _rejoin_split_urls(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    # "text (" / "https://url" / ") more text" comes from pasting rendered links; make it one line again.
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        number, line = lines[i]
        if (
            i + 2 < len(lines)
            and line.rstrip().endswith("(")
            and is_url_only(lines[i + 1][1])
            and lines[i + 2][1].lstrip().startswith(")")
        ):
            out.append((number, line.rstrip() + lines[i + 1][1].strip() + lines[i + 2][1].lstrip()))
            i += 3
            continue
        out.append((number, line))
        i += 1
    return out


def _starts_entry(lines: list[str], i: int) -> bool:
    """A plain title line followed by an authors line: the start of an entry."""
    line = lines[i]
    if not line.strip() or has_hangul(line) or is_url_only(line) or is_tag_line(line):
        return False
    if authors_in_line(line) is not None:
        return False
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j < len(lines) and authors_in_line(lines[j]) is not None


class _DigestParser:
    def __init__(self, text: str, path: str) -> None:
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.path = path
        self.issues: list[ParseIssue] = []
        self.entries: list[Entry] = []
        self.date: dt.date | None = None

    def issue(self, line: int | None, field: str | None, message: str, *, warning: bool = False) -> None:
        severity = Severity.WARNING if warning else Severity.ERROR
        self.issues.append(
            ParseIssue(path=self.path, line=line, field=field, message=message, severity=severity)
        )

    def parse(self) -> ParsedFile:
        start = next((i for i, line in enumerate(self.lines) if line.strip()), None)
        if start is None:
            self.issue(1, None, "file is empty")
            return self.result()
        first = self.lines[start].strip()
        if is_date_line(first):
            self.date = parse_date_line(first)
            if self.date is None:
                self.issue(start + 1, "date", f"'{first}' is not a real calendar date; fix the date line")
            start += 1
        else:
            self.issue(
                start + 1,
                "date",
                f"the first line must be the digest date (e.g. '2024년 7월 11일' or '2024-07-11'), "
                f"found '{first[:60]}'",
            )
        for chunk, tagged, is_last in self.chunks(start):
            self.parse_chunk(chunk, tagged=tagged, is_last=is_last)
        if not self.entries and not self.errors():
            self.issue(min(start, len(self.lines)) or 1, "entry", "no entries found after the date line")
        return self.result()

    def errors(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)

    def result(self) -> ParsedFile:
        return ParsedFile(
            path=self.path, kind="digest", digest_date=self.date, entries=self.entries, issues=self.issues
        )

    def chunks(self, start: int) -> list[tuple[list[int], bool, bool]]:
        """Line indexes of each entry, whether it ended with a tag line, and whether it is the last."""
        out: list[tuple[list[int], bool, bool]] = []
        current: list[int] = []
        in_tags = False
        for i in range(start, len(self.lines)):
            line = self.lines[i]
            if not line.strip():
                if current and not in_tags:
                    current.append(i)
                continue
            if is_tag_line(line):
                if current:
                    current.append(i)
                    in_tags = True
                else:
                    self.issue(
                        i + 1, "tags", "tag line without an entry above it; it was ignored", warning=True
                    )
                continue
            if in_tags:
                out.append((current, True, False))
                current, in_tags = [], False
            if not current and is_date_line(line):
                self.issue(i + 1, "date", "a second date line inside the digest; upload one day per file")
                continue
            if len(current) > 2 and _starts_entry(self.lines, i):
                out.append((current, False, False))
                current = []
            current.append(i)
        if current:
            out.append((current, in_tags, True))
        elif out:
            out[-1] = (out[-1][0], out[-1][1], True)
        return out

    def parse_chunk(self, chunk: list[int], *, tagged: bool, is_last: bool) -> None:
        lines = [(i + 1, self.lines[i]) for i in chunk]
        content = [(n, line) for n, line in lines if line.strip() and not is_tag_line(line)]
        if not content:
            return
        title_no, title = content[0][0], content[0][1].strip()
        body_at = 1
        authors = authors_in_line(content[1][1]) if len(content) > 1 else None
        if authors is None and len(content) > 2 and not has_hangul(content[1][1]):
            authors = authors_in_line(content[2][1])
            if authors is not None:  # a title wrapped onto a second line
                title = f"{title} {content[1][1].strip()}"
                body_at = 2
        if authors_in_line(title) is not None:
            self.issue(title_no, "title", "entry starts with an authors line; put the title above it")
            return
        if authors is None:
            if is_last and not tagged:
                self.issue(
                    title_no,
                    "entry",
                    f"text after the last entry is not an entry: '{title[:60]}' has no '(authors)' line "
                    "after it. Remove it or complete the entry",
                )
            else:
                self.issue(
                    title_no + 1 if len(content) > 1 else title_no,
                    "authors",
                    f"entry '{title[:60]}' needs its authors in parentheses on the line after the title",
                )
            return
        body_start = content[body_at][0] + 1
        body = [(n, line) for n, line in lines if n >= body_start and not is_tag_line(line)]
        abstract, commentary = _split_body(_rejoin_split_urls(body))
        tags: list[str] = []
        keys: set[str] = set()
        for tag in (t for _, line in lines if is_tag_line(line) for t in find_tags(line)):
            if tag_key(tag) not in keys:
                keys.add(tag_key(tag))
                tags.append(tag)
        if not tagged:
            self.issue(
                title_no,
                "tags",
                f"entry '{title[:60]}' has no '#tag' line; end each entry with a line like '#llm'",
                warning=True,
            )
        self.entries.append(
            Entry(
                title=title,
                authors=split_authors(authors),
                abstract=abstract,
                commentary=commentary,
                tags=tags,
                note_date=self.date,
                line=title_no,
            )
        )


def _split_body(body: list[tuple[int, str]]) -> tuple[str, str]:
    texts = [line for _, line in body]
    first_hangul = next((i for i, line in enumerate(texts) if has_hangul(line)), None)
    if first_hangul is None:
        first_text = next((i for i, line in enumerate(texts) if line.strip()), len(texts))
        first_hangul = first_text + 1
    return join_paragraphs(texts[:first_hangul]), join_paragraphs(texts[first_hangul:])


def parse_digest(text: str, path: str) -> ParsedFile:
    """Parse a pasted daily digest into entries dated by its date line; problems become issues."""
    return _DigestParser(text, path).parse()
