"""Grounded answers: retrieve passages, ask the model (streaming), cite; quote the notes when it can't."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.domain.textfold import SENTENCE_BREAK, query_terms
from bot.services.answer_text import finish_answer, notice, passages_block
from bot.services.answer_types import Answer, Lang, Passage, as_lang, question_language
from bot.services.llm import LLM, LLM_ERRORS
from bot.services.prompts import render
from bot.services.retrieval import Retriever, passages_for
from bot.store.db import Database

log = logging.getLogger(__name__)
OnText = Callable[[str], Awaitable[None]]
LANGUAGE_NAMES = {"ko": "Korean", "en": "English"}


@dataclass
class AnswerLimits:
    daily_budget: int = 200  # LLM answers per guild per day
    cache_seconds: float = 600.0


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
        if not _covers(question, passages):
            return Answer(
                notice("uncovered", language), "extractive", language, notice=notice("uncovered", language)
            )
        prompt = render("ask", passages=passages_block(passages), question=question)
        answer = await self._answer(prompt, passages, language, question, guild_id, on_text)
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
        answer = await self._answer(prompt, passages, language, question, guild_id, on_text)
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
        answer = await self._answer(prompt, passages, lang, "", guild_id, on_text)
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
        answer = await self._answer(prompt, passages, lang, "", guild_id, on_text)
        return self._store(key, answer)

    async def _answer(
        self,
        prompt: str,
        passages: list[Passage],
        language: str,
        question: str,
        guild_id: int | None,
        on_text: OnText | None,
    ) -> Answer:
        lang = as_lang(language)
        if self.llm is None:
            return extractive_answer(question, passages, lang, notice("extractive", lang))
        if guild_id is not None and not await self._spend(guild_id):
            return extractive_answer(question, passages, lang, notice("budget", lang))
        system = render("system", language=LANGUAGE_NAMES[lang], max_words=250)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        text = ""
        try:
            async for delta in self.llm.stream(messages):
                text += delta
                if on_text is not None:
                    await on_text(text)
            if not text.strip():
                raise ValueError("the model returned an empty answer")
        except LLM_ERRORS as exc:
            reason = _reason(exc)
            log.warning("LLM answer failed (%s); answering extractively", reason)
            return extractive_answer(question, passages, lang, notice("fallback", lang, reason=reason))
        body, citations, disagreements = finish_answer(text, passages)
        return Answer(body, "llm", lang, citations, None, disagreements)

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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    status = getattr(exc, "status_code", None)
    return f"HTTP {status}" if status else exc.__class__.__name__


def _covers(question: str, passages: list[Passage]) -> bool:
    """False when nothing was retrieved or no passage shares a single term with the question."""
    if not passages:
        return False
    terms = query_terms(question)
    return (
        any(t in p.text.casefold() or t in p.title.casefold() for p in passages for t in terms) or not terms
    )


def extractive_answer(question: str, passages: list[Passage], language: str, mode_notice: str) -> Answer:
    """The best-matching sentences of the retrieved passages, each with its citation."""
    lang: Lang = as_lang(language)
    terms = query_terms(question)
    scored: list[tuple[float, int, str, Passage]] = []
    for order, passage in enumerate(passages):
        for position, sentence in enumerate(s.strip() for s in SENTENCE_BREAK.split(passage.text)):
            if len(sentence) < 12:
                continue
            folded = sentence.casefold()
            overlap = sum(1 for t in terms if t in folded)
            # the curator's words first, earlier papers and earlier sentences break ties
            score = overlap + (0.5 if passage.kind == "commentary" else 0) - 0.01 * order - 0.001 * position
            scored.append((score, order, sentence, passage))
    scored.sort(key=lambda item: -item[0])
    chosen: list[tuple[str, Passage]] = []
    used: dict[int, int] = {}
    for _score, _order, sentence, passage in scored:
        if used.get(passage.n, 0) >= 2:
            continue
        used[passage.n] = used.get(passage.n, 0) + 1
        chosen.append((sentence, passage))
        if len(chosen) == 4:
            break
    raw = "\n".join(f"- {sentence[:400]} [{passage.n}]" for sentence, passage in chosen)
    body, citations, _ = finish_answer(raw, passages)
    return Answer(body, "extractive", lang, citations, mode_notice)
