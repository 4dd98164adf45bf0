"""Rendering answers for Discord: the answer, its sources as links, the mode notice, within limits."""

from __future__ import annotations

import discord

from bot.services.answer_types import Answer
from bot.ui.embeds import COLOUR
from bot.ui.limits import EMBED_DESCRIPTION, EMBED_FIELD_VALUE, split_text, truncate

SOURCE_LABELS = {
    "en": {"commentary": "curator's commentary", "abstract": "abstract", "sources": "Sources"},
    "ko": {"commentary": "큐레이터 코멘트", "abstract": "초록", "sources": "출처"},
}
DISAGREE = {
    "en": "⚠ The curator's commentary and the abstract disagree here: [{a}] vs [{b}].",
    "ko": "⚠ 큐레이터 코멘트와 초록의 내용이 다릅니다: [{a}] vs [{b}]",
}
BODY_LIMIT = 3500  # leaves room for the sources field within the 6000-character embed total


def render_answer(answer: Answer, *, title: str) -> tuple[discord.Embed, list[str]]:
    """The answer embed, plus any continuation text for follow-up messages."""
    labels = SOURCE_LABELS[answer.language]
    parts = split_text(answer.text, BODY_LIMIT) or [""]
    embed = discord.Embed(title=truncate(title, 256), colour=COLOUR, description=parts[0])
    lines = []
    for c in answer.citations:
        name = truncate(c.title, 90)
        linked = f"[{name}]({c.link})" if c.link else name
        lines.append(f"[{c.n}] {linked} · {labels[c.kind]}")
    for a, b in answer.disagreements:
        lines.append(DISAGREE[answer.language].format(a=a, b=b))
    if lines:
        embed.add_field(
            name=labels["sources"], value=truncate("\n".join(lines), EMBED_FIELD_VALUE), inline=False
        )
    footer = answer.notice or ""
    if answer.cached:
        footer = f"{footer} (cached)".strip()
    if footer:
        embed.set_footer(text=truncate(footer, 300))
    return embed, [truncate(p, 1990) for p in parts[1:]]


def render_partial(text: str, *, title: str) -> discord.Embed:
    """What a streaming answer shows while tokens arrive."""
    shown = text if len(text) <= EMBED_DESCRIPTION - 2 else "…" + text[-(EMBED_DESCRIPTION - 4) :]
    return discord.Embed(title=truncate(title, 256), colour=COLOUR, description=f"{shown} ▌")
