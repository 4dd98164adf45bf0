"""Write parsed files to the store in one transaction: resolve identities, merge, upsert in bulk."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field

import aiosqlite

from bot.domain.arxiv import normalise_title
from bot.domain.models import Entry, ParsedFile
from bot.domain.tags import tag_key
from bot.services.ingest.commentary import CURATOR, clean_commentary, write_commentary
from bot.services.ingest.draft import Draft
from bot.services.ingest.sources import select_in, write_entry_sources, write_tag_sources
from bot.store.db import Database

__all__ = ["CURATOR", "Draft", "WriteResult", "write_parsed"]


@dataclass
class WriteResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    entries: int = 0
    paper_ids: set[int] = field(default_factory=set)
    changed_ids: set[int] = field(default_factory=set)  # existing papers this batch changed
    lost_tags: set[int] = field(default_factory=set)  # papers that lost a tag no file lists any more
    dropped_entries: set[int] = field(default_factory=set)  # entries these files no longer list
    kept_entries: set[int] = field(default_factory=set)  # ...that stay until a moderator confirms


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _day(entry: Entry, parsed: ParsedFile) -> str | None:
    day = entry.note_date or parsed.digest_date
    return day.isoformat() if day else None


def _draft_from_row(row: sqlite3.Row) -> Draft:
    draft = Draft(
        id=row["id"],
        arxiv_id=row["arxiv_id"],
        title=row["title"],
        title_key=row["title_key"],
        authors=json.loads(row["authors"]),
        url=row["url"],
        abstract=row["abstract"],
        links=json.loads(row["links"]),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
    )
    draft.original = draft.columns()
    return draft


async def _max_id(conn: aiosqlite.Connection, table: str) -> int:
    async with conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}") as cur:  # noqa: S608
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def write_parsed(
    db: Database, batch: list[tuple[ParsedFile, str, str]], *, keep_entries: bool = False
) -> WriteResult:
    """Store a batch of cleanly parsed files (with their source keys and hashes) in one transaction.

    ``keep_entries``: an entry a file no longer lists, that would be deleted, stays (and is reported)
    until a moderator confirms its removal.
    """
    items = [(parsed, key, e) for parsed, key, _ in batch for e in parsed.entries]
    for _, _, entry in items:
        clean_commentary(entry)
    items.sort(key=lambda item: _day(item[2], item[0]) or "")
    arxiv_ids = sorted({e.arxiv_id for _, _, e in items if e.arxiv_id})
    title_keys = sorted({normalise_title(e.title) for _, _, e in items})
    now = _now()
    result = WriteResult()
    async with db.bulk_transaction() as (conn, touched):
        by_arxiv: dict[str, Draft] = {}
        by_title: dict[str, Draft] = {}
        existing = await select_in(conn, "SELECT * FROM papers WHERE arxiv_id IN ({marks})", list(arxiv_ids))
        existing += await select_in(
            conn, "SELECT * FROM papers WHERE title_key IN ({marks})", list(title_keys)
        )
        for row in existing:
            draft = by_arxiv.get(row["arxiv_id"]) if row["arxiv_id"] else None
            draft = draft or _draft_from_row(row)
            if draft.arxiv_id:
                by_arxiv[draft.arxiv_id] = draft
            by_title.setdefault(draft.title_key, draft)
        known_ids = [d.id for d in {id(d): d for d in (*by_arxiv.values(), *by_title.values())}.values()]
        tag_rows = await select_in(
            conn,
            "SELECT pt.paper_id, t.key FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE pt.paper_id IN ({marks})",
            list(known_ids),
        )
        stored_tags: dict[int, set[str]] = {}
        for row in tag_rows:
            stored_tags.setdefault(row["paper_id"], set()).add(row["key"])
        for draft in (*by_arxiv.values(), *by_title.values()):
            if draft.id is not None:
                draft.tag_keys = set(stored_tags.get(draft.id, set()))

        resolved: list[tuple[ParsedFile, str, Entry, Draft]] = []
        for parsed, key, entry in items:
            tkey = normalise_title(entry.title)
            draft = by_arxiv.get(entry.arxiv_id) if entry.arxiv_id else None
            if draft is None:
                candidate = by_title.get(tkey)
                if candidate is not None and (not entry.arxiv_id or not candidate.arxiv_id):
                    draft = candidate
            if draft is None:
                draft = Draft(None, entry.arxiv_id, entry.title, tkey, [], None, "", [], None, None)
            draft.merge(entry, _day(entry, parsed))
            if draft.arxiv_id:
                by_arxiv[draft.arxiv_id] = draft
            by_title.setdefault(tkey, draft)
            by_title.setdefault(draft.title_key, draft)
            resolved.append((parsed, key, entry, draft))

        drafts = list({id(d): d for _, _, _, d in resolved}.values())
        next_id = await _max_id(conn, "papers")
        before_tags = {id(d): set(d.tag_keys) for d in drafts}
        for _, _, entry, draft in resolved:
            draft.tag_keys.update(k for k in (tag_key(t) for t in entry.tags) if k)
        inserts, updates = [], []
        for draft in drafts:
            if draft.id is None:
                next_id += 1
                draft.id = next_id
                inserts.append((draft.id, *draft.columns(), draft.last_seen, now, now))
                result.new += 1
            elif draft.columns() != draft.original:
                updates.append((*draft.columns(), draft.last_seen, now, draft.id))
        await conn.executemany(
            "INSERT INTO papers (id, arxiv_id, title, title_key, authors, url, abstract, links, first_seen,"
            " last_seen, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            inserts,
        )
        await conn.executemany(
            "UPDATE papers SET arxiv_id=?, title=?, title_key=?, authors=?, url=?, abstract=?, links=?,"
            " first_seen=?, last_seen=?, updated_at=? WHERE id=?",
            updates,
        )
        changed: set[int] = {int(str(row[-1])) for row in updates}
        displays = {tag_key(t): t for _, _, e, _ in resolved for t in e.tags}
        tag_ids, tagged = await _write_tags(conn, drafts, before_tags, displays)
        changed |= tagged | await write_commentary(conn, resolved, now, _day)
        result.entries = await _write_entries_and_sources(conn, batch, resolved, now, result, keep_entries)
        # after the entries: a paper whose dropped entry awaits confirmation keeps this file's tags too
        kept_papers = await _papers_of(conn, result.kept_entries)
        result.lost_tags = await write_tag_sources(
            conn, [key for _, key, _ in batch], resolved, tag_ids, keep_papers=kept_papers
        )
        changed |= result.lost_tags
        touched.update({int(str(row[0])) for row in inserts} | changed)
    for draft in drafts:
        assert draft.id is not None
        result.paper_ids.add(draft.id)
        if draft.original and draft.id in changed:
            result.updated += 1
            result.changed_ids.add(draft.id)
        elif draft.original:
            result.unchanged += 1
    return result


async def _papers_of(conn: aiosqlite.Connection, entry_ids: set[int]) -> set[int]:
    rows = await select_in(conn, "SELECT paper_id FROM entries WHERE id IN ({marks})", sorted(entry_ids))
    return {int(r["paper_id"]) for r in rows}


async def _write_tags(
    conn: aiosqlite.Connection, drafts: list[Draft], before: dict[int, set[str]], displays: dict[str, str]
) -> tuple[dict[str, int], set[int]]:
    """Link each draft to its new tags (creating tags as needed); returns tag ids by key and changed papers."""
    wanted = sorted({k for d in drafts for k in d.tag_keys})
    rows = await select_in(conn, "SELECT id, key FROM tags WHERE key IN ({marks})", list(wanted))
    tag_ids = {r["key"]: r["id"] for r in rows}
    missing = [k for k in wanted if k not in tag_ids]
    if missing:
        start = await _max_id(conn, "tags")
        new_rows = [(start + i, k, displays.get(k, k)) for i, k in enumerate(missing, start=1)]
        await conn.executemany("INSERT INTO tags (id, key, display) VALUES (?,?,?)", new_rows)
        tag_ids.update({k: i for i, k, _ in new_rows})
    links: list[tuple[int, int]] = []
    changed: set[int] = set()
    for draft in drafts:
        added = draft.tag_keys - before[id(draft)]
        if added and draft.id is not None:
            changed.add(draft.id)
            links.extend((draft.id, tag_ids[k]) for k in sorted(added))
    await conn.executemany("INSERT OR IGNORE INTO paper_tags (paper_id, tag_id) VALUES (?,?)", links)
    return tag_ids, changed


async def _write_entries_and_sources(
    conn: aiosqlite.Connection,
    batch: list[tuple[ParsedFile, str, str]],
    resolved: list[tuple[ParsedFile, str, Entry, Draft]],
    now: str,
    result: WriteResult,
    keep: bool,
) -> int:
    await conn.executemany(
        "INSERT INTO sources (key, kind, sha256, entries, ingested_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(key) DO UPDATE SET kind=excluded.kind, sha256=excluded.sha256, "
        "entries=excluded.entries, ingested_at=excluded.ingested_at",
        [(key, parsed.kind, digest, len(parsed.entries), now) for parsed, key, digest in batch],
    )
    rows = await select_in(
        conn, "SELECT id, key FROM sources WHERE key IN ({marks})", [k for _, k, _ in batch]
    )
    source_ids = {r["key"]: r["id"] for r in rows}
    entry_rows = []
    dated: set[tuple[str, int, str]] = set()
    for parsed, key, entry, draft in resolved:
        day = _day(entry, parsed)
        # an exported note lists the paper's digest dates exactly; any other file gives its own date
        days = [d.isoformat() for d in entry.entry_dates] if entry.entry_dates is not None else [day]
        position = next(i for i, e in enumerate(parsed.entries) if e is entry)
        for listed in days:
            if listed is not None and draft.id is not None:
                entry_rows.append((draft.id, listed, source_ids[key], position, entry.line))
                dated.add((key, draft.id, listed))
    await conn.executemany(
        "INSERT OR IGNORE INTO entries (paper_id, digest_date, source_id, position, line) VALUES (?,?,?,?,?)",
        entry_rows,
    )
    result.dropped_entries, result.kept_entries = await write_entry_sources(
        conn, [key for _, key, _ in batch], dated, keep=keep
    )
    return len(resolved)
