from __future__ import annotations

from pathlib import Path

import pytest

from bot.store.db import Database
from bot.store.migrations import MIGRATIONS


async def test_empty_database_migrates_to_current_schema(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new.db")
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type IN ('table')")}
        assert {
            "papers",
            "commentary",
            "commentary_revisions",
            "tags",
            "paper_tags",
            "entries",
            "sources",
        } <= tables
        assert "paper_fts" in tables
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


async def test_reopening_does_not_reapply(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    first = await Database.open(path)
    await first.execute(
        "INSERT INTO papers (title, title_key, created_at, updated_at) VALUES ('T', 't', 'now', 'now')"
    )
    await first.close()
    second = await Database.open(path)
    try:
        assert await second.schema_version() == len(MIGRATIONS)
        assert await second.fetchval("SELECT count(*) FROM papers") == 1
    finally:
        await second.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = await Database.open(path)
    await db.conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 5}")
    await db.close()
    with pytest.raises(RuntimeError, match="upgrade paperbot"):
        await Database.open(path)


async def test_failed_write_rolls_back_whole_transaction(db: Database) -> None:
    async def insert_then_fail() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO papers (title, title_key, created_at, updated_at) VALUES ('A', 'a', 'x', 'x')"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await insert_then_fail()
    assert await db.fetchval("SELECT count(*) FROM papers") == 0
    assert await db.fetchval("SELECT count(*) FROM paper_fts") == 0


async def test_fts_follows_papers_commentary_and_tags(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO papers (id, title, title_key, created_at, updated_at) VALUES (1, 'Gemma', 'gemma', 'x', 'x')"
        )
        await conn.execute(
            "INSERT INTO commentary (paper_id, body, author, created_at, updated_at)"
            " VALUES (1, '데이터로 학습', 'c', 'x', 'x')"
        )
        await conn.execute(
            "INSERT INTO tags (id, key, display) VALUES (1, 'vision-language', 'vision-language')"
        )
        await conn.execute("INSERT INTO paper_tags VALUES (1, 1)")
    row = await db.fetchone("SELECT commentary, tags FROM paper_fts WHERE rowid = 1")
    assert row is not None
    assert "데이 이터" in row["commentary"]
    assert "vision language" in row["tags"]
    await db.execute("DELETE FROM commentary WHERE paper_id = 1")
    assert await db.fetchval("SELECT commentary FROM paper_fts WHERE rowid = 1") == ""
    await db.execute("DELETE FROM papers WHERE id = 1")
    assert await db.fetchval("SELECT count(*) FROM paper_fts") == 0
    assert await db.fetchval("SELECT count(*) FROM paper_tags") == 0
