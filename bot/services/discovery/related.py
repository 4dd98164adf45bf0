"""Related papers: the curator's own links first, then papers close in content, never the paper itself.

Content relatedness fuses three signals, each scaled to 0..1 over the candidates and mixed by
:class:`RelatedWeights`:

* ``bm25`` - full-text BM25 with the note's most salient terms as an OR query (tf-idf over title,
  commentary, abstract and tags; every term quoted, so note text never reaches FTS syntax);
* ``dense`` - cosine between the papers' embedding centroids (when embeddings are loaded);
* ``tags`` - shared tags, rarer tags counting more.

Community reactions break ties. Which signals help was measured on the curator's vault with its
``# Links`` stripped (bench/related.py); the weights are the ones that measured best.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.domain.arxiv import normalise_title
from bot.domain.models import Paper
from bot.domain.tags import tag_key
from bot.domain.textfold import STOPWORDS, any_of
from bot.services.discovery.links import LinkGraph, NotesVersion
from bot.services.discovery.vectors import PaperVectors
from bot.services.search.fulltext import FIELD_WEIGHTS
from bot.store.db import Database, in_chunks
from bot.store.fts import index_terms

if TYPE_CHECKING:
    from bot.services.search.retrieval import Retriever

CURATOR_REASON = "curator link"
MIN_SCORE = 0.01  # below this a candidate matched only on words every note uses
_LATIN = re.compile(r"[a-z][a-z0-9]{2,}")


@dataclass(frozen=True)
class RelatedPaper:
    id: int
    arxiv_id: str | None
    title: str
    tags: list[str]
    score: float
    reason: str  # in English, for the CLI; Discord renders the fields below in the member's language
    curator: bool = False
    shared_tags: list[str] = field(default_factory=list)
    shared_terms: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "tags": self.tags,
            "score": self.score,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RelatedWeights:
    bm25: float = 0.5
    dense: float = 0.3
    tags: float = 0.2


def note_text(paper: Paper) -> str:
    """Everything the curator wrote about a paper, as one text (title, commentary, abstract, tags)."""
    notes = " ".join(f"{c.body} {c.body_en}" for c in paper.commentary)
    tags = " ".join(paper.tags)
    return f"{paper.title}\n{notes}\n{paper.abstract}\n{tags}"


@lru_cache(maxsize=1)
def _stop_terms() -> frozenset[str]:
    return frozenset(t for terms in index_terms(sorted(STOPWORDS)) for t in terms)


def note_terms(text: str) -> Counter[str]:
    """The search index's terms of a text (Latin stems, Hangul bigrams) with their counts; stop words,
    digits and one-letter terms dropped."""
    stop = _stop_terms()
    return Counter(t for t in index_terms([text])[0] if len(t) > 1 and t not in stop and not t.isdigit())


def surface_words(text: str) -> dict[str, str]:
    """Index term → the first Latin word of ``text`` that makes it (to show ``routing``, not ``rout``)."""
    words = list(dict.fromkeys(_LATIN.findall(text.casefold())))
    found: dict[str, str] = {}
    for word, terms in zip(words, index_terms(words), strict=True):
        if len(terms) == 1:
            found.setdefault(terms[0], word)
    return found


@dataclass
class RelatedFinder:
    """Finds related papers; the chunk embeddings come from the retriever when it has them."""

    db: Database
    retriever: Retriever | None = None
    weights: RelatedWeights = field(default_factory=RelatedWeights)
    candidates: int = 100
    max_terms: int = 32
    max_df: float = 0.2  # share of papers above which a term is too common to query (its postings cost)
    curator_first: bool = True
    _vectors: PaperVectors | None = field(default=None, repr=False)
    _df: dict[str, int] = field(default_factory=dict, repr=False)
    _links: LinkGraph = field(default_factory=LinkGraph, repr=False)
    _version: NotesVersion = field(default_factory=NotesVersion, repr=False)

    async def _refresh(self) -> None:
        """Reload document frequencies and the curator's link graph when the notes changed.

        The fts5vocab table has no index (a lookup scans the whole vocabulary): one scan per change of
        the notes instead of one per request.
        """
        if await self._version.changed(self.db):
            rows = await self.db.fetchall("SELECT term, doc FROM temp.paper_fts_terms")
            self._df = {str(r["term"]): int(r["doc"]) for r in rows}
            self._links = await LinkGraph.load(self.db)

    async def curator_links(self, paper_id: int) -> list[int]:
        """The papers the curator linked to or from this paper's notes, in the curator's order."""
        await self._refresh()
        return self._links.links_of(paper_id)

    @property
    def papers(self) -> int:
        return max(1, self._version.papers)

    def paper_vectors(self) -> PaperVectors | None:
        """Centroids in step with the retriever's chunk index, or None without embeddings."""
        retriever = self.retriever
        if retriever is None or retriever.mode != "hybrid" or retriever.index is None:
            return None
        index = retriever.index
        if self._vectors is None or self._vectors.dim != index.dim:
            self._vectors = PaperVectors(index.dim)
        self._vectors.refresh(index)
        return self._vectors

    async def note(self, paper_id: int) -> Note | None:
        """A paper's title, tags and note text (one query), or None when it does not exist."""
        return (await load_notes(self.db, [paper_id])).get(paper_id)

    async def salient_terms(self, note: Note) -> list[str]:
        """The note's terms that best tell it apart (tf-idf; the title counts twice), best first."""
        counts = note_terms(note.text)
        counts.update(note_terms(note.title))
        if not counts:
            return []
        await self._refresh()
        total, docs = self.papers, self._df
        scored = []
        for term, tf in counts.items():
            df = docs.get(term, 0)
            if df < 2 or df > self.max_df * total:  # in no other paper, or in so many it hardly tells
                continue
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            scored.append((-(1 + math.log(tf)) * idf, term))
        scored.sort()
        return [term for _, term in scored[: self.max_terms]]

    async def _bm25(self, terms: list[str], exclude: int) -> dict[int, float]:
        if not terms:
            return {}
        weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
        rows = await self.db.fetchall(
            f"SELECT rowid AS id, -bm25(paper_fts, {weights}) AS score FROM paper_fts "  # noqa: S608
            "WHERE paper_fts MATCH ? ORDER BY score DESC LIMIT ?",
            (any_of(terms), self.candidates + 1),
        )
        return {int(r["id"]): float(r["score"]) for r in rows if int(r["id"]) != exclude}

    def _dense(self, paper_id: int) -> dict[int, float]:
        vectors = self.paper_vectors()
        vector = vectors.vector(paper_id) if vectors is not None else None
        if vectors is None or vector is None:
            return {}
        return dict(vectors.nearest(vector, self.candidates, exclude={paper_id}))

    async def _tags(self, paper_id: int, tags: list[str]) -> tuple[dict[int, float], dict[int, list[str]]]:
        """Per candidate: the idf-weighted share of this paper's tags it carries, and which ones."""
        keys = [k for k in dict.fromkeys(tag_key(t) for t in tags) if k]
        if not keys:
            return {}, {}
        marks = ",".join("?" * len(keys))
        rows = await self.db.fetchall(
            "SELECT t.key, t.display, count(pt2.paper_id) AS n, group_concat(pt2.paper_id) AS papers "  # noqa: S608
            "FROM tags t JOIN paper_tags pt2 ON pt2.tag_id = t.id "
            f"WHERE t.key IN ({marks}) GROUP BY t.id",
            keys,
        )
        total = self.papers
        weight = {str(r["key"]): math.log(1 + total / int(r["n"])) for r in rows}
        whole = sum(weight.values()) or 1.0
        score: dict[int, float] = {}
        shared: dict[int, list[str]] = {}
        for row in rows:
            for value in str(row["papers"]).split(","):
                other = int(value)
                if other == paper_id:
                    continue
                score[other] = score.get(other, 0.0) + weight[str(row["key"])] / whole
                shared.setdefault(other, []).append(str(row["display"]))
        return score, shared

    async def ranked(self, paper: Note) -> tuple[list[tuple[int, float]], dict[int, list[str]], list[str]]:
        """Content-only candidates (paper id, fused score) best first, with shared tags and salient terms."""
        terms = await self.salient_terms(paper)
        w = self.weights
        lexical = await self._bm25(terms, paper.id) if w.bm25 else {}
        dense = self._dense(paper.id) if w.dense else {}
        tag_scores, shared = await self._tags(paper.id, paper.tags) if w.tags else ({}, {})
        fused: dict[int, float] = {}
        for weight, signal in ((w.bm25, _scaled(lexical)), (w.dense, _scaled(dense)), (w.tags, tag_scores)):
            for pid, value in signal.items():
                fused[pid] = fused.get(pid, 0.0) + weight * value
        # Tag-only matches are many and weak: keep those that also have a content signal, plus the best.
        if lexical or dense:
            backed = set(lexical) | set(dense)
            tag_only = sorted((p for p in fused if p not in backed), key=lambda p: -fused[p])
            for pid in tag_only[self.candidates :]:
                del fused[pid]
        kept = {pid: value for pid, value in fused.items() if value >= MIN_SCORE}
        return sorted(kept.items(), key=lambda kv: (-kv[1], kv[0])), shared, terms

    async def related(self, paper_id: int, *, limit: int = 5) -> list[RelatedPaper]:
        """The papers most related to one paper, best first; [] when the paper does not exist."""
        paper = await self.note(paper_id)
        if paper is None:
            return []
        ranked, shared, terms = await self.ranked(paper)
        links = await self.curator_links(paper.id) if self.curator_first else []
        pool = links + [pid for pid, _ in ranked[: limit * 3 + len(links)] if pid not in links]
        papers = await load_notes(self.db, pool)
        reactions = {pid: c.reactions for pid, c in papers.items()}
        scores = dict(ranked)
        # Reactions only reorder papers whose scores tie at three decimals.
        content = sorted(
            (pid for pid in pool if pid not in links),
            key=lambda p: (-round(scores.get(p, 0.0), 3), -reactions.get(p, 0), p),
        )
        seen_keys = {("arxiv", paper.arxiv_id), ("title", normalise_title(paper.title))}
        surface = surface_words(paper.text)
        picked: list[RelatedPaper] = []
        for pid in [*links, *content]:
            other = papers.get(pid)
            if other is None:
                continue
            keys = {("arxiv", other.arxiv_id), ("title", normalise_title(other.title))}
            keys.discard(("arxiv", None))
            if keys & seen_keys:  # the paper itself under another id, or a result already listed
                continue
            seen_keys |= keys
            is_link = pid in links
            shared_tags = [] if is_link else shared.get(pid, [])[:3]
            shared_terms = [] if is_link else _shared_terms(other.text, terms, surface)
            picked.append(
                RelatedPaper(
                    id=pid,
                    arxiv_id=other.arxiv_id,
                    title=other.title,
                    tags=other.tags,
                    score=1.0 if is_link else round(scores.get(pid, 0.0), 4),
                    reason=CURATOR_REASON if is_link else _reason(shared_tags, shared_terms),
                    curator=is_link,
                    shared_tags=shared_tags,
                    shared_terms=shared_terms,
                )
            )
            if len(picked) == limit:
                break
        return picked


