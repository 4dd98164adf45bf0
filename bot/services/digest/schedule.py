"""When digests are due: the daily slot in the configured time zone, catch-up, and run bookkeeping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.services.clock import Clock, utc_now
from bot.services.digest.dms import days_to_drain as dm_days
from bot.services.digest.outbox import days_to_drain as post_days
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
    db: Database,
    guild_id: int,
    *,
    tz: ZoneInfo,
    at: dt.time,
    horizon_days: int = 7,
    clock: Clock = utc_now,
) -> list[dt.date]:
    """Every digest day within the horizon still to deliver, oldest first (the catch-up after downtime).

    A day is due when its run was not finished and it is the latest slot, or a run for it was started,
    or a post or DM of it is still pending, or it comes after the guild's last run (the bot was down at
    its time). A guild that never ran a digest catches up only the latest slot, so a first start on an
    old vault does not post a week of digests at once.
    """
    latest = last_slot(clock(), tz, at)
    first = latest - dt.timedelta(days=max(horizon_days, 1) - 1)
    rows = await db.fetchall("SELECT digest_date, state FROM digest_runs WHERE guild_id = ?", (guild_id,))
    runs = {dt.date.fromisoformat(r["digest_date"]): str(r["state"]) for r in rows}
    last_run = max(runs, default=None)
    open_days = await post_days(db, guild_id, first) | await dm_days(db, guild_id, first)
    due: list[dt.date] = []
    for offset in range((latest - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if runs.get(day) == "posted" and day not in open_days:
            continue
        if day == latest or day in runs or day in open_days or (last_run is not None and day > last_run):
            due.append(day)
    return due
