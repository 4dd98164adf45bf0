"""Posting a day's digest exactly once per channel, then one DM per subscribed member.

Knows nothing of discord.py: a :class:`DigestSender` (the Discord adapter, or a test double) does I/O.
Channels are posted in parallel, each in the curator's order; a member's DM goes out as soon as every
entry it lists has a post to link to, so DMs overlap the channel fan-out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.domain.models import Paper
from bot.services.clock import Clock, utc_now
from bot.services.digest import outbox
from bot.services.digest.dms import deliver_dms
from bot.services.digest.plan import plan_digest
from bot.services.digest.report import (
    ChannelUnavailable,
    DigestReport,
    DigestSender,
    DmEntry,
    DmRefused,
    EntryProgress,
)
from bot.services.digest.routes import GuildConfig, guild_config
from bot.store.db import Database
from bot.store.papers import get_papers

# The run's vocabulary lives in digest.report; re-exported here, where callers start a run.
__all__ = ["ChannelUnavailable", "DigestReport", "DigestSender", "DmEntry", "DmRefused", "post_digest"]
log = logging.getLogger(__name__)


async def post_digest(
    db: Database, sender: DigestSender, guild_id: int, day: dt.date, *, clock: Clock = utc_now
) -> DigestReport:
    """Plan, write the outbox, send each post once, then DM subscribers. Safe to run concurrently/again."""
    report = DigestReport(guild_id, day)
    plan = await plan_digest(db, guild_id, day)
    report.entries = len(plan.entries)
    report.posts_planned = plan.post_count
    if plan.unrouted:
        titles = ", ".join(e.title for e in plan.unrouted[:5])
        report.problems.append(
            f"{len(plan.unrouted)} entries have no route and no fallback channel: {titles}"
        )
    if not plan.post_count:
        return report
    await outbox.enqueue(
        db, guild_id, day, [(e.paper_id, ch) for e in plan.entries for ch in e.channel_ids], clock=clock
    )
    posts = await outbox.outbox_for(db, guild_id, day)
    papers = await get_papers(db, sorted({p.paper_id for p in posts} | {e.paper_id for e in plan.entries}))
    config = await guild_config(db, guild_id)
    progress = EntryProgress(plan)
    claimed: set[int] = set()
    by_channel: dict[int, list[outbox.OutboxPost]] = {}
    for post in posts:
        by_channel.setdefault(post.channel_id, []).append(post)

    async def channel_worker(channel_id: int, queue: list[outbox.OutboxPost]) -> None:
        for index, post in enumerate(queue):
            if post.state == "sent" and post.message_id is not None:
                report.posts_already += 1
                progress.sent(post.paper_id, channel_id, post.message_id)
                continue
            if post.state == "failed":
                report.posts_failed += 1
                progress.tried(post.paper_id, final=True)
                continue
            try:
                await _send_one(
                    db, sender, post, papers.get(post.paper_id), config, report, progress, claimed, clock
                )
            except ChannelUnavailable as exc:
                for rest in queue[index:]:
                    if rest.state != "sent":
                        await outbox.record_failed(db, rest.id, str(exc), retry=False)
                        report.posts_failed += 1
                        progress.tried(rest.paper_id, final=True)
                message = f"cannot post in <#{channel_id}>: {exc}; skipped {len(queue) - index} posts"
                report.problems.append(message)
                await _report(sender, guild_id, message)
                return
            except Exception as exc:
                # Isolated: this post is given back (its error recorded), the channel's next post goes on.
                log.exception("post %s to channel %s failed unexpectedly", post.id, channel_id)
                if post.id in claimed:  # only this run's claim is ours to give back
                    await _give_back(db, post.id, exc, report, progress, post.paper_id)
                else:
                    report.posts_retry += 1
                    progress.tried(post.paper_id)

    dms = asyncio.create_task(
        deliver_dms(db, sender, guild_id, day, plan, papers, progress, report, clock=clock),
        name=f"digest-dms-{guild_id}-{day}",
    )
    try:
        await asyncio.gather(*(channel_worker(ch, queue) for ch, queue in by_channel.items()))
    finally:
        progress.release_all()
        await dms
    # Nothing this run claimed stays in 'sending' once it ends (a crash never gets here).
    stranded = await outbox.release(db, claimed, "the run ended before this post was recorded")
    if stranded:
        report.posts_retry += stranded
        report.problems.append(f"{stranded} posts were not finished; they will be retried")
    if report.problems:
        log.warning("digest %s for guild %s: %s", day, guild_id, "; ".join(report.problems))
    return report


async def _give_back(
    db: Database,
    post_id: int,
    exc: BaseException,
    report: DigestReport,
    progress: EntryProgress,
    paper_id: int,
) -> None:
    """Record the error on the post; retry it later unless it has failed too often already."""
    attempts = int(await db.fetchval("SELECT attempts FROM posts WHERE id = ?", (post_id,)) or 0)
    retry = attempts < outbox.MAX_ATTEMPTS
    await outbox.record_failed(db, post_id, f"{type(exc).__name__}: {exc}", retry=retry)
    if retry:
        report.posts_retry += 1
        report.problems.append(f"post of paper {paper_id} will be retried ({type(exc).__name__}: {exc})")
    else:
        report.posts_failed += 1
        report.problems.append(f"post of paper {paper_id} failed {attempts} times; given up: {exc}")
    progress.tried(paper_id, final=not retry)


async def _send_one(
    db: Database,
    sender: DigestSender,
    post: outbox.OutboxPost,
    paper: Paper | None,
    config: GuildConfig,
    report: DigestReport,
    progress: EntryProgress,
    claimed_ids: set[int],
    clock: Clock,
) -> None:
    claimed = await outbox.claim(db, post.id, clock=clock)
    if claimed is None:
        report.posts_in_flight += 1  # another run holds a fresh claim on it
        return
    claimed_ids.add(claimed.id)
    if paper is None:
        await outbox.record_failed(db, claimed.id, "the paper no longer exists", retry=False)
        report.posts_failed += 1
        progress.tried(claimed.paper_id, final=True)
        return
    if claimed.attempts > 1 and claimed.digest_date is not None:
        existing = await sender.find_post(claimed.channel_id, claimed.paper_id, claimed.digest_date)
        if existing is not None:
            await outbox.record_sent(db, claimed.id, existing, clock=clock)
            report.posts_sent += 1
            progress.sent(claimed.paper_id, claimed.channel_id, existing)
            return
    try:
        message_id, thread_id = await sender.send_post(
            claimed, paper, language=config.language, thread=config.threads
        )
    except ChannelUnavailable:
        raise
    except Exception as exc:
        # discord.py already retried 429s and 5xx; give it back for the next run.
        log.warning("post %s to channel %s failed: %s", claimed.id, claimed.channel_id, exc)
        await _give_back(db, claimed.id, exc, report, progress, claimed.paper_id)
        return
    await outbox.record_sent(db, claimed.id, message_id, thread_id=thread_id, clock=clock)
    report.posts_sent += 1
    progress.sent(claimed.paper_id, claimed.channel_id, message_id)


async def _report(sender: DigestSender, guild_id: int, text: str) -> None:
    try:
        await sender.report(guild_id, text)
    except Exception:
        log.exception("could not report to the moderator log of guild %s", guild_id)
