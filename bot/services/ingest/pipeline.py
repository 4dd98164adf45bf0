"""Ingest curator notes: parse files, resolve each entry to one paper, write each batch atomically.

A file with an error writes nothing; files are committed together in batches, so a failure in the
database rolls back whole files, never part of one. Unchanged files (same SHA-256) are skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.models import ParsedFile, ParseIssue
from bot.domain.sources import iter_source_files, parse_bytes
from bot.services.ingest.sources import retract_sources
from bot.services.ingest.upload import UploadChanges, credited, describe, upload_key
from bot.services.ingest.write import WriteResult, write_parsed
from bot.store.db import Database, in_chunks

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest did, for the CLI summary and the moderator's parse report."""

    files: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    papers_new: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0
    entries: int = 0
    warnings: list[ParseIssue] = field(default_factory=list)
    errors: list[ParseIssue] = field(default_factory=list)
    paper_ids: set[int] = field(default_factory=set)
    digest_dates: set[dt.date] = field(default_factory=set)
    upload: UploadChanges | None = None  # for a moderator's upload: what it added, changed, removed

    @property
    def ok(self) -> bool:
        return self.files_failed == 0

    def merge_counts(self, new: int, updated: int, unchanged: int, entries: int) -> None:
        self.papers_new += new
        self.papers_updated += updated
        self.papers_unchanged += unchanged
        self.entries += entries

    def summary(self) -> str:
        return (
            f"{self.files} files ({self.files_unchanged} unchanged, {self.files_failed} failed): "
            f"papers {self.papers_new} new, {self.papers_updated} updated, {self.papers_unchanged} unchanged; "
            f"{self.entries} entries; {len(self.warnings)} warnings, {len(self.errors)} errors"
        )


def source_key(path: Path) -> str:
    return os.path.abspath(path)


async def ingest_paths(
    db: Database, paths: Sequence[Path], *, progress: Progress | None = None, batch_size: int = 1000
) -> IngestReport:
    """Ingest files and folders (recursively); every bad file is reported and the rest still ingest.

    Reading, hashing and parsing run in a worker thread so the event loop (the bot's gateway) stays free.
    """
    report = IngestReport()
    files = await asyncio.to_thread(_expand, paths, report)
    known = await _known_hashes(db, [source_key(p) for p in files])
    parsed_files = await asyncio.to_thread(_read_and_parse, files, known, report, progress)
    for start in range(0, len(parsed_files), batch_size):
        await _write_batch(db, parsed_files[start : start + batch_size], report)
    return report


async def forget_deleted(db: Database, folder: Path) -> list[str]:
    """Retract files under ``folder`` that were ingested before and no longer exist; returns their keys.

    A folder that is missing or holds no notes at all (an unmounted drive) is left alone, and so is
    one where more than half of the known files vanished at once: that looks like an accident, not edits.
    """
    root = source_key(folder) + os.sep
    rows = await db.fetchall("SELECT key FROM sources WHERE substr(key, 1, ?) = ?", (len(root), root))
    known = [str(r["key"]) for r in rows]
    missing = await asyncio.to_thread(_missing, known)
    if not missing:
        return []
    if not await asyncio.to_thread(_has_notes, folder) or (
        len(missing) > 10 and len(missing) * 2 > len(known)
    ):
        log.warning(
            "%d of %d known notes are missing from %s; not retracting them", len(missing), len(known), folder
        )
        return []
    lost = await retract_sources(db, missing)
    log.info("retracted %d deleted notes from %s; %d papers lost a tag", len(missing), folder, len(lost))
    return missing


def _missing(keys: list[str]) -> list[str]:
    return [key for key in keys if not os.path.exists(key)]


def _has_notes(folder: Path) -> bool:
    return folder.is_dir() and bool(iter_source_files([folder]))


def _expand(paths: Sequence[Path], report: IngestReport) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            _collect(report, _failed(path, "no such file or folder"))
            continue
        files.extend(iter_source_files([path]))
    report.files += len(files)
    return files


def _read_and_parse(
    files: list[Path], known: dict[str, tuple[str, int]], report: IngestReport, progress: Progress | None
) -> list[tuple[ParsedFile, str, str]]:
    """Changed files parsed cleanly, with their keys and hashes; unchanged ones are only counted."""
    pending: list[tuple[ParsedFile, str, str]] = []
    for done, path in enumerate(files, start=1):
        if progress is not None:
            progress(done, len(files))
        key = source_key(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            _collect(report, _failed(path, f"cannot read file: {exc.strerror or exc.__class__.__name__}"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        previous = known.get(key)
        if previous is not None and previous[0] == digest:
            report.files_unchanged += 1
            report.papers_unchanged += previous[1]
            continue
        parsed = parse_bytes(data, str(path))
        _collect(report, parsed)
        if parsed.ok:
            pending.append((parsed, key, digest))
    return pending


async def ingest_upload(db: Database, data: bytes, name: str) -> IngestReport:
    """Ingest an uploaded digest or note (a moderator's attachment); stored only if it parses cleanly.

    The upload replaces the earlier upload of the same digest (see :mod:`bot.services.ingest.upload`),
    never another one of the same name; ``report.upload`` says what it added, changed and removed, and
    holds the entries it dropped until a moderator confirms their removal.
    """
    report = IngestReport(files=1)
    parsed = parse_bytes(data, name)
    _collect(report, parsed)
    if parsed.ok:
        digest = hashlib.sha256(data).hexdigest()
        key, replaced = await upload_key(db, parsed, digest)
        before = await credited(db, key)
        result = await _write_batch(db, [(parsed, key, digest)], report, keep_entries=True)
        report.upload = await describe(db, key, replaced, digest, before, result)
    return report


def _failed(path: Path, message: str) -> ParsedFile:
    return ParsedFile(path=str(path), kind="unknown", issues=[ParseIssue(path=str(path), message=message)])


def _collect(report: IngestReport, parsed: ParsedFile) -> None:
    report.warnings.extend(parsed.warnings)
    report.errors.extend(parsed.errors)
    if not parsed.ok:
        report.files_failed += 1


async def _known_hashes(db: Database, keys: list[str]) -> dict[str, tuple[str, int]]:
    known: dict[str, tuple[str, int]] = {}
    for chunk in in_chunks(keys):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT key, sha256, entries FROM sources WHERE key IN ({marks})", chunk)  # noqa: S608
        known.update({r["key"]: (r["sha256"], r["entries"]) for r in rows})
    return known


async def _write_batch(
    db: Database,
    batch: list[tuple[ParsedFile, str, str]],
    report: IngestReport,
    *,
    keep_entries: bool = False,
) -> WriteResult:
    result = await write_parsed(db, batch, keep_entries=keep_entries)
    report.merge_counts(result.new, result.updated, result.unchanged, result.entries)
    report.paper_ids.update(result.paper_ids)
    for parsed, _key, _digest in batch:
        report.digest_dates.update(e.note_date for e in parsed.entries if e.note_date is not None)
    return result
