"""One grounded answer from the model: streamed within a deadline and a length cap, then checked.

Every way the endpoint or the model can fail ends in an :class:`Outcome` (never an exception): the
answer, the partial answer marked as cut off, "the notes do not cover this", or a reason to quote the
notes instead. An answer that cites no passage, or only repeats them, is retried once with a stricter
instruction before it is given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

import openai

from bot.services.answers.llm import LLM, LLM_ERRORS
from bot.services.answers.text import (
    NOT_COVERED,
    cited_numbers,
    failure_reason,
    is_echo,
    says_not_covered,
    strip_reasoning,
)
from bot.services.answers.types import Passage

log = logging.getLogger(__name__)
OnText = Callable[[str], Awaitable[None]]

STRICTER = {
    "no_citations": (
        "Your previous reply cited no passage. Answer again from the passages only, and put the number "
        "of the passage it comes from in square brackets after every sentence, like [1]. If the passages "
        f"do not answer the question, reply exactly: {NOT_COVERED}"
    ),
    "echo": (
        "Your previous reply only copied the passages. Answer the question in your own words, briefly, "
        f"citing passages like [1]. If the passages do not answer it, reply exactly: {NOT_COVERED}"
    ),
}


@dataclass
class Outcome:
    """``text`` when the model's answer is usable; otherwise ``reason`` (a key of REASONS)."""

    text: str = ""
    reason: str | None = None
    cut_off: str | None = None  # why a usable answer stopped early ("length", "timeout", …)
    not_covered: bool = False
    failed: bool = False  # True: the model did not answer at all (rather than answered badly)


@dataclass
class _Reply:
    """What one request has produced so far; kept outside the stream so a timeout does not lose it."""

    raw: str = ""
    finish: str | None = None
    error: BaseException | None = None
    capped: str | None = None

    @property
    def text(self) -> str:
        return self.capped if self.capped is not None else strip_reasoning(self.raw)


class Stream:
    """Passes visible text to ``on_text``; a failing callback stops the streaming, not the answer."""

    def __init__(self, on_text: OnText | None) -> None:
        self.on_text = on_text

    async def __call__(self, text: str) -> None:
        if self.on_text is None or not text:
            return
        try:
            await self.on_text(text)
        except Exception:  # e.g. a Discord edit that failed: the answer goes on
            log.warning("streaming the answer failed; the final answer is still sent", exc_info=True)
            self.on_text = None


def build_messages(rules: str, prompt: str, placement: str, extra: str | None = None) -> list[dict[str, str]]:
    """The rules in the system message, in the user turn, or both (templates that drop system)."""
    user = f"{rules}\n\n{prompt}" if placement in ("both", "user") else prompt
    if extra:
        user = f"{user}\n\n{extra}"
    if placement == "user":
        return [{"role": "user", "content": user}]
    return [{"role": "system", "content": rules}, {"role": "user", "content": user}]


async def _read(
    llm: LLM, messages: list[dict[str, str]], stream: Stream, max_chars: int, reply: _Reply
) -> None:
    """Fill ``reply`` until the stream ends, fails, or the visible answer passes ``max_chars``."""
    try:
        async with aclosing(llm.stream(messages)) as deltas:
            async for delta in deltas:
                reply.raw += delta.text
                reply.finish = delta.finish_reason or reply.finish
                visible = strip_reasoning(reply.raw)
                if len(visible) > max_chars or len(reply.raw) > 4 * max_chars:
                    reply.capped, reply.finish = _cut(visible, max_chars), "cap"
                    return
                await stream(visible)
    except LLM_ERRORS as exc:
        reply.error = exc


def _cut(text: str, limit: int) -> str:
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


async def answer_with_llm(
    llm: LLM,
    *,
    rules: str,
    prompt: str,
    passages: list[Passage],
    placement: str,
    max_chars: int,
    on_text: OnText | None,
) -> tuple[Outcome, str]:
    """The checked answer, and the rules placement that worked (a server may reject a system role).

    One deadline (the LLM timeout) covers both attempts and the streaming callback: when it falls
    while the callback waits (a rate-limited Discord edit), the answer so far is judged as cut off.
    """
    stream = Stream(on_text)
    known = {p.n for p in passages}
    extra: str | None = None
    retried = False
    reply = _Reply()
    try:
        async with asyncio.timeout(llm.timeout):
            while True:
                reply = _Reply()
                await _read(llm, build_messages(rules, prompt, placement, extra), stream, max_chars, reply)
                rejected = isinstance(reply.error, openai.BadRequestError) and not reply.text
                if rejected and placement != "user":
                    log.warning(
                        "the endpoint rejected a request with a system message; rules go in the user turn"
                    )
                    placement = "user"
                    continue
                outcome = _judge(reply, passages, known, (rules, prompt))
                if outcome.reason is not None and (retried or outcome.reason not in STRICTER):
                    log.info("the model's reply (%s): %r", outcome.reason, _excerpt(reply.text))
                if outcome.reason in STRICTER and not retried:
                    retried, extra = True, STRICTER[outcome.reason]
                    log.info(
                        "the model's answer: %s (%r); asking once more, more strictly",
                        outcome.reason,
                        _excerpt(reply.text),
                    )
                    continue
                return outcome, placement
    except TimeoutError:
        reply.error = TimeoutError()
        return _judge(reply, passages, known, (rules, prompt)), placement


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _judge(reply: _Reply, passages: list[Passage], known: set[int], prompt: tuple[str, ...]) -> Outcome:
    text = reply.text.strip()
    if reply.error is not None and not text:
        return Outcome(reason=failure_reason(reply.error), failed=True)
    if not text:
        return Outcome(reason="empty", failed=True)
    if says_not_covered(text):
        return Outcome(not_covered=True)
    if reply.error is not None and not any(n in known for n in cited_numbers(text)):
        return Outcome(reason=failure_reason(reply.error), failed=True)
    if is_echo(text, passages, prompt):
        return Outcome(reason="echo")
    if not any(n in known for n in cited_numbers(text)):
        return Outcome(reason="no_citations")
    if reply.error is not None:
        return Outcome(text, cut_off=failure_reason(reply.error))
    if reply.finish in ("length", "cap"):
        return Outcome(text, cut_off="length")
    return Outcome(text)
