"""Moderator commands: /commentary and /route. Hidden by default permissions and checked at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, find_paper, paper_autocomplete, tag_autocomplete
from bot.domain.tags import tag_key
from bot.services import commentary as notes
from bot.services import routes
from bot.ui.checks import moderator_only
from bot.ui.embeds import COLOUR, no_mentions
from bot.ui.errors import UserFacingError
from bot.ui.i18n import t
from bot.ui.limits import EMBED_DESCRIPTION, MODAL_TEXT, truncate
from bot.ui.posting import refresh_paper_posts

if TYPE_CHECKING:
    from bot.app import PaperBot

MODERATOR = discord.Permissions(manage_guild=True)


class CommentaryModal(discord.ui.Modal):
    """Long-form commentary; on submit the text is stored and earlier posts are re-rendered."""

    def __init__(
        self,
        bot: PaperBot,
        paper_id: int,
        title: str,
        locale: discord.Locale,
        *,
        commentary_id: int | None = None,
        body: str = "",
        body_en: str = "",
    ) -> None:
        super().__init__(title=truncate(f"{t('commentary.modal_title', locale)}: {title}", 45), timeout=900)
        self.bot, self.paper_id, self.paper_title, self.commentary_id = bot, paper_id, title, commentary_id
        self.body: discord.ui.TextInput[CommentaryModal] = discord.ui.TextInput(
            label=t("commentary.field", locale),
            style=discord.TextStyle.paragraph,
            default=body or None,
            max_length=MODAL_TEXT,
        )
        self.body_en: discord.ui.TextInput[CommentaryModal] = discord.ui.TextInput(
            label=t("commentary.field_en", locale),
            style=discord.TextStyle.paragraph,
            default=body_en or None,
            required=False,
            max_length=MODAL_TEXT,
        )
        self.add_item(self.body)
        self.add_item(self.body_en)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await interaction.response.defer(ephemeral=True, thinking=True)
        author = interaction.user.display_name
        if self.commentary_id is None:
            await notes.add_commentary(
                self.bot.db,
                self.paper_id,
                self.body.value,
                author=author,
                author_id=interaction.user.id,
                body_en=self.body_en.value,
            )
        else:
            await notes.edit_commentary(
                self.bot.db,
                self.commentary_id,
                self.body.value,
                editor=author,
                editor_id=interaction.user.id,
                body_en=self.body_en.value,
            )
        edited = await refresh_paper_posts(self.bot, self.paper_id)
        await interaction.followup.send(
            t("commentary.added", interaction.locale, title=self.paper_title, posts=edited),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    async def on_error(self, interaction: Interaction, error: Exception, /) -> None:  # type: ignore[override]
        from bot.ui.errors import on_tree_error

        wrapped = (
            error
            if isinstance(error, app_commands.AppCommandError)
            else app_commands.AppCommandError(str(error))
        )
        wrapped.__cause__ = error
        await on_tree_error(interaction, wrapped)


class Moderation(commands.Cog):
    commentary = app_commands.Group(
        name=_("commentary"),
        description=_("Add or edit the curator's commentary"),
        default_permissions=MODERATOR,
        guild_only=True,
    )
    route = app_commands.Group(
        name=_("route"),
        description=_("Send papers with a tag to a channel"),
        default_permissions=MODERATOR,
        guild_only=True,
    )

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    # /commentary ---------------------------------------------------------------------------------
    @commentary.command(name=_("add"), description=_("Add commentary to a paper"))
    @app_commands.describe(paper=_("Title or arXiv id"))
    @app_commands.rename(paper=_("paper"))
    @app_commands.autocomplete(paper=paper_autocomplete)
    @moderator_only()
    async def commentary_add(self, interaction: Interaction, paper: str) -> None:
        found = await find_paper(interaction, paper)
        await interaction.response.send_modal(
            CommentaryModal(self.bot, found.id, found.title, interaction.locale)
        )

    @commentary.command(name=_("edit"), description=_("Edit a paper's latest commentary"))
    @app_commands.describe(paper=_("Title or arXiv id"))
    @app_commands.rename(paper=_("paper"))
    @app_commands.autocomplete(paper=paper_autocomplete)
    @moderator_only()
    async def commentary_edit(self, interaction: Interaction, paper: str) -> None:
        found = await find_paper(interaction, paper)
        latest = await notes.latest_commentary(self.bot.db, found.id)
        if latest is None:
            raise UserFacingError(t("commentary.none_to_edit", interaction.locale, title=found.title))
        commentary_id, body, body_en = latest
        await interaction.response.send_modal(
            CommentaryModal(
                self.bot,
                found.id,
                found.title,
                interaction.locale,
                commentary_id=commentary_id,
                body=body,
                body_en=body_en,
            )
        )

    @commentary.command(name=_("missing"), description=_("Recent papers that still have no commentary"))
    @app_commands.describe(days=_("How many days back to look"))
    @app_commands.rename(days=_("days"))
    @moderator_only()
    async def commentary_missing(
        self, interaction: Interaction, days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        queue = await notes.missing_commentary(self.bot.db, days, clock=self.bot.services.clock)
        if not queue:
            await interaction.response.send_message(
                t("missing.empty", interaction.locale, days=days), ephemeral=True
            )
            return
        lines = [f"`{m.digest_date}` {m.title}" + (f" ({m.arxiv_id})" if m.arxiv_id else "") for m in queue]
        embed = discord.Embed(
            title=t("missing.title", interaction.locale, days=days),
            colour=COLOUR,
            description=truncate("\n".join(lines), EMBED_DESCRIPTION),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())

    # /route --------------------------------------------------------------------------------------
    @route.command(name=_("set"), description=_("Route a tag to a channel"))
    @app_commands.describe(tag=_("Only papers with this tag"), channel=_("The channel to post in"))
    @app_commands.rename(tag=_("tag"), channel=_("channel"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    @moderator_only()
    async def route_set(self, interaction: Interaction, tag: str, channel: discord.TextChannel) -> None:
        assert interaction.guild_id is not None
        key = await routes.set_route(
            self.bot.db, interaction.guild_id, tag, channel.id, by=interaction.user.id
        )
        await interaction.response.send_message(
            t("route.set", interaction.locale, tag=key, channel=channel.mention),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @route.command(name=_("remove"), description=_("Remove a tag's route to a channel"))
    @app_commands.describe(tag=_("Only papers with this tag"), channel=_("The channel to post in"))
    @app_commands.rename(tag=_("tag"), channel=_("channel"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    @moderator_only()
    async def route_remove(self, interaction: Interaction, tag: str, channel: discord.TextChannel) -> None:
        assert interaction.guild_id is not None
        removed = await routes.remove_route(self.bot.db, interaction.guild_id, tag, channel.id)
        key = "route.removed" if removed else "route.missing"
        await interaction.response.send_message(
            t(key, interaction.locale, tag=tag_key(tag), channel=channel.mention),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @route.command(name=_("list"), description=_("All routes on this server"))
    @moderator_only()
    async def route_list(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        found = await routes.list_routes(self.bot.db, interaction.guild_id)
        config = await routes.guild_config(self.bot.db, interaction.guild_id)
        lines = [f"`#{r.tag_key}` → <#{r.channel_id}>" for r in found] or [
            t("route.none", interaction.locale)
        ]
        if config.fallback_channel_id:
            lines.append(
                t("route.fallback_line", interaction.locale, channel=f"<#{config.fallback_channel_id}>")
            )
        else:
            lines.append(t("route.no_fallback", interaction.locale))
        embed = discord.Embed(
            title=t("route.title", interaction.locale),
            colour=COLOUR,
            description=truncate("\n".join(lines), EMBED_DESCRIPTION),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())

    @route.command(name=_("fallback"), description=_("Where papers with no routed tag go"))
    @app_commands.describe(channel=_("The channel to post in"))
    @app_commands.rename(channel=_("channel"))
    @moderator_only()
    async def route_fallback(self, interaction: Interaction, channel: discord.TextChannel) -> None:
        assert interaction.guild_id is not None
        await routes.update_guild_config(self.bot.db, interaction.guild_id, fallback_channel_id=channel.id)
        await interaction.response.send_message(
            t("route.fallback", interaction.locale, channel=channel.mention),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Moderation(bot))
