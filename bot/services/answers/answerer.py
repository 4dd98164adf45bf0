"""Grounded answers: retrieve passages, ask the model (streaming), cite; quote the notes when it can't."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.services.answers.extractive import Weights, extractive_answer, is_covered, term_weights
from bot.services.answers.grounded import OnText, answer_with_llm
from bot.services.answers.llm import LLM
from bot.services.answers.prompts import render
from bot.services.answers.text import finish_answer, notice, passages_block, reason_text
from bot.services.answers.types import Answer, Passage, as_lang, question_language
from bot.services.search.retrieval import Retriever, passages_for
from bot.store.db import Database
from bot.store.papers import tags_for

log = logging.getLogger(__name__)
__all__ = ["AnswerLimits", "Answerer", "OnText"]
LANGUAGE_NAMES = {"ko": "Korean", "en": "English"}


@dataclass
class AnswerLimits:
    daily_budget: int = 200  # LLM answers per guild per day
    cache_seconds: float = 600.0
    max_chars: int = 8000  # LLM answers are cut off here (two Discord messages), whatever max_tokens does
    rules: str = "both"  # where the rules go: "both" (system and user turn), "system" or "user"


@dataclass
class Answerer:
    """The answering service shared by /ask, /summarise, /compare, the post buttons and the CLI."""

    db: Database
    retriever: Retriever
    llm: LLM | None = None
    limits: AnswerLimits = field(default_factory=AnswerLimits)
    clock: Callable[[], float] = time.monotonic
    _cache: dict[tuple[object, ...], tuple[float, Answer]] = field(default_factory=dict, repr=False)

    @property
    def mode(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    async def ask(
        self,
        question: str,
        *,
        tag: str | None = None,
        guild_id: int | None = None,
        on_text: OnText | None = None,
    ) -> Answer:
        language = question_language(question)
        key = ("ask", " ".join(question.casefold().split()), tag, guild_id)
        if (cached := self._cached(key)) is not None:
            return cached
        passages = await self.retriever.passages(question, tag=tag, k=5)
        weights = await term_weights(self.db, question)
        tags = await tags_for(self.db, list({p.paper_id for p in passages}))
        if not is_covered(weights, passages, tags):
            return self._store(key, _uncovered(language))
        prompt = render("ask", passages=passages_block(passages), question=question)
        answer = await self._answer(prompt, passages, language, weights, guild_id, on_text)
        return self._store(key, answer)

    async def ask_about(
        self, paper_id: int, question: str, *, guild_id: int | None = None, on_text: OnText | None = None
    ) -> Answer:
        """A question about one paper (the "Ask about this" button): only that paper's passages."""
        language = question_language(question)
        key = ("about", paper_id, " ".join(question.casefold().split()), guild_id)
        if (cached := self._cached(key)) is not None:
            return cached
        passages = await passages_for(self.db, [paper_id])
        prompt = render("ask", passages=passages_block(passages), question=question)
        weights = await term_weights(self.db, question)
        answer = await self._answer(prompt, passages, language, weights, guild_id, on_text)
        return self._store(key, answer)

    async def summarise(
        self,
        paper_id: int,
        *,
        language: str = "en",
        guild_id: int | None = None,
        on_text: OnText | None = None,
    ) -> Answer:
        lang = as_lang(language)
        key = ("summarise", paper_id, lang, guild_id)
        if (cached := self._cached(key)) is not None:
            return cached
        passages = await passages_for(self.db, [paper_id])
        title = passages[0].title if passages else ""
        prompt = render(
            "summarise", passages=passages_block(passages), title=title, language=LANGUAGE_NAMES[lang]
        )
        answer = await self._answer(prompt, passages, lang, Weights({}), guild_id, on_text)
        return self._store(key, answer)

    async def compare(
        self,
        paper_a: int,
        paper_b: int,
        *,
        language: str = "en",
        guild_id: int | None = None,
        on_text: OnText | None = None,
    ) -> Answer:
        lang = as_lang(language)
        key = ("compare", paper_a, paper_b, lang, guild_id)
        if (cached := self._cached(key)) is not None:
            return cached
        passages = await passages_for(self.db, [paper_a, paper_b])
        titles = {p.paper_id: p.title for p in passages}
        prompt = render(
            "compare",
            passages=passages_block(passages),
            title_a=titles.get(paper_a, ""),
            title_b=titles.get(paper_b, ""),
            language=LANGUAGE_NAMES[lang],
        )
        answer = await self._answer(prompt, passages, lang, Weights({}), guild_id, on_text)
        return self._store(key, answer)

    async def _answer(
        self,
        prompt: str,
        passages: list[Passage],
        language: str,
        weights: Weights,
        guild_id: int | None,
        on_text: OnText | None,
    ) -> Answer:
        lang = as_lang(language)
        if not passages:
            return _uncovered(lang)
        if self.llm is None:
            return extractive_answer(weights, passages, lang, notice("extractive", lang))
        if guild_id is not None and not await self._spend(guild_id):
            return extractive_answer(weights, passages, lang, notice("budget", lang))
        rules = render("system", language=LANGUAGE_NAMES[lang], max_words=250)
        outcome, self.limits.rules = await answer_with_llm(
            self.llm,
            rules=rules,
            prompt=prompt,
            passages=passages,
            placement=self.limits.rules,
            max_chars=self.limits.max_chars,
            on_text=on_text,
        )
        if outcome.not_covered:
            return _uncovered(lang, by_model=True)
        if outcome.reason is not None:
            reason = reason_text(outcome.reason, lang)
            log.warning("LLM answer not used (%s); answering extractively", outcome.reason)
            key = "fallback" if outcome.failed else "ungrounded"
            return extractive_answer(weights, passages, lang, notice(key, lang, reason=reason))
        body, citations, disagreements = finish_answer(outcome.text, passages)
        if outcome.cut_off is None:
            return Answer(body, "llm", lang, citations, None, disagreements)
        cut = notice("cut_off", lang, reason=reason_text(outcome.cut_off, lang))
        return Answer(f"{body} …", "llm", lang, citations, cut, disagreements, cut_off=True)

    async def _spend(self, guild_id: int) -> bool:
        """Count one LLM answer against the guild's daily budget; False when it is used up."""
        day = dt.datetime.now(dt.UTC).date().isoformat()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "SELECT calls FROM llm_usage WHERE guild_id = ? AND day = ?", (guild_id, day)
            )
            row = await cur.fetchone()
            if row is not None and row[0] >= self.limits.daily_budget:
                return False
            await conn.execute(
                "INSERT INTO llm_usage (guild_id, day, calls) VALUES (?, ?, 1) "
                "ON CONFLICT(guild_id, day) DO UPDATE SET calls = calls + 1",
                (guild_id, day),
            )
        return True

    def _cached(self, key: tuple[object, ...]) -> Answer | None:
        entry = self._cache.get(key)
        if entry is None or self.clock() - entry[0] > self.limits.cache_seconds:
            return None
        return replace(entry[1], cached=True)

    def _store(self, key: tuple[object, ...], answer: Answer) -> Answer:
        if answer.mode == "llm" or answer.notice is not None:
            self._cache[key] = (self.clock(), answer)
            if len(self._cache) > 500:
                oldest = min(self._cache, key=lambda k: self._cache[k][0])
                del self._cache[oldest]
        return answer


def _uncovered(language: str, *, by_model: bool = False) -> Answer:
    """ "The notes do not cover this", in the question's language, with no quotes from unrelated notes.

    The mode is "llm" only when the model said so; otherwise no model was asked ("extractive").
    """
    lang = as_lang(language)
    return Answer(notice("uncovered", lang), "llm" if by_model else "extractive", lang, covered=False)
