"""Chunk embeddings: stored as float32 BLOBs in SQLite, searched in memory with numpy."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from bot.store.db import Database, in_chunks

Vectors = npt.NDArray[np.float32]


class VectorIndex:
    """All chunk vectors of one model, grouped by paper; a paper scores as its best chunk."""

    def __init__(self, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        self._by_paper: dict[int, Vectors] = {}
        self._matrix: Vectors = np.zeros((0, dim), np.float32)
        self._papers: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._starts: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._dirty = False

    def __len__(self) -> int:
        return len(self._by_paper)

    @classmethod
    async def load(cls, db: Database, model: str, dim: int) -> VectorIndex:
        index = cls(model, dim)
        rows = await db.fetchall(
            "SELECT paper_id, vector FROM chunks WHERE model = ? ORDER BY paper_id, ord", (model,)
        )
        grouped: dict[int, list[bytes]] = {}
        for row in rows:
            grouped.setdefault(int(row["paper_id"]), []).append(row["vector"])
        for paper_id, blobs in grouped.items():
            index._by_paper[paper_id] = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dim)
        index._dirty = True
        return index

    def vectors_by_paper(self) -> Mapping[int, Vectors]:
        """Each paper's chunk vectors (read-only view; a re-embedded paper gets a new array)."""
        return MappingProxyType(self._by_paper)

    def put(self, paper_id: int, vectors: Vectors) -> None:
        self._by_paper[paper_id] = vectors.astype(np.float32, copy=False)
        self._dirty = True

    def _rebuild(self) -> None:
        papers = sorted(p for p, v in self._by_paper.items() if len(v))
        blocks = [self._by_paper[p] for p in papers]
        self._matrix = np.concatenate(blocks) if blocks else np.zeros((0, self.dim), np.float32)
        self._papers = np.asarray(papers, dtype=np.int64)
        sizes = np.asarray([len(b) for b in blocks], dtype=np.int64)
        self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if len(sizes) else sizes
        self._dirty = False

    def search(
        self, query: Vectors, k: int = 50, *, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(paper id, cosine of its best chunk) for the ``k`` best papers, best first."""
        if self._dirty:
            self._rebuild()
        if not len(self._papers):
            return []
        scores = self._matrix @ query.astype(np.float32).reshape(-1)
        best = np.maximum.reduceat(scores, self._starts)
        if allowed is not None:
            mask = np.isin(self._papers, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            best = np.where(mask, best, -np.inf)
        k = min(k, len(best))
        top = np.argpartition(-best, k - 1)[:k]
        top = top[np.argsort(-best[top])]
        return [(int(self._papers[i]), float(best[i])) for i in top if np.isfinite(best[i])]


def paper_text_hash(title: str, abstract: str, commentary: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (title, abstract, *(f"{a}\x1f{b}" for a, b in commentary)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


async def stale_papers(
    db: Database, model: str, *, paper_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, str, str, str]]:
    """(id, hash, title, abstract, commentary, commentary_en) of papers whose embeddings are missing or old."""
    rows = []
    if paper_ids is None:
        rows = await db.fetchall(
            "SELECT p.id, p.title, p.abstract, group_concat(c.body, char(10) || char(10)) AS body, "
            "group_concat(nullif(c.body_en, ''), char(10) || char(10)) AS body_en, e.content_hash "
            "FROM papers p LEFT JOIN commentary c ON c.paper_id = p.id "
            "LEFT JOIN embedded e ON e.paper_id = p.id AND e.model = ? GROUP BY p.id ORDER BY p.id",
            (model,),
        )
    else:
        for chunk in in_chunks(list(paper_ids)):
            marks = ",".join("?" * len(chunk))
            rows += await db.fetchall(
                "SELECT p.id, p.title, p.abstract, group_concat(c.body, char(10) || char(10)) AS body, "  # noqa: S608
                "group_concat(nullif(c.body_en, ''), char(10) || char(10)) AS body_en, e.content_hash "
                "FROM papers p LEFT JOIN commentary c ON c.paper_id = p.id "
                f"LEFT JOIN embedded e ON e.paper_id = p.id AND e.model = ? WHERE p.id IN ({marks}) "
                "GROUP BY p.id ORDER BY p.id",
                [model, *chunk],
            )
    stale = []
    for row in rows:
        body, body_en = row["body"] or "", row["body_en"] or ""
        current = paper_text_hash(row["title"], row["abstract"], [(body, body_en)])
        if current != row["content_hash"]:
            stale.append((int(row["id"]), current, row["title"], row["abstract"], body, body_en))
    return stale


async def store_vectors(db: Database, model: str, items: list[tuple[int, str, list[str], Vectors]]) -> None:
    """Replace the chunks of each (paper id, content hash, chunk texts, vectors) in one transaction."""
    async with db.transaction() as conn:
        for paper_id, content_hash, texts, vectors in items:
            await conn.execute("DELETE FROM chunks WHERE paper_id = ? AND model = ?", (paper_id, model))
            await conn.executemany(
                "INSERT INTO chunks (paper_id, model, ord, text, vector) VALUES (?,?,?,?,?)",
                [
                    (paper_id, model, n, text, vectors[n].astype(np.float32).tobytes())
                    for n, text in enumerate(texts)
                ],
            )
            await conn.execute(
                "INSERT INTO embedded (paper_id, model, content_hash) VALUES (?,?,?) "
                "ON CONFLICT(paper_id, model) DO UPDATE SET content_hash = excluded.content_hash",
                (paper_id, model, content_hash),
            )


async def other_models(db: Database, keep: str) -> dict[str, int]:
    """Chunk counts of embedding models other than ``keep`` (left behind when the backend changed)."""
    rows = await db.fetchall(
        "SELECT model, count(*) AS n FROM chunks WHERE model != ? GROUP BY model", (keep,)
    )
    return {str(r["model"]): int(r["n"]) for r in rows}


async def drop_models(db: Database, models: Sequence[str]) -> None:
    """Delete the chunks and embedding records of ``models``, in one transaction."""
    async with db.transaction() as conn:
        for model in models:
            await conn.execute("DELETE FROM chunks WHERE model = ?", (model,))
            await conn.execute("DELETE FROM embedded WHERE model = ?", (model,))
