"""Moderator commands: /commentary and /route. Hidden by default permissions and checked at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, find_paper, paper_autocomplete, tag_autocomplete
from bot.domain.tags import tag_key
from bot.services.digest import routes
from bot.services.ingest import edits as notes
from bot.ui.checks import moderator_only, require_moderator
from bot.ui.commentary_form import MODAL_INPUTS, CommentaryForm, FormTooSmall, Which, plan_form
from bot.ui.digest.posting import refresh_paper_posts
from bot.ui.embeds import COLOUR, no_mentions
from bot.ui.errors import UserFacingError, on_component_error
from bot.ui.i18n import t
from bot.ui.limits import EMBED_DESCRIPTION, MODAL_TEXT, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

MODERATOR = discord.Permissions(manage_guild=True)


class CommentaryModal(CommentaryForm):
    """Commentary over up to five inputs; on submit (by a moderator, re-checked) it is stored and posts
    are re-rendered."""

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
        which: Which = "both",
    ) -> None:
        super().__init__(
            bot,
            title=f"{t('commentary.modal_title', locale)}: {title}",
            plan=plan_form(body, body_en, which),
            labels={"body": t("commentary.field", locale), "body_en": t("commentary.field_en", locale)},
        )
        self.paper_id, self.paper_title, self.commentary_id = paper_id, title, commentary_id
        self.stored_body = body

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        require_moderator(interaction)  # the role may have been removed since the form was opened
        await interaction.response.defer(ephemeral=True, thinking=True)
        author = interaction.user.display_name
        body = self.text_of("body")
        body_en = self.text_of("body_en")
        if self.commentary_id is None:
            await notes.add_commentary(
                self.bot.db,
                self.paper_id,
                body or "",
                author=author,
                author_id=interaction.user.id,
                body_en=body_en or "",
            )
        else:
            await notes.edit_commentary(
                self.bot.db,
                self.commentary_id,
                self.stored_body if body is None else body,
                editor=author,
                editor_id=interaction.user.id,
                body_en=body_en,
            )
        edited = await refresh_paper_posts(self.bot, self.paper_id)
        await interaction.followup.send(
            t("commentary.added", interaction.locale, title=self.paper_title, posts=edited),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    async def on_error(self, interaction: Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await on_component_error(interaction, error)


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
    @app_commands.describe(
        paper=_("Title or arXiv id"), text=_("Which text to edit when both do not fit in one form")
    )
    @app_commands.rename(paper=_("paper"), text=_("text"))
    @app_commands.choices(
        text=[
            app_commands.Choice(name=_("original"), value="original"),
            app_commands.Choice(name=_("english"), value="english"),
        ]
    )
    @app_commands.autocomplete(paper=paper_autocomplete)
    @moderator_only()
    async def commentary_edit(
        self, interaction: Interaction, paper: str, text: app_commands.Choice[str] | None = None
    ) -> None:
        found = await find_paper(interaction, paper)
        latest = await notes.latest_commentary(self.bot.db, found.id)
        if latest is None:
            raise UserFacingError(t("commentary.none_to_edit", interaction.locale, title=found.title))
        commentary_id, body, body_en = latest
        which: Which = "both"
        if text is not None and text.value in ("original", "english"):
            which = "original" if text.value == "original" else "english"
        try:
            modal = CommentaryModal(
                self.bot,
                found.id,
                found.title,
                interaction.locale,
                commentary_id=commentary_id,
                body=body,
                body_en=body_en,
                which=which,
            )
        except FormTooSmall as exc:
            key = "commentary.form_pick_one" if exc.which == "both" else "commentary.form_too_long"
            raise UserFacingError(
                t(key, interaction.locale, length=exc.length, limit=MODAL_INPUTS * MODAL_TEXT)
            ) from None
        await interaction.response.send_modal(modal)

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
