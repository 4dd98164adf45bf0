"""Subscriber DMs for a posted digest: one per member, their matching entries, links to the posts."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING

from bot.domain.models import Paper
from bot.domain.tags import tag_key
from bot.services.clock import Clock, utc_now
from bot.services.digest.outbox import LEASE
from bot.services.digest.report import DmEntry
from bot.store.db import Database, in_chunks

if TYPE_CHECKING:
    from bot.services.digest.plan import DigestPlan
    from bot.services.digest.report import DigestReport, DigestSender, EntryProgress

log = logging.getLogger(__name__)
DM_CONCURRENCY = 16
MAX_DM_ATTEMPTS = 5
UNFINISHED = "the run ended before this DM was recorded"


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


async def _claim_all(
    db: Database, user_ids: list[int], guild_id: int, day: dt.date, now: dt.datetime
) -> dict[int, int]:
    """The members this run should DM, claimed in one transaction: member id → attempt number.

    New members, failed ones with attempts left, and ones whose sender's claim went stale (it died
    between sending and recording: the DM channel is searched before anything is resent).
    One transaction, not one per member: hundreds of small ones would hold the write lock while the channel
    workers wait to record their first posts.
    """
    claimed: dict[int, int] = {}
    stamp = now.isoformat(timespec="seconds")
    stale = (now - LEASE).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        for chunk in in_chunks(user_ids, 200):
            rows = ",".join("(?,?,?,'sending',?,1)" for _ in chunk)
            values: list[object] = [
                v for user_id in chunk for v in (user_id, guild_id, day.isoformat(), stamp)
            ]
            cur = await conn.execute(
                "INSERT INTO dm_deliveries (user_id, guild_id, digest_date, state, updated_at, attempts) "  # noqa: S608
                f"VALUES {rows} ON CONFLICT DO UPDATE SET state = 'sending', updated_at = excluded.updated_at, "
                "attempts = dm_deliveries.attempts + 1 WHERE (dm_deliveries.state = 'failed' "
                "AND dm_deliveries.attempts < ?) OR (dm_deliveries.state = 'sending' "
                "AND dm_deliveries.updated_at <= ?) RETURNING user_id, attempts",
                [*values, MAX_DM_ATTEMPTS, stale],
            )
            claimed.update({int(row[0]): int(row[1]) for row in await cur.fetchall()})
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
    final: bool = False,
) -> None:
    """Record a member's outcome; ``final`` failures are not retried (attempts set to the maximum)."""
    await db.execute(
        "UPDATE dm_deliveries SET state = ?, message_id = ?, error = ?, updated_at = ?, "
        "attempts = CASE WHEN ? THEN max(attempts, ?) ELSE attempts END "
        "WHERE user_id = ? AND guild_id = ? AND digest_date = ? AND state = 'sending'",
        (state, message_id, error, now, final, MAX_DM_ATTEMPTS, user_id, guild_id, day.isoformat()),
    )


async def days_to_drain(db: Database, guild_id: int, since: dt.date) -> set[dt.date]:
    """Days from ``since`` on with a DM still to deliver (claimed, or failed with attempts left)."""
    rows = await db.fetchall(
        "SELECT DISTINCT digest_date FROM dm_deliveries WHERE guild_id = ? AND digest_date >= ? "
        "AND (state = 'sending' OR (state = 'failed' AND attempts < ?))",
        (guild_id, since.isoformat(), MAX_DM_ATTEMPTS),
    )
    return {dt.date.fromisoformat(r["digest_date"]) for r in rows}


async def deliver_dms(
    db: Database,
    sender: DigestSender,
    guild_id: int,
    day: dt.date,
    plan: DigestPlan,
    papers: dict[int, Paper],
    progress: EntryProgress,
    report: DigestReport,
    *,
    clock: Clock = utc_now,
) -> None:
    """Send each subscriber one DM, as soon as all of its entries are posted. Failures stay per member.

    Nothing this run claimed is left in ``sending`` when it returns normally: every member ends sent,
    refused or failed (retried by a later run while attempts remain).
    """
    from bot.services.digest.report import DmRefused

    try:
        wanted = await recipients(db, guild_id, plan)
    except Exception as exc:
        log.exception("could not list the DM recipients of %s for guild %s", day, guild_id)
        report.problems.append(f"DMs not sent: {exc}")
        report.dms_retry += 1
        return
    if not wanted:
        return
    gate = asyncio.Semaphore(DM_CONCURRENCY)

    async def dm_worker(user_id: int, paper_ids: list[int], attempt: int) -> None:
        now = clock().isoformat(timespec="seconds")
        try:
            async with gate:
                dm_channel = await sender.open_dm(user_id)
            if attempt > 1:  # the last sender may have died after sending: look before resending
                async with gate:
                    found = await sender.find_dm(dm_channel, guild_id, day)
                if found is not None:
                    report.dms_already += 1
                    await _finish(db, user_id, guild_id, day, "sent", now, message_id=found)
                    return
            await asyncio.gather(*(progress.events[p].wait() for p in paper_ids))
            entries = [
                DmEntry(p, papers[p].title, papers[p].link, progress.links.get(p), papers[p].tags)
                for p in paper_ids
                if p in progress.links
            ]
            if not entries:
                # final only when every post failed for good; one in flight or given back comes later
                later = not all(progress.never_posted(p) for p in paper_ids)
                report.dms_retry += later
                await _finish(
                    db,
                    user_id,
                    guild_id,
                    day,
                    "failed",
                    now,
                    error="none of the entries was posted",
                    final=not later,
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
            final = attempt >= MAX_DM_ATTEMPTS
            report.dms_failed += final
            report.dms_retry += not final
            await _finish(db, user_id, guild_id, day, "failed", now, error=str(exc)[:500], final=final)
        else:
            report.dms_sent += 1
            await _finish(db, user_id, guild_id, day, "sent", now, message_id=message_id)

    claimed = await _claim_all(db, list(wanted), guild_id, day, clock())
    others = [u for u in wanted if u not in claimed]
    if others:
        report.dms_in_flight += int(
            await db.fetchval(
                "SELECT count(*) FROM dm_deliveries WHERE guild_id = ? AND digest_date = ? "
                "AND state = 'sending'",
                (guild_id, day.isoformat()),
            )
            or 0
        ) - len(claimed)
    results = await asyncio.gather(
        *(dm_worker(user_id, wanted[user_id], claimed[user_id]) for user_id in wanted if user_id in claimed),
        return_exceptions=True,
    )
    crashed = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Exception)]
    if crashed:
        raise crashed[0]
    for error in (r for r in results if isinstance(r, Exception)):  # _finish itself failed
        log.error("a DM could not be recorded: %s", error)
    # Nothing stays in 'sending' after a run that ends normally.
    stamp = clock().isoformat(timespec="seconds")
    async with db.transaction() as conn:
        for chunk in in_chunks(sorted(claimed), 500):
            marks = ",".join("?" * len(chunk))
            sql = f"UPDATE dm_deliveries SET state = 'failed', error = ?, updated_at = ? WHERE guild_id = ? AND digest_date = ? AND state = 'sending' AND user_id IN ({marks})"  # noqa: S608
            cur = await conn.execute(sql, (UNFINISHED, stamp, guild_id, day.isoformat(), *chunk))
            report.dms_retry += cur.rowcount
