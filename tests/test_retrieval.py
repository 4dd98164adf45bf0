from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bot.services.ingest.edits import add_commentary
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from bot.store.vectors import VectorIndex
from tests.notes import DIGEST, NOTE_4DIM, write


class HashEmbedder:
    """Bag-of-words vectors by hashing (deterministic, no model): enough to test the plumbing."""

    name = "hash-64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.queries: list[str] = []

    async def embed(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        self.calls += 1
        if query:
            self.queries += texts
        rows = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in text.casefold().split():
                rows[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)


async def _seed(db: Database, root: Path) -> None:
    write(root, "n/240711 4dim.md", NOTE_4DIM)
    write(root, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [root / "n"])).ok


async def test_backfill_is_incremental_and_persisted(db: Database, tmp_path: Path) -> None:
    await _seed(db, tmp_path)
    retriever = await Retriever.build(db, HashEmbedder())
    assert retriever.mode == "bm25", "no vectors stored yet: a query needs no model"
    assert await retriever.update() == 2
    assert retriever.mode == "hybrid"
    assert await retriever.update() == 0, "nothing changed"
    paper_id = int(await db.fetchval("SELECT id FROM papers WHERE arxiv_id = '2407.07860'"))
    await add_commentary(db, paper_id, "A second opinion about camera control.", author="m", author_id=1)
    assert await retriever.update() == 1
    chunks = int(await db.fetchval("SELECT count(*) FROM chunks WHERE paper_id = ?", (paper_id,)))
    assert chunks >= 4
    loaded = await VectorIndex.load(db, "hash-64", 64)
    query = (await HashEmbedder().embed(["second opinion camera control"]))[0]
    assert loaded.search(query, 2) == retriever.index.search(query, 2)  # type: ignore[union-attr]
    assert loaded.search(query, 1)[0][0] == paper_id


async def test_hybrid_search_fuses_and_respects_filters(db: Database, tmp_path: Path) -> None:
    await _seed(db, tmp_path)
    embedder = HashEmbedder()
    retriever = await Retriever.build(db, embedder)
    await retriever.update()
    assert embedder.queries == [], "note chunks are embedded as documents"
    hits = await retriever.search("how does 4DiM use video data")
    assert hits[0].arxiv_id == "2407.07860"
    assert embedder.queries == ["how does 4DiM use video data"], "the question is embedded as a query"
    assert hits[0].snippet
    tiny = await retriever.search("video", tag="llm")
    assert [h.title for h in tiny] == ["A Tiny Language Model Study"] or tiny == []
    assert all("llm" in h.tags for h in tiny)
    ranked = await retriever.rank("camera pose video", limit=5)
    assert ranked == sorted(ranked, key=lambda kv: -kv[1])


async def test_without_embedder_search_is_bm25(db: Database, tmp_path: Path) -> None:
    await _seed(db, tmp_path)
    retriever = await Retriever.build(db, None)
    assert retriever.mode == "bm25"
    assert await retriever.update() == 0
    assert (await retriever.search("PaliGemma")) == []
    assert (await retriever.search("4DiM"))[0].arxiv_id == "2407.07860"


class TitleHasher(HashEmbedder):
    name = "titles-32"
    dim = 32


async def test_a_second_source_embeds_only_its_fields_and_joins_the_fusion(
    db: Database, tmp_path: Path
) -> None:
    await _seed(db, tmp_path)
    main, second = HashEmbedder(), TitleHasher()
    retriever = await Retriever.build(db, main, extra=[(second, {"title": 0.4})])
    assert await retriever.update() == 2
    fields = await db.fetchall("SELECT DISTINCT model, field FROM chunks ORDER BY model, field")
    assert [(r["model"], r["field"]) for r in fields] == [
        ("hash-64", "abstract"),
        ("hash-64", "commentary"),
        ("hash-64", "title"),
        ("titles-32", "title"),
    ]
    lists = await retriever.dense_lists("Controlling Space and Time with Diffusion Models")
    assert [w for w, _ in lists] == [0.2, 0.8, 0.2, 0.4], "one list per field of each source, with its weight"
    assert (await retriever.rank("Controlling Space and Time with Diffusion Models", limit=1))[0][0] == int(
        await db.fetchval("SELECT id FROM papers WHERE arxiv_id = '2407.07860'")
    )


