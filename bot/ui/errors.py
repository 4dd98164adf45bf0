"""One tree-wide error handler: every failure gets a short ephemeral reply and a log line."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import discord
from discord import app_commands

from bot.store.db import DatabaseBusy
from bot.ui.checks import NotModerator
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)
P = ParamSpec("P")
S = TypeVar("S")


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
    if isinstance(original, DatabaseBusy):
        return t("error.busy", locale)
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
    ) or isinstance(root_cause(error), ValueError | DatabaseBusy)


def where(interaction: discord.Interaction[PaperBot]) -> str:
    """``/command`` for commands, ``button paperbot:ask:12`` / ``modal ...`` for components, for logs."""
    if interaction.command is not None:
        return "/" + interaction.command.qualified_name
    data: Mapping[str, Any] = interaction.data or {}
    custom_id = str(data.get("custom_id", "?"))
    kind = "modal" if interaction.type == discord.InteractionType.modal_submit else "component"
    return f"{kind} {custom_id}"


def as_app_error(error: BaseException) -> app_commands.AppCommandError:
    """Errors raised in buttons, selects and modals, in the shape the tree handler takes."""
    if isinstance(error, app_commands.AppCommandError):
        return error
    wrapped = app_commands.AppCommandError(str(error))
    wrapped.__cause__ = error
    return wrapped


async def on_component_error(interaction: discord.Interaction[PaperBot], error: BaseException) -> None:
    """The one error path for buttons, selects and modals: the same as for slash commands.

    Goes through ``tree.on_error`` (so whatever wraps the tree's handler, e.g. the test harness, sees
    component failures exactly like command failures)."""
    await interaction.client.tree.on_error(interaction, as_app_error(error))


def guarded(
    callback: Callable[Concatenate[S, discord.Interaction[PaperBot], P], Awaitable[None]],
) -> Callable[Concatenate[S, discord.Interaction[PaperBot], P], Awaitable[None]]:
    """Decorate a component callback (e.g. a DynamicItem's, whose errors discord.py only logs) so a
    failure reaches the member through :func:`on_component_error` instead of timing out."""

    async def run(
        self: S, interaction: discord.Interaction[PaperBot], /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        try:
            await callback(self, interaction, *args, **kwargs)
        except Exception as exc:  # every failure gets an answer; unexpected ones are logged there
            await on_component_error(interaction, exc)

    functools.update_wrapper(run, callback)
    return run


async def on_tree_error(
    interaction: discord.Interaction[PaperBot], error: app_commands.AppCommandError
) -> None:
    """Log with context and tell the member what happened, without a stack trace."""
    command = where(interaction)
    if is_expected(error):
        log.info("%s refused for user %s: %s", command, interaction.user.id, error)
    else:
        log.error(
            "%s failed for user %s in guild %s",
            command,
            interaction.user.id,
            interaction.guild_id,
            exc_info=root_cause(error),
        )
        interaction.client.record_error(root_cause(error))
    try:
        await reply_ephemeral(interaction, message_for(error, interaction.locale))
    except discord.HTTPException:
        log.warning("could not tell user %s about the error in %s", interaction.user.id, command)
