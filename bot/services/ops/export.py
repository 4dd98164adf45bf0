"""Export the store as a Markdown vault, one note per paper, in the format ``ingest`` reads back.

A note is written as

    https://arxiv.org/abs/ID            (or the paper's source URL; no line when it has neither)

    *Title* (Author One, Author Two)

    > abstract, one quoted line per stored line

    commentary paragraphs

    <english>
    the English version
    </english>

    #tag #other-tag

    # Links
    [[linked note]]

into ``<target>/<YYYY>/<YYMMDD> <safe title>.md`` dated by the paper's first note
(``<target>/undated/<safe title>.md`` without one).

What comes back when the folder is ingested into an empty database: the same papers (arXiv ids,
titles, authors, abstracts, first-seen dates, links), tags (keys and display forms), commentary rows
(each with its author and dates) and digest entries. A note that one plain curator commentary dated
by the note would not describe exactly (several commentaries, a member's, other dates, entries on
other days) carries ``<!-- paperbot:… -->`` lines (see :mod:`bot.domain.note_meta`). A paper with an
arXiv id reads back with the arXiv abs URL as its URL. Edit history, posts, reactions and
subscriptions are not part of a note.

Every note is parsed again before it is written: when the preferred title line would not give the
title and authors back, the plain ``Title (Authors)`` form is tried, and a note that still loses a
field (a digest title with two spaces in a row, say) is listed in ``ExportReport.inexact``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bot.domain.models import Paper
from bot.domain.note_meta import day_stamp, render_commentary, render_entries, split_leading_urls
from bot.domain.parse_note import parse_note
from bot.domain.sources import note_date_from_filename
from bot.domain.tags import find_tags, tag_key
from bot.services.ingest.write import CURATOR
from bot.store.db import Database, in_chunks
from bot.store.papers import get_papers

UNDATED = "undated"
# Bytes, not characters: most file systems cap a name at 255 bytes and Hangul takes three each.
MAX_TITLE_BYTES = 150
# Path separators, characters Windows refuses, and the ones Obsidian gives a meaning in link targets.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|#^\[\]]')
# Bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and kin) make "gpj.exe" look like "exe.jpg".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
)


class ExportError(Exception):
    """The export cannot be written where asked (the target is a file, a folder cannot be made)."""


@dataclass
class ExportReport:
    """What an export wrote, and what a re-import will not give back exactly."""

    target: Path
    notes: int = 0
    undated: int = 0
    renamed: int = 0  # titles whose file name was taken, written with a " (2)" style suffix
    merged_commentary: int = 0  # papers whose note carries several commentaries (each read back as its own)
    member_commentary: int = 0  # commentaries by members (read back with their author)
    tags_by_key: int = 0  # tags whose display form is not a valid #tag, written by their key
    inexact: dict[int, list[str]] = field(default_factory=dict)  # paper id -> fields a re-import changes
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"{self.notes} notes in {self.target} ({self.undated} undated, {self.renamed} renamed); "
            f"{self.merged_commentary} notes with several commentaries, "
            f"{self.member_commentary} member commentaries (kept with their authors and dates); "
            f"{len(self.inexact)} notes that will not read back exactly"
        )


def safe_title(title: str, *, max_bytes: int = MAX_TITLE_BYTES) -> str:
    """A file-name-safe form of a title: no separators or reserved characters, at most ``max_bytes``."""
    text = _UNSAFE.sub(" ", _BIDI.sub("", unicodedata.normalize("NFC", title)))
    text = " ".join(text.split()).strip(" .")
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = encoded[:max_bytes].decode("utf-8", "ignore").rstrip(" .")
    if not text:
        return "untitled"
    # Windows reserves these names with any extension too ("con.txt.md", "nul.tar.gz.md").
    if text.split(".", 1)[0].strip().casefold() in _WINDOWS_RESERVED:
        return f"_{text}"
    return text


def note_path(paper: Paper) -> PurePosixPath:
    """Where a paper's note goes inside the vault, before names are made unique."""
    title = safe_title(paper.title)
    day = paper.first_seen
    if day is None:
        # "200101 Foo" as an undated name would read back as dated 2020-01-01.
        stem = f"_{title}" if note_date_from_filename(title) else title
        return PurePosixPath(UNDATED, f"{stem}.md")
    if 2000 <= day.year <= 2099:
        return PurePosixPath(f"{day.year:04d}", f"{day:%y%m%d} {title}.md")
    # A YYMMDD prefix always reads back as 20YY; other years keep their folder but lose the day.
    return PurePosixPath(f"{day.year:04d}", f"{title}.md")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


