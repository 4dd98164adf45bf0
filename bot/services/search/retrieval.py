"""Hybrid retrieval: BM25 full-text fused with per-field chunk embeddings, for search and grounded answers.

A :class:`DenseSource` is one embedder with its :class:`~bot.store.vectors.VectorIndex` and the fields it
embeds, each field with its fusion weight. The default is one source (the offline USE model, or an
OpenAI-compatible endpoint) over every field; a second source (multilingual-e5-small on titles) can be
added. A query is embedded once per source; each field gives its own ranked list; the lists are fused
with BM25 by :func:`bot.services.search.fusion.fuse`. BM25 also runs on the query's expansion terms
from the lexicon mined from the vault (:mod:`bot.services.search.lexicon`; loaded at build, mined again
by a full :meth:`Retriever.update` when the notes changed), which finds title-only notes with Korean
commentary for English paraphrases.

Failures of an embedder (a model that cannot load, an endpoint that is down or answers 404) never reach
the caller: searches fall back to the lists that still work (BM25 at worst) for a minute, backfills stop
with what they stored, and ``last_error`` says why in one line.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.domain.models import SearchHit
from bot.domain.tags import tag_key
from bot.domain.textfold import query_terms
from bot.services.answers.types import Passage
from bot.services.search.chunking import chunk_fields
from bot.services.search.embedders import Embedder, EmbedderError
from bot.services.search.fulltext import best_snippet, search, search_ranked
from bot.services.search.fusion import (
    BM25_WEIGHT,
    EXPANDED_WEIGHT,
    EXPANSION_WEIGHT,
    FIELD_WEIGHTS,
    Ranked,
    fuse,
)
from bot.services.search.lexicon import Lexicon, load_lexicon, refresh_lexicon
from bot.store.db import Database
from bot.store.lexicon import stored_fingerprint
from bot.store.papers import get_papers, tags_for
from bot.store.vectors import (
    VectorIndex,
    label_chunks,
    paper_texts,
    scoped_hash,
    store_vectors,
    stored_chunks,
    unlabelled_papers,
)

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
RETRY_AFTER_S = 60.0
LEXICON_REFRESH_S = 3600.0  # a partial update mines a changed vault again at most this often  # how long a failed embedder is left out of searches before it is tried again


@dataclass
class DenseSource:
    """One embedder, its vectors, and the fusion weight of each field it embeds."""

    embedder: Embedder
    index: VectorIndex
    weights: Mapping[str, float] = field(default_factory=lambda: dict(FIELD_WEIGHTS))
    failed_until: float = 0.0
    labelled: bool = False
    model_seconds: float = 0.0  # time spent in the embedder (query embeddings), for `-v` timings

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for f, w in self.weights.items() if w > 0)

    @property
    def usable(self) -> bool:
        return len(self.index) > 0 and time.monotonic() >= self.failed_until


@dataclass
class Retriever:
    """Ranks papers for a query; uses embeddings when an embedder and stored vectors are available."""

    db: Database
    sources: list[DenseSource] = field(default_factory=list)
    candidates: int = 50
    bm25_weight: float = BM25_WEIGHT
    last_error: str | None = None
    lexicon: Lexicon = field(default_factory=Lexicon)
    clock: Callable[[], float] = time.monotonic
    lexicon_checked: float | None = None  # when a partial update last looked at the lexicon (clock time)

    @property
    def embedder(self) -> Embedder | None:
        """The main embedder (the first source's), or None when retrieval is BM25 only."""
        return self.sources[0].embedder if self.sources else None

    @property
    def index(self) -> VectorIndex | None:
        return self.sources[0].index if self.sources else None

    @property
    def mode(self) -> str:
        """ "hybrid" when some embedder has stored vectors and is not failing, else "bm25"."""
        return "hybrid" if any(s.usable for s in self.sources) else "bm25"

    @classmethod
    async def build(
        cls,
        db: Database,
        embedder: Embedder | None,
        *,
        extra: Sequence[tuple[Embedder, Mapping[str, float]]] = (),
        weights: Mapping[str, float] | None = None,
    ) -> Retriever:
        """Load stored vectors (their width comes from the database, so no model is called).

        ``extra`` adds further sources as (embedder, field weights), e.g. e5 on titles only.
        """
        specs: list[tuple[Embedder, Mapping[str, float]]] = []
        if embedder is not None:
            specs.append((embedder, dict(weights or FIELD_WEIGHTS)))
        specs += list(extra)
        sources = []
        for each, field_weights in specs:
            index = await VectorIndex.load(db, each.name, each.dim or None)
            sources.append(DenseSource(each, index, dict(field_weights)))
        return cls(db, sources, lexicon=await load_lexicon(db))

    # -- indexing --------------------------------------------------------------------------------

    async def update(
        self, *, paper_ids: list[int] | None = None, progress: Progress | None = None, batch_papers: int = 64
    ) -> int:
        """Embed papers whose text changed since they were last embedded; returns how many (per source, max).

        Chunks whose text is unchanged keep their stored vectors; only new chunk texts are embedded. The
        query-expansion lexicon is mined again when the vault changed: on every full update (no
        ``paper_ids``), and on a partial one (an import, an edit) at most every ``LEXICON_REFRESH_S``, so
        a running bot's lexicon follows its notes without re-mining after each edit. An embedder failure
        stops that source's backfill with what it stored and sets :attr:`last_error`.
        """
        now = self.clock()
        due = self.lexicon_checked is None or now - self.lexicon_checked >= LEXICON_REFRESH_S
        if paper_ids is None or due or await stored_fingerprint(self.db) is None:
            self.lexicon_checked = now
            fresh = await refresh_lexicon(self.db)
            if fresh is not None:
                self.lexicon = fresh
        done = 0
        for source in self.sources:
            try:
                done = max(done, await self._update(source, paper_ids, progress, batch_papers))
            except EmbedderError as exc:
                self.last_error = f"embeddings from {source.embedder.name} failed: {exc}"
                log.warning(
                    "%s; papers are stored and search uses keywords; run `paperbot embed` once it works",
                    self.last_error,
                )
                source.failed_until = time.monotonic() + RETRY_AFTER_S
        return done

    async def _update(
        self, source: DenseSource, paper_ids: list[int] | None, progress: Progress | None, batch_papers: int
    ) -> int:
        model = source.embedder.name
        rows = await paper_texts(self.db, model, paper_ids=paper_ids)
        if not source.labelled:
            await self._label(source, rows)
        rows = [(row[0], scoped_hash(row[1], source.fields), *row[2:]) for row in rows]
        stale = [row for row in rows if row[1] != row[6]]
        done = 0
        for start in range(0, len(stale), batch_papers):
            batch = stale[start : start + batch_papers]
            chunks = [
                [(f, t) for f, t in chunk_fields(title, abstract, body, body_en) if f in source.fields]
                for _, _, title, abstract, body, body_en, _ in batch
            ]
            known = await stored_chunks(self.db, model, [row[0] for row in batch])
            missing = sorted(
                {
                    t
                    for (pid, *_), cs in zip(batch, chunks, strict=True)
                    for _, t in cs
                    if (pid, t) not in known
                }
            )
            fresh = await source.embedder.embed(missing) if missing else None
            position = {t: n for n, t in enumerate(missing)}
            width = fresh.shape[1] if fresh is not None else source.index.dim or source.embedder.dim
            if source.index.dim and len(source.index) and width != source.index.dim:
                raise EmbedderError(
                    f"the model now returns {width}-d vectors but {source.index.dim}-d are stored; "
                    "run `paperbot embed --prune` after changing the model"
                )
            items = []
            for (paper_id, content_hash, *_), paper_chunks in zip(batch, chunks, strict=True):
                vectors = np.zeros((len(paper_chunks), width), np.float32)
                for n, (_, text) in enumerate(paper_chunks):
                    blob = known.get((paper_id, text))
                    if blob is not None and len(blob) == 4 * vectors.shape[1]:
                        vectors[n] = np.frombuffer(blob, dtype=np.float32)
                    else:
                        assert fresh is not None
                        vectors[n] = fresh[position[text]]
                items.append((paper_id, content_hash, paper_chunks, vectors))
                source.index.put(paper_id, vectors, [f for f, _ in paper_chunks])
            await store_vectors(self.db, model, items)
            done += len(batch)
            if progress is not None:
                progress(done, len(stale))
        return done

    async def _label(
        self, source: DenseSource, rows: Sequence[tuple[int, str, str, str, str, str, str | None]]
    ) -> None:
        """Give chunks stored before field labels existed their field, by chunking the text again."""
        pending = set(await unlabelled_papers(self.db, source.embedder.name))
        if pending:
            by_id = {row[0]: row for row in rows}
            missing = sorted(pending - by_id.keys())
            if missing:
                by_id.update(
                    {r[0]: r for r in await paper_texts(self.db, source.embedder.name, paper_ids=missing)}
                )
            labels = [
                (pid, text, fld)
                for pid in sorted(pending)
                if pid in by_id
                for fld, text in chunk_fields(*by_id[pid][2:6])
            ]
            await label_chunks(self.db, source.embedder.name, labels)
            reloaded = await VectorIndex.load(self.db, source.embedder.name, source.index.dim or None)
            source.index = reloaded
            log.info("labelled the chunks of %d papers with their fields", len(pending))
        source.labelled = True

    # -- ranking ---------------------------------------------------------------------------------

    async def rank(
        self,
        query: str,
        *,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 10,
    ) -> Ranked:
        """(paper id, fused score) best first.

        BM25 (with the lexicon's expansions) and each source's field lists are min-max normalised over
        their own top ``candidates`` and summed with their weights (:mod:`bot.services.search.fusion`).
        """
        lexical = await self.lexical_lists(query, tag=tag, since=since, until=until)
        dense = await self.dense_lists(query, tag=tag, since=since, until=until)
        if not dense:
            return lexical[0][1][:limit]
        return fuse([*lexical, *dense], limit)

    async def lexical_lists(
        self,
        query: str,
        *,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[tuple[float, Ranked]]:
        """(weight, ranked papers): BM25 of the query, then, when the lexicon expands it, BM25 of the
        expansion terms alone and of the query's terms with them (:mod:`bot.services.search.lexicon`)."""

        async def bm25(phrases: list[str] | None = None) -> Ranked:
            return await search_ranked(
                self.db, query, tag=tag, since=since, until=until, limit=self.candidates, phrases=phrases
            )

        lists = [(self.bm25_weight, await bm25())]
        extra = self.lexicon.expand(query)
        if extra:
            lists.append((EXPANSION_WEIGHT, await bm25(extra)))
            lists.append((EXPANDED_WEIGHT, await bm25([*query_terms(query), *extra])))
        return lists

    async def dense_lists(
        self,
        query: str,
        *,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[tuple[float, Ranked]]:
        """(weight, ranked papers) for each field of each usable source; [] when none can answer."""
        usable = [s for s in self.sources if s.usable]
        if not usable or not query.strip():
            return []
        allowed = await self._allowed(tag, since, until)
        lists: list[tuple[float, Ranked]] = []
        for source in usable:
            started = time.perf_counter()
            try:
                vector = (await source.embedder.embed([query], query=True))[0]
            except EmbedderError as exc:
                self.last_error = f"embeddings from {source.embedder.name} failed: {exc}"
                log.warning("%s; searching by keywords only for %.0f s", self.last_error, RETRY_AFTER_S)
                source.failed_until = time.monotonic() + RETRY_AFTER_S
                continue
            finally:
                source.model_seconds += time.perf_counter() - started
            if vector.shape[0] != source.index.dim:
                self.last_error = (
                    f"{source.embedder.name} now returns {vector.shape[0]}-d vectors but {source.index.dim}-d "
                    "are stored; run `paperbot embed --prune` after changing the model"
                )
                log.warning(self.last_error)
                source.failed_until = time.monotonic() + RETRY_AFTER_S
                continue
            per_field = source.index.search_fields(
                vector, self.candidates, allowed=allowed, fields=source.fields
            )
            lists += [(source.weights[f], ranked) for f, ranked in per_field.items()]
        return lists

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
        if self.mode != "hybrid" or not query.strip():
            return await search(self.db, query, tag=tag, since=since, until=until, limit=limit)
        ranked = await self.rank(query, tag=tag, since=since, until=until, limit=limit)
        papers = await get_papers(self.db, [pid for pid, _ in ranked])
        tags = await tags_for(self.db, [pid for pid, _ in ranked])
        # Snippets prefer sentences with the query's words or its expansions (why a note was found).
        own = query_terms(query)
        terms = own + [t for t in query_terms(" ".join(self.lexicon.expand(query))) if t not in own]
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
