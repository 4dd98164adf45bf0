"""Subscriber DMs for a posted digest: one per member, their matching entries, links to the posts."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.models import Paper
from bot.domain.tags import tag_key
from bot.services.clock import Clock, utc_now
from bot.store.db import Database, in_chunks

if TYPE_CHECKING:
    from bot.services.digest_plan import DigestPlan
    from bot.services.digest_run import DigestReport, DigestSender

log = logging.getLogger(__name__)
DM_CONCURRENCY = 16


@dataclass(frozen=True)
class DmEntry:
    paper_id: int
    title: str
    link: str | None  # the paper (arXiv or source)
    jump: tuple[int, int] | None  # (channel id, message id) of its post
    tags: list[str]


async def recipients(db: Database, guild_id: int, plan: DigestPlan) -> dict[int, list[int]]:
    """member id → paper ids to DM: entries with a followed tag and no muted tag; paused members skipped."""
    rows = await db.fetchall(
        "SELECT s.user_id, s.tag_key, s.kind FROM subscriptions s "
        "LEFT JOIN member_prefs m ON m.user_id = s.user_id WHERE s.guild_id = ? AND coalesce(m.dms_paused, 0) = 0",
        (guild_id,),
    )
    follows: dict[int, set[str]] = {}
    mutes: dict[int, set[str]] = {}
    for row in rows:
        (follows if row["kind"] == "follow" else mutes).setdefault(row["user_id"], set()).add(row["tag_key"])
    entry_keys = [(entry.paper_id, {tag_key(t) for t in entry.tags}) for entry in plan.entries]
    wanted: dict[int, list[int]] = {}
    for user_id, followed in follows.items():
        muted = mutes.get(user_id, set())
        for paper_id, keys in entry_keys:
            if keys & followed and not keys & muted:
                wanted.setdefault(user_id, []).append(paper_id)
    return wanted


def dm_nonce(user_id: int, guild_id: int, day: dt.date) -> str:
    return "dm" + hashlib.blake2b(f"{user_id}:{guild_id}:{day}".encode(), digest_size=11).hexdigest()


async def _claim_all(db: Database, user_ids: list[int], guild_id: int, day: dt.date, now: str) -> set[int]:
    """The members this run should DM (none sent, refused or in progress before), claimed in one transaction.

    One transaction, not one per member: hundreds of small ones would hold the write lock while the channel
    workers wait to record their first posts.
    """
    claimed: set[int] = set()
    async with db.transaction() as conn:
        for chunk in in_chunks(user_ids, 200):
            rows = ",".join("(?,?,?,'sending',?)" for _ in chunk)
            cur = await conn.execute(
                f"INSERT INTO dm_deliveries (user_id, guild_id, digest_date, state, updated_at) VALUES {rows} "  # noqa: S608
                "ON CONFLICT DO UPDATE SET state = 'sending', updated_at = excluded.updated_at "
                "WHERE dm_deliveries.state = 'failed' RETURNING user_id",
                [value for user_id in chunk for value in (user_id, guild_id, day.isoformat(), now)],
            )
            claimed.update(int(row[0]) for row in await cur.fetchall())
    return claimed


async def _finish(
    db: Database,
    user_id: int,
    guild_id: int,
    day: dt.date,
    state: str,
    now: str,
    *,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    await db.execute(
        "UPDATE dm_deliveries SET state = ?, message_id = ?, error = ?, updated_at = ? "
        "WHERE user_id = ? AND guild_id = ? AND digest_date = ?",
        (state, message_id, error, now, user_id, guild_id, day.isoformat()),
    )


async def deliver_dms(
    db: Database,
    sender: DigestSender,
    guild_id: int,
    day: dt.date,
    plan: DigestPlan,
    papers: dict[int, Paper],
    ready: dict[int, asyncio.Event],
    links: dict[int, tuple[int, int]],
    report: DigestReport,
    *,
    clock: Clock = utc_now,
) -> None:
    """Send each subscriber one DM, as soon as all of its entries are posted. Failures stay per member."""
    from bot.services.digest_run import DmRefused

    wanted = await recipients(db, guild_id, plan)
    if not wanted:
        return
    gate = asyncio.Semaphore(DM_CONCURRENCY)

    async def one(user_id: int, paper_ids: list[int]) -> None:
        now = clock().isoformat(timespec="seconds")
        try:
            async with gate:
                dm_channel = await sender.open_dm(user_id)
            await asyncio.gather(*(ready[p].wait() for p in paper_ids))
            entries = [
                DmEntry(p, papers[p].title, papers[p].link, links.get(p), papers[p].tags)
                for p in paper_ids
                if p in links
            ]
            if not entries:
                await _finish(
                    db, user_id, guild_id, day, "failed", now, error="none of the entries was posted"
                )
                return
            async with gate:
                message_id = await sender.send_dm(
                    dm_channel, guild_id, day, entries, dm_nonce(user_id, guild_id, day)
                )
        except DmRefused as exc:
            report.dms_refused += 1
            await _finish(db, user_id, guild_id, day, "refused", now, error=str(exc))
        except Exception as exc:
            log.warning("DM to %s for %s failed: %s", user_id, day, exc)
            report.dms_failed += 1
            await _finish(db, user_id, guild_id, day, "failed", now, error=str(exc)[:500])
        else:
            report.dms_sent += 1
            await _finish(db, user_id, guild_id, day, "sent", now, message_id=message_id)

    claimed = await _claim_all(db, list(wanted), guild_id, day, clock().isoformat(timespec="seconds"))
    await asyncio.gather(*(one(user_id, wanted[user_id]) for user_id in wanted if user_id in claimed))
