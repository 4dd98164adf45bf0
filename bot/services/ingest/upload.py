"""Which earlier upload a moderator's upload replaces, and exactly what it added, changed and removed.

Discord names pasted text ``message.txt``, so a name says nothing. An upload is identified by its
digest date(s) and content: it replaces the earlier upload that listed the most of the same papers
on the same dates (an edited digest re-uploaded), else it is a new upload that removes nothing. An
undated note replaces the earlier upload that gave the same paper.

Entries an edit drops that were never posted are not deleted on the upload's word: they stay until
a moderator confirms (:func:`confirm_removal`); posted entries stay anyway, as the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import aiosqlite

from bot.domain.arxiv import normalise_title
from bot.domain.models import ParsedFile
from bot.services.clock import Clock, utc_now
from bot.services.ingest.sources import delete_unlisted_entries, drop_tag_credits, select_in
from bot.services.ingest.write import WriteResult
from bot.store.db import Database

PREFIX = "upload:"  # seven characters, as the queries below spell it


@dataclass(frozen=True)
class EntryRef:
    entry_id: int
    paper_id: int
    title: str
    day: dt.date

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.title}"


@dataclass
class UploadChanges:
    """What one upload did, entry by entry, for the moderator's import report."""

    key: str
    replaced: bool  # it replaced an earlier upload (the same digest edited), else it is a new one
    added: list[EntryRef] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # titles of existing papers it changed
    removed: list[EntryRef] = field(default_factory=list)  # dropped, but posted or in another file: stay
    pending: list[EntryRef] = field(default_factory=list)  # dropped, never posted: await confirmation
    lost_tags: int = 0  # papers that lost a tag this upload no longer lists
    token: int | None = None  # the pending removal to confirm


def _dates(parsed: ParsedFile) -> list[str]:
    days = {e.note_date or parsed.digest_date for e in parsed.entries}
    return sorted(d.isoformat() for d in days if d is not None)


async def upload_key(db: Database, parsed: ParsedFile, sha256: str) -> tuple[str, bool]:
    """The source key for this upload, and whether it replaces an earlier upload."""
    arxiv_ids = {e.arxiv_id for e in parsed.entries if e.arxiv_id}
    title_keys = {normalise_title(e.title) for e in parsed.entries}
    days = _dates(parsed)
    if days:
        rows = await select_in(
            db.conn,
            "SELECT es.source, p.id, p.arxiv_id, p.title_key FROM entry_sources es "
            "JOIN entries e ON e.id = es.entry_id JOIN papers p ON p.id = e.paper_id "
            "WHERE substr(es.source, 1, 7) = 'upload:' AND e.digest_date IN ({marks})",
            days,
        )
    else:
        rows = await db.fetchall(
            "SELECT ts.source, p.id, p.arxiv_id, p.title_key FROM tag_sources ts JOIN papers p ON p.id = ts.paper_id "
            "WHERE substr(ts.source, 1, ?) = ? UNION SELECT c.origin, p.id, p.arxiv_id, p.title_key "
            "FROM commentary c JOIN papers p ON p.id = c.paper_id WHERE substr(c.origin, 1, ?) = ?",
            (len(PREFIX), PREFIX, len(PREFIX), PREFIX),
        )
    overlap: dict[str, set[int]] = {}
    for row in rows:
        if (row["arxiv_id"] and row["arxiv_id"] in arxiv_ids) or row["title_key"] in title_keys:
            overlap.setdefault(str(row["source"]), set()).add(int(row["id"]))
    if overlap:
        best = max(sorted(overlap), key=lambda key: len(overlap[key]))
        return best, True
    return f"{PREFIX}{parsed.kind}:{days[0] if days else 'undated'}:{sha256[:12]}", False


async def credited(db: Database, key: str) -> dict[int, EntryRef]:
    """The entries an upload lists now, by entry id."""
    rows = await db.fetchall(
        "SELECT e.id, e.paper_id, p.title, e.digest_date FROM entry_sources es JOIN entries e ON e.id = es.entry_id "
        "JOIN papers p ON p.id = e.paper_id WHERE es.source = ? ORDER BY e.digest_date, e.position, e.id",
        (key,),
    )
    return {
        int(r["id"]): EntryRef(
            int(r["id"]), int(r["paper_id"]), str(r["title"]), dt.date.fromisoformat(r["digest_date"])
        )
        for r in rows
    }


