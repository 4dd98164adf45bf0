"""Curator commentary from parsed files: one row per distinct paragraph, credited to every file that gives it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiosqlite

from bot.domain.models import CommentaryPart, Entry, ParsedFile
from bot.domain.note_meta import commentary_key, day_stamp, split_leading_urls
from bot.services.ingest.sources import select_in

if TYPE_CHECKING:
    from bot.services.ingest.draft import Draft

CURATOR = "curator"


def clean_commentary(entry: Entry) -> None:
    """URL-only lines a commentary opens with are links of the paper, not words of the curator."""
    entry.commentary, urls = split_leading_urls(entry.commentary)
    for part in entry.parts:
        part.body, more = split_leading_urls(part.body)
        urls += more
    entry.links = entry.links + [url for url in urls if url not in entry.links]


def _parts(entry: Entry, day: str | None, now: str) -> list[CommentaryPart]:
    """The commentaries an entry gives, dated by its note (the digest date or the file-name date)."""
    if entry.parts:
        return entry.parts
    stamp = day_stamp(dt.date.fromisoformat(day)) if day else now
    return [
        CommentaryPart(body=entry.commentary, body_en=entry.commentary_en, created_at=stamp, updated_at=stamp)
    ]


async def write_commentary(
    conn: aiosqlite.Connection,
    resolved: list[tuple[ParsedFile, str, Entry, Draft]],
    now: str,
    day_of: Callable[[Entry, ParsedFile], str | None],
) -> set[int]:
    """One row per distinct paragraph of a paper (per author), credited to every file that gives it.

    The same words from another file (a digest repeating a vault note, a ``… 1.md`` copy), differing
    only in whitespace or a leading URL line, are one commentary with several sources, dated by the
    earliest note. A file's own commentary that it changed is edited, with a revision.
    """
    paper_ids = sorted({d.id for *_, d in resolved if d.id is not None})
    rows = await select_in(
        conn,
        "SELECT id, paper_id, origin, author, body, body_en, created_at FROM commentary WHERE paper_id IN ({marks})",
        list(paper_ids),
    )
    by_origin = {(r["paper_id"], r["origin"]): dict(r) for r in rows}
    by_text: dict[tuple[int, str, str], dict[str, object]] = {
        (r["paper_id"], r["author"], commentary_key(r["body"])): dict(r) for r in rows
    }
    async with conn.execute("SELECT coalesce(max(id), 0) FROM commentary") as cur:
        top = await cur.fetchone()
    next_id = int(top[0]) if top else 0
    inserts: list[dict[str, object]] = []
    updates: dict[int, tuple[str, str, str, str]] = {}  # id -> body, body_en, created_at, updated_at
    revisions, credits, changed = [], set(), set()
    for parsed, key, entry, draft in resolved:
        assert draft.id is not None
        for n, part in enumerate(_parts(entry, day_of(entry, parsed), now)):
            body, body_en = part.body.strip(), part.body_en.strip()
            if not body and not body_en:
                continue
            origin = key if n == 0 else f"{key}#{n + 1}"
            created = part.created_at or now
            author = part.author or CURATOR
            text = commentary_key(body)
            old = by_origin.get((draft.id, origin))
            same = by_text.get((draft.id, author, text))
            if old is not None and same is None and author == old["author"]:
                # this file's own commentary, edited: keep the old words as a revision
                row_id = int(str(old["id"]))
                revisions.append((row_id, old["body"], old["body_en"], CURATOR, now))
                by_text.pop((draft.id, author, commentary_key(str(old["body"]))), None)
                old.update(body=body, body_en=body_en)
                by_text[(draft.id, author, text)] = old
                if not old.get("pending"):
                    updates[row_id] = (body, body_en, str(old["created_at"]), now)
                credits.add((row_id, key))
                changed.add(draft.id)
            elif same is not None:
                row_id = int(str(same["id"]))
                credits.add((row_id, key))
                earlier = min(str(same["created_at"]), created)
                fill = str(same["body_en"]) or body_en
                if earlier != same["created_at"] or fill != same["body_en"]:
                    same.update(created_at=earlier, body_en=fill)
                    if not same.get("pending"):
                        updates[row_id] = (str(same["body"]), fill, earlier, now)
                    changed.add(draft.id)
            else:
                next_id += 1
                row: dict[str, object] = {
                    "id": next_id,
                    "paper_id": draft.id,
                    "body": body,
                    "body_en": body_en,
                    "author": author,
                    "author_id": part.author_id,
                    "origin": origin if (draft.id, origin) not in by_origin else None,
                    "created_at": created,
                    "updated_at": part.updated_at or created,
                    "pending": True,
                }
                inserts.append(row)
                by_text[(draft.id, author, text)] = row
                by_origin.setdefault((draft.id, origin), row)
                credits.add((next_id, key))
                changed.add(draft.id)
    await conn.executemany(
        "INSERT INTO commentary_revisions (commentary_id, body, body_en, editor, edited_at) VALUES (?,?,?,?,?)",
        revisions,
    )
    await conn.executemany(
        "UPDATE commentary SET body=?, body_en=?, created_at=?, updated_at=? WHERE id=?",
        [(*values, row_id) for row_id, values in updates.items()],
    )
    await conn.executemany(
        "INSERT INTO commentary (id, paper_id, body, body_en, author, author_id, origin, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                r["id"],
                r["paper_id"],
                r["body"],
                r["body_en"],
                r["author"],
                r["author_id"],
                r["origin"],
                r["created_at"],
                r["updated_at"],
            )
            for r in inserts
        ],
    )
    keys = sorted({key for _, key, _, _ in resolved})
    before = await select_in(
        conn, "SELECT commentary_id, source FROM commentary_sources WHERE source IN ({marks})", keys
    )
    stale = {(r["commentary_id"], r["source"]) for r in before} - credits
    await conn.executemany("DELETE FROM commentary_sources WHERE commentary_id=? AND source=?", sorted(stale))
    await conn.executemany(
        "INSERT OR IGNORE INTO commentary_sources (commentary_id, source) VALUES (?,?)", sorted(credits)
    )
    return changed
