"""/ask, /summarise, /compare and the "Ask about this" / "Summarise" buttons on paper posts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.app import PaperButtons
from bot.cogs._common import Interaction, find_paper, paper_autocomplete, tag_autocomplete
from bot.services.answers.answerer import Answerer, OnText
from bot.services.answers.types import Answer, as_lang
from bot.store.papers import get_paper
from bot.ui.answers import render_answer, render_partial
from bot.ui.embeds import no_mentions
from bot.ui.errors import UserFacingError, on_component_error
from bot.ui.i18n import t
from bot.ui.limits import truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

EDIT_INTERVAL = 1.0  # seconds between edits while an answer streams


class AnswerGate:
    """One per-member cooldown for every way of asking for an answer (slash commands, the "Ask about
    this" modal, the "Summarise" button), and answers only inside a server.

    Answers are guild-only rather than charged to a per-member DM budget: the daily LLM budget belongs to
    the server whose operators pay for the model, and a DM has no server to charge or moderate. The
    commands are hidden in DMs (``guild_only``) and this gate refuses buttons pressed there too.
    """

    def __init__(self, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per = per
        self.clock = clock
        self._last: dict[int, float] = {}

    def check(self, interaction: Interaction) -> None:
        """Raise when this member may not ask now (cooldown, or not in a server); records nothing."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage
        last = self._last.get(interaction.user.id)
        waited = self.clock() - last if last is not None else None
        if self.per > 0 and waited is not None and waited < self.per:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, self.per), self.per - waited)

    def take(self, interaction: Interaction) -> None:
        """Admit one answer for this member now (starting the cooldown), or raise like :meth:`check`."""
        self.check(interaction)
        self._last[interaction.user.id] = self.clock()


class StreamingReply:
    """Edits the deferred response as text arrives, at most once per ``EDIT_INTERVAL``."""

    def __init__(self, interaction: Interaction, title: str) -> None:
        self.interaction = interaction
        self.title = title
        self._last = 0.0

    async def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last < EDIT_INTERVAL:
            return
        self._last = now
        await self.interaction.edit_original_response(embed=render_partial(text, title=self.title))

    async def finish(self, answer: Answer, *, ephemeral: bool = False) -> None:
        first, *rest = render_answer(answer, title=self.title)
        await self.interaction.edit_original_response(embed=first, allowed_mentions=no_mentions())
        for embed in rest:
            await self.interaction.followup.send(
                embed=embed, ephemeral=ephemeral, allowed_mentions=no_mentions()
            )


