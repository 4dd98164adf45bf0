"""Ranked full-text search over papers: BM25 with field weights, Hangul bigrams, safe user text."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import weakref
from collections.abc import Sequence

from bot.domain.models import SearchHit
from bot.domain.tags import tag_key
from bot.domain.textfold import MAX_TERMS, any_of, fold, query_terms
from bot.services.search.snippets import SNIPPET_CHARS, best_snippet, highlight, shorten
from bot.store.db import Database
from bot.store.fts import stem
from bot.store.papers import tags_for

__all__ = [
    "FIELD_WEIGHTS",
    "SNIPPET_CHARS",
    "best_snippet",
    "highlight",
    "search",
    "search_ranked",
    "shorten",
]

# bm25() weights in column order: title, authors, abstract, commentary, tags.
FIELD_WEIGHTS = (6.0, 1.5, 1.0, 2.0, 3.0)
# Scoring every match is fine below this many papers, so term frequencies are not even looked up.
SMALL_INDEX = 20_000
# Above this many matching papers (summed over terms), only papers with the rarest terms are ranked.
POSTINGS_BUDGET = 10_000


async def search(
    db: Database,
    query: str,
    *,
    tag: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[SearchHit]:
    """Best matches first. Never raises on user text; an empty query with a tag lists that tag's papers."""
    terms = query_terms(query)[:MAX_TERMS]
    page = (max(1, min(limit, 100)), max(0, offset))
    if terms:
        rows = await _ranked_rows(db, terms, tag, since, until, page, texts=True)
    elif tag or since or until:
        where, params = _filters(tag, since, until, ranked=False)
        sql = (
            "SELECT p.id, p.arxiv_id, p.title, p.first_seen, 0.0 AS score FROM papers p "  # noqa: S608
            f"WHERE 1{where} ORDER BY p.first_seen DESC, p.id DESC LIMIT ? OFFSET ?"
        )
        rows = await db.fetchall(sql, [*params, *page])
    else:
        return []
    ids = [int(r["id"]) for r in rows]
    if terms:  # the ranked rows carry their tags and texts: one query in all
        tags = {int(r["id"]): r["tag_list"].split("\x1f") if r["tag_list"] else [] for r in rows}
        snippets = {int(r["id"]): best_snippet([r["notes"] or "", r["abstract"]], terms) for r in rows}
    else:
        tags = await tags_for(db, ids)
        snippets = await _snippets(db, ids, query)
    return [
        SearchHit(
            id=r["id"],
            arxiv_id=r["arxiv_id"],
            title=r["title"],
            tags=tags.get(r["id"], []),
            score=round(float(r["score"]), 4),
            snippet=snippets.get(r["id"], ""),
            first_seen=dt.date.fromisoformat(r["first_seen"]) if r["first_seen"] else None,
        )
        for r in rows
    ]


async def search_ranked(
    db: Database,
    query: str,
    *,
    tag: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 50,
    phrases: Sequence[str] | None = None,
) -> list[tuple[int, float]]:
    """(paper id, BM25 score) best first, without snippets or tags: the first stage of hybrid retrieval.

    With ``phrases`` (query expansion, :mod:`bot.services.search.lexicon`) those are matched instead of
    the query's words, each as one FTS5 phrase (Hangul folded to bigrams as the index has it).
    """
    if phrases is not None:
        terms = [" ".join(fold(p).split()) for p in phrases if fold(p).strip()][:MAX_TERMS]
    else:
        terms = query_terms(query)[:MAX_TERMS]
    if not terms:
        return []
    rows = await _ranked_rows(db, terms, tag, since, until, (max(1, min(limit, 100)), 0))
    return [(int(r["id"]), float(r["score"])) for r in rows]


async def _ranked_rows(
    db: Database,
    terms: list[str],
    tag: str | None,
    since: dt.date | None,
    until: dt.date | None,
    page: tuple[int, int],
    *,
    texts: bool = False,
) -> list[sqlite3.Row]:
    where, params = _filters(tag, since, until, ranked=True)
    expressions = await _expressions(db, terms)
    rows = await _ranked(db, expressions, where, params, page, texts=texts)
    if len(expressions) > 1 and len(rows) < page[0]:
        # The rare terms ran out of papers: let papers with only common terms fill the page.
        rows = await _ranked(db, [any_of(terms)], where, params, page, texts=texts)
    return rows


def _filters(
    tag: str | None, since: dt.date | None, until: dt.date | None, *, ranked: bool
) -> tuple[str, list[object]]:
    """SQL conditions (each starting with AND) on the paper, with their parameters.

    For ranked full-text matches each is an IN over a subquery run once (unary + keeps it out of FTS5,
    which would re-run the MATCH per listed id); for listing ``papers p`` newest first, a correlated
    EXISTS, so the scan can stop at the LIMIT.
    """
    wanted: list[tuple[str, str]] = []
    params: list[object] = []
    if tag and tag_key(tag):
        wanted.append(("pt.paper_id", "paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.key = ?"))
        params.append(tag_key(tag))
    if since or until:
        wanted.append(("e.paper_id", "entries e WHERE e.digest_date BETWEEN ? AND ?"))
        params += [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()]
    if ranked:
        clauses = [f"+paper_fts.rowid IN (SELECT {paper} FROM {source})" for paper, source in wanted]  # noqa: S608
    else:
        clauses = [f"EXISTS (SELECT 1 FROM {source} AND {paper} = p.id)" for paper, source in wanted]  # noqa: S608
    return "".join(f" AND {c}" for c in clauses), params


