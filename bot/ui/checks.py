"""Run-time permission checks: moderator commands are hidden *and* refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.app import PaperBot


T = TypeVar("T")


class NotModerator(app_commands.CheckFailure):
    """The member lacks Manage Server and the configured moderator role."""


def has_moderator_role(member: discord.Member | discord.User, moderator_role: str | None) -> bool:
    """The configured role, by id or name, among the roles Discord sent with the interaction."""
    if not isinstance(member, discord.Member) or not moderator_role:
        return False
    wanted = moderator_role.strip()
    return any(str(role.id) == wanted for role in member.roles) or any(
        role.name == wanted for role in member.roles
    )


def is_moderator(interaction: discord.Interaction[PaperBot]) -> bool:
    """Manage Server (or Administrator) or the moderator role, as of this interaction.

    ``interaction.permissions`` is the value Discord computed for this member in this channel and sent
    with the interaction; ``member.guild_permissions`` would be computed from the bot's cache of roles,
    which is stale after a missed GUILD_ROLE_UPDATE.
    """
    if interaction.guild_id is None:
        return False
    perms = interaction.permissions
    if perms.administrator or perms.manage_guild:
        return True
    return has_moderator_role(interaction.user, interaction.client.settings.moderator_role)


def require_moderator(interaction: discord.Interaction[PaperBot]) -> None:
    """Raise :class:`NotModerator` (or NoPrivateMessage in a DM) unless :func:`is_moderator`."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage
    if not is_moderator(interaction):
        raise NotModerator


def moderator_only() -> Callable[[T], T]:
    """App-command check that refuses non-moderators even if the command is visible to them."""

    async def predicate(interaction: discord.Interaction[PaperBot]) -> bool:
        require_moderator(interaction)
        return True

    return app_commands.check(predicate)
