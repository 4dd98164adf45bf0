"""The Discord client: resources passed in, extensions per feature, deliberate command sync."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

from bot.services.clock import Clock, utc_now
from bot.settings import Settings
from bot.store.db import Database
from bot.ui.errors import is_expected, on_tree_error
from bot.ui.i18n import PaperbotTranslator

log = logging.getLogger(__name__)

EXTENSIONS = (
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


@dataclass
class Services:
    """Everything the cogs call, built once in ``main()``. Optional parts are filled in by later features."""

    settings: Settings
    db: Database
    clock: Clock = utc_now
    scheduler: AsyncIOScheduler | None = None
    extras: dict[str, Any] = field(default_factory=dict)


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
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        await self.tree.set_translator(PaperbotTranslator())
        from bot.ui.views import answer_stale_component, dynamic_items

        self.add_dynamic_items(*dynamic_items())
        self.add_listener(answer_stale_component, "on_interaction")
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

    @staticmethod
    def is_expected_error(error: BaseException) -> bool:
        return is_expected(error)

    def embed_later(self, paper_ids: list[int] | None = None) -> None:
        """Compute embeddings for new or changed papers in the background (all stale ones when None)."""
        retriever = self.services.extras.get("retriever")
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
