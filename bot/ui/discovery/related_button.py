"""The persistent "Related" button under every paper post, and the reply it shares with /related."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeAlias

import discord

from bot.services.discovery.related import RelatedFinder
from bot.store.papers import get_paper
from bot.ui.discovery.render import render_related_embed
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t
from bot.ui.limits import truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

Interaction: TypeAlias = "discord.Interaction[PaperBot]"
RELATED_LIMIT = 6


def related_finder(bot: PaperBot) -> RelatedFinder:
    """The bot's finder (one per bot, so its caches are shared), created on first use."""
    finder = bot.services.related_finder
    if finder is None:
        finder = RelatedFinder(bot.db, bot.services.retriever)
        bot.services.related_finder = finder
    return finder


async def send_related(interaction: Interaction, paper_id: int, *, ephemeral: bool) -> None:
    """Reply with the papers related to one paper (or say there are none yet, or that it is gone)."""
    paper = await get_paper(interaction.client.db, paper_id)
    locale = interaction.locale
    if paper is None:
        await interaction.response.send_message(
            t("paper.not_found", locale, ref=str(paper_id)), ephemeral=True, allowed_mentions=no_mentions()
        )
        return
    items = await related_finder(interaction.client).related(paper.id, limit=RELATED_LIMIT)
    if not items:
        await interaction.response.send_message(
            t("related.empty", locale, title=truncate(paper.title, 200)),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )
        return
    await interaction.response.send_message(
        embed=render_related_embed(paper.title, items, locale),
        ephemeral=ephemeral,
        allowed_mentions=no_mentions(),
    )


class RelatedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"paperbot:related:(?P<paper_id>\d+)",
):
    """Shows the papers related to a post's paper, only to the member who pressed it; survives restarts."""

    def __init__(self, paper_id: int, *, label: str = "Related") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=f"paperbot:related:{paper_id}"
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RelatedButton:
        return cls(int(match["paper_id"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        await send_related(interaction, self.paper_id, ephemeral=True)
