"""How well each search hit matches, in terms a person can read, and whether anything matches well.

The ranking score (BM25, or fused with embeddings) only orders hits; its scale means nothing to a
member. What is shown instead is the share of the query's words a paper contains, each word weighted
by how rare it is among the stored papers (``match 80%``), and "no good match" when no hit passes the
same test that decides whether the notes cover a question.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.models import SearchHit
from bot.services.answers.extractive import Weights, passes, term_weights, text_keys
from bot.store.db import Database
from bot.store.papers import get_papers


@dataclass(frozen=True)
class Match:
    share: float  # 0..1 of the query's weight found in the paper
    good: bool  # passes the coverage test

    @property
    def percent(self) -> int:
        return round(100 * self.share)


async def match_hits(db: Database, query: str, hits: list[SearchHit]) -> dict[int, Match]:
    """Per hit id, how well it matches ``query``; empty for a query without words (a tag listing)."""
    weights = await term_weights(db, query)
    if not weights.terms or not hits:
        return {}
    papers = await get_papers(db, [h.id for h in hits])
    matches: dict[int, Match] = {}
    for hit in hits:
        paper = papers.get(hit.id)
        notes = " ".join(f"{c.body} {c.body_en}" for c in paper.commentary) if paper else ""
        text = " ".join([hit.title, *hit.tags, paper.abstract if paper else "", notes, hit.snippet])
        keys = text_keys(text)
        matches[hit.id] = Match(weights.share(keys), passes(weights, keys))
    return matches


def good_match(matches: dict[int, Match]) -> bool:
    """Some hit matches the query well (always True for a listing without query words)."""
    return not matches or any(m.good for m in matches.values())


def reference(hit: SearchHit) -> str:
    """``arXiv:ID`` or ``no arXiv id``: never the database's internal id."""
    return f"arXiv:{hit.arxiv_id}" if hit.arxiv_id else "no arXiv id"


__all__ = ["Match", "Weights", "good_match", "match_hits", "reference"]
