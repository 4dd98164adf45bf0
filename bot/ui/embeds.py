"""Embeds built from stored papers, always inside Discord's limits."""

from __future__ import annotations

import datetime as dt

import discord

from bot.domain.models import Paper, SearchHit
from bot.services.search.view import Match, good_match
from bot.ui import limits
from bot.ui.i18n import t

COLOUR = discord.Colour(0x4F7CAC)
FIRST_BODY = 2200  # commentary in the first embed; the rest continues in a second one
CONTINUATION_BODY = 2200
ABSTRACT = 600


def no_mentions() -> discord.AllowedMentions:
    return discord.AllowedMentions.none()


def commentary_text(paper: Paper, language: str, locale: discord.Locale | str | None = None) -> str:
    """The curator's words in the guild's chosen language: original, English, or both."""
    parts: list[str] = []
    for note in paper.commentary:
        original, english = note.body.strip(), note.body_en.strip()
        if language == "english" and english:
            parts.append(english)
        elif language == "both" and english:
            parts.append(f"{original}\n\n*{t('paper.english', locale)}:* {english}")
        else:
            parts.append(original)
    return "\n\n".join(p for p in parts if p)


def render_paper_embeds(
    paper: Paper,
    *,
    language: str = "both",
    locale: discord.Locale | str | None = None,
    digest_date: dt.date | None = None,
) -> list[discord.Embed]:
    """A post for one paper: title linked, authors, commentary first, abstract shortened, tags, date.

    Long commentary continues in a second embed at a word boundary; beyond that it is cut with a link.
    """
    link = paper.link
    more = f" [{t('paper.more', locale)}]({link})" if link else ""
    body = commentary_text(paper, language, locale)
    chunks = limits.split_text(body, FIRST_BODY) if body else []
    embed = discord.Embed(
        title=limits.truncate(paper.title, limits.EMBED_TITLE),
        url=link,
        colour=COLOUR,
        description=chunks[0] if chunks else None,
    )
    if paper.authors:
        embed.set_author(name=limits.truncate(limits.shorten_authors(paper.authors), limits.EMBED_AUTHOR))
    if paper.abstract:
        embed.add_field(
            name=t("paper.abstract", locale),
            value=limits.truncate(paper.abstract, min(ABSTRACT, limits.EMBED_FIELD_VALUE), more=more),
            inline=False,
        )
    footer = " ".join(f"#{tag}" for tag in paper.tags)
    if digest_date:
        footer = f"{footer} · {digest_date.isoformat()}" if footer else digest_date.isoformat()
    if footer:
        embed.set_footer(text=limits.truncate(footer, 300))
    embeds = [embed]
    if len(chunks) > 1:
        rest = "\n\n".join(chunks[1:])
        embeds.append(
            discord.Embed(
                title=t("paper.continued", locale),
                colour=COLOUR,
                description=limits.truncate(rest, CONTINUATION_BODY, more=more),
            )
        )
    return embeds


def render_hits_embed(
    query: str,
    hits: list[SearchHit],
    *,
    page: int,
    pages: int,
    total: int,
    locale: discord.Locale | str | None,
    matches: dict[int, Match] | None = None,
) -> discord.Embed:
    """One page of search results: arXiv id (or "no arXiv id"), a readable match share, the snippet.

    When no hit matches the query well the embed says so first, so a member does not read weak
    matches as answers.
    """
    matches = matches or {}
    embed = discord.Embed(
        title=limits.truncate(t("search.title", locale, query=query or "#"), limits.EMBED_TITLE),
        colour=COLOUR,
        description=None
        if good_match(matches)
        else t("search.weak", locale, query=limits.truncate(query, 100)),
    )
    for hit in hits:
        link = f"https://arxiv.org/abs/{hit.arxiv_id}" if hit.arxiv_id else None
        tags = " ".join(f"`#{tag}`" for tag in hit.tags[:6])
        head = f"[arXiv:{hit.arxiv_id}]({link})" if link else t("search.no_arxiv", locale)
        if hit.id in matches:
            head += f" · {t('search.match', locale, percent=matches[hit.id].percent)}"
        value = f"{head} {tags}\n{hit.snippet}".strip()
        embed.add_field(
            name=limits.truncate(hit.title, limits.EMBED_FIELD_NAME),
            value=limits.truncate(value, limits.EMBED_FIELD_VALUE),
            inline=False,
        )
    embed.set_footer(text=t("search.footer", locale, page=page, pages=pages, count=total))
    return embed


def within_limits(embeds: list[discord.Embed]) -> bool:
    """True when a message with these embeds is acceptable to Discord."""
    return len(embeds) <= limits.EMBEDS_PER_MESSAGE and sum(len(e) for e in embeds) <= limits.EMBED_TOTAL