@functools.lru_cache(maxsize=4096)
def tag_token(display: str) -> str:
    """``#display`` when it reads back as the same tag, else ``#key`` (still the same tag)."""
    found = find_tags(f"#{display}")
    if found == [display]:
        return f"#{display}"
    return f"#{tag_key(display)}"


def _headings(paper: Paper) -> list[str]:
    """Title lines the parser reads, preferred first: ``*Title* (Authors)``, then ``Title (Authors)``."""
    if not paper.authors:
        return [f"*{paper.title}*"]
    names = ", ".join(paper.authors)
    return [f"*{paper.title}* ({names})", f"{paper.title} ({names})"]


@dataclass(frozen=True)
class PaperExtras:
    """What a Paper model does not carry but a note must: entry dates, commentary authors and dates."""

    entry_dates: list[dt.date] = field(default_factory=list)
    commentary: dict[int, tuple[int | None, str, str]] = field(default_factory=dict)  # id -> author_id, dates


def _plain(paper: Paper, extras: PaperExtras) -> tuple[bool, bool]:
    """Whether a plain note reads back exactly: (its entries, its commentary)."""
    day = paper.first_seen
    entries_plain = extras.entry_dates == ([day] if day else [])
    written = [c for c in paper.commentary if c.body.strip() or c.body_en.strip()]
    if not written:
        return entries_plain, True
    stamp = day_stamp(day) if day else None
    only = written[0]
    author_id, created, updated = extras.commentary.get(only.id, (None, "", ""))
    commentary_plain = (
        len(written) == 1
        and only.author == CURATOR
        and author_id is None
        and stamp is not None
        and created == updated == stamp
        and only.body.strip() == split_leading_urls(only.body)[0]
    )
    return entries_plain, commentary_plain


def _compose(paper: Paper, heading: str, extras: PaperExtras | None = None) -> str:
    # Without the database's extras (render_note on a bare Paper), a plain note.
    entries_plain, commentary_plain = _plain(paper, extras) if extras is not None else (True, True)
    extras = extras or PaperExtras()
    blocks: list[str] = []
    if paper.link:
        blocks.append(paper.link)
    blocks.append(heading)
    if paper.abstract.strip():
        blocks.append(_quote(paper.abstract.strip()))
    if not entries_plain:
        blocks.append(render_entries(extras.entry_dates))
    for commentary in paper.commentary:
        if not (commentary.body.strip() or commentary.body_en.strip()):
            continue
        if not commentary_plain:
            author_id, created, updated = extras.commentary.get(commentary.id, (None, "", ""))
            blocks.append(render_commentary(commentary.author, author_id, created, updated))
        if commentary.body.strip():
            blocks.append(commentary.body.strip())
        if commentary.body_en.strip():
            blocks.append(f"<english>\n{commentary.body_en.strip()}\n</english>")
    if paper.tags:
        blocks.append(" ".join(tag_token(tag) for tag in paper.tags))
    if paper.links:
        blocks.append("# Links\n" + "\n".join(f"[[{link}]]" for link in paper.links))
    return "\n\n".join(blocks) + "\n"


def _joined(parts: list[str]) -> str:
    return "\n\n".join(part.strip() for part in parts if part.strip())


def lost_fields(paper: Paper, text: str, name: str) -> list[str]:
    """The fields of ``paper`` that ingesting ``text`` (a note named ``name``) would not give back."""
    parsed = parse_note(text, name, note_date_from_filename(name))
    if not parsed.entries:
        return ["note"]
    entry = parsed.entries[0]
    expected: dict[str, object] = {
        "arxiv_id": paper.arxiv_id,
        "url": paper.link,
        "title": paper.title,
        "authors": paper.authors,
        "abstract": paper.abstract.strip(),
        "commentary": _joined([c.body for c in paper.commentary]),
        "commentary_en": _joined([c.body_en for c in paper.commentary]),
        "tags": [tag_key(t) for t in paper.tags],
        "links": paper.links,
        "first_seen": paper.first_seen,
    }
    actual: dict[str, object] = {
        "arxiv_id": entry.arxiv_id,
        "url": entry.url,
        "title": entry.title,
        "authors": entry.authors,
        "abstract": entry.abstract,
        "commentary": entry.commentary.strip(),
        "commentary_en": entry.commentary_en.strip(),
        "tags": sorted(tag_key(t) for t in entry.tags),
        "links": entry.links,
        "first_seen": entry.note_date,
    }
    return [field for field, value in expected.items() if actual[field] != value]