class QuestionModal(discord.ui.Modal):
    """The question for "Ask about this"; the answer goes to the member only."""

    def __init__(self, cog: Answers, paper_id: int, title: str, locale: discord.Locale) -> None:
        super().__init__(title=truncate(t("answers.modal_title", locale), 45), timeout=600)
        self.cog, self.paper_id, self.paper_title = cog, paper_id, title
        self.question: discord.ui.TextInput[QuestionModal] = discord.ui.TextInput(
            label=t("answers.question", locale), style=discord.TextStyle.paragraph, max_length=500
        )
        self.add_item(self.question)

    async def on_error(self, interaction: Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await on_component_error(interaction, error)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        question = self.question.value
        await self.cog.respond(
            interaction,
            f"{self.paper_title}: {question}",
            lambda on_text: self.cog.answerer.ask_about(
                self.paper_id, question, guild_id=interaction.guild_id, on_text=on_text
            ),
            ephemeral=True,
        )


class Answers(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        answerer = bot.services.answerer
        if answerer is None:
            raise RuntimeError("the answers extension needs services.answerer")
        self.answerer: Answerer = answerer
        self.gate = AnswerGate(bot.settings.ask_cooldown)
        bot.services.buttons.ask = self.ask_button
        bot.services.buttons.summarise = self.summarise_button

    async def cog_unload(self) -> None:
        self.bot.services.buttons = PaperButtons()

    async def respond(
        self,
        interaction: Interaction,
        title: str,
        produce: Callable[[OnText], Awaitable[Answer]],
        *,
        ephemeral: bool = False,
    ) -> None:
        """Defer within Discord's 3 s, stream the answer into the response, then finish it.

        Every entry point that may call the LLM comes through here, so the member's cooldown is shared."""
        self.gate.take(interaction)
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        reply = StreamingReply(interaction, title)
        answer = await produce(reply)
        await reply.finish(answer, ephemeral=ephemeral)

    @app_commands.command(name=_("ask"), description=_("Ask the community's notes a question"))
    @app_commands.describe(
        question=_("Your question (Korean or English)"), tag=_("Only papers with this tag")
    )
    @app_commands.rename(question=_("question"), tag=_("tag"))
    @app_commands.autocomplete(tag=tag_autocomplete)
    @app_commands.guild_only()
    async def ask(
        self, interaction: Interaction, question: app_commands.Range[str, 3, 500], tag: str | None = None
    ) -> None:
        await self.respond(
            interaction,
            question,
            lambda on_text: self.answerer.ask(
                question, tag=tag, guild_id=interaction.guild_id, on_text=on_text
            ),
        )

    @app_commands.command(name=_("summarise"), description=_("Summarise a paper from its notes"))
    @app_commands.describe(paper=_("Title or arXiv id"))
    @app_commands.rename(paper=_("paper"))
    @app_commands.autocomplete(paper=paper_autocomplete)
    @app_commands.guild_only()
    async def summarise(self, interaction: Interaction, paper: str) -> None:
        found = await find_paper(interaction, paper)
        await self.respond(
            interaction,
            found.title,
            lambda on_text: self.answerer.summarise(
                found.id,
                language=as_lang(str(interaction.locale)),
                guild_id=interaction.guild_id,
                on_text=on_text,
            ),
        )

    @app_commands.command(name=_("compare"), description=_("Compare two papers from their notes"))
    @app_commands.describe(paper_a=_("Title or arXiv id"), paper_b=_("Title or arXiv id"))
    @app_commands.rename(paper_a=_("paper_a"), paper_b=_("paper_b"))
    @app_commands.autocomplete(paper_a=paper_autocomplete, paper_b=paper_autocomplete)
    @app_commands.guild_only()
    async def compare(self, interaction: Interaction, paper_a: str, paper_b: str) -> None:
        first = await find_paper(interaction, paper_a)
        second = await find_paper(interaction, paper_b)
        if first.id == second.id:
            raise UserFacingError(t("answers.same_paper", interaction.locale))
        await self.respond(
            interaction,
            f"{first.title} ↔ {second.title}",
            lambda on_text: self.answerer.compare(
                first.id,
                second.id,
                language=as_lang(str(interaction.locale)),
                guild_id=interaction.guild_id,
                on_text=on_text,
            ),
        )

    async def ask_button(self, interaction: Interaction, paper_id: int) -> None:
        paper = await get_paper(self.bot.db, paper_id)
        if paper is None:
            raise UserFacingError(t("paper.not_found", interaction.locale, ref=str(paper_id)))
        self.gate.check(interaction)  # say so now rather than after the member typed a question
        await interaction.response.send_modal(QuestionModal(self, paper_id, paper.title, interaction.locale))

    async def summarise_button(self, interaction: Interaction, paper_id: int) -> None:
        paper = await get_paper(self.bot.db, paper_id)
        if paper is None:
            raise UserFacingError(t("paper.not_found", interaction.locale, ref=str(paper_id)))
        await self.respond(
            interaction,
            paper.title,
            lambda on_text: self.answerer.summarise(
                paper_id,
                language=as_lang(str(interaction.locale)),
                guild_id=interaction.guild_id,
                on_text=on_text,
            ),
            ephemeral=True,
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Answers(bot))
