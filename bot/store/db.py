"""One aiosqlite connection per process: WAL, foreign keys, migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain.textfold import fold
from bot.store.migrations import MIGRATIONS, REBUILD_FTS

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]


class Database:
    """The store's connection. Reads go straight through; writes go through :meth:`transaction`."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self.fts_live = True

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating folders as needed), set pragmas, register functions and views, and migrate."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(target, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.create_function("pb_fold", 1, fold, deterministic=True)
        db = cls(conn, target)
        await conn.create_function("pb_fts_live", 0, lambda: int(db.fts_live))
        # Papers per search term, for search to tell rare terms from common ones (per connection).
        await conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.paper_fts_terms USING fts5vocab(main, 'paper_fts', 'row')"
        )
        if migrate:
            try:
                await db.migrate()
            except BaseException:
                await conn.close()
                raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            await self.conn.execute("PRAGMA optimize")
            await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; returns the new version."""
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"database {self.path} is at schema {version}, newer than this paperbot "
                f"({len(MIGRATIONS)}); upgrade paperbot"
            )
        async with self._write_lock:
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                log.info("applying migration %d to %s", number, self.path)
                try:
                    await self.conn.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
                    )
                except sqlite3.Error:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise
        return await self.schema_version()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialise writers and run the block in one IMMEDIATE transaction (rolled back on error)."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def bulk_transaction(self) -> AsyncIterator[tuple[aiosqlite.Connection, set[int]]]:
        """A transaction with FTS triggers paused; add touched paper ids to the yielded set.

        Their search rows are rebuilt once, inside the same transaction, before it commits.
        """
        touched: set[int] = set()
        async with self.transaction() as conn:
            self.fts_live = False
            try:
                yield conn, touched
                ids = sorted(touched)
                for chunk in in_chunks(ids):
                    marks = ",".join("?" * len(chunk))
                    await conn.execute(f"DELETE FROM paper_fts WHERE rowid IN ({marks})", chunk)  # noqa: S608
                    await conn.execute(REBUILD_FTS.format(ids=marks), chunk)
            finally:
                self.fts_live = True

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows = await self.conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> None:
        """Run one write statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def integrity_check(self) -> str:
        return str(await self.fetchval("PRAGMA integrity_check"))

    async def backup(self, target: str | Path) -> None:
        """Online backup to ``target`` while the bot keeps running."""
        dest = await aiosqlite.connect(str(target))
        try:
            await self.conn.backup(dest)
        finally:
            await dest.close()


def in_chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Slices of at most ``size`` items, to keep bound parameters under SQLite's limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
