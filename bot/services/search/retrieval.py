"""Hybrid retrieval: BM25 full-text fused with chunk embeddings, for search and grounded answers."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.models import SearchHit
from bot.domain.tags import tag_key
from bot.domain.textfold import query_terms
from bot.services.answers.types import Passage
from bot.services.search.embedders import Embedder, EmbedderError, chunk_note
from bot.services.search.fulltext import best_snippet, search, search_ranked
from bot.store.db import Database
from bot.store.papers import get_papers, tags_for
from bot.store.vectors import VectorIndex, stale_papers, store_vectors

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass
class Retriever:
    """Ranks papers for a query; uses embeddings when an embedder and its index are available."""

    db: Database
    embedder: Embedder | None = None
    index: VectorIndex | None = None
    candidates: int = 50
    dense_weight: float = 0.4  # measured on bench/retrieval_questions.json (bench/retrieval_eval.py)
    _failed: bool = field(default=False, repr=False)

    @property
    def mode(self) -> str:
        return (
            "hybrid" if self.embedder is not None and self.index is not None and not self._failed else "bm25"
        )

    @classmethod
    async def build(cls, db: Database, embedder: Embedder | None) -> Retriever:
        if embedder is None:
            return cls(db)
        index = await VectorIndex.load(db, embedder.name, embedder.dim) if embedder.dim else None
        return cls(db, embedder, index)

    async def update(
        self, *, paper_ids: list[int] | None = None, progress: Progress | None = None, batch_papers: int = 64
    ) -> int:
        """Embed papers whose text changed since they were last embedded; returns how many."""
        if self.embedder is None:
            return 0
        stale = await stale_papers(self.db, self.embedder.name, paper_ids=paper_ids)
        done = 0
        for start in range(0, len(stale), batch_papers):
            batch = stale[start : start + batch_papers]
            texts = [
                chunk_note(title, abstract, body, body_en) for _, _, title, abstract, body, body_en in batch
            ]
            flat = [t for chunks in texts for t in chunks]
            vectors = await self.embedder.embed(flat)
            if self.index is None:
                self.index = VectorIndex(self.embedder.name, self.embedder.dim)
            items, offset = [], 0
            for (paper_id, content_hash, *_), chunks in zip(batch, texts, strict=True):
                block = vectors[offset : offset + len(chunks)]
                offset += len(chunks)
                items.append((paper_id, content_hash, chunks, block))
                self.index.put(paper_id, block)
            await store_vectors(self.db, self.embedder.name, items)
            done += len(batch)
            if progress is not None:
                progress(done, len(stale))
        return done

    async def rank(
        self,
        query: str,
        *,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 10,
    ) -> list[tuple[int, float]]:
        """(paper id, fused score) best first.

        Scores are fused, not ranks: each list is min-max normalised over its candidates and mixed as
        ``(1 - a) * bm25 + a * cosine`` with ``a = dense_weight``. On the vault's evaluation questions this
        beat reciprocal-rank fusion, which let weak embedding matches push out exact keyword hits.
        """
        lexical = await search_ranked(
            self.db, query, tag=tag, since=since, until=until, limit=self.candidates
        )
        dense = await self._dense(query, tag=tag, since=since, until=until)
        if not dense:
            return lexical[:limit]
        fused: dict[int, float] = {}
        a = self.dense_weight
        for weight, ranked in ((1.0 - a, lexical), (a, dense)):
            for paper_id, value in _minmax(ranked):
                fused[paper_id] = fused.get(paper_id, 0.0) + weight * value
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    async def _dense(
        self, query: str, *, tag: str | None, since: dt.date | None, until: dt.date | None
    ) -> list[tuple[int, float]]:
        if self.mode != "hybrid" or not query.strip():
            return []
        assert self.embedder is not None
        assert self.index is not None
        try:
            vector = (await self.embedder.embed([query], query=True))[0]
        except EmbedderError as exc:
            log.warning("embeddings unavailable, falling back to BM25 only: %s", exc)
            self._failed = True
            return []
        allowed = await self._allowed(tag, since, until)
        return self.index.search(vector, self.candidates, allowed=allowed)

    async def _allowed(
        self, tag: str | None, since: dt.date | None, until: dt.date | None
    ) -> set[int] | None:
        clauses, params = [], []
        if tag and tag_key(tag):
            clauses.append(
                "id IN (SELECT pt.paper_id FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.key = ?)"
            )
            params.append(tag_key(tag))
        if since or until:
            clauses.append("id IN (SELECT paper_id FROM entries WHERE digest_date BETWEEN ? AND ?)")
            params += [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()]
        if not clauses:
            return None
        rows = await self.db.fetchall(f"SELECT id FROM papers WHERE {' AND '.join(clauses)}", params)  # noqa: S608
        return {int(r["id"]) for r in rows}

    async def search(
        self,
        query: str,
        *,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 10,
    ) -> list[SearchHit]:
        """Search hits (with tags and snippets) in fused order; plain BM25 when there are no embeddings."""
        if self.mode != "hybrid":
            return await search(self.db, query, tag=tag, since=since, until=until, limit=limit)
        ranked = await self.rank(query, tag=tag, since=since, until=until, limit=limit)
        papers = await get_papers(self.db, [pid for pid, _ in ranked])
        tags = await tags_for(self.db, [pid for pid, _ in ranked])
        terms = query_terms(query)
        hits = []
        for paper_id, score in ranked:
            paper = papers[paper_id]
            notes = "\n".join(f"{c.body}\n{c.body_en}" for c in paper.commentary)
            hits.append(
                SearchHit(
                    id=paper_id,
                    arxiv_id=paper.arxiv_id,
                    title=paper.title,
                    tags=tags.get(paper_id, []),
                    score=round(score * 1000, 4),
                    snippet=best_snippet([notes, paper.abstract], terms),
                    first_seen=paper.first_seen,
                )
            )
        return hits

    async def passages(self, question: str, *, tag: str | None = None, k: int = 5) -> list[Passage]:
        """Numbered passages (commentary first, then abstract) of the ``k`` best papers for a question."""
        ranked = await self.rank(question, tag=tag, limit=k)
        return await passages_for(self.db, [pid for pid, _ in ranked])


def _minmax(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if not ranked:
        return []
    values = [v for _, v in ranked]
    low, high = min(values), max(values)
    span = high - low
    return [(pid, (v - low) / span if span > 0 else 1.0) for pid, v in ranked]


async def passages_for(db: Database, paper_ids: list[int]) -> list[Passage]:
    """Each paper's commentary (with its English version) and abstract as numbered passages."""
    papers = await get_papers(db, paper_ids)
    passages: list[Passage] = []
    for paper_id in paper_ids:
        paper = papers.get(paper_id)
        if paper is None:
            continue
        notes = "\n\n".join(
            c.body + (f"\n(English) {c.body_en}" if c.body_en else "") for c in paper.commentary
        ).strip()
        for kind, text in (("commentary", notes), ("abstract", paper.abstract.strip())):
            if text:
                passages.append(
                    Passage(len(passages) + 1, paper.id, paper.arxiv_id, paper.title, kind, text, paper.link)  # type: ignore[arg-type]
                )
    return passages
