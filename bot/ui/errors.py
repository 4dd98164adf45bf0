"""One tree-wide error handler: every failure gets a short ephemeral reply and a log line."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.ui.checks import NotModerator
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)


class UserFacingError(app_commands.AppCommandError):
    """An error whose message is shown to the member as is (already localised)."""


def root_cause(error: BaseException) -> BaseException:
    """The exception a command or modal actually raised, unwrapped."""
    return getattr(error, "original", None) or error.__cause__ or error


def message_for(error: app_commands.AppCommandError, locale: discord.Locale) -> str:
    original = root_cause(error)
    if isinstance(error, NotModerator):
        return t("error.not_moderator", locale)
    if isinstance(error, app_commands.NoPrivateMessage):
        return t("error.guild_only", locale)
    if isinstance(error, app_commands.CommandOnCooldown):
        return t("error.cooldown", locale, seconds=error.retry_after)
    if isinstance(error, app_commands.MissingPermissions):
        return t("error.not_moderator", locale)
    if isinstance(error, UserFacingError):
        return str(error)
    if isinstance(error, app_commands.TransformerError):
        return t("error.bad_input", locale, reason=str(error))
    if isinstance(original, ValueError):
        return t("error.bad_input", locale, reason=str(original))
    return t("error.generic", locale)


async def reply_ephemeral(interaction: discord.Interaction[PaperBot], text: str) -> None:
    """Answer once: a response when none was sent yet, else a follow-up."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=no_mentions())
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())


def is_expected(error: BaseException) -> bool:
    """Refusals and bad input: answered with a short message, logged at info, not a failure."""
    return isinstance(
        error, NotModerator | app_commands.CheckFailure | UserFacingError | app_commands.TransformerError
    ) or isinstance(root_cause(error), ValueError)


async def on_tree_error(
    interaction: discord.Interaction[PaperBot], error: app_commands.AppCommandError
) -> None:
    """Log with context and tell the member what happened, without a stack trace."""
    command = interaction.command.qualified_name if interaction.command else "?"
    if is_expected(error):
        log.info("/%s refused for user %s: %s", command, interaction.user.id, error)
    else:
        log.error(
            "/%s failed for user %s in guild %s",
            command,
            interaction.user.id,
            interaction.guild_id,
            exc_info=root_cause(error),
        )
        interaction.client.record_error(root_cause(error))
    try:
        await reply_ephemeral(interaction, message_for(error, interaction.locale))
    except discord.HTTPException:
        log.warning("could not tell user %s about the error in /%s", interaction.user.id, command)
