"""Helpers shared by the cogs: autocomplete, paper lookup, date options."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypeAlias

import discord
from discord import app_commands

from bot.domain.models import Paper
from bot.services.search.fulltext import search
from bot.store.papers import resolve_paper, suggest_papers, tag_counts
from bot.ui.errors import UserFacingError
from bot.ui.i18n import t
from bot.ui.limits import CHOICE_NAME, CHOICES, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

Interaction: TypeAlias = "discord.Interaction[PaperBot]"


async def paper_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    suggestions = await suggest_papers(interaction.client.db, current, limit=CHOICES)
    if not suggestions and current.strip():
        hits = await search(interaction.client.db, current, limit=CHOICES)
        suggestions = [(h.id, h.title, h.arxiv_id) for h in hits]
    choices = []
    for paper_id, title, arxiv_id in suggestions:
        label = f"{title} ({arxiv_id})" if arxiv_id else title
        choices.append(app_commands.Choice(name=truncate(label, CHOICE_NAME), value=str(paper_id)))
    return choices


async def tag_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    # Several tags may be typed at once: complete the last one, keep the ones before it.
    head, _, last = current.rpartition(" ")
    rows = await tag_counts(interaction.client.db, prefix=last, limit=CHOICES)
    prefix = f"{head} " if head else ""
    return [
        app_commands.Choice(
            name=truncate(f"{prefix}#{display} ({n})", CHOICE_NAME), value=f"{prefix}{key}"[:100]
        )
        for key, display, n in rows
    ]


async def find_paper(interaction: Interaction, ref: str) -> Paper:
    """The paper a member picked (autocomplete id) or typed (arXiv id, title, or words)."""
    db = interaction.client.db
    paper = await resolve_paper(db, ref)
    if paper is None and ref.strip():
        hits = await search(db, ref, limit=1)
        paper = await resolve_paper(db, str(hits[0].id)) if hits else None
    if paper is None:
        raise UserFacingError(t("paper.not_found", interaction.locale, ref=ref))
    return paper


def parse_day(value: str | None, locale: discord.Locale) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UserFacingError(
            t("error.bad_input", locale, reason=f"`{value}` is not a date; use YYYY-MM-DD, e.g. 2024-07-11")
        ) from None