def _scaled(signal: dict[int, float]) -> dict[int, float]:
    if not signal:
        return {}
    low, high = min(signal.values()), max(signal.values())
    span = high - low
    return {pid: (v - low) / span if span > 0 else 1.0 for pid, v in signal.items()}


def _shared_terms(text: str, terms: list[str], surface: dict[str, str]) -> list[str]:
    """Up to three of the query note's salient Latin words (as written there) this paper's note also has.

    For the reason line only: a stem matches a word it begins (``rout`` in ``routers``), which is how
    Porter stems mostly relate to their words; an occasional miss only shortens the reason.
    """
    shown = [t for t in terms if t in surface]
    if not shown:
        return []
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in shown) + ")", re.IGNORECASE)
    found = {m.casefold() for m in pattern.findall(text)}
    return [surface[t] for t in shown if t in found][:3]


def _reason(shared_tags: list[str], shared_terms: list[str]) -> str:
    """Why a paper is related, in a few words: shared tags, then shared distinctive words."""
    parts = []
    if shared_tags:
        parts.append("shared tags: " + ", ".join(f"#{t}" for t in shared_tags))
    if shared_terms:
        parts.append("also about " + ", ".join(shared_terms))
    return "; ".join(parts) or "similar notes"


@dataclass(frozen=True)
class Note:
    """What discovery needs of a paper: what replies show, its whole note as text, its reactions."""

    id: int
    arxiv_id: str | None
    title: str
    tags: list[str]
    text: str
    reactions: int


