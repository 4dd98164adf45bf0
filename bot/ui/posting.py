"""Sending and re-rendering paper posts in Discord (the adapter side of posting)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import discord

from bot.services.routes import guild_config
from bot.store.papers import get_paper
from bot.ui.embeds import no_mentions, render_paper_embeds
from bot.ui.views import paper_view

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)


async def refresh_paper_posts(bot: PaperBot, paper_id: int) -> int:
    """Edit every message already posted for a paper to show its current commentary; returns how many."""
    paper = await get_paper(bot.db, paper_id)
    if paper is None:
        return 0
    rows = await bot.db.fetchall(
        "SELECT guild_id, channel_id, message_id, digest_date FROM posts "
        "WHERE paper_id = ? AND state = 'sent' AND message_id IS NOT NULL",
        (paper_id,),
    )
    edited = 0
    for row in rows:
        config = await guild_config(bot.db, row["guild_id"])
        day = dt.date.fromisoformat(row["digest_date"]) if row["digest_date"] else None
        embeds = render_paper_embeds(paper, language=config.language, digest_date=day)
        message = bot.get_partial_messageable(row["channel_id"]).get_partial_message(row["message_id"])
        try:
            await message.edit(embeds=embeds, view=paper_view(paper_id), allowed_mentions=no_mentions())
            edited += 1
        except discord.NotFound:
            log.info("post %s in channel %s was deleted; not refreshed", row["message_id"], row["channel_id"])
        except discord.HTTPException as exc:
            log.warning("could not refresh post %s: %s", row["message_id"], exc)
    return edited