async def test_a_failing_source_is_left_out_and_the_others_still_rank(db: Database, tmp_path: Path) -> None:
    from bot.services.search.embedders import EmbedderError

    class Broken(TitleHasher):
        fail = False

        async def embed(self, texts: list[str], *, query: bool = False) -> np.ndarray:
            if self.fail:
                raise EmbedderError("server down")
            return await super().embed(texts, query=query)

    await _seed(db, tmp_path)
    broken = Broken()
    retriever = await Retriever.build(db, HashEmbedder(), extra=[(broken, {"title": 0.4})])
    await retriever.update()
    broken.fail = True
    lists = await retriever.dense_lists("camera pose video")
    assert len(lists) == 3, "the broken source's list is dropped, the main source's three remain"
    assert retriever.last_error is not None and "server down" in retriever.last_error
    assert retriever.mode == "hybrid"


async def test_changing_the_fields_a_source_embeds_updates_its_chunks(db: Database, tmp_path: Path) -> None:
    """PAPERBOT_E5=titles, then all, then titles again: each switch is picked up by the next update."""
    from bot.services.search.fusion import e5_weights

    await _seed(db, tmp_path)

    async def second_fields(mode: str) -> tuple[int, list[str], int]:
        main, second = HashEmbedder(), TitleHasher()
        retriever = await Retriever.build(db, main, extra=[(second, e5_weights(mode))])
        done = await retriever.update()
        assert main.calls == 0 or mode == "titles", "the first source's vectors stay valid"
        rows = await db.fetchall("SELECT DISTINCT field FROM chunks WHERE model = 'titles-32' ORDER BY field")
        return done, [r["field"] for r in rows], second.calls

    assert await second_fields("titles") == (2, ["title"], 1)
    done, fields, calls = await second_fields("all")
    assert (done, fields) == (2, ["abstract", "commentary", "title"]) and calls >= 1
    assert await second_fields("all") == (0, ["abstract", "commentary", "title"], 0), "nothing changed"
    assert await second_fields("titles") == (2, ["title"], 0), "dropping fields re-stores, embeds nothing"


async def test_a_database_embedded_before_scoped_hashes_embeds_only_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 9: a title-only second model from before it gets its other fields once PAPERBOT_E5=all;
    the main model's vectors stay valid and nothing of it is embedded again."""
    from bot.services.search.fusion import e5_weights
    from bot.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    monkeypatch.setattr("bot.store.db.MIGRATIONS", MIGRATIONS[:8])
    async with await Database.open(path) as old:
        await _seed(old, tmp_path)
        retriever = await Retriever.build(old, HashEmbedder(), extra=[(TitleHasher(), e5_weights("titles"))])
        assert await retriever.update() == 2
        # The hashes as schema 8 stored them: the text's alone.
        await old.execute(
            "UPDATE embedded SET content_hash = substr(content_hash, 1, instr(content_hash, ':') - 1)"
        )
    monkeypatch.undo()

    async with await Database.open(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        main = HashEmbedder()
        assert await (await Retriever.build(db, main)).update() == 0, "the main model has every field"
        second = TitleHasher()
        retriever = await Retriever.build(db, main, extra=[(second, e5_weights("all"))])
        assert await retriever.update() == 2
        assert main.calls == 0 and second.calls >= 1
        fields = await db.fetchall(
            "SELECT DISTINCT field FROM chunks WHERE model = 'titles-32' ORDER BY field"
        )
        assert [r["field"] for r in fields] == ["abstract", "commentary", "title"]