async def load_notes(db: Database, paper_ids: list[int]) -> dict[int, Note]:
    """The :class:`Note` of each paper, in one query per 500 papers."""
    found: dict[int, Note] = {}
    for chunk in in_chunks(paper_ids):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            "SELECT p.id, p.arxiv_id, p.title, p.abstract, "  # noqa: S608
            "(SELECT group_concat(c.body || ' ' || c.body_en, ' ') FROM commentary c WHERE c.paper_id = p.id) "
            "AS notes, (SELECT group_concat(display, char(31)) FROM (SELECT t.display FROM paper_tags pt "
            "JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id = p.id ORDER BY t.key)) AS tags, "
            "(SELECT count(*) FROM reactions r WHERE r.paper_id = p.id) AS reactions "
            f"FROM papers p WHERE p.id IN ({marks})",
            list(chunk),
        )
        for r in rows:
            tags = str(r["tags"]).split("\x1f") if r["tags"] else []
            text = f"{r['title']}\n{r['notes'] or ''}\n{r['abstract']}\n{' '.join(tags)}"
            found[int(r["id"])] = Note(
                int(r["id"]), r["arxiv_id"], str(r["title"]), tags, text, int(r["reactions"])
            )
    return found


__all__ = ["CURATOR_REASON", "Note", "RelatedFinder", "RelatedPaper", "RelatedWeights", "note_terms"]
