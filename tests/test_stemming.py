"""Porter stemming in the search index (migration 6): Latin words stemmed, Hangul bigrams unchanged,
snippets and the rare-term path comparing stems the way FTS5 does, and older databases upgraded in place."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.services.search.fulltext as search_module
from bot.domain.models import Entry, ParsedFile
from bot.domain.textfold import SENTENCE_BREAK, split_sentences
from bot.services.ingest.pipeline import ingest_paths
from bot.services.ingest.write import write_parsed
from bot.services.search.chunking import chunk_fields, chunk_note
from bot.services.search.fulltext import best_snippet, search, search_ranked
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from bot.store.fts import index_terms, stem
from bot.store.migrations import MIGRATIONS
from bot.store.vectors import VectorIndex, stale_papers
from tests.notes import DIGEST, NOTE_4DIM, write

DAY = dt.date(2024, 7, 11)


class HashEmbedder:
    name = "hash-32"
    dim = 32

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        if not query:
            self.texts += texts
        rows = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in text.casefold().split():
                rows[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


async def _store(db: Database, *entries: Entry) -> None:
    parsed = ParsedFile(path="test:s", kind="digest", digest_date=DAY, entries=list(entries))
    await write_parsed(db, [(parsed, "test:s", "hash")])


async def _seed(db: Database) -> None:
    await _store(
        db,
        Entry(
            title="Graph Network Pruning",
            note_date=DAY,
            arxiv_id="2401.00001",
            abstract="We prune a network of graphs. Unrelated second sentence about tables.",
            commentary="그래프 네트워크를 가지치기하는 방법.",
        ),
        Entry(
            title="Studies of Running Models",
            note_date=DAY,
            arxiv_id="2401.00002",
            abstract="A study that ran many models in parallel.",
            commentary="학습 데이터로 실행한 연구.",
        ),
        Entry(title="Unrelated Tables", note_date=DAY, arxiv_id="2401.00003", abstract="Tables and chairs."),
    )


def test_index_terms_stem_latin_and_keep_hangul_bigrams() -> None:
    assert stem("networks") == "network"
    assert stem("studies") == stem("study")
    assert stem("데이") == "데이"
    assert index_terms(["Running networks 데이터로 학습"]) == [
        ["run", "network", "데이", "이터", "터로", "학습"]
    ]


async def test_a_plural_query_finds_the_singular_and_highlights_it(db: Database) -> None:
    await _seed(db)
    hits = await search(db, "pruning networks")
    assert hits[0].arxiv_id == "2401.00001"
    assert "**network**" in hits[0].snippet, "the stem match is highlighted in its surface form"
    assert "tables" not in hits[0].snippet.casefold(), "the sentence with the matched stems is chosen"
    studies = await search(db, "study")
    assert [h.arxiv_id for h in studies] == ["2401.00002"]
    assert "**study**" in studies[0].snippet.casefold() or "**studies**" in studies[0].snippet.casefold()
    korean = await search(db, "데이터")
    assert [h.arxiv_id for h in korean] == ["2401.00002"], "Hangul still matches by bigram with a particle"


def test_snippet_prefers_the_sentence_with_most_stems() -> None:
    text = "Nothing here. Networks of pruned graphs are pruned. The network."
    assert best_snippet([text], ["prune", "network"]).startswith("**Networks**")


def test_snippet_finds_words_whose_stem_changes_their_last_letter() -> None:
    # porter makes "key" "kei" and "any" "ani": the word is still found and bolded, as the index matched it.
    text = "Nothing to see. The key idea is simple. Another sentence."
    assert best_snippet([text], ["key"]) == "The **key** idea is simple."
    assert best_snippet(["One. Two of any kind."], ["any"]) == "Two of **any** kind."


def test_snippet_counts_overlapping_hangul_bigrams_and_whole_one_syllable_words() -> None:
    # 모델이 holds both 모델 and 델이; 큰 counts only as a word of its own, not inside 크기 or 큰일.
    texts = ["모델이 크다. 큰일이다 모델. 작은 모델과 큰 모델이 있다."]
    assert best_snippet(texts, ["모델", "델이"]).startswith("**모델이**")
    assert best_snippet(texts, ["큰", "모델", "델이"]) == "작은 **모델과** 큰 **모델이** 있다."


def test_snippet_keeps_latin_words_apart_from_the_hangul_after_them() -> None:
    # fold() splits "LoRA로" into "lora" and "로" for the index; the snippet does the same.
    texts = ["Nothing. LoRA로 학습했다. Plain lora text."]
    assert best_snippet(texts, ["lora", "학습"]) == "**LoRA**로 **학습했다**."


@given(st.text(alphabet=st.sampled_from(list("ab .!?。\n\t가")), max_size=60))
def test_split_sentences_is_sentence_break_without_blanks(text: str) -> None:
    assert split_sentences(text) == [s.strip() for s in SENTENCE_BREAK.split(text) if s.strip()]


async def test_rare_term_path_agrees_with_the_plain_or_on_stemmed_terms(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(db)
    query = "networks studies tables pruning"
    plain = await search_ranked(db, query, limit=10)
    monkeypatch.setattr(search_module, "SMALL_INDEX", 0)
    monkeypatch.setattr(search_module, "POSTINGS_BUDGET", 1)
    expressions = await search_module._expressions(db, ["networks", "studies", "tables", "pruning"])
    assert len(expressions) == 2, "the rare-term split is taken (the vocabulary was read by stem)"
    split = await search_ranked(db, query, limit=10)
    assert [p for p, _ in split] == [p for p, _ in plain]
    assert [round(s, 6) for _, s in split] == [round(s, 6) for _, s in plain]


async def test_an_older_database_is_restemmed_and_its_chunks_labelled_without_reembedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM)
    write(tmp_path, "n/d.txt", DIGEST)
    monkeypatch.setattr("bot.store.db.MIGRATIONS", MIGRATIONS[:5])  # the schema before stemming
    old = await Database.open(path)
    assert await old.schema_version() == 5
    assert (await ingest_paths(old, [tmp_path / "n"])).ok
    assert await search_ranked(old, "story") == [], "unicode61 alone: no stemming yet"
    embedder = HashEmbedder()
    for paper_id, content_hash, title, abstract, body, body_en in await stale_papers(old, embedder.name):
        texts = chunk_note(title, abstract, body, body_en)
        vectors = await embedder.embed(texts)
        await old.executemany(
            "INSERT INTO chunks (paper_id, model, ord, text, vector) VALUES (?,?,?,?,?)",
            [(paper_id, embedder.name, n, t, vectors[n].tobytes()) for n, t in enumerate(texts)],
        )
        await old.execute(
            "INSERT INTO embedded (paper_id, model, content_hash) VALUES (?,?,?)",
            (paper_id, embedder.name, content_hash),
        )
    await old.close()
    monkeypatch.undo()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS) >= 6
        assert [p for p, _ in await search_ranked(db, "story")], "the index was rebuilt stemmed"
        assert await db.fetchval("SELECT count(*) FROM chunks WHERE field = ''") > 0
        fresh = HashEmbedder()
        retriever = await Retriever.build(db, fresh)
        assert retriever.mode == "hybrid"
        assert await retriever.update() == 0
        assert fresh.texts == [], "labelling re-chunks the text; nothing is embedded again"
        assert await db.fetchval("SELECT count(*) FROM chunks WHERE field = ''") == 0
        rows = await db.fetchall("SELECT paper_id, field, text FROM chunks ORDER BY paper_id, ord")
        for paper_id, _, title, abstract, body, body_en in await stale_papers(db, "no-such-model"):
            expected = chunk_fields(title, abstract, body, body_en)
            assert [(r["field"], r["text"]) for r in rows if r["paper_id"] == paper_id] == expected
        loaded = await VectorIndex.load(db, fresh.name)
        assert loaded.dim == 32, "the width comes from the stored vectors"
        titles = loaded.search(
            (await fresh.embed(["Controlling Space and Time with Diffusion Models"], query=True))[0],
            1,
            field="title",
        )
        assert titles and titles[0][1] > 0.99
    finally:
        await db.close()


async def test_only_chunks_whose_text_changed_are_embedded_again(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    embedder = HashEmbedder()
    retriever = await Retriever.build(db, embedder)
    assert await retriever.update() == 1
    first = list(embedder.texts)
    embedder.texts.clear()
    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM.replace("#video", "A new closing remark.\n\n#video"))
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    assert await retriever.update() == 1
    assert embedder.texts and all(t not in first for t in embedder.texts), embedder.texts
    assert len(embedder.texts) < len(first)
    fields = {r["field"] for r in await db.fetchall("SELECT field FROM chunks")}
    assert fields == {"title", "abstract", "commentary"}


async def test_one_query_search_gives_the_same_tags_and_snippets_as_the_lookups(
    db: Database, tmp_path: Path
) -> None:
    from bot.services.search.fulltext import _snippets
    from bot.store.papers import tags_for

    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM)
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    hits = await search(db, "diffusion language stories")
    assert len(hits) >= 2
    ids = [h.id for h in hits]
    assert {h.id: h.tags for h in hits} == await tags_for(db, ids)
    assert {h.id: h.snippet for h in hits} == await _snippets(db, ids, "diffusion language stories")
    assert any(h.tags for h in hits)
