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


def is_moderator_member(member: discord.Member | discord.User, moderator_role: str | None) -> bool:
    """Manage Server (or Administrator), or the configured role by id or name."""
    if not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    if perms.administrator or perms.manage_guild:
        return True
    if moderator_role:
        wanted = moderator_role.strip()
        return any(str(role.id) == wanted or role.name == wanted for role in member.roles)
    return False


def moderator_only() -> Callable[[T], T]:
    """App-command check that refuses non-moderators even if the command is visible to them."""

    async def predicate(interaction: discord.Interaction[PaperBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage
        if not is_moderator_member(interaction.user, interaction.client.settings.moderator_role):
            raise NotModerator
        return True

    return app_commands.check(predicate)
