"""Posting a day's digest exactly once per channel, then one DM per subscribed member.

Knows nothing of discord.py: a :class:`DigestSender` (the Discord adapter, or a test double) does I/O.
Channels are posted in parallel, each in the curator's order; a member's DM goes out as soon as every
entry it lists has a post to link to, so DMs overlap the channel fan-out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.models import Paper
from bot.services import outbox
from bot.services.clock import Clock, utc_now
from bot.services.digest_plan import DigestPlan, plan_digest
from bot.services.dms import DmEntry, deliver_dms
from bot.services.routes import GuildConfig, guild_config
from bot.store.db import Database
from bot.store.papers import get_papers

log = logging.getLogger(__name__)


class ChannelUnavailable(Exception):
    """The channel was deleted or the bot may not post there: skip it, tell the moderators."""


class DmRefused(Exception):
    """The member does not accept DMs from the bot (Discord error 50007)."""


class DigestSender(Protocol):
    async def send_post(
        self, post: outbox.OutboxPost, paper: Paper, *, language: str, thread: bool
    ) -> tuple[int, int | None]:
        """Send one post with its nonce; returns (message id, thread id)."""

    async def find_post(self, channel_id: int, paper_id: int, day: dt.date) -> int | None:
        """The id of a post for this paper and day already in the channel (crash recovery)."""

    async def open_dm(self, user_id: int) -> int:
        """The DM channel id for a member."""

    async def send_dm(
        self, dm_channel_id: int, guild_id: int, day: dt.date, entries: list[DmEntry], nonce: str
    ) -> int:
        """Send a member their digest DM; raises DmRefused when Discord refuses."""

    async def find_dm(self, dm_channel_id: int, guild_id: int, day: dt.date) -> int | None:
        """The id of this guild's digest DM for ``day`` already in a DM channel (crash recovery)."""

    async def report(self, guild_id: int, text: str) -> None:
        """Tell the guild's moderators (the log channel) about a problem."""


@dataclass
class DigestReport:
    guild_id: int
    day: dt.date
    entries: int = 0
    posts_planned: int = 0
    posts_sent: int = 0
    posts_already: int = 0
    posts_failed: int = 0
    posts_in_flight: int = 0
    posts_retry: int = 0  # failed this time, given back for a later run
    dms_sent: int = 0
    dms_already: int = 0  # found in the DM channel after a crash: recorded, not resent
    dms_refused: int = 0
    dms_failed: int = 0
    dms_retry: int = 0  # failed this time (or nothing to link yet), to be retried by a later run
    dms_in_flight: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every planned post and DM is delivered or failed for good; nothing is left to retry."""
        return (
            self.posts_in_flight == 0
            and self.posts_retry == 0
            and self.dms_in_flight == 0
            and self.dms_retry == 0
            and self.posts_sent + self.posts_already + self.posts_failed >= self.posts_planned
        )

    @property
    def delivered(self) -> int:
        """Posts and DMs this run sent or reconciled (zero for a run that found everything done)."""
        return self.posts_sent + self.dms_sent + self.dms_already


class EntryProgress:
    """Per paper: the first post's link, and an event set once every channel has been tried."""

    def __init__(self, plan: DigestPlan) -> None:
        self.remaining = {e.paper_id: len(e.channel_ids) for e in plan.entries}
        self.links: dict[int, tuple[int, int]] = {}
        self.events = {e.paper_id: asyncio.Event() for e in plan.entries}
        self.channels = {e.paper_id: len(e.channel_ids) for e in plan.entries}
        self.failed: dict[int, int] = {}  # paper -> its posts that failed for good
        for paper_id, count in self.remaining.items():
            if count == 0:
                self.events[paper_id].set()

    def sent(self, paper_id: int, channel_id: int, message_id: int) -> None:
        self.links.setdefault(paper_id, (channel_id, message_id))
        if paper_id in self.events:
            self.events[paper_id].set()  # one link is enough for a DM
        self.tried(paper_id)

    def tried(self, paper_id: int, *, final: bool = False) -> None:
        """A post of the paper was attempted; ``final``: it failed for good (not given back)."""
        if final:
            self.failed[paper_id] = self.failed.get(paper_id, 0) + 1
        if paper_id not in self.remaining:  # an outbox row whose entry left the plan
            return
        self.remaining[paper_id] -= 1
        if self.remaining[paper_id] <= 0:
            self.events[paper_id].set()

    def never_posted(self, paper_id: int) -> bool:
        """Every post of the paper failed for good (a DM has nothing to link to, now or later)."""
        return self.failed.get(paper_id, 0) >= self.channels.get(paper_id, 0)

    def release_all(self) -> None:
        for event in self.events.values():
            event.set()


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