def _render_checked(paper: Paper, name: str, extras: PaperExtras | None = None) -> tuple[str, list[str]]:
    """The note text, and the fields it loses (none unless no heading form reads back exactly)."""
    first: tuple[str, list[str]] | None = None
    for heading in _headings(paper):
        text = _compose(paper, heading, extras)
        lost = lost_fields(paper, text, name)
        if not lost:
            return text, []
        first = first or (text, lost)
    assert first is not None
    return first


def render_note(paper: Paper) -> str:
    """One paper as a Markdown note in the format the note parser reads (see the module docstring)."""
    return _render_checked(paper, note_path(paper).name)[0]


def _unique(path: PurePosixPath, used: set[str]) -> PurePosixPath:
    """``path`` or ``stem (n).md``, never one already used (case-insensitively, for macOS and Windows)."""
    candidate, n = path, 1
    while candidate.as_posix().casefold() in used:
        n += 1
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
    used.add(candidate.as_posix().casefold())
    return candidate


def _render_and_write(
    target: Path, papers: list[Paper], extras: dict[int, PaperExtras], report: ExportReport
) -> None:
    """Render, check and write every note (run in a worker thread: parsing thousands takes a second)."""
    used: set[str] = set()
    for paper in papers:
        wanted = note_path(paper)
        relative = _unique(wanted, used)
        text, lost = _render_checked(paper, relative.name, extras.get(paper.id, PaperExtras()))
        if lost:
            report.inexact[paper.id] = lost
        report.renamed += relative != wanted
        report.undated += paper.first_seen is None
        written = [c for c in paper.commentary if c.body.strip() or c.body_en.strip()]
        report.merged_commentary += len(written) > 1
        report.member_commentary += sum(c.author != CURATOR for c in written)
        report.tags_by_key += sum(tag_token(t) != f"#{t}" for t in paper.tags)
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        report.paths.append(path)
        report.notes += 1


async def export_vault(db: Database, target: Path) -> ExportReport:
    """Write every paper as a note under ``target`` (created if needed), oldest first.

    Files of the same name are replaced; export into an empty folder for a clean copy. Papers whose
    note would not read back exactly (a title only a digest could hold, say) are listed in
    ``report.inexact`` with the fields that would change.
    """
    if await asyncio.to_thread(lambda: target.exists() and not target.is_dir()):
        raise ExportError(f"{target} is a file; give a folder to export the notes into")
    report = ExportReport(target=target)
    # Ordered by content, not ids, so two papers sharing a name get the same suffixes on every export.
    rows = await db.fetchall(
        "SELECT id FROM papers ORDER BY first_seen IS NULL, first_seen, arxiv_id IS NULL, arxiv_id, title_key, id"
    )
    ids = [int(row["id"]) for row in rows]
    papers: list[Paper] = []
    for chunk in in_chunks(ids):
        found = await get_papers(db, chunk)
        papers.extend(found[pid] for pid in chunk)
    extras = await _extras(db)
    try:
        await asyncio.to_thread(_render_and_write, target, papers, extras, report)
    except OSError as exc:
        where = exc.filename or target
        raise ExportError(f"cannot write {where}: {exc.strerror or exc}") from exc
    return report


async def _extras(db: Database) -> dict[int, PaperExtras]:
    extras: dict[int, PaperExtras] = {}
    for row in await db.fetchall("SELECT paper_id, digest_date FROM entries ORDER BY paper_id, digest_date"):
        extras.setdefault(row["paper_id"], PaperExtras()).entry_dates.append(
            dt.date.fromisoformat(row["digest_date"])
        )
    rows = await db.fetchall("SELECT id, paper_id, author_id, created_at, updated_at FROM commentary")
    for row in rows:
        extras.setdefault(row["paper_id"], PaperExtras()).commentary[row["id"]] = (
            row["author_id"],
            row["created_at"],
            row["updated_at"],
        )
    return extras
