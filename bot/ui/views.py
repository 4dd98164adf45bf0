"""Buttons: persistent ones on paper posts (they survive restarts) and search pagination."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import discord

from bot.services.community import members
from bot.store.papers import get_paper
from bot.ui.embeds import no_mentions
from bot.ui.errors import UserFacingError, guarded, on_component_error
from bot.ui.i18n import t

if TYPE_CHECKING:
    from bot.app import ButtonHandler, PaperBot

Interaction: TypeAlias = "discord.Interaction[PaperBot]"
MAX_ID = 2**63 - 1  # SQLite's INTEGER range


class PaperButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"paperbot:(?P<action>ask|summarise|save):(?P<paper_id>\d+)",
):
    """A button whose custom_id carries its action and paper id, so it works on posts made before a restart."""

    def __init__(
        self,
        action: str,
        paper_id: int,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label or action, style=style, custom_id=f"paperbot:{action}:{paper_id}")
        )
        self.action = action
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PaperButton:
        return cls(match["action"], int(match["paper_id"]))

    @guarded
    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if self.paper_id > MAX_ID:  # a forged or corrupted custom_id: no such paper
            raise UserFacingError(t("paper.not_found", interaction.locale, ref=str(self.paper_id)))
        if self.action == "save":
            await _toggle_saved(interaction, self.paper_id)
        else:
            buttons = interaction.client.services.buttons
            handler = buttons.ask if self.action == "ask" else buttons.summarise
            await _answer_or_explain(interaction, self.paper_id, handler)


async def _toggle_saved(interaction: Interaction, paper_id: int) -> None:
    db = interaction.client.db
    paper = await get_paper(db, paper_id)
    if paper is None:
        await interaction.response.send_message(
            t("paper.not_found", interaction.locale, ref=str(paper_id)), ephemeral=True
        )
        return
    now_saved = await members.toggle_saved(db, interaction.user.id, paper_id)
    key = "saved.added" if now_saved else "saved.removed"
    await interaction.response.send_message(
        t(key, interaction.locale, title=paper.title), ephemeral=True, allowed_mentions=no_mentions()
    )


async def _answer_or_explain(interaction: Interaction, paper_id: int, handler: ButtonHandler | None) -> None:
    if handler is not None:
        await handler(interaction, paper_id)
        return
    paper = await get_paper(interaction.client.db, paper_id)
    link = (paper.link if paper else None) or "—"
    await interaction.response.send_message(
        t("answers.unavailable", interaction.locale, link=link),
        ephemeral=True,
        allowed_mentions=no_mentions(),
    )


def _has_handler(interaction: Interaction, custom_id: str) -> bool:
    """Whether discord.py will route this component or modal to a live view, dynamic item or modal."""
    store = interaction.client._connection._view_store
    if interaction.type == discord.InteractionType.modal_submit:
        return custom_id in store._modals
    if any(pattern.fullmatch(custom_id) for pattern in store._dynamic_items):
        return True
    data: Any = interaction.data or {}
    key = (int(data.get("component_type") or 0), custom_id)
    message_id = interaction.message.id if interaction.message is not None else None
    return key in store._views.get(message_id, {}) or key in store._views.get(None, {})


async def answer_stale_component(interaction: Interaction) -> None:
    """A button, select or form nothing handles any more (it timed out, or the bot restarted): say so
    and what to do, instead of leaving the member with "This interaction failed"."""
    if interaction.type not in (discord.InteractionType.component, discord.InteractionType.modal_submit):
        return
    data: Any = interaction.data or {}
    custom_id = data.get("custom_id")
    if (
        not isinstance(custom_id, str)
        or _has_handler(interaction, custom_id)
        or interaction.response.is_done()
    ):
        return
    await interaction.response.send_message(
        t("error.expired", interaction.locale), ephemeral=True, allowed_mentions=no_mentions()
    )


def dynamic_items() -> tuple[type[discord.ui.DynamicItem[Any]], ...]:
    from bot.ui.discovery.related_button import RelatedButton

    return (PaperButton, RelatedButton)


def paper_view(paper_id: int, locale: discord.Locale | str | None = None) -> discord.ui.View:
    """The buttons under every paper post; persistent (no timeout)."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        PaperButton("ask", paper_id, label=t("button.ask", locale), style=discord.ButtonStyle.primary)
    )
    view.add_item(PaperButton("summarise", paper_id, label=t("button.summarise", locale)))
    view.add_item(PaperButton("save", paper_id, label=t("button.save", locale)))
    from bot.ui.discovery.related_button import RelatedButton

    view.add_item(RelatedButton(paper_id, label=t("button.related", locale)))
    return view


PageRenderer = Callable[[int], Awaitable[discord.Embed]]


class Paginator(discord.ui.View):
    """Previous/Next buttons that only the member who ran the command may press."""

    def __init__(self, owner_id: int, pages: int, render: PageRenderer, locale: discord.Locale) -> None:
        super().__init__(timeout=600)
        self.owner_id = owner_id
        self.pages = pages
        self.page = 1
        self.render = render
        self.locale = locale
        self.previous.label = t("button.prev", locale)
        self.next.label = t("button.next", locale)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page <= 1
        self.next.disabled = self.page >= self.pages

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await on_component_error(interaction, error)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(t("error.not_yours", interaction.locale), ephemeral=True)
            return False
        return True

    async def _turn(self, interaction: Interaction, step: int) -> None:
        self.page = min(max(1, self.page + step), self.pages)
        self._sync_buttons()
        embed = await self.render(self.page)
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: Interaction, button: discord.ui.Button[Paginator]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: Interaction, button: discord.ui.Button[Paginator]) -> None:
        await self._turn(interaction, +1)
