"""Reading papers, tags and counts from the store."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence

from bot.domain.arxiv import parse_arxiv_id
from bot.domain.models import Commentary, Paper
from bot.store.db import Database, in_chunks


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _commentary(row: sqlite3.Row) -> Commentary:
    return Commentary(
        id=row["id"],
        paper_id=row["paper_id"],
        body=row["body"],
        body_en=row["body_en"],
        author=row["author"],
        created_at=dt.datetime.fromisoformat(row["created_at"]),
        updated_at=dt.datetime.fromisoformat(row["updated_at"]),
    )


async def tags_for(db: Database, paper_ids: Sequence[int]) -> dict[int, list[str]]:
    """Display tags per paper, in a stable order."""
    found: dict[int, list[str]] = {pid: [] for pid in paper_ids}
    for chunk in in_chunks(list(paper_ids)):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            "SELECT pt.paper_id, t.display FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "  # noqa: S608
            f"WHERE pt.paper_id IN ({marks}) ORDER BY t.key",
            chunk,
        )
        for row in rows:
            found[row["paper_id"]].append(row["display"])
    return found


async def get_papers(db: Database, paper_ids: Sequence[int]) -> dict[int, Paper]:
    """Full papers (tags and commentary included) by id."""
    papers: dict[int, Paper] = {}
    tags = await tags_for(db, paper_ids)
    for chunk in in_chunks(list(paper_ids)):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT * FROM papers WHERE id IN ({marks})", chunk)  # noqa: S608
        notes = await db.fetchall(
            f"SELECT * FROM commentary WHERE paper_id IN ({marks}) ORDER BY created_at, id",  # noqa: S608
            chunk,
        )
        for row in rows:
            papers[row["id"]] = Paper(
                id=row["id"],
                arxiv_id=row["arxiv_id"],
                title=row["title"],
                authors=json.loads(row["authors"]),
                url=row["url"],
                abstract=row["abstract"],
                links=json.loads(row["links"]),
                tags=tags.get(row["id"], []),
                first_seen=_date(row["first_seen"]),
            )
        for note in notes:
            papers[note["paper_id"]].commentary.append(_commentary(note))
    return papers


async def get_paper(db: Database, paper_id: int) -> Paper | None:
    return (await get_papers(db, [paper_id])).get(paper_id)


async def resolve_paper(db: Database, ref: str) -> Paper | None:
    """A paper by arXiv id or URL, internal id, or exact title (case-insensitive)."""
    ref = ref.strip()
    if not ref:
        return None
    arxiv_id = parse_arxiv_id(ref)
    if arxiv_id:
        pid = await db.fetchval("SELECT id FROM papers WHERE arxiv_id = ?", (arxiv_id,))
        if pid is not None:
            return await get_paper(db, int(pid))
    if ref.isdigit():
        paper = await get_paper(db, int(ref))
        if paper is not None:
            return paper
    pid = await db.fetchval(
        "SELECT id FROM papers WHERE title = ? COLLATE NOCASE ORDER BY id LIMIT 1", (ref,)
    )
    return await get_paper(db, int(pid)) if pid is not None else None


async def tag_counts(
    db: Database, *, prefix: str = "", limit: int | None = None
) -> list[tuple[str, str, int]]:
    """(key, display, papers) for every tag, most used first; ``prefix`` matches key or display."""
    like = prefix.strip().lstrip("#").casefold().replace("_", "-")
    escaped = like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.fetchall(
        "SELECT t.key, t.display, count(pt.paper_id) AS n FROM tags t "
        "LEFT JOIN paper_tags pt ON pt.tag_id = t.id "
        "WHERE t.key LIKE ? ESCAPE '\\' OR lower(t.display) LIKE ? ESCAPE '\\' "
        "GROUP BY t.id ORDER BY n DESC, t.key LIMIT ?",
        (f"%{escaped}%", f"%{escaped}%", -1 if limit is None else limit),
    )
    return [(r["key"], r["display"], int(r["n"])) for r in rows]


async def counts(db: Database) -> dict[str, int]:
    """Row counts for `paperbot stats`."""
    tables = {
        "papers": "papers",
        "commentary": "commentary",
        "tags": "tags",
        "entries": "entries",
        "sources": "sources",
        "posts": "posts",
        "subscriptions": "subscriptions",
        "reactions": "reactions",
        "embedded_papers": "embedded",
    }
    result: dict[str, int] = {}
    for name, table in tables.items():
        result[name] = int(await db.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
    result["digests"] = int(await db.fetchval("SELECT count(DISTINCT digest_date) FROM entries"))
    result["papers_without_arxiv_id"] = int(
        await db.fetchval("SELECT count(*) FROM papers WHERE arxiv_id IS NULL")
    )
    return result


async def suggest_papers(db: Database, text: str, *, limit: int = 25) -> list[tuple[int, str, str | None]]:
    """(id, title, arxiv id) for autocomplete: arXiv id prefix, else title substring, newest first."""
    text = text.strip()
    if not text:
        rows = await db.fetchall(
            "SELECT id, title, arxiv_id FROM papers ORDER BY first_seen DESC, id DESC LIMIT ?", (limit,)
        )
    else:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await db.fetchall(
            "SELECT id, title, arxiv_id FROM papers WHERE arxiv_id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' "
            "ORDER BY (arxiv_id LIKE ? ESCAPE '\\') DESC, (title LIKE ? ESCAPE '\\') DESC, first_seen DESC, id DESC "
            "LIMIT ?",
            (f"{escaped}%", f"%{escaped}%", f"{escaped}%", f"{escaped}%", limit),
        )
    return [(int(r["id"]), str(r["title"]), r["arxiv_id"]) for r in rows]
