"""Reactions on the bot's posts, from raw gateway events so uncached messages count too."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.services.community.reactions import record_reaction

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)


class Reactions(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    async def _record(self, event: discord.RawReactionActionEvent, *, added: bool) -> None:
        if self.bot.user is not None and event.user_id == self.bot.user.id:
            return
        recorded = await record_reaction(
            self.bot.db, event.message_id, event.user_id, str(event.emoji), added=added
        )
        if recorded:
            log.debug(
                "reaction %s %s on %s by %s",
                "+" if added else "-",
                event.emoji,
                event.message_id,
                event.user_id,
            )

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self._record(event, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self._record(event, added=False)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Reactions(bot))