async def describe(
    db: Database,
    key: str,
    replaced: bool,
    sha256: str,
    before: dict[int, EntryRef],
    result: WriteResult,
    *,
    clock: Clock = utc_now,
) -> UploadChanges:
    """Compare what the upload listed before and after the write; record removals to confirm."""
    after = await credited(db, key)
    changes = UploadChanges(key=key, replaced=replaced, lost_tags=len(result.lost_tags))
    changes.added = [ref for entry_id, ref in after.items() if entry_id not in before]
    changes.pending = [ref for entry_id, ref in after.items() if entry_id in result.kept_entries]
    changes.removed = [ref for entry_id, ref in before.items() if entry_id not in after]
    added_papers = {ref.paper_id for ref in changes.added}
    changed = sorted(result.changed_ids - added_papers)
    if changed:
        rows = await select_in(
            db.conn, "SELECT title FROM papers WHERE id IN ({marks}) ORDER BY title", changed
        )
        changes.changed = [str(r["title"]) for r in rows]
    if changes.pending:
        async with db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO upload_removals (source, sha256, entry_ids, created_at) VALUES (?,?,?,?)",
                (
                    key,
                    sha256,
                    ",".join(str(ref.entry_id) for ref in changes.pending),
                    clock().isoformat(timespec="seconds"),
                ),
            )
            changes.token = int(cur.lastrowid or 0)
    return changes


class RemovalOutdated(Exception):
    """The upload was replaced or already confirmed since: nothing was removed."""


async def confirm_removal(db: Database, token: int, *, clock: Clock = utc_now) -> list[EntryRef]:
    """Remove the entries an upload dropped, as its moderator confirmed; returns those removed.

    Only while the upload is still the one that dropped them; one posted meanwhile stays.
    """
    async with db.transaction() as conn:
        row = await _one(conn, "SELECT * FROM upload_removals WHERE id = ?", (token,))
        if row is None or row["done_at"] is not None:
            raise RemovalOutdated("this removal was already confirmed")
        current = await _one(conn, "SELECT sha256 FROM sources WHERE key = ?", (row["source"],))
        if current is None or current["sha256"] != row["sha256"]:
            raise RemovalOutdated("the upload was replaced since; import it again to review its changes")
        entry_ids = [int(part) for part in str(row["entry_ids"]).split(",") if part]
        before = await select_in(
            conn,
            "SELECT e.id, e.paper_id, p.title, e.digest_date FROM entries e JOIN papers p ON p.id = e.paper_id "
            "WHERE e.id IN ({marks})",
            entry_ids,
        )
        await conn.executemany(
            "DELETE FROM entry_sources WHERE source = ? AND entry_id = ?",
            [(row["source"], entry_id) for entry_id in entry_ids],
        )
        await delete_unlisted_entries(conn, entry_ids)
        left = {
            r["id"] for r in await select_in(conn, "SELECT id FROM entries WHERE id IN ({marks})", entry_ids)
        }
        gone = {int(r["paper_id"]) for r in before if r["id"] not in left}
        still = set()
        for paper_id in sorted(gone):  # a paper the upload still lists on another day keeps its tags
            found = await _one(
                conn,
                "SELECT 1 FROM entry_sources es JOIN entries e ON e.id = es.entry_id "
                "WHERE es.source = ? AND e.paper_id = ?",
                (row["source"], paper_id),
            )
            if found is not None:
                still.add(paper_id)
        await drop_tag_credits(conn, str(row["source"]), gone - still)
        await conn.execute(
            "UPDATE upload_removals SET done_at = ? WHERE id = ?",
            (clock().isoformat(timespec="seconds"), token),
        )
    return [
        EntryRef(int(r["id"]), int(r["paper_id"]), str(r["title"]), dt.date.fromisoformat(r["digest_date"]))
        for r in before
        if r["id"] not in left
    ]


async def _one(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> aiosqlite.Row | None:
    async with conn.execute(sql, params) as cur:
        return await cur.fetchone()
