"""The posting outbox: one row per (paper, channel, day), claimed before sending, recorded after.

A post moves pending → sending (claimed, with a time) → sent (message id recorded) or failed. A claim
older than the lease means its sender died between sending and recording: the next sender first looks
for the message in the channel, and resends with the same nonce (Discord's ``enforce_nonce`` returns the
earlier message instead of posting twice).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass

from bot.services.clock import Clock, utc_now
from bot.store.db import Database, in_chunks

LEASE = dt.timedelta(seconds=60)
# A post that failed this many times for reasons other than a lost channel is given up (and reported).
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class OutboxPost:
    id: int
    paper_id: int
    guild_id: int
    channel_id: int
    digest_date: dt.date | None
    nonce: str
    state: str
    attempts: int
    message_id: int | None


def post_nonce(guild_id: int, channel_id: int, paper_id: int, day: dt.date | None) -> str:
    """Deterministic, so a resend after a crash carries the same nonce (Discord allows 25 chars)."""
    raw = f"{guild_id}:{channel_id}:{paper_id}:{day}".encode()
    return "pb" + hashlib.blake2b(raw, digest_size=11).hexdigest()


def _post(r: sqlite3.Row) -> OutboxPost:
    day = r["digest_date"]
    return OutboxPost(
        id=r["id"],
        paper_id=r["paper_id"],
        guild_id=r["guild_id"],
        channel_id=r["channel_id"],
        digest_date=dt.date.fromisoformat(day) if day else None,
        nonce=r["nonce"],
        state=r["state"],
        attempts=r["attempts"],
        message_id=r["message_id"],
    )


async def enqueue(
    db: Database, guild_id: int, day: dt.date | None, items: list[tuple[int, int]], *, clock: Clock = utc_now
) -> None:
    """Write (paper, channel) posts for a day before anything is sent; existing ones are kept as they are."""
    now = clock().isoformat(timespec="seconds")
    await db.executemany(
        "INSERT OR IGNORE INTO posts (paper_id, guild_id, channel_id, digest_date, nonce, created_at)"
        " VALUES (?,?,?,?,?,?)",
        [
            (
                paper_id,
                guild_id,
                channel_id,
                day.isoformat() if day else None,
                post_nonce(guild_id, channel_id, paper_id, day),
                now,
            )
            for paper_id, channel_id in items
        ],
    )


async def outbox_for(db: Database, guild_id: int, day: dt.date) -> list[OutboxPost]:
    """Every post of a guild's day in the order they were written (the curator's order per channel)."""
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE guild_id = ? AND digest_date = ? ORDER BY id", (guild_id, day.isoformat())
    )
    return [_post(r) for r in rows]


async def claim(db: Database, post_id: int, *, clock: Clock = utc_now) -> OutboxPost | None:
    """Take a pending post, or one whose sender's claim went stale; None when someone else has it."""
    now = clock()
    stale = (now - LEASE).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE posts SET state = 'sending', attempts = attempts + 1, claimed_at = ? "
            "WHERE id = ? AND (state = 'pending' OR (state = 'sending' AND claimed_at <= ?)) RETURNING *",
            (now.isoformat(timespec="seconds"), post_id, stale),
        )
        row = await cur.fetchone()
    return _post(row) if row is not None else None


async def record_sent(
    db: Database, post_id: int, message_id: int, *, thread_id: int | None = None, clock: Clock = utc_now
) -> None:
    await db.execute(
        "UPDATE posts SET state = 'sent', message_id = ?, thread_id = ?, error = NULL, sent_at = ? WHERE id = ?",
        (message_id, thread_id, clock().isoformat(timespec="seconds"), post_id),
    )


async def record_failed(db: Database, post_id: int, error: str, *, retry: bool) -> None:
    """Give the post back for a later run (``retry``), or mark it failed for good (channel gone)."""
    await db.execute(
        "UPDATE posts SET state = ?, error = ?, claimed_at = NULL WHERE id = ? AND state != 'sent'",
        ("pending" if retry else "failed", error[:500], post_id),
    )


async def release(db: Database, post_ids: set[int], error: str) -> int:
    """Give back posts this run claimed but never finished (an unexpected error); returns how many."""
    released = 0
    async with db.transaction() as conn:
        for chunk in in_chunks(sorted(post_ids)):
            marks = ",".join("?" * len(chunk))
            sql = f"UPDATE posts SET state = 'pending', claimed_at = NULL, error = coalesce(error, ?) WHERE state = 'sending' AND id IN ({marks}) RETURNING id"  # noqa: S608
            rows = await conn.execute_fetchall(sql, (error[:500], *chunk))
            released += len(list(rows))
    return released


async def days_to_drain(db: Database, guild_id: int, since: dt.date) -> set[dt.date]:
    """Days from ``since`` on with a post still to send (pending, or claimed by a sender)."""
    rows = await db.fetchall(
        "SELECT DISTINCT digest_date FROM posts WHERE guild_id = ? AND digest_date >= ? "
        "AND state IN ('pending', 'sending')",
        (guild_id, since.isoformat()),
    )
    return {dt.date.fromisoformat(r["digest_date"]) for r in rows}
