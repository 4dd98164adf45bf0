"""Member preferences: /subscribe, /unsubscribe, /subscriptions, /mute, /dms and /saved (all ephemeral)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, tag_autocomplete
from bot.services.community import members
from bot.store.papers import tag_counts
from bot.ui.embeds import COLOUR, no_mentions
from bot.ui.i18n import t
from bot.ui.limits import EMBED_FIELD_VALUE, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot


def _guild(interaction: Interaction) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild_id


def _fmt(keys: list[str]) -> str:
    return ", ".join(f"`#{k}`" for k in keys)


class Members(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    async def _known(self, keys: list[str]) -> tuple[list[str], list[str]]:
        known = {k for k, _d, _n in await tag_counts(self.bot.db)}
        return [k for k in keys if k in known], [k for k in keys if k not in known]

    async def _reply(self, interaction: Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())

    @app_commands.guild_only()
    @app_commands.command(
        name=_("subscribe"), description=_("Get a DM when papers with these tags are posted")
    )
    @app_commands.describe(tag=_("One or more tags, e.g. #llm #diffusion"))
    @app_commands.rename(tag=_("tag"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    async def subscribe(self, interaction: Interaction, tag: str) -> None:
        keys = members.split_tags(tag)
        if not keys:
            await self._reply(interaction, t("sub.none_given", interaction.locale))
            return
        known, unknown = await self._known(keys)
        lines = []
        if known:
            await members.set_tags(self.bot.db, interaction.user.id, _guild(interaction), known, "follow")
            lines.append(t("sub.done", interaction.locale, tags=_fmt(known)))
        if unknown:
            lines.append(t("sub.unknown", interaction.locale, tags=_fmt(unknown)))
        await self._reply(interaction, "\n".join(lines))

    @app_commands.guild_only()
    @app_commands.command(name=_("unsubscribe"), description=_("Stop DMs for these tags"))
    @app_commands.describe(tag=_("One or more tags, e.g. #llm #diffusion"))
    @app_commands.rename(tag=_("tag"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    async def unsubscribe(self, interaction: Interaction, tag: str) -> None:
        keys = members.split_tags(tag)
        removed = await members.unset_tags(self.bot.db, interaction.user.id, _guild(interaction), keys)
        lines = []
        if removed:
            lines.append(t("unsub.done", interaction.locale, tags=_fmt(removed)))
        if missing := [k for k in keys if k not in removed]:
            lines.append(t("unsub.none", interaction.locale, tags=_fmt(missing)))
        await self._reply(interaction, "\n".join(lines) or t("sub.none_given", interaction.locale))

    @app_commands.guild_only()
    @app_commands.command(name=_("mute"), description=_("Leave papers with these tags out of your DMs"))
    @app_commands.describe(tag=_("One or more tags, e.g. #llm #diffusion"))
    @app_commands.rename(tag=_("tag"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    async def mute(self, interaction: Interaction, tag: str) -> None:
        keys = members.split_tags(tag)
        if not keys:
            await self._reply(interaction, t("sub.none_given", interaction.locale))
            return
        await members.set_tags(self.bot.db, interaction.user.id, _guild(interaction), keys, "mute")
        await self._reply(interaction, t("mute.done", interaction.locale, tags=_fmt(keys)))

    @app_commands.command(name=_("dms"), description=_("Pause or resume digest DMs"))
    @app_commands.describe(paused=_("True to pause, False to resume"))
    @app_commands.rename(paused=_("paused"))
    async def dms(self, interaction: Interaction, paused: bool) -> None:
        await members.set_paused(self.bot.db, interaction.user.id, paused)
        await self._reply(interaction, t("dms.paused" if paused else "dms.resumed", interaction.locale))

    @app_commands.guild_only()
    @app_commands.command(name=_("subscriptions"), description=_("Your subscriptions, mutes and DM setting"))
    async def subscriptions(self, interaction: Interaction) -> None:
        subs = await members.subscriptions(self.bot.db, interaction.user.id, _guild(interaction))
        if not subs.follows and not subs.mutes:
            await self._reply(interaction, t("subs.empty", interaction.locale))
            return
        embed = discord.Embed(title=t("subs.title", interaction.locale), colour=COLOUR)
        if subs.follows:
            embed.add_field(
                name=t("subs.follows", interaction.locale),
                value=truncate(_fmt(subs.follows), EMBED_FIELD_VALUE),
            )
        if subs.mutes:
            embed.add_field(
                name=t("subs.mutes", interaction.locale), value=truncate(_fmt(subs.mutes), EMBED_FIELD_VALUE)
            )
        if subs.paused:
            embed.set_footer(text=t("subs.paused", interaction.locale))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name=_("saved"), description=_("Papers you saved"))
    async def saved(self, interaction: Interaction) -> None:
        papers = await members.saved_papers(self.bot.db, interaction.user.id, limit=25)
        if not papers:
            await self._reply(interaction, t("saved.empty", interaction.locale))
            return
        lines = [f"{n}. {title} (`/paper {pid}`)" for n, (pid, title) in enumerate(papers, start=1)]
        embed = discord.Embed(
            title=t("saved.title", interaction.locale),
            colour=COLOUR,
            description=truncate("\n".join(lines), 4000),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Members(bot))
