"""The Discord side of the weekly recommendations DM (implements services.foryou_dm.ForYouSender)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.services.digest.run import DmRefused
from bot.services.discovery.foryou import ForYou
from bot.ui.discovery.render import render_foryou_embed
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t

if TYPE_CHECKING:
    from bot.app import PaperBot

DM_REFUSED = 50007  # Discord: cannot send messages to this user


class DiscordForYouSender:
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    async def open_dm(self, user_id: int) -> int:
        channel = await self.bot.create_dm(discord.Object(id=user_id))
        return channel.id

    async def send_foryou(self, dm_channel_id: int, guild_id: int, picks: ForYou, nonce: str) -> int:
        guild = self.bot.get_guild(guild_id)
        locale = guild.preferred_locale if guild else None
        title = t("foryou.dm_title", locale, guild=guild.name if guild else "")
        embed = render_foryou_embed(picks, locale, title=title)
        embed.set_footer(text=t("foryou.dm_footer", locale))
        channel = self.bot.get_partial_messageable(dm_channel_id, type=discord.ChannelType.private)
        try:
            message = await channel.send(embed=embed, nonce=nonce, allowed_mentions=no_mentions())
        except discord.Forbidden as exc:
            if exc.code == DM_REFUSED:
                raise DmRefused(exc.text) from exc
            raise
        return message.id
