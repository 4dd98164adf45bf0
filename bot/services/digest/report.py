"""What a digest run works with: the sender it talks through (the Discord adapter, or a test double),
what each member's DM lists, per-paper progress, and the report it returns."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.models import Paper
from bot.services.digest import outbox
from bot.services.digest.plan import DigestPlan


@dataclass(frozen=True)
class DmEntry:
    paper_id: int
    title: str
    link: str | None  # the paper (arXiv or source)
    jump: tuple[int, int] | None  # (channel id, message id) of its post
    tags: list[str]


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
