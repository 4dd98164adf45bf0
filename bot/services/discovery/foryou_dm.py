"""The opt-in weekly "papers you may have missed" DM: once per member per week, mutes and pauses respected.

Like the digest DMs, each delivery is claimed in ``foryou_dms`` before anything is sent and carries a
nonce derived from (member, week), so overlapping runs or a restart never send it twice: a claim
older than the lease (its sender died) is retried with the same nonce, which Discord deduplicates.
Members whose DMs are paused (``/dms``) are skipped; papers with a muted tag are never recommended.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.services.clock import Clock, utc_now
from bot.services.digest.run import DmRefused
from bot.services.discovery.foryou import ForYou, recommend, week_start
from bot.services.discovery.related import RelatedFinder
from bot.store.db import Database

log = logging.getLogger(__name__)
LEASE = dt.timedelta(seconds=60)
WEEKLY_PICKS = 5


class ForYouSender(Protocol):
    async def open_dm(self, user_id: int) -> int:
        """The DM channel id for a member."""

    async def send_foryou(self, dm_channel_id: int, guild_id: int, picks: ForYou, nonce: str) -> int:
        """Send the weekly DM; returns its message id; raises DmRefused when Discord refuses."""


@dataclass
class WeeklyReport:
    week: dt.date
    sent: int = 0
    refused: int = 0
    failed: int = 0
    empty: int = 0
    already: int = 0


def foryou_nonce(user_id: int, week: dt.date) -> str:
    return "fy" + hashlib.blake2b(f"{user_id}:{week}".encode(), digest_size=11).hexdigest()


async def _claim(db: Database, user_id: int, week: dt.date, now: dt.datetime) -> bool:
    stamp = now.isoformat(timespec="seconds")
    stale = (now - LEASE).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO foryou_dms (user_id, week, state, claimed_at, updated_at) VALUES (?,?,'sending',?,?) "
            "ON CONFLICT(user_id, week) DO UPDATE SET state = 'sending', claimed_at = excluded.claimed_at, "
            "updated_at = excluded.updated_at WHERE foryou_dms.state = 'failed' "
            "OR (foryou_dms.state = 'sending' AND foryou_dms.claimed_at <= ?) RETURNING user_id",
            (user_id, week.isoformat(), stamp, stamp, stale),
        )
        return await cur.fetchone() is not None


async def _finish(
    db: Database,
    user_id: int,
    week: dt.date,
    state: str,
    now: dt.datetime,
    *,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    await db.execute(
        "UPDATE foryou_dms SET state = ?, message_id = ?, error = ?, updated_at = ? WHERE user_id = ? AND week = ?",
        (state, message_id, error, now.isoformat(timespec="seconds"), user_id, week.isoformat()),
    )


async def weekly_members(db: Database) -> list[tuple[int, int]]:
    """(member, guild) of everyone who turned the weekly DM on and has not paused their DMs."""
    rows = await db.fetchall(
        "SELECT f.user_id, f.guild_id FROM foryou_prefs f LEFT JOIN member_prefs m ON m.user_id = f.user_id "
        "WHERE f.weekly_dm = 1 AND coalesce(m.dms_paused, 0) = 0 ORDER BY f.user_id"
    )
    return [(int(r["user_id"]), int(r["guild_id"])) for r in rows]


async def deliver_weekly(
    db: Database, finder: RelatedFinder, sender: ForYouSender, *, clock: Clock = utc_now
) -> WeeklyReport:
    """Send this week's DM to every opted-in member who has not had it; failures stay per member."""
    week = week_start(clock().date())
    report = WeeklyReport(week)
    for user_id, guild_id in await weekly_members(db):
        if not await _claim(db, user_id, week, clock()):
            report.already += 1
            continue
        try:
            picks = await recommend(
                db, finder, user_id, guild_id=guild_id, limit=WEEKLY_PICKS, skip_shown=True, record=False
            )
            if not picks.items:
                report.empty += 1
                await _finish(db, user_id, week, "empty", clock())
                continue
            channel = await sender.open_dm(user_id)
            message_id = await sender.send_foryou(channel, guild_id, picks, foryou_nonce(user_id, week))
        except DmRefused as exc:
            report.refused += 1
            await _finish(db, user_id, week, "refused", clock(), error=str(exc)[:500])
        except Exception as exc:
            log.warning("weekly recommendations DM to %s failed: %s", user_id, exc)
            report.failed += 1
            await _finish(db, user_id, week, "failed", clock(), error=str(exc)[:500])
        else:
            report.sent += 1
            await _finish(db, user_id, week, "sent", clock(), message_id=message_id)
            stamp = clock().isoformat(timespec="seconds")
            await db.executemany(
                "INSERT INTO foryou_shown (user_id, paper_id, shown_at) VALUES (?,?,?) "
                "ON CONFLICT(user_id, paper_id) DO UPDATE SET shown_at = excluded.shown_at",
                [(user_id, item.id, stamp) for item in picks.items],
            )
    return report
