"""The /digest import reply: what an upload added, changed and removed, and the button that confirms
removing the entries it dropped (moderators only, checked again on the click)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import discord

from bot.services.ingest.upload import RemovalOutdated, UploadChanges, confirm_removal
from bot.ui.checks import is_moderator
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t
from bot.ui.limits import truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

Interaction: TypeAlias = "discord.Interaction[PaperBot]"
SHOWN = 8


def _items(things: Sequence[object], locale: discord.Locale | str | None) -> str:
    shown = "; ".join(truncate(str(thing), 120) for thing in things[:SHOWN])
    if len(things) > SHOWN:
        shown += " " + t("import.more", locale, count=len(things) - SHOWN)
    return shown


def upload_lines(changes: UploadChanges, locale: discord.Locale | str | None) -> list[str]:
    """The report lines after the summary: replaced or new, then added, changed, removed, pending."""
    lines = [t("import.replaces" if changes.replaced else "import.new_upload", locale)]
    for key, things in (
        ("import.added", changes.added),
        ("import.changed", changes.changed),
        ("import.removed", changes.removed),
    ):
        if things:
            lines.append(t(key, locale, count=len(things), items=_items(things, locale)))
    if changes.lost_tags:
        lines.append(t("import.lost_tags", locale, count=changes.lost_tags))
    if changes.pending:
        lines.append(
            t("import.pending", locale, count=len(changes.pending), items=_items(changes.pending, locale))
        )
    return lines


class ConfirmRemoval(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"paperbot:upload-remove:(?P<token>\d+)"
):
    """Removes the never-posted entries an upload dropped; works after a restart (the id is in the row)."""

    def __init__(self, token: int, *, label: str = "Remove") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.danger, custom_id=f"paperbot:upload-remove:{token}"
            )
        )
        self.token = token

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ConfirmRemoval:
        return cls(int(match["token"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        locale = interaction.locale
        if not is_moderator(interaction):  # checked again on the click, not only when the reply was made
            await interaction.response.send_message(t("error.not_moderator", locale), ephemeral=True)
            return
        try:
            removed = await confirm_removal(
                interaction.client.db, self.token, clock=interaction.client.services.clock
            )
        except RemovalOutdated as exc:
            text = t("import.confirm_outdated", locale, reason=str(exc))
        else:
            text = t("import.confirmed", locale, count=len(removed), items=_items(removed, locale))
        await interaction.response.edit_message(content=truncate(text, 1900), view=None)


def confirm_view(changes: UploadChanges, locale: discord.Locale | str | None) -> discord.ui.View | None:
    if changes.token is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(
        ConfirmRemoval(changes.token, label=t("import.confirm", locale, count=len(changes.pending)))
    )
    return view


async def send_import_reply(interaction: Interaction, text: str, changes: UploadChanges | None) -> None:
    view = confirm_view(changes, interaction.locale) if changes else None
    kwargs: dict[str, Any] = {"view": view} if view is not None else {}
    await interaction.followup.send(
        truncate(text, 1900), ephemeral=True, allowed_mentions=no_mentions(), **kwargs
    )
