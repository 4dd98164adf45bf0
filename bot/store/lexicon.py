"""Storage of the mined query-expansion tables (migration 8): rows of (kind, term, JSON expansions).

The tables are replaced as a whole in one transaction, with the fingerprint of the texts they were
mined from, so a reader sees either the old tables or the new ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.store.db import Database

Tables = Mapping[str, Mapping[str, list[str]]]  # kind -> term -> expansions


async def vault_fingerprint(db: Database) -> str:
    """Changes whenever commentary, titles or abstracts are added, edited or removed (cheap: two aggregates)."""
    row = await db.fetchone(
        "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), '') || ':' || coalesce(sum(length(body) + "
        "length(body_en)), 0) FROM commentary) || '|' || (SELECT count(*) || ':' || "
        "coalesce(sum(length(title) + length(abstract)), 0) FROM papers) AS f"
    )
    return str(row["f"]) if row else ""


async def stored_fingerprint(db: Database) -> str | None:
    value = await db.fetchval("SELECT fingerprint FROM lexicon_state WHERE id = 1")
    return None if value is None else str(value)


async def load_tables(db: Database) -> dict[str, dict[str, list[str]]]:
    tables: dict[str, dict[str, list[str]]] = {}
    for row in await db.fetchall("SELECT kind, term, expansions FROM lexicon"):
        tables.setdefault(str(row["kind"]), {})[str(row["term"])] = list(json.loads(row["expansions"]))
    return tables


async def replace_tables(db: Database, tables: Tables, fingerprint: str, mined_at: str) -> None:
    """Store ``tables`` instead of the current ones, with the fingerprint of what they were mined from."""
    rows = [
        (kind, term, json.dumps(expansions, ensure_ascii=False))
        for kind, by_term in tables.items()
        for term, expansions in by_term.items()
    ]
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM lexicon")
        await conn.executemany("INSERT INTO lexicon (kind, term, expansions) VALUES (?, ?, ?)", rows)
        await conn.execute(
            "INSERT INTO lexicon_state (id, fingerprint, mined_at) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET fingerprint = excluded.fingerprint, mined_at = excluded.mined_at",
            (fingerprint, mined_at),
        )
