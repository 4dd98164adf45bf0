"""Reading uploaded files safely and sending each to the right parser."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from bot.domain.models import ParsedFile, ParseIssue
from bot.domain.parse_digest import is_date_line, parse_digest
from bot.domain.parse_note import parse_note

SOURCE_SUFFIXES = (".md", ".txt")
_NOTE_DATE = re.compile(r"(\d{2})(\d{2})(\d{2})(?!\d)")
_BINARY_SAMPLE = 8192
# Control bytes other than tab, LF, CR and form feed: real text has almost none.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _looks_binary(data: bytes) -> bool:
    sample = data[:_BINARY_SAMPLE]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > len(sample) * 0.1


def _line_of_offset(data: bytes, offset: int) -> int:
    head = data[:offset]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def decode_source(data: bytes, name: str) -> tuple[str | None, ParseIssue | None]:
    """Uploaded bytes as text (BOM removed, line endings as LF), or None and an issue saying why not."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Notepad's "Unicode" is UTF-16
        return None, ParseIssue(path=name, line=1, message="not UTF-8 (UTF-16); save the file as UTF-8")
    if _looks_binary(data):
        return None, ParseIssue(
            path=name, message="binary file: expected a UTF-8 text digest (.txt) or note (.md)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of_offset(data, exc.start)
        return None, ParseIssue(
            path=name,
            line=line,
            message=f"not valid UTF-8 (byte 0x{data[exc.start]:02X} on line {line}); "
            "save the file as UTF-8 and upload it again",
        )
    if not text.strip():
        return None, ParseIssue(path=name, line=1, message="file is empty")
    nul = text.find("\x00")
    if nul >= 0:  # past the binary sniff's sample: refuse it rather than store NULs in titles
        line = text.count("\n", 0, nul) + 1
        return None, ParseIssue(
            path=name,
            line=line,
            message=f"NUL byte on line {line}: part of the file is not text; save it as plain UTF-8 "
            "and upload it again",
        )
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def read_source(path: Path) -> tuple[str | None, ParseIssue | None]:
    """The file's text (BOM removed, line endings as LF), or None and an issue saying why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return None, ParseIssue(path=str(path), message=f"cannot read file: {reason}")
    return decode_source(data, str(path))


def note_date_from_filename(name: str) -> dt.date | None:
    """The date in a note's ``YYMMDD Title.md`` name (20YY), or None when absent or not a real date."""
    match = _NOTE_DATE.match(name)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    try:
        return dt.date(2000 + year, month, day)
    except ValueError:
        return None


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _kind_for(suffix: str) -> str:
    return {".txt": "digest", ".md": "note"}.get(suffix, "unknown")


def _unsupported(name: str) -> ParsedFile | None:
    suffix = _suffix(name)
    if suffix in SOURCE_SUFFIXES:
        return None
    issue = ParseIssue(
        path=name,
        message=f"unsupported file type ({suffix or 'no extension'}): expected .txt digest or .md note",
    )
    return ParsedFile(path=name, kind=_kind_for(suffix), issues=[issue])


def parse_text(text: str, name: str) -> ParsedFile:
    """Parse already-decoded text named ``name``: a digest when it opens with a date line or is .txt."""
    unsupported = _unsupported(name)
    if unsupported is not None:
        return unsupported
    return _dispatch(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), name)


def _dispatch(text: str, name: str) -> ParsedFile:
    first = next((line for line in text.split("\n", 20)[:20] if line.strip()), "")
    if name.lower().endswith(".txt") or is_date_line(first):
        return parse_digest(text, name)
    return parse_note(text, name, note_date_from_filename(os.path.basename(name)))


def parse_bytes(data: bytes, name: str) -> ParsedFile:
    """Decode and parse an uploaded file; bad bytes (binary, not UTF-8, empty) become an error."""
    unsupported = _unsupported(name)
    if unsupported is not None:
        return unsupported
    text, issue = decode_source(data, name)
    if text is None:
        kind = _kind_for(_suffix(name))
        return ParsedFile(path=name, kind=kind, issues=[issue] if issue else [])
    return _dispatch(text, name)


def parse_path(path: Path) -> ParsedFile:
    """Read one file and parse it: a digest when it opens with a date line or is .txt, else a note."""
    name = str(path)
    unsupported = _unsupported(name)
    if unsupported is not None:
        return unsupported
    text, issue = read_source(path)
    if text is None:
        kind = _kind_for(_suffix(name))
        return ParsedFile(path=name, kind=kind, issues=[issue] if issue else [])
    return _dispatch(text, name)


def iter_source_files(paths: list[Path]) -> list[Path]:
    """Explicit files as given; folders expanded recursively to their .md/.txt files, sorted.

    Hidden folders and files (``.obsidian``, ``.git``, ``.trash``) are skipped inside folders.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            expanded: list[Path] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                expanded.extend(
                    Path(root, name)
                    for name in files
                    if not name.startswith(".") and name.lower().endswith(SOURCE_SUFFIXES)
                )
            candidates = sorted(expanded)
        else:
            candidates = [path]
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                found.append(candidate)
    return found
