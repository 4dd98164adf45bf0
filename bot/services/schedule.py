"""When digests are due: the daily slot in the configured time zone, catch-up, and run bookkeeping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.services.clock import Clock, utc_now
from bot.store.db import Database

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def last_slot(now: dt.datetime, tz: ZoneInfo, at: dt.time) -> dt.date:
    """The digest date of the most recent scheduled time at or before ``now``."""
    local = now.astimezone(tz)
    today_slot = dt.datetime.combine(local.date(), at, tzinfo=tz)
    return local.date() if local >= today_slot else local.date() - dt.timedelta(days=1)


async def run_state(db: Database, guild_id: int, day: dt.date) -> str | None:
    value = await db.fetchval(
        "SELECT state FROM digest_runs WHERE guild_id = ? AND digest_date = ?", (guild_id, day.isoformat())
    )
    return str(value) if value is not None else None


async def mark_run(db: Database, guild_id: int, day: dt.date, state: str, *, clock: Clock = utc_now) -> None:
    now = clock().isoformat(timespec="seconds")
    await db.execute(
        "INSERT INTO digest_runs (guild_id, digest_date, state, claimed_at, finished_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(guild_id, digest_date) DO UPDATE SET state = excluded.state, "
        "finished_at = excluded.finished_at",
        (guild_id, day.isoformat(), state, now, now if state == "posted" else None),
    )


async def missed_days(
    db: Database, guild_id: int, *, tz: ZoneInfo, at: dt.time, clock: Clock = utc_now
) -> list[dt.date]:
    """The latest slot, when its digest was not fully posted (the catch-up after downtime)."""
    day = last_slot(clock(), tz, at)
    return [] if await run_state(db, guild_id, day) == "posted" else [day]
