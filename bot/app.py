"""The Discord client: resources passed in, extensions per feature, deliberate command sync.

This module imports no ``bot.ui`` module: the tree-wide error handler, the translator and the persistent
buttons are wired in by the ``bot.ui.hooks`` extension, so the ui may depend on the bot type without a cycle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

from bot.services.answers.answerer import Answerer
from bot.services.clock import Clock, utc_now
from bot.services.digest.report import DigestReport
from bot.services.discovery.foryou_dm import WeeklyReport
from bot.services.discovery.related import RelatedFinder
from bot.services.search.retrieval import Retriever
from bot.settings import Settings
from bot.store.db import Database

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.ui.hooks",  # first: the translator and error handler are in place before any command is added
    "bot.cogs.papers",
    "bot.cogs.members",
    "bot.cogs.moderation",
    "bot.cogs.digest",
    "bot.cogs.reactions",
    "bot.cogs.answers",
    "bot.cogs.owner",
    "bot.cogs.ops",
    "bot.cogs.discovery",
)


ButtonHandler = Callable[["discord.Interaction[PaperBot]", int], Awaitable[None]]
Closer = Callable[[], Awaitable[None]]


@dataclass
class PaperButtons:
    """What the Ask and Summarise buttons under paper posts call; the answers cog fills them in.
    Unset (answers not loaded), a press is answered with the paper's link instead."""

    ask: ButtonHandler | None = None
    summarise: ButtonHandler | None = None


class DigestRuns(Protocol):
    """The digest runner as the rest of the bot sees it (``bot.ui.digest.runner.DigestRunner``)."""

    last_run: tuple[dt.date, DigestReport] | None

    async def run(self, guild_id: int, day: dt.date) -> DigestReport: ...

    async def wait_for_run(self, guild_id: int, day: dt.date, timeout: float = 10.0) -> DigestReport: ...  # noqa: ASYNC109

    async def catch_up(self) -> None: ...

    async def drain(self) -> dict[int, list[DigestReport]]: ...


class WeeklyRuns(Protocol):
    """The weekly recommendations DM job as the rest of the bot sees it (``bot.cogs.discovery``)."""

    async def run(self) -> WeeklyReport: ...


@dataclass
class Services:
    """Everything the cogs call, built once in ``main()`` (``bot.runner``, ``bot.features``).

    The optional parts are typed fields: None when the feature is off or not loaded."""

    settings: Settings
    db: Database
    clock: Clock = utc_now
    scheduler: AsyncIOScheduler | None = None
    retriever: Retriever | None = None  # hybrid search; None: plain BM25 search, no embeddings
    answerer: Answerer | None = None  # required by the answers extension
    digest_runner: DigestRuns | None = None  # set by the digest extension
    related_finder: RelatedFinder | None = None  # one per bot (shared caches), made on first use
    foryou_weekly: WeeklyRuns | None = None  # set by the discovery extension
    buttons: PaperButtons = field(default_factory=PaperButtons)
    closers: list[Closer] = field(default_factory=list)  # awaited in order at shutdown


def intents() -> discord.Intents:
    """Only what paperbot needs: guilds, reactions, and guild messages to see its own posts land
    (no message content, no members list: nothing privileged)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_reactions = True
    wanted.guild_messages = True
    wanted.dm_messages = False
    return wanted


class PaperBot(commands.Bot):
    def __init__(self, services: Services, *, rest_only: bool = False, **options: Any) -> None:
        """``rest_only``: a one-shot REST client (``paperbot digest post``) that never touches the
        command registry, the scheduler or background work."""
        # paperbot has no voice features: discord.py's "voice will NOT be supported" warnings are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.services = services
        self.rest_only = rest_only
        self.settings = services.settings
        self.db = services.db
        self.started_at = time.monotonic()
        self.unexpected_errors: list[BaseException] = []
        self._background: set[asyncio.Task[Any]] = set()
        # Refusals and bad input, told apart from failures; bot.ui.hooks installs the ui's judgement.
        self.expected_error: Callable[[BaseException], bool] = lambda error: False

    async def setup_hook(self) -> None:
        for name in EXTENSIONS:
            await self.load_extension(name)
        if self.rest_only:
            return
        if self.services.scheduler is not None and not self.services.scheduler.running:
            self.services.scheduler.start()
        self.embed_later()  # backfill whatever the CLI or an older version left unembedded
        if self.settings.dev_guild_id:
            await self.sync_dev_guild(self.settings.dev_guild_id)

    async def sync_dev_guild(self, guild_id: int) -> None:
        """Sync commands to the development guild; a failure is a warning, never a failed start."""
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.warning(
                "could not sync commands to PAPERBOT_DEV_GUILD_ID %s (%s %s): is the bot in that server, "
                "invited with the applications.commands scope? Continuing with the commands Discord has.",
                guild_id,
                exc.status,
                exc.text or exc.response.reason,
            )
            return
        log.info("synced %d commands to dev guild %s", len(synced), guild_id)

    async def sync_global(self) -> list[app_commands.AppCommand]:
        synced = await self.tree.sync()
        log.info("synced %d commands globally", len(synced))
        return synced

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run background work whose exceptions are logged, and which close() waits for."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._background.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("background task %s failed", name, exc_info=finished.exception())
                self.record_error(finished.exception())

        task.add_done_callback(done)
        return task

    def is_expected_error(self, error: BaseException) -> bool:
        return self.expected_error(error)

    def embed_later(self, paper_ids: list[int] | None = None) -> None:
        """Compute embeddings for new or changed papers in the background (all stale ones when None)."""
        retriever = self.services.retriever
        if retriever is None or retriever.embedder is None or paper_ids == []:
            return
        self.spawn(retriever.update(paper_ids=paper_ids), name="embeddings-update")

    def record_error(self, error: BaseException | None) -> None:
        if error is not None:
            self.unexpected_errors.append(error)
            del self.unexpected_errors[:-50]

    async def close(self) -> None:
        """Finish in-flight work (bounded), then disconnect. The DB is closed by ``main()``."""
        pending = [t for t in self._background if not t.done()]
        pending += [t for t in asyncio.all_tasks() if t.get_name().startswith("CommandTree-invoker")]
        if self.services.scheduler is not None and self.services.scheduler.running:
            self.services.scheduler.shutdown(wait=False)
        if pending:
            log.info("waiting for %d in-flight tasks before closing", len(pending))
            await asyncio.wait(pending, timeout=10)
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guilds", self.user, len(self.guilds))
