"""Reactions on the bot's posts as a signal: recorded per paper, emoji and member; top papers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.domain.tags import tag_key
from bot.services.clock import Clock, iso_now, utc_now
from bot.store.db import Database

PERIODS = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7), "month": dt.timedelta(days=30)}


@dataclass(frozen=True)
class TopPaper:
    paper_id: int
    title: str
    arxiv_id: str | None
    reactions: int
    members: int


async def paper_for_message(db: Database, message_id: int) -> int | None:
    """The paper a bot post (or its thread) is about, or None for any other message."""
    value = await db.fetchval(
        "SELECT paper_id FROM posts WHERE message_id = ? OR thread_id = ? LIMIT 1", (message_id, message_id)
    )
    return int(value) if value is not None else None


async def record_reaction(db: Database, message_id: int, user_id: int, emoji: str, *, added: bool) -> bool:
    """Record an add or remove on a bot post; False when the message is not one of ours."""
    paper_id = await paper_for_message(db, message_id)
    if paper_id is None:
        return False
    if added:
        await db.execute(
            "INSERT OR IGNORE INTO reactions (message_id, paper_id, user_id, emoji, created_at) VALUES (?,?,?,?,?)",
            (message_id, paper_id, user_id, emoji, iso_now()),
        )
    else:
        await db.execute(
            "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
            (message_id, user_id, emoji),
        )
    return True


async def top_papers(
    db: Database, period: str = "week", *, tag: str | None = None, limit: int = 10, clock: Clock = utc_now
) -> list[TopPaper]:
    """Most-reacted papers whose reactions came within the period, most first."""
    since = (clock() - PERIODS.get(period, PERIODS["week"])).isoformat(timespec="seconds")
    params: list[object] = [since]
    tag_clause = ""
    if tag and tag_key(tag):
        tag_clause = (
            " AND EXISTS (SELECT 1 FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id"
            " WHERE pt.paper_id = r.paper_id AND t.key = ?)"
        )
        params.append(tag_key(tag))
    params.append(limit)
    rows = await db.fetchall(
        "SELECT r.paper_id, p.title, p.arxiv_id, count(*) AS n, count(DISTINCT r.user_id) AS members "  # noqa: S608
        f"FROM reactions r JOIN papers p ON p.id = r.paper_id WHERE r.created_at >= ?{tag_clause} "
        "GROUP BY r.paper_id ORDER BY n DESC, members DESC, r.paper_id LIMIT ?",
        params,
    )
    return [TopPaper(r["paper_id"], r["title"], r["arxiv_id"], r["n"], r["members"]) for r in rows]
