"""A loopback OpenAI-compatible endpoint for the real `openai` client: chat (streaming or not), faults,
and embeddings (a small bag-of-words vector per input)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class FakeOpenAI:
    """Answers with ``reply`` (streamed in small pieces when asked); ``mode`` injects a fault."""

    reply: str = "4DiM trains on video without camera poses [1]."
    mode: str = "ok"  # ok | 429 | 500 | hang | garbled | empty
    # Embeddings behaviours (issue 14 / issue 13 items 1 and 4): see the block at the end of the class.
    embeddings_mode: str = "ok"  # ok | 404 | 500 | slow
    embeddings_delay: float = 5.0  # seconds a "slow" embeddings reply takes
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/embeddings", self.embeddings)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "test-model", "object": "model"}]})

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        fault = await self.embeddings_fault(body)
        if fault is not None:
            return fault
        data = []
        for i, text in enumerate(body["input"]):
            vector = [0.0] * 16
            for word in text.casefold().split():
                vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % 16] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vector})
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return web.json_response({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.mode in ("429", "500"):
            status = int(self.mode)
            return web.json_response(
                {"error": {"message": "injected", "type": "server_error"}}, status=status
            )
        if self.mode == "hang":
            await self._release.wait()
            return web.json_response({}, status=500)
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": self.reply},
                        }
                    ],
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        async for line in self._events(body["model"]):
            await response.write(line.encode())
        await response.write_eof()
        return response

    async def _events(self, model: str) -> AsyncIterator[str]:
        if self.mode == "garbled":
            yield 'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Half an ans'
            yield "\n\ndata: {not json at all\n\n"
            return
        text = "" if self.mode == "empty" else self.reply
        for start in range(0, len(text), 7):
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [
                    {"index": 0, "delta": {"content": text[start : start + 7]}, "finish_reason": None}
                ],
            }
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"

    # --- Embeddings behaviours (issue 14) ------------------------------------------------------
    # What real servers showed: a server without an embeddings model answers 404 in OpenAI's error
    # shape (llama.cpp without --embeddings, a wrong model name on OpenAI); an overloaded one 500; a
    # CPU-bound one takes longer than any reasonable timeout.

    def embedding_inputs(self) -> list[list[str]]:
        """The ``input`` of every embeddings request so far, in order."""
        return [list(r["input"]) for r in self.requests if "input" in r]

    async def embeddings_fault(self, body: dict[str, Any]) -> web.Response | None:
        if self.embeddings_mode == "404":
            error = {
                "message": f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            }
            return web.json_response({"error": error}, status=404)
        if self.embeddings_mode == "500":
            return web.json_response({"error": {"message": "injected", "type": "server_error"}}, status=500)
        if self.embeddings_mode == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.embeddings_delay)
        return None


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
