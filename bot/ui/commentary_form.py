"""The commentary form: any stored commentary fits, spread over up to five text inputs of one modal.

Discord caps a text input at 4,000 characters and a modal at five inputs. A long commentary (imported
vault notes run to 14,000+ characters) is cut at paragraph, line, sentence or word boundaries into parts
shown as "Your commentary (1/4)", "(2/4)", ...; on submit the parts are joined with the whitespace that
separated them, so an unchanged form stores exactly the text it showed. When the original and the English
text together need more than five inputs, the moderator edits one of them at a time (``text:`` option).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import discord

from bot.ui.limits import MODAL_TEXT, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

MODAL_INPUTS = 5
Which = Literal["both", "original", "english"]
_BREAKS = (re.compile(r"\n\s*\n\s*"), re.compile(r"\n\s*"), re.compile(r"(?<=[.!?。])\s+|(?<=다\.)\s+"))
_SPACE = re.compile(r"\s+")


class FormTooSmall(ValueError):
    """The text needs more inputs than one Discord form has."""

    def __init__(self, which: str, length: int) -> None:
        super().__init__(f"{which} text is {length} characters")
        self.which, self.length = which, length


@dataclass(frozen=True)
class Part:
    field: Literal["body", "body_en"]
    text: str
    gap: str
    """Whitespace that followed this part in the stored text ("" for the last part or a mid-word cut)."""


def split_for_inputs(text: str, limit: int = MODAL_TEXT) -> list[tuple[str, str]]:
    """``[(part, gap)]`` with every part ≤ ``limit`` and ``"".join(p + g) == text.strip()``."""
    rest = text.strip()
    parts: list[tuple[str, str]] = []
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut: tuple[int, int] | None = None
        for pattern in (*_BREAKS, _SPACE):
            found = [m for m in pattern.finditer(window) if limit // 3 < m.start() <= limit]
            if found:
                cut = found[-1].span()
                break
        start, end = cut if cut is not None else (limit, limit)
        parts.append((rest[:start], rest[start:end]))
        rest = rest[end:]
    parts.append((rest, ""))
    return parts


def plan_form(body: str, body_en: str, which: Which) -> list[Part]:
    """The inputs a form needs for ``which`` text(s); raises :class:`FormTooSmall` when they do not fit."""
    plan: list[Part] = []
    if which in ("both", "original"):
        plan += [Part("body", p, g) for p, g in split_for_inputs(body)]
    if which in ("both", "english"):
        plan += [Part("body_en", p, g) for p, g in split_for_inputs(body_en)]
    if len(plan) <= MODAL_INPUTS:
        return plan
    if which == "both":
        raise FormTooSmall("both", len(body) + len(body_en))
    raise FormTooSmall(which, len(body if which == "original" else body_en))


def join_parts(values: list[str], gaps: list[str]) -> str:
    """The text of several inputs, each followed by the whitespace it was cut at (a blank line if none)."""
    kept = [(v.strip(), g or "\n\n") for v, g in zip(values, gaps, strict=True) if v.strip()]
    return "".join(v + g for v, g in kept).strip()


class CommentaryForm(discord.ui.Modal):
    """Inputs for the original text, the English text, or both; subclasses store the result."""

    def __init__(
        self,
        bot: PaperBot,
        *,
        title: str,
        plan: list[Part],
        labels: dict[str, str],
    ) -> None:
        super().__init__(title=truncate(title, 45), timeout=900)
        self.bot = bot
        self.plan = plan
        self.inputs: list[discord.ui.TextInput[CommentaryForm]] = []
        counts = {f: sum(1 for p in plan if p.field == f) for f in ("body", "body_en")}
        seen = {"body": 0, "body_en": 0}
        for part in plan:
            seen[part.field] += 1
            label = labels[part.field]
            if counts[part.field] > 1:
                label = f"{label} ({seen[part.field]}/{counts[part.field]})"
            text_input: discord.ui.TextInput[CommentaryForm] = discord.ui.TextInput(
                label=truncate(label, 45),
                style=discord.TextStyle.paragraph,
                default=part.text or None,
                required=part.field == "body" and seen["body"] == 1,
                max_length=MODAL_TEXT,
            )
            self.inputs.append(text_input)
            self.add_item(text_input)

    def text_of(self, field: Literal["body", "body_en"]) -> str | None:
        """The submitted text of ``field``, or None when the form did not show it."""
        pairs = [(i.value, p.gap) for i, p in zip(self.inputs, self.plan, strict=True) if p.field == field]
        if not pairs:
            return None
        return join_parts([v for v, _ in pairs], [g for _, g in pairs])
