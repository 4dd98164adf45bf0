"""Owner-only command sync: global sync happens on purpose, never on every boot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction
from bot.ui.errors import UserFacingError

if TYPE_CHECKING:
    from bot.app import PaperBot


class Owner(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name=_("sync"), description=_("Sync application commands (owner only)"))
    @app_commands.default_permissions(administrator=True)
    async def sync(self, interaction: Interaction) -> None:
        if not await self.bot.is_owner(interaction.user):
            raise UserFacingError("Only the bot's owner can sync commands.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        synced = await self.bot.sync_global()
        await interaction.followup.send(
            f"Synced {len(synced)} commands globally.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Owner(bot))
