"""The chat model behind answers: any OpenAI-compatible endpoint through the official client."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, cast

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from bot.settings import Settings

log = logging.getLogger(__name__)

# What counts as "the model did not answer": HTTP and network errors, timeouts, malformed responses.
LLM_ERRORS: tuple[type[BaseException], ...] = (
    openai.OpenAIError,
    asyncio.TimeoutError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
)
# OpenAI's reasoning models reject `max_tokens` and any temperature but the default.
_REASONING = re.compile(r"^(?:[\w.-]+/)?(?:o\d+|gpt-5)(?:[-.:]|$)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    """o1, o3, o4-mini, gpt-5… (optionally behind a ``provider/`` prefix)."""
    return bool(_REASONING.match(model))


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed reply: text, and why the model stopped (on the last piece)."""

    text: str = ""
    finish_reason: str | None = None


class LLM:
    """A model name on a client.

    ``stream`` yields :class:`Delta` pieces; the caller owns the overall deadline (so a timeout that
    fires while the caller is busy with a piece lands in the caller's ``asyncio.timeout`` block).
    Each HTTP request is still bounded by ``timeout`` seconds.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        timeout: float = 60.0,
        max_tokens: int = 600,
        reasoning: bool | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.reasoning = is_reasoning_model(model) if reasoning is None else reasoning

    def request_options(self) -> dict[str, Any]:
        if self.reasoning:
            # Reasoning tokens count against this cap too: leave room for the visible answer.
            return {"max_completion_tokens": self.max_tokens * 4}
        return {"max_tokens": self.max_tokens, "temperature": 0.2}

    async def stream(self, messages: list[dict[str, str]]) -> AsyncGenerator[Delta, None]:
        stream: AsyncStream[ChatCompletionChunk] = await self.client.chat.completions.create(
            model=self.model,
            messages=cast(Any, messages),
            stream=True,
            timeout=self.timeout,
            **self.request_options(),
        )
        try:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                text = choice.delta.content if choice.delta is not None else None
                if text or choice.finish_reason:
                    yield Delta(text or "", choice.finish_reason)
        finally:
            await stream.close()

    async def complete(self, messages: list[dict[str, str]]) -> str:
        async with asyncio.timeout(self.timeout):
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                timeout=self.timeout,
                **self.request_options(),
            )
        return response.choices[0].message.content or ""


def build_client(settings: Settings) -> AsyncOpenAI | None:
    """One client for chat and embeddings, or None when no endpoint is configured."""
    if not (settings.openai_base_url or settings.openai_api_key):
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return AsyncOpenAI(
        api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout, max_retries=1
    )


def build_llm(settings: Settings, client: AsyncOpenAI | None) -> LLM | None:
    if client is None or not settings.llm_model:
        return None
    return LLM(
        client,
        settings.llm_model,
        timeout=settings.llm_timeout,
        max_tokens=settings.answer_max_tokens,
        reasoning=settings.llm_reasoning,
    )
