"""Per-paper summary vectors for discovery, derived from the chunk index.

Search scores a query against a paper's best chunk; relating two papers needs one vector per paper.
A paper's vector here is the normalised mean of its chunk vectors (title, abstract, commentary
pieces). The matrix is rebuilt only when the chunk index changed (a new or re-embedded paper), so a
lookup is one matrix-vector product over the papers.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable

import numpy as np
import numpy.typing as npt

from bot.store.vectors import VectorIndex, Vectors

RECHECK_SECONDS = 5.0


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class PaperVectors:
    """One normalised centroid per embedded paper, kept in step with a :class:`VectorIndex`."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._source: dict[int, Vectors] = {}
        self._ids: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._matrix: Vectors = np.zeros((0, dim), np.float32)
        self._row: dict[int, int] = {}
        self._checked = 0.0
        self._index_len = -1

    def __len__(self) -> int:
        return len(self._ids)

    def refresh(self, index: VectorIndex) -> None:
        """Rebuild the centroids when papers were embedded or re-embedded since the last check.

        A paper count change is seen at once; a re-embedded paper (same count) within RECHECK_SECONDS.
        """
        now = time.monotonic()
        if len(index) == self._index_len and now - self._checked < RECHECK_SECONDS:
            return
        self._checked, self._index_len = now, len(index)
        ids = index.paper_ids()
        current = {p: index.vectors(p) for p in ids}
        if len(current) == len(self._source) and all(self._source.get(p) is v for p, v in current.items()):
            return
        rows = np.zeros((len(ids), self.dim), np.float32)
        for n, paper_id in enumerate(ids):
            rows[n] = _unit(current[paper_id].mean(axis=0))
        self._source = current
        self._ids = np.asarray(ids, dtype=np.int64)
        self._matrix = rows
        self._row = {p: n for n, p in enumerate(ids)}

    def vector(self, paper_id: int) -> Vectors | None:
        row = self._row.get(paper_id)
        return self._matrix[row] if row is not None else None

    def profile(self, weighted: Iterable[tuple[int, float]]) -> Vectors | None:
        """The normalised weighted mean of some papers' vectors (a member's taste); None if none is embedded."""
        total = np.zeros(self.dim, np.float32)
        found = False
        for paper_id, weight in weighted:
            row = self._row.get(paper_id)
            if row is not None:
                total += weight * self._matrix[row]
                found = True
        return _unit(total) if found else None

    def nearest(self, vector: Vectors, k: int, *, exclude: Collection[int] = ()) -> list[tuple[int, float]]:
        """(paper id, cosine) of the ``k`` papers closest to ``vector``, best first, ``exclude`` left out."""
        if not len(self._ids):
            return []
        # einsum's own loop, not BLAS: a multi-threaded sgemv this small loses badly on a busy 2-core box
        scores = np.einsum("ij,j->i", self._matrix, vector.astype(np.float32).reshape(-1))
        if exclude:
            mask = np.isin(self._ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
            scores = np.where(mask, -np.inf, scores)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
