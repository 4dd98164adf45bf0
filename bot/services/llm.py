"""The chat model behind answers: any OpenAI-compatible endpoint through the official client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
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


class LLM:
    """A model name on a client; ``stream`` yields text deltas and is cut off at ``timeout`` seconds."""

    def __init__(
        self, client: AsyncOpenAI, model: str, *, timeout: float = 60.0, max_tokens: int = 900
    ) -> None:
        self.client = client
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        async with asyncio.timeout(self.timeout):
            stream: AsyncStream[ChatCompletionChunk] = await self.client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                stream=True,
                temperature=0.2,
                max_tokens=self.max_tokens,
                timeout=self.timeout,
            )
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta

    async def complete(self, messages: list[dict[str, str]]) -> str:
        async with asyncio.timeout(self.timeout):
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                temperature=0.2,
                max_tokens=self.max_tokens,
                timeout=self.timeout,
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
    return LLM(client, settings.llm_model, timeout=settings.llm_timeout)
