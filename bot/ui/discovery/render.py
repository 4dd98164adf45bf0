"""Embeds for related papers and /foryou recommendations, within Discord's limits."""

from __future__ import annotations

import discord

from bot.services.discovery.foryou import ForYou, Reason, Recommendation
from bot.services.discovery.related import RelatedPaper
from bot.ui import limits
from bot.ui.embeds import COLOUR
from bot.ui.i18n import t

Locale = discord.Locale | str | None


def related_reason(item: RelatedPaper, locale: Locale) -> str:
    if item.curator:
        return t("related.curator", locale)
    parts = []
    if item.shared_tags:
        parts.append(t("related.tags", locale, tags=", ".join(f"`#{tag}`" for tag in item.shared_tags)))
    if item.shared_terms:
        parts.append(t("related.terms", locale, terms=", ".join(item.shared_terms)))
    return " · ".join(parts) or t("related.similar", locale)


def _link(arxiv_id: str | None) -> str | None:
    return f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None


def _line(n: int, title: str, arxiv_id: str | None, why: str) -> str:
    link = _link(arxiv_id)
    name = limits.truncate(title, 150).replace("[", "(").replace("]", ")")
    head = f"**{n}. [{name}]({link})**" if link else f"**{n}. {name}**"
    return f"{head}\n{why}"


def render_related_embed(title: str, items: list[RelatedPaper], locale: Locale) -> discord.Embed:
    """Related papers of one paper, best first; the curator's links first and starred."""
    lines = [_line(n, r.title, r.arxiv_id, related_reason(r, locale)) for n, r in enumerate(items, start=1)]
    embed = discord.Embed(
        title=limits.truncate(t("related.title", locale, title=title), limits.EMBED_TITLE),
        colour=COLOUR,
        description=limits.truncate("\n\n".join(lines), limits.EMBED_DESCRIPTION),
    )
    embed.set_footer(text=t("related.footer", locale))
    return embed


def reason_text(reason: Reason, locale: Locale) -> str:
    subject = reason.subject
    if reason.kind == "popular":
        subject = t(f"period.{reason.subject}", locale)
    elif reason.kind in ("saved", "reacted"):
        subject = limits.truncate(subject, 80)
    return t(f"foryou.because.{reason.kind}", locale, subject=subject, count=reason.count)


def render_foryou_embed(result: ForYou, locale: Locale, *, title: str | None = None) -> discord.Embed:
    """A member's recommendations, each with its one-line reason."""
    items: list[Recommendation] = result.items
    lines = [
        _line(n, r.title, r.arxiv_id, reason_text(r.reason, locale)) for n, r in enumerate(items, start=1)
    ]
    intro = t("foryou.fallback", locale) + "\n\n" if result.fallback else ""
    body = intro + ("\n\n".join(lines) if lines else t("foryou.empty", locale))
    embed = discord.Embed(
        title=limits.truncate(title or t("foryou.title", locale), limits.EMBED_TITLE),
        colour=COLOUR,
        description=limits.truncate(body, limits.EMBED_DESCRIPTION),
    )
    embed.set_footer(text=t("foryou.footer", locale))
    return embed
