"""Which source file gave each tag and dated entry, so edits and deletions of files take effect.

A file's tags and entries replace what it gave before; a tag or an unposted entry that no file lists
any more goes. Shared with the batch writer in :mod:`bot.services.ingest.write`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiosqlite

from bot.domain.tags import tag_key
from bot.store.db import Database, in_chunks

if TYPE_CHECKING:
    from bot.domain.models import Entry, ParsedFile
    from bot.services.ingest.draft import Draft


async def select_in(conn: aiosqlite.Connection, sql: str, values: Sequence[object]) -> list[sqlite3.Row]:
    """Rows of ``sql``, whose ``{marks}`` is filled with placeholders for ``values``, a chunk at a time."""
    rows: list[sqlite3.Row] = []
    for chunk in in_chunks(values):
        marks = ",".join("?" * len(chunk))
        rows.extend(await conn.execute_fetchall(sql.format(marks=marks), chunk))
    return rows


async def retract_sources(db: Database, keys: list[str]) -> set[int]:
    """Forget files that were deleted: their tags and unposted entries go unless another file lists them.

    Commentary they brought stays (a moderator can edit it); returns the papers that lost a tag.
    """
    async with db.transaction() as conn:
        lost = await write_tag_sources(conn, keys, [], {})
        await write_entry_sources(conn, keys, set())
        await conn.executemany("DELETE FROM sources WHERE key = ?", [(k,) for k in keys])
    return lost


async def write_tag_sources(
    conn: aiosqlite.Connection,
    keys: list[str],
    resolved: list[tuple[ParsedFile, str, Entry, Draft]],
    tag_ids: dict[str, int],
    *,
    keep_papers: set[int] | None = None,
) -> set[int]:
    """Record which of these files gives each tag; unlink tags that no file gives any more.

    A file's tags replace what it gave before, so deleting ``#tag`` from a note (or an entry from a
    digest) takes the tag off the paper unless another file still lists it. Returns the papers that
    lost a tag.
    """
    given = {
        (key, draft.id, tag_ids[k])
        for _, key, entry, draft in resolved
        for k in {tag_key(t) for t in entry.tags}
        if k and draft.id is not None
    }
    before = await select_in(
        conn, "SELECT source, paper_id, tag_id FROM tag_sources WHERE source IN ({marks})", list(keys)
    )
    dropped = {(r["source"], r["paper_id"], r["tag_id"]) for r in before} - given
    if keep_papers:
        dropped = {row for row in dropped if row[1] not in keep_papers}
    await conn.executemany(
        "DELETE FROM tag_sources WHERE source=? AND paper_id=? AND tag_id=?", sorted(dropped)
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO tag_sources (source, paper_id, tag_id) VALUES (?,?,?)", sorted(given)
    )
    orphaned = sorted({(paper_id, tag_id) for _, paper_id, tag_id in dropped})
    await conn.executemany(
        "DELETE FROM paper_tags WHERE paper_id=? AND tag_id=? AND NOT EXISTS "
        "(SELECT 1 FROM tag_sources s WHERE s.paper_id=paper_tags.paper_id AND s.tag_id=paper_tags.tag_id)",
        orphaned,
    )
    kept = await select_in(
        conn,
        "SELECT paper_id, tag_id FROM paper_tags WHERE paper_id IN ({marks})",
        sorted({paper_id for paper_id, _ in orphaned}),
    )
    return {paper_id for paper_id, _ in set(orphaned) - {(r["paper_id"], r["tag_id"]) for r in kept}}


async def write_entry_sources(
    conn: aiosqlite.Connection, keys: list[str], dated: set[tuple[str, int, str]], *, keep: bool = False
) -> tuple[set[int], set[int]]:
    """Credit each dated entry to the files that list it; drop entries no file lists that were never posted.

    An entry deleted from a digest before its day is posted is not posted; one already posted stays, as
    the record of what the community saw. With ``keep`` (an upload whose removals the moderator has not
    confirmed), an entry that would go keeps its credit instead. Returns (entries whose credit was
    dropped, entries kept awaiting confirmation).
    """
    ids = await select_in(
        conn,
        "SELECT id, paper_id, digest_date FROM entries WHERE paper_id IN ({marks})",
        sorted({paper_id for _, paper_id, _ in dated}),
    )
    entry_ids = {(r["paper_id"], r["digest_date"]): r["id"] for r in ids}
    given = {(key, entry_ids[(paper_id, day)]) for key, paper_id, day in dated}
    before = await select_in(
        conn, "SELECT source, entry_id FROM entry_sources WHERE source IN ({marks})", list(keys)
    )
    dropped = {(r["source"], r["entry_id"]) for r in before} - given
    kept: set[int] = set()
    if keep and dropped:
        doomed = await select_in(
            conn,
            "SELECT e.id FROM entries e WHERE e.id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM posts p "
            "WHERE p.paper_id = e.paper_id AND p.digest_date = e.digest_date)",
            sorted({entry_id for _, entry_id in dropped}),
        )
        others = await select_in(
            conn,
            "SELECT entry_id, source FROM entry_sources WHERE entry_id IN ({marks})",
            [r["id"] for r in doomed],
        )
        credited: dict[int, set[str]] = {}
        for row in others:
            credited.setdefault(row["entry_id"], set()).add(row["source"])
        kept = {r["id"] for r in doomed if credited.get(r["id"], set()) <= set(keys)}
        dropped = {(source, entry_id) for source, entry_id in dropped if entry_id not in kept}
    await conn.executemany("DELETE FROM entry_sources WHERE source=? AND entry_id=?", sorted(dropped))
    await conn.executemany(
        "INSERT OR IGNORE INTO entry_sources (source, entry_id) VALUES (?,?)", sorted(given)
    )
    await delete_unlisted_entries(conn, sorted({entry_id for _, entry_id in dropped}))
    return {entry_id for _, entry_id in dropped}, kept


async def drop_tag_credits(conn: aiosqlite.Connection, key: str, paper_ids: set[int]) -> None:
    """Forget the tags file ``key`` gave these papers; a tag no other file gives leaves the paper."""
    pairs: list[tuple[int, int]] = []
    for paper_id in sorted(paper_ids):  # a handful: the papers of entries a moderator removed
        rows = await conn.execute_fetchall(
            "SELECT tag_id FROM tag_sources WHERE source = ? AND paper_id = ?", (key, paper_id)
        )
        pairs.extend((paper_id, int(r["tag_id"])) for r in rows)
    await conn.executemany(
        "DELETE FROM tag_sources WHERE source = ? AND paper_id = ? AND tag_id = ?", [(key, *p) for p in pairs]
    )
    await conn.executemany(
        "DELETE FROM paper_tags WHERE paper_id=? AND tag_id=? AND NOT EXISTS "
        "(SELECT 1 FROM tag_sources s WHERE s.paper_id=paper_tags.paper_id AND s.tag_id=paper_tags.tag_id)",
        pairs,
    )


async def delete_unlisted_entries(conn: aiosqlite.Connection, entry_ids: list[int]) -> None:
    """Delete these entries where no file lists them any more and they were never posted."""
    await conn.executemany(
        "DELETE FROM entries WHERE id=? AND NOT EXISTS (SELECT 1 FROM entry_sources s WHERE s.entry_id=entries.id)"
        " AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.paper_id=entries.paper_id"
        " AND p.digest_date=entries.digest_date)",
        [(entry_id,) for entry_id in entry_ids],
    )
