"""Score fusion for hybrid retrieval: each ranked list min-max normalised over its own candidates, then summed.

Measured on bench/retrieval_questions.json (tuning split only; see bench/retrieval_eval.py): one dense
list per field beats one list of each paper's best chunk, because a paper with a long English abstract
otherwise gets more chances against an English question than a title-only note with Korean commentary.
Rank-based fusion (RRF) lost to score fusion in every measurement: it lets weak embedding matches push
out exact keyword hits. Query expansion (:mod:`bot.services.search.lexicon`) adds two BM25 lists, of the
expansion terms alone (0.9) and of the query with them (0.3): tune split 7 → 4 misses at recall@5,
held-out 6 → 3; nearby weights (0.8-1.0 / 0.2-0.4) gave 4-6 tune misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Ranked = list[tuple[int, float]]

BM25_WEIGHT = 1.0
# Weight of each dense list of the default embedder, against BM25 = 1 (tuned on the tuning split).
FIELD_WEIGHTS: Mapping[str, float] = {"title": 0.2, "commentary": 0.8, "abstract": 0.2}
# Query expansion from terms mined from the vault (bot/services/search/lexicon.py): a BM25 list of the
# expansion terms alone, and one of the query's terms with them (tuned on the tuning split).
EXPANSION_WEIGHT = 0.9
EXPANDED_WEIGHT = 0.3
# Weight of the second embedder's title list (multilingual-e5-small) when it is on.
E5_TITLE_WEIGHT = 0.4


def e5_weights(mode: str) -> dict[str, float]:
    """Field weights of the e5 lists for ``PAPERBOT_E5`` (``titles`` or ``all``; ``off`` has none)."""
    if mode == "off":
        return {}
    weights = {"title": E5_TITLE_WEIGHT}
    if mode == "all":
        weights |= {"abstract": E5_TITLE_WEIGHT / 2, "commentary": E5_TITLE_WEIGHT / 2}
    return weights


def minmax(ranked: Ranked) -> Ranked:
    """Scores rescaled to 0..1 over this list (all 1.0 when they are equal)."""
    if not ranked:
        return []
    values = [v for _, v in ranked]
    low, high = min(values), max(values)
    span = high - low
    return [(pid, (v - low) / span if span > 0 else 1.0) for pid, v in ranked]


def fuse(lists: Iterable[tuple[float, Ranked]], limit: int) -> Ranked:
    """Sum of ``weight * minmax(list)`` per paper, best first (ties by paper id)."""
    fused: dict[int, float] = {}
    for weight, ranked in lists:
        if weight <= 0:
            continue
        for paper_id, value in minmax(ranked):
            fused[paper_id] = fused.get(paper_id, 0.0) + weight * value
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
