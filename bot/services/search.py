"""Ranked full-text search over papers: BM25 with field weights, Hangul bigrams, safe user text."""

from __future__ import annotations

import datetime as dt
import re

from bot.domain.models import SearchHit
from bot.domain.tags import tag_key
from bot.domain.textfold import match_expression, query_terms
from bot.store.db import Database
from bot.store.papers import tags_for

# bm25() weights in column order: title, authors, abstract, commentary, tags.
FIELD_WEIGHTS = (6.0, 1.5, 1.0, 2.0, 3.0)
SNIPPET_CHARS = 180
_SENTENCE = re.compile(r"(?<=[.!?。])\s+|\n+")


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
    expression = match_expression(query)
    clauses: list[str] = []
    params: list[object] = []
    if tag and tag_key(tag):
        clauses.append(
            "EXISTS (SELECT 1 FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id"
            " WHERE pt.paper_id = p.id AND t.key = ?)"
        )
        params.append(tag_key(tag))
    if since or until:
        clauses.append(
            "EXISTS (SELECT 1 FROM entries e WHERE e.paper_id = p.id AND e.digest_date BETWEEN ? AND ?)"
        )
        params += [(since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()]
    where = "".join(f" AND {c}" for c in clauses)
    page = (max(1, min(limit, 100)), max(0, offset))
    if expression is not None:
        weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
        sql = (
            f"SELECT p.id, p.arxiv_id, p.title, p.first_seen, -bm25(paper_fts, {weights}) AS score "  # noqa: S608
            f"FROM paper_fts JOIN papers p ON p.id = paper_fts.rowid WHERE paper_fts MATCH ?{where} "
            "ORDER BY score DESC, p.id LIMIT ? OFFSET ?"
        )
        rows = await db.fetchall(sql, [expression, *params, *page])
    elif clauses:
        sql = (
            "SELECT p.id, p.arxiv_id, p.title, p.first_seen, 0.0 AS score FROM papers p "  # noqa: S608
            f"WHERE 1{where} ORDER BY p.first_seen DESC, p.id DESC LIMIT ? OFFSET ?"
        )
        rows = await db.fetchall(sql, [*params, *page])
    else:
        return []
    ids = [int(r["id"]) for r in rows]
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


def best_snippet(texts: list[str], terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """The sentence with most query terms (curator's words preferred on ties), matches in bold."""
    best, best_hits = "", -1
    for text in texts:
        for sentence in _SENTENCE.split(text):
            sentence = sentence.strip()
            if not sentence:
                continue
            folded = sentence.casefold()
            hits = sum(1 for t in terms if t in folded)
            if hits > best_hits:
                best, best_hits = sentence, hits
    return highlight(shorten(best, width, terms), terms)


def shorten(text: str, width: int, terms: list[str]) -> str:
    """Cut ``text`` to about ``width`` characters around the first matched term, on word boundaries."""
    if len(text) <= width:
        return text
    folded = text.casefold()
    first = min((folded.find(t) for t in terms if t in folded), default=0)
    start = max(0, first - width // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    cut = text[start : start + width]
    if start + width < len(text) and " " in cut:
        cut = cut[: cut.rfind(" ")]
    return ("…" if start else "") + cut.strip() + ("…" if start + len(cut) < len(text) else "")


def highlight(text: str, terms: list[str]) -> str:
    """Bold the query's words (longest first) without touching Markdown already in the text."""
    plain = text.replace("*", "\\*").replace("_", "\\_")
    words = sorted({t for t in terms if len(t) > 1}, key=len, reverse=True)
    if not words:
        return plain
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    # Adjacent Hangul bigrams produce "**데이****터**": merge the runs into one bold span.
    return pattern.sub(lambda m: f"**{m.group(0)}**", plain).replace("****", "")
