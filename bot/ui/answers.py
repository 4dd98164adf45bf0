"""Rendering answers for Discord: the answer, its sources as links, the mode notice, within limits."""

from __future__ import annotations

import re

import discord

from bot.services.answers.types import Answer
from bot.ui.embeds import COLOUR
from bot.ui.i18n import t
from bot.ui.limits import EMBED_DESCRIPTION, EMBED_FIELD_VALUE, truncate

SOURCE_LABELS = {
    "en": {"commentary": "curator's commentary", "abstract": "abstract", "sources": "Sources"},
    "ko": {"commentary": "큐레이터 코멘트", "abstract": "초록", "sources": "출처"},
}
DISAGREE = {
    "en": "⚠ The curator's commentary and the abstract disagree here: [{a}] vs [{b}].",
    "ko": "⚠ 큐레이터 코멘트와 초록의 내용이 다릅니다: [{a}] vs [{b}]",
}
# A break after a sentence, line or paragraph; never one that would put a citation ("[3]") at the start
# of the next part, away from the sentence it supports.
_SENTENCE_END = re.compile(r"(?:\n\s*\n|\n|(?<=[.!?。])\s+)(?!\s*\[\d)")
_SPACE = re.compile(r"\s+(?!\s*\[\d)")


def split_answer(text: str, limit: int = EMBED_DESCRIPTION) -> list[str]:
    """Parts of at most ``limit`` characters that together hold every character of ``text``.

    Cut at the last paragraph, line or sentence break in the window (a word break if a sentence runs longer
    than a third of it), never inside a citation or between a sentence and its citation.
    """
    rest = text.strip()
    parts: list[str] = []
    while len(rest) > limit:
        window = rest[: limit + 8]  # a little past the limit, so the lookahead sees a citation there
        cut: tuple[int, int] | None = None
        for pattern, floor in (
            (_SENTENCE_END, limit // 3),
            (_SPACE, limit // 3),
            (_SENTENCE_END, 0),
            (_SPACE, 0),
        ):
            found = [m.span() for m in pattern.finditer(window) if floor < m.start() <= limit]
            if found:
                cut = found[-1]
                break
        start, end = cut if cut is not None else (limit, limit)
        parts.append(rest[:start].rstrip())
        rest = rest[end:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def render_answer(answer: Answer, *, title: str) -> list[discord.Embed]:
    """The answer as embeds, one per message: the first replaces the "thinking" response, the others are
    follow-ups. Long answers are split at sentence or line breaks; the sources close the last one."""
    labels = SOURCE_LABELS[answer.language]
    parts = split_answer(answer.text) or [""]
    embeds = [discord.Embed(title=truncate(title, 256), colour=COLOUR, description=parts[0])]
    for n, part in enumerate(parts[1:], start=2):
        embed = discord.Embed(colour=COLOUR, description=part)
        embed.set_footer(text=t("answers.continued", answer.language, n=n, total=len(parts)))
        embeds.append(embed)
    lines = []
    for c in answer.citations:
        name = truncate(c.title, 90)
        linked = f"[{name}]({c.link})" if c.link else name
        lines.append(f"[{c.n}] {linked} · {labels[c.kind]}")
    for a, b in answer.disagreements:
        lines.append(DISAGREE[answer.language].format(a=a, b=b))
    if lines:
        embeds[-1].add_field(
            name=labels["sources"], value=truncate("\n".join(lines), EMBED_FIELD_VALUE), inline=False
        )
    footer = answer.notice or ""
    if answer.cached:
        footer = f"{footer} (cached)".strip()
    if footer:
        embeds[0].set_footer(text=truncate(footer, 300))
    return embeds


def render_partial(text: str, *, title: str) -> discord.Embed:
    """What a streaming answer shows while tokens arrive."""
    shown = text if len(text) <= EMBED_DESCRIPTION - 2 else "…" + text[-(EMBED_DESCRIPTION - 4) :]
    return discord.Embed(title=truncate(title, 256), colour=COLOUR, description=f"{shown} ▌")
