"""Moderators' commentary: add, edit with an audit trail, and the curator's queue of missing notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.services.clock import Clock, iso_now, utc_now
from bot.store.db import Database

MAX_COMMENTARY = 20_000  # what one Discord form holds (5 text inputs x 4,000); imports may be longer


@dataclass(frozen=True)
class MissingCommentary:
    paper_id: int
    title: str
    arxiv_id: str | None
    digest_date: str


def _check(body: str, *, what: str = "commentary", required: bool = True) -> str:
    text = body.strip()
    if not text and required:
        raise ValueError(f"{what} is empty; write at least one sentence")
    if len(text) > MAX_COMMENTARY:
        raise ValueError(f"{what} is {len(text):,} characters; keep it under {MAX_COMMENTARY:,}")
    return text


async def add_commentary(
    db: Database, paper_id: int, body: str, *, author: str, author_id: int | None, body_en: str = ""
) -> int:
    """Store a new commentary by a member; returns its id."""
    text = _check(body)
    now = iso_now()
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO commentary (paper_id, body, body_en, author, author_id, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                paper_id,
                text,
                _check(body_en, what="the English version", required=False),
                author,
                author_id,
                now,
                now,
            ),
        )
        return int(cur.lastrowid or 0)


async def latest_commentary(db: Database, paper_id: int) -> tuple[int, str, str] | None:
    """(id, body, body_en) of the commentary an edit should start from: the most recent one."""
    row = await db.fetchone(
        "SELECT id, body, body_en FROM commentary WHERE paper_id = ? ORDER BY updated_at DESC, id DESC LIMIT 1",
        (paper_id,),
    )
    return (int(row["id"]), str(row["body"]), str(row["body_en"])) if row else None


async def edit_commentary(
    db: Database,
    commentary_id: int,
    body: str,
    *,
    editor: str,
    editor_id: int | None,
    body_en: str | None = None,
) -> None:
    """Replace a commentary's text, keeping the previous text as a revision."""
    text = _check(body)
    english = None if body_en is None else _check(body_en, what="the English version", required=False)
    now = iso_now()
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT body, body_en FROM commentary WHERE id = ?", (commentary_id,))
        old = await cur.fetchone()
        if old is None:
            raise LookupError(f"commentary {commentary_id} no longer exists")
        await conn.execute(
            "INSERT INTO commentary_revisions (commentary_id, body, body_en, editor, editor_id, edited_at)"
            " VALUES (?,?,?,?,?,?)",
            (commentary_id, old["body"], old["body_en"], editor, editor_id, now),
        )
        await conn.execute(
            "UPDATE commentary SET body = ?, body_en = ?, updated_at = ? WHERE id = ?",
            (text, old["body_en"] if english is None else english, now, commentary_id),
        )


async def revisions(db: Database, commentary_id: int) -> list[tuple[str, str, str]]:
    """(editor, edited_at, previous body) oldest first."""
    rows = await db.fetchall(
        "SELECT editor, edited_at, body FROM commentary_revisions WHERE commentary_id = ? ORDER BY id",
        (commentary_id,),
    )
    return [(r["editor"], r["edited_at"], r["body"]) for r in rows]


async def missing_commentary(
    db: Database, days: int = 7, *, clock: Clock = utc_now
) -> list[MissingCommentary]:
    """Papers in the last ``days`` of digests that have no commentary yet, newest first."""
    since = (clock().date() - dt.timedelta(days=days)).isoformat()
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.arxiv_id, max(e.digest_date) AS day FROM entries e JOIN papers p ON p.id = e.paper_id "
        "WHERE e.digest_date >= ? AND NOT EXISTS (SELECT 1 FROM commentary c WHERE c.paper_id = p.id) "
        "GROUP BY p.id ORDER BY day DESC, p.id",
        (since,),
    )
    return [MissingCommentary(r["id"], r["title"], r["arxiv_id"], r["day"]) for r in rows]
