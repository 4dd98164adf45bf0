"""One aiosqlite connection per process: WAL, foreign keys, migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import logging
import os
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

# Seconds a statement waits for another process's lock. The bot's longest write (a full-vault ingest)
# takes about 3 s, so a CLI command next to a running bot waits that out and a few seconds more.
DEFAULT_BUSY_TIMEOUT = 8.0
# The bot retries a transaction that still found the database locked after its busy timeout.
LOCK_RETRIES = 3


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened or used: the message says why and what to do."""


class DatabaseBusy(DatabaseUnavailable):
    """Another process held the database longer than the busy timeout."""


def is_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _unavailable(path: str, error: sqlite3.OperationalError) -> DatabaseUnavailable:
    if is_locked(error):
        return DatabaseBusy(
            f"database is busy: another paperbot process holds it ({path}: {error}); "
            "try again when it is done, or stop the other process"
        )
    return DatabaseUnavailable(f"cannot open the database {path}: {error}")


def _prepare_folder(target: Path, *, create: bool) -> None:
    folder = target.parent
    if folder.is_dir():
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseUnavailable(
                f"the database folder {folder} is not writable by this user: "
                "give it write access (the database keeps -wal and -shm files beside it) or set PAPERBOT_DB"
            )
        return
    if folder.exists():
        raise DatabaseUnavailable(
            f"{folder} is not a folder: set PAPERBOT_DB (or --db) to a file in a folder"
        )
    if not create or not folder.parent.is_dir():
        raise DatabaseUnavailable(
            f"the database folder {folder} does not exist: create it (mkdir -p {folder}) "
            "or correct PAPERBOT_DB (or --db)"
        )
    try:
        folder.mkdir()
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the database folder {folder}: {exc.strerror}") from exc


class Database:
    """The store's connection. Reads go straight through; writes go through :meth:`transaction`."""

    def __init__(
        self, conn: aiosqlite.Connection, path: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.conn = conn
        self.path = path
        self.busy_timeout = busy_timeout
        self._write_lock = asyncio.Lock()
        self.fts_live = True

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrate: bool = True,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        create_folder: bool = True,
    ) -> Database:
        """Open, set pragmas, register functions and views, and migrate.

        The busy timeout is set before any other statement, so a database another process holds makes
        this wait up to ``busy_timeout`` seconds and then raise :class:`DatabaseBusy`; on any failure the
        connection (and its worker thread) is closed. ``create_folder`` creates a missing folder for the
        file when the folder's own parent exists (``data/`` beside the bot); a deeper missing path is a
        :class:`DatabaseUnavailable` error, since it is more likely a typo than a wish.
        """
        target = str(path)
        if target != ":memory:":
            _prepare_folder(Path(target), create=create_folder)
        try:
            conn = await aiosqlite.connect(target, isolation_level=None, timeout=busy_timeout)
        except sqlite3.OperationalError as exc:
            raise _unavailable(target, exc) from exc
        try:
            await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.create_function("pb_fold", 1, fold, deterministic=True)
            db = cls(conn, target, busy_timeout=busy_timeout)
            await conn.create_function("pb_fts_live", 0, lambda: int(db.fts_live))
            # Papers per search term, for search to tell rare terms from common ones (per connection).
            await conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.paper_fts_terms "
                "USING fts5vocab(main, 'paper_fts', 'row')"
            )
            if migrate:
                await db.migrate()
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                raise _unavailable(target, exc) from exc
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            try:
                await self.conn.execute("PRAGMA optimize")
            except sqlite3.Error as exc:  # a lock held elsewhere must not keep the connection open
                log.debug("skipped PRAGMA optimize on %s: %s", self.path, exc)
            finally:
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
            raise DatabaseUnavailable(
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
        """Serialise writers and run the block in one IMMEDIATE transaction (rolled back on error).

        When another process holds the write lock past the busy timeout, starting the transaction is
        retried (``LOCK_RETRIES`` times) before :class:`DatabaseBusy` is raised, so a moderator's command
        waits for a CLI ingest instead of failing.
        """
        async with self._write_lock:
            await self._begin_immediate()
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def _begin_immediate(self) -> None:
        for attempt in range(LOCK_RETRIES + 1):
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_locked(exc):
                    raise
                if attempt == LOCK_RETRIES:
                    raise _unavailable(self.path, exc) from exc
                log.warning("database %s is locked by another process; retrying (%d)", self.path, attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))

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
