"""Member commands for finding papers: /search, /paper, /tags, /top."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, find_paper, paper_autocomplete, parse_day, tag_autocomplete
from bot.services.community.reactions import top_papers
from bot.services.search.fulltext import search
from bot.services.search.view import match_hits
from bot.store.papers import tag_counts
from bot.ui.embeds import COLOUR, no_mentions, render_hits_embed, render_paper_embeds
from bot.ui.i18n import t
from bot.ui.limits import EMBED_DESCRIPTION, truncate
from bot.ui.views import Paginator, paper_view

if TYPE_CHECKING:
    from bot.app import PaperBot

PAGE_SIZE = 5
MAX_RESULTS = 50
TAGS_PER_PAGE = 40


class Papers(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name=_("search"), description=_("Search papers, commentary and abstracts"))
    @app_commands.describe(
        query=_("Words to look for (Korean or English)"),
        tag=_("Only papers with this tag"),
        since=_("Only papers noted on or after this date (YYYY-MM-DD)"),
    )
    @app_commands.rename(query=_("query"), tag=_("tag"), since=_("since"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    async def search_command(
        self, interaction: Interaction, query: str, tag: str | None = None, since: str | None = None
    ) -> None:
        day = parse_day(since, interaction.locale)
        retriever = self.bot.services.retriever  # hybrid when embeddings are available
        if retriever is not None:
            hits = await retriever.search(query, tag=tag, since=day, limit=MAX_RESULTS)
        else:
            hits = await search(self.bot.db, query, tag=tag, since=day, limit=MAX_RESULTS)
        if not hits:
            suggestions = " ".join(f"`#{d}`" for _k, d, _n in await tag_counts(self.bot.db, limit=8)) or "—"
            await interaction.response.send_message(
                t("search.empty", interaction.locale, query=truncate(query, 100), tags=suggestions),
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        pages = math.ceil(len(hits) / PAGE_SIZE)
        matches = await match_hits(self.bot.db, query, hits)

        async def render(page: int) -> discord.Embed:
            chunk = hits[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            return render_hits_embed(
                query,
                chunk,
                page=page,
                pages=pages,
                total=len(hits),
                locale=interaction.locale,
                matches=matches,
            )

        view = Paginator(interaction.user.id, pages, render, interaction.locale)
        await interaction.response.send_message(
            embed=await render(1),
            view=view if pages > 1 else discord.utils.MISSING,
            allowed_mentions=no_mentions(),
        )

    @app_commands.command(name=_("paper"), description=_("Show a paper with its commentary"))
    @app_commands.describe(paper=_("Title or arXiv id"))
    @app_commands.rename(paper=_("paper"))
    @app_commands.autocomplete(paper=paper_autocomplete)
    async def paper_command(self, interaction: Interaction, paper: str) -> None:
        found = await find_paper(interaction, paper)
        await interaction.response.send_message(
            embeds=render_paper_embeds(found, locale=interaction.locale),
            view=paper_view(found.id, interaction.locale),
            allowed_mentions=no_mentions(),
        )

    @app_commands.command(name=_("tags"), description=_("Known tags and how many papers carry them"))
    async def tags_command(self, interaction: Interaction) -> None:
        rows = await tag_counts(self.bot.db)
        if not rows:
            await interaction.response.send_message(t("tags.empty", interaction.locale), ephemeral=True)
            return
        pages = math.ceil(len(rows) / TAGS_PER_PAGE)

        async def render(page: int) -> discord.Embed:
            chunk = rows[(page - 1) * TAGS_PER_PAGE : page * TAGS_PER_PAGE]
            text = " · ".join(f"`#{display}` {n}" for _k, display, n in chunk)
            embed = discord.Embed(
                title=t("tags.title", interaction.locale),
                colour=COLOUR,
                description=truncate(text, EMBED_DESCRIPTION),
            )
            embed.set_footer(text=f"{page}/{pages}")
            return embed

        view = Paginator(interaction.user.id, pages, render, interaction.locale)
        await interaction.response.send_message(
            embed=await render(1), view=view if pages > 1 else discord.utils.MISSING, ephemeral=True
        )

    @app_commands.command(name=_("top"), description=_("The most-reacted papers"))
    @app_commands.describe(period=_("Day, week or month"), tag=_("Only papers with this tag"))
    @app_commands.rename(period=_("period"), tag=_("tag"))
    @app_commands.choices(
        period=[
            app_commands.Choice(name=_("day"), value="day"),
            app_commands.Choice(name=_("week"), value="week"),
            app_commands.Choice(name=_("month"), value="month"),
        ]
    )
    @app_commands.autocomplete(tag=tag_autocomplete)
    async def top_command(
        self, interaction: Interaction, period: str = "week", tag: str | None = None
    ) -> None:
        top = await top_papers(self.bot.db, period, tag=tag, clock=self.bot.services.clock)
        period_name = t(f"period.{period}", interaction.locale)
        if not top:
            await interaction.response.send_message(
                t("top.empty", interaction.locale, period=period_name), ephemeral=True
            )
            return
        embed = discord.Embed(title=t("top.title", interaction.locale, period=period_name), colour=COLOUR)
        for rank, item in enumerate(top, start=1):
            link = (
                f" · [arXiv:{item.arxiv_id}](https://arxiv.org/abs/{item.arxiv_id})" if item.arxiv_id else ""
            )
            embed.add_field(
                name=truncate(f"{rank}. {item.title}", 256),
                value=t("top.line", interaction.locale, reactions=item.reactions, members=item.members)
                + link,
                inline=False,
            )
        await interaction.response.send_message(embed=embed, allowed_mentions=no_mentions())


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Papers(bot))
