"""Chunk embeddings: float32 BLOBs in SQLite (table ``chunks``), searched in memory with numpy.

Storage (one row per chunk): ``paper_id``, ``model`` (the embedder's name), ``ord`` (position in the
paper), ``field`` (``title``, ``abstract`` or ``commentary``; see :mod:`bot.services.search.chunking`), the
chunk ``text`` and its L2-normalised ``vector``. The vector width is the BLOB length / 4, so a process
that has not called the model yet (an OpenAI-compatible endpoint tells its width only in a reply) still
knows it: :func:`stored_dim`. ``embedded`` records which version of a paper's text each model embedded.

In memory, :class:`VectorIndex` holds one model's vectors for every paper with the field of each row:

* ``index.search(q, k)`` - papers by their best chunk of any field;
* ``index.search(q, k, field="title")`` - papers by their best chunk of one field;
* ``index.search_fields(q, k)`` - one such list per field, from one matrix product;
* ``index.vectors(paper_id, field=None)`` - a paper's chunk vectors (optionally one field's), e.g.
  to compare papers with each other; ``index.paper_ids()`` lists the papers held.

All scores are cosine similarities (rows and queries are unit length).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from bot.store.db import Database, in_chunks

Vectors = npt.NDArray[np.float32]

# Field labels in the order of their codes in VectorIndex (code = position; '' = not labelled yet).
FIELD_CODES: tuple[str, ...] = ("title", "abstract", "commentary", "")


def _code(field: str) -> int:
    return FIELD_CODES.index(field) if field in FIELD_CODES else len(FIELD_CODES) - 1


class VectorIndex:
    """All chunk vectors of one model with their fields, grouped by paper; a paper scores as its best chunk."""

    def __init__(self, model: str, dim: int = 0) -> None:
        self.model = model
        self.dim = dim  # 0 until the first vectors arrive
        self._by_paper: dict[int, tuple[Vectors, npt.NDArray[np.int8]]] = {}
        self._matrix: Vectors = np.zeros((0, dim), np.float32)
        self._fields: npt.NDArray[np.int8] = np.zeros(0, np.int8)
        self._papers: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._starts: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._dirty = False

    def __len__(self) -> int:
        return len(self._by_paper)

    @classmethod
    async def load(cls, db: Database, model: str, dim: int | None = None) -> VectorIndex:
        """Every stored chunk of ``model``. ``dim`` defaults to the stored width (0 when none is stored)."""
        width = dim or await stored_dim(db, model) or 0
        index = cls(model, width)
        rows = await db.fetchall(
            "SELECT paper_id, field, vector FROM chunks WHERE model = ? AND length(vector) = ? "
            "ORDER BY paper_id, ord",
            (model, 4 * width),
        )
        grouped: dict[int, tuple[list[bytes], list[int]]] = {}
        for row in rows:
            blobs, codes = grouped.setdefault(int(row["paper_id"]), ([], []))
            blobs.append(row["vector"])
            codes.append(_code(str(row["field"])))
        for paper_id, (blobs, codes) in grouped.items():
            vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, width)
            index._by_paper[paper_id] = (vectors, np.asarray(codes, dtype=np.int8))
        index._dirty = True
        return index

    def put(self, paper_id: int, vectors: Vectors, fields: Sequence[str] | None = None) -> None:
        """Replace a paper's vectors; ``fields`` labels each row (unlabelled rows match only field=None)."""
        rows = vectors.astype(np.float32, copy=False)
        if rows.ndim != 2 or (self.dim and len(rows) and rows.shape[1] != self.dim):
            raise ValueError(f"expected rows of width {self.dim}, got shape {rows.shape}")
        if not self.dim and len(rows):
            self.dim = int(rows.shape[1])
        labels = [""] * len(rows) if fields is None else list(fields)
        if len(labels) != len(rows):
            raise ValueError(f"{len(rows)} vectors but {len(labels)} field labels")
        self._by_paper[paper_id] = (rows, np.asarray([_code(f) for f in labels], dtype=np.int8))
        self._dirty = True

    def remove(self, paper_id: int) -> None:
        if self._by_paper.pop(paper_id, None) is not None:
            self._dirty = True

    def paper_ids(self) -> list[int]:
        return sorted(p for p, (v, _) in self._by_paper.items() if len(v))

    def vectors(self, paper_id: int, field: str | None = None) -> Vectors:
        """The paper's chunk vectors in stored order (only ``field``'s when given); empty if it has none."""
        rows, codes = self._by_paper.get(
            paper_id, (np.zeros((0, self.dim), np.float32), np.zeros(0, np.int8))
        )
        if field is None:
            return rows
        picked: Vectors = rows[codes == _code(field)]
        return picked

    def _rebuild(self) -> None:
        papers = self.paper_ids()
        blocks = [self._by_paper[p] for p in papers]
        self._matrix = (
            np.concatenate([b[0] for b in blocks]) if blocks else np.zeros((0, self.dim), np.float32)
        )
        self._fields = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int8)
        self._papers = np.asarray(papers, dtype=np.int64)
        sizes = np.asarray([len(b[0]) for b in blocks], dtype=np.int64)
        self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if len(sizes) else sizes
        self._dirty = False

    def _scores(self, query: Vectors) -> npt.NDArray[np.float32] | None:
        if self._dirty:
            self._rebuild()
        if not len(self._papers):
            return None
        q = query.astype(np.float32).reshape(-1)
        if q.shape[0] != self._matrix.shape[1]:
            raise ValueError(f"query has width {q.shape[0]}, the index {self._matrix.shape[1]}")
        scores: npt.NDArray[np.float32] = self._matrix @ q
        return scores

    def _top(
        self, scores: npt.NDArray[np.float32], k: int, allowed: set[int] | None
    ) -> list[tuple[int, float]]:
        best = np.maximum.reduceat(scores, self._starts)
        if allowed is not None:
            mask = np.isin(self._papers, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            best = np.where(mask, best, -np.inf)
        k = min(k, len(best))
        if k <= 0:
            return []
        top = np.argpartition(-best, k - 1)[:k]
        top = top[np.argsort(-best[top], kind="stable")]
        return [(int(self._papers[i]), float(best[i])) for i in top if np.isfinite(best[i])]

    def search(
        self, query: Vectors, k: int = 50, *, allowed: set[int] | None = None, field: str | None = None
    ) -> list[tuple[int, float]]:
        """(paper id, cosine of its best chunk) for the ``k`` best papers, best first.

        With ``field``, only that field's chunks count and papers without one are left out.
        """
        scores = self._scores(query)
        if scores is None:
            return []
        if field is not None:
            scores = np.where(self._fields == _code(field), scores, -np.inf).astype(np.float32)
        return self._top(scores, k, allowed)

    def search_fields(
        self,
        query: Vectors,
        k: int = 50,
        *,
        allowed: set[int] | None = None,
        fields: Iterable[str] = FIELD_CODES[:3],
    ) -> dict[str, list[tuple[int, float]]]:
        """For each field, (paper id, cosine of its best chunk of that field) for the ``k`` best papers."""
        scores = self._scores(query)
        if scores is None:
            return {f: [] for f in fields}
        out = {}
        for field in fields:
            masked = np.where(self._fields == _code(field), scores, -np.inf).astype(np.float32)
            out[field] = self._top(masked, k, allowed)
        return out


def paper_text_hash(title: str, abstract: str, commentary: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (title, abstract, *(f"{a}\x1f{b}" for a, b in commentary)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def scoped_hash(content_hash: str, fields: Sequence[str]) -> str:
    """The hash stored for a model: the text hash and the fields it embeds of each paper, so a change
    of either (a note edited, ``PAPERBOT_E5=titles`` switched to ``all``) embeds the paper again."""
    return f"{content_hash}:{'+'.join(sorted(set(fields)))}"


async def stored_dim(db: Database, model: str) -> int | None:
    """The width of ``model``'s stored vectors (from the BLOB length), or None when none are stored."""
    width = await db.fetchval("SELECT length(vector) / 4 FROM chunks WHERE model = ? LIMIT 1", (model,))
    return int(width) if width else None


_PAPER_TEXT = (
    "SELECT p.id, p.title, p.abstract, group_concat(c.body, char(10) || char(10)) AS body, "
    "group_concat(nullif(c.body_en, ''), char(10) || char(10)) AS body_en, e.content_hash "
    "FROM papers p LEFT JOIN commentary c ON c.paper_id = p.id "
    "LEFT JOIN embedded e ON e.paper_id = p.id AND e.model = ? "
)


async def paper_texts(
    db: Database, model: str, *, paper_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, str, str, str, str | None]]:
    """(id, current hash, title, abstract, commentary, commentary_en, hash ``model`` embedded) per paper."""
    rows = []
    if paper_ids is None:
        rows = await db.fetchall(_PAPER_TEXT + "GROUP BY p.id ORDER BY p.id", (model,))
    else:
        for chunk in in_chunks(list(paper_ids)):
            marks = ",".join("?" * len(chunk))
            rows += await db.fetchall(
                _PAPER_TEXT + f"WHERE p.id IN ({marks}) GROUP BY p.id ORDER BY p.id",
                [model, *chunk],
            )
    out = []
    for row in rows:
        body, body_en = row["body"] or "", row["body_en"] or ""
        current = paper_text_hash(row["title"], row["abstract"], [(body, body_en)])
        out.append(
            (int(row["id"]), current, row["title"], row["abstract"], body, body_en, row["content_hash"])
        )
    return out


async def stale_papers(
    db: Database, model: str, *, paper_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, str, str, str]]:
    """(id, hash, title, abstract, commentary, commentary_en) of papers whose embeddings are missing or old."""
    return [row[:6] for row in await paper_texts(db, model, paper_ids=paper_ids) if row[1] != row[6]]


async def stored_chunks(db: Database, model: str, paper_ids: Sequence[int]) -> dict[tuple[int, str], bytes]:
    """(paper id, chunk text) -> stored vector BLOB, for reusing vectors of chunks whose text is unchanged."""
    found: dict[tuple[int, str], bytes] = {}
    for chunk in in_chunks(list(paper_ids)):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT paper_id, text, vector FROM chunks WHERE model = ? AND paper_id IN ({marks})",  # noqa: S608
            [model, *chunk],
        )
        found.update({(int(r["paper_id"]), str(r["text"])): bytes(r["vector"]) for r in rows})
    return found