async def _expressions(db: Database, terms: list[str]) -> list[str]:
    """MATCH expressions whose matches together are the papers to rank.

    Normally one OR of all terms. When the terms occur in more than ``POSTINGS_BUDGET`` papers in all,
    scoring every match is too slow, so only papers with one of the rarest terms are ranked, in two
    queries (with and without the common terms). BM25 sums per term, so their scores equal the OR's.
    """
    everything = [any_of(terms)]
    if len(terms) < 2 or await _largest_id(db) < SMALL_INDEX:
        return everything
    # The vocabulary holds index terms (Porter stems), so each query term is looked up by its stem.
    stems = {t: stem(t) for t in terms}
    marks = ",".join("?" * len(set(stems.values())))
    rows = await db.fetchall(
        f"SELECT term, doc FROM temp.paper_fts_terms WHERE term IN ({marks})",  # noqa: S608
        sorted(set(stems.values())),
    )
    by_stem = {str(r["term"]): int(r["doc"]) for r in rows}
    papers_with = {t: by_stem.get(s, 0) for t, s in stems.items()}
    rare: list[str] = []
    total = 0
    for term in sorted(terms, key=lambda t: papers_with[t]):
        if rare and total + papers_with[term] > POSTINGS_BUDGET:
            break
        rare.append(term)
        total += papers_with[term]
    common = [t for t in terms if t not in rare]
    if not common:
        return everything
    return [f"({any_of(rare)}) AND ({any_of(common)})", f"({any_of(rare)}) NOT ({any_of(common)})"]


_LARGEST_ID: weakref.WeakKeyDictionary[Database, tuple[float, int]] = weakref.WeakKeyDictionary()
LARGEST_ID_TTL_S = 30.0


async def _largest_id(db: Database) -> int:
    """The largest paper id (a bound on the index size), re-read at most every 30 s: one query fewer per search."""
    now = time.monotonic()
    cached = _LARGEST_ID.get(db)
    if cached is None or now - cached[0] > LARGEST_ID_TTL_S:
        cached = (now, int(await db.fetchval("SELECT coalesce(max(id), 0) FROM papers")))
        _LARGEST_ID[db] = cached
    return cached[1]


# The texts snippets are cut from, for the rows of one page only (correlated, so run once per row).
_TEXTS = (
    ", p.abstract, (SELECT group_concat(c.body || char(10) || c.body_en, char(10)) FROM commentary c "
    "WHERE c.paper_id = p.id) AS notes, (SELECT group_concat(display, char(31)) FROM (SELECT t.display "
    "FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id = p.id ORDER BY t.key)) AS tag_list"
)


async def _ranked(
    db: Database,
    expressions: list[str],
    where: str,
    params: list[object],
    page: tuple[int, int],
    *,
    texts: bool = False,
) -> list[sqlite3.Row]:
    """One page of papers matching any of ``expressions``, best BM25 first; ranked before the join.

    With ``texts`` the rows also carry ``abstract`` and ``notes`` (the commentary) for snippets, and
    ``tag_list`` (display names in key order, joined by U+001F) as :func:`tags_for` gives them.
    """
    weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
    branch = (
        f"SELECT paper_fts.rowid AS id, -bm25(paper_fts, {weights}) AS score "  # noqa: S608
        f"FROM paper_fts WHERE paper_fts MATCH ?{where}"
    )
    sql = (
        f"SELECT p.id, p.arxiv_id, p.title, p.first_seen, r.score{_TEXTS if texts else ''} FROM ("  # noqa: S608
        f"{' UNION ALL '.join([branch] * len(expressions))} ORDER BY score DESC, id LIMIT ? OFFSET ?"
        ") r JOIN papers p ON p.id = r.id ORDER BY r.score DESC, p.id"
    )
    bound = [value for expression in expressions for value in (expression, *params)]
    return await db.fetchall(sql, [*bound, *page])


async def _snippets(db: Database, ids: list[int], query: str) -> dict[int, str]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        "SELECT p.id, p.abstract, group_concat(c.body || char(10) || c.body_en, char(10)) AS notes "  # noqa: S608
        f"FROM papers p LEFT JOIN commentary c ON c.paper_id = p.id WHERE p.id IN ({marks}) GROUP BY p.id",
        ids,
    )
    terms = query_terms(query)
    return {r["id"]: best_snippet([r["notes"] or "", r["abstract"]], terms) for r in rows}