async def unlabelled_papers(db: Database, model: str) -> list[int]:
    """Papers with chunks of ``model`` stored before chunks had field labels."""
    rows = await db.fetchall(
        "SELECT DISTINCT paper_id FROM chunks WHERE model = ? AND field = '' ORDER BY paper_id", (model,)
    )
    return [int(r["paper_id"]) for r in rows]


async def label_chunks(db: Database, model: str, labels: Sequence[tuple[int, str, str]]) -> None:
    """Set the field of ``model``'s chunks given as (paper id, chunk text, field), in one transaction."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE chunks SET field = ? WHERE model = ? AND paper_id = ? AND text = ? AND field = ''",
            [(field, model, paper_id, text) for paper_id, text, field in labels],
        )


async def store_vectors(
    db: Database, model: str, items: Sequence[tuple[int, str, Sequence[tuple[str, str]], Vectors]]
) -> None:
    """Replace the chunks of each (paper id, content hash, (field, text) per chunk, vectors), in one transaction."""
    async with db.transaction() as conn:
        for paper_id, content_hash, chunks, vectors in items:
            await conn.execute("DELETE FROM chunks WHERE paper_id = ? AND model = ?", (paper_id, model))
            await conn.executemany(
                "INSERT INTO chunks (paper_id, model, ord, field, text, vector) VALUES (?,?,?,?,?,?)",
                [
                    (paper_id, model, n, field, text, vectors[n].astype(np.float32).tobytes())
                    for n, (field, text) in enumerate(chunks)
                ],
            )
            await conn.execute(
                "INSERT INTO embedded (paper_id, model, content_hash) VALUES (?,?,?) "
                "ON CONFLICT(paper_id, model) DO UPDATE SET content_hash = excluded.content_hash",
                (paper_id, model, content_hash),
            )


async def other_models(db: Database, keep: str | Sequence[str]) -> dict[str, int]:
    """Chunk counts of embedding models other than ``keep`` (left behind when the backend changed)."""
    kept = [keep] if isinstance(keep, str) else list(keep)
    marks = ",".join("?" * len(kept))
    rows = await db.fetchall(
        f"SELECT model, count(*) AS n FROM chunks WHERE model NOT IN ({marks}) GROUP BY model",  # noqa: S608
        kept,
    )
    return {str(r["model"]): int(r["n"]) for r in rows}


async def drop_models(db: Database, models: Sequence[str]) -> None:
    """Delete the chunks and embedding records of ``models``, in one transaction."""
    async with db.transaction() as conn:
        for model in models:
            await conn.execute("DELETE FROM chunks WHERE model = ?", (model,))
            await conn.execute("DELETE FROM embedded WHERE model = ?", (model,))
