"""The CLI under the conditions users hit: a database another process holds, a closed pipe, mistyped
backup paths, and `--help` on every command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.store.db import Database

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
else:
    conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


def paperbot(*args: str, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


@asynccontextmanager
async def lock_held(path: Path, mode: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """Another process holding ``path``'s lock until the block ends (it says when it has it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCKER,
        str(path),
        mode,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert await asyncio.wait_for(proc.stdout.readline(), timeout=30) == b"locked\n"
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.stdin.write(b"release\n")
            await proc.stdin.drain()
            await asyncio.wait_for(proc.wait(), timeout=30)


@pytest.fixture
async def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "paperbot.db"
    await (await Database.open(path)).close()
    return path


async def test_cli_exits_within_its_busy_timeout_when_another_process_holds_the_database(
    db_file: Path,
) -> None:
    async with lock_held(db_file, "exclusive"):
        started = time.monotonic()
        result = await asyncio.to_thread(
            paperbot,
            "--db",
            str(db_file),
            "stats",
            env={**os.environ, "PAPERBOT_DB_BUSY_TIMEOUT": "1"},
            timeout=30,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "database is busy: another paperbot process holds it" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s with a 1 s busy timeout"


def sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def test_open_failure_closes_the_connection_thread(db_file: Path) -> None:
    from bot.store.db import DatabaseBusy

    before = sqlite_threads()
    async with lock_held(db_file, "exclusive"):
        with pytest.raises(DatabaseBusy):
            await Database.open(db_file, busy_timeout=0.2)
    # aiosqlite runs each connection in a non-daemon thread; one left behind keeps a CLI process alive.
    for thread in sqlite_threads() - before:
        thread.join(timeout=10)
        assert not thread.is_alive(), "the failed open left its connection thread running"


class RetryWatch(logging.Handler):
    """Sets an event when the database logs that it is retrying a locked write."""

    def __init__(self) -> None:
        super().__init__()
        self.retrying = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "locked by another process; retrying" in record.getMessage():
            self.retrying.set()


async def test_bot_write_waits_for_another_process_instead_of_failing(db_file: Path) -> None:
    db = await Database.open(db_file, busy_timeout=0.2)
    watch = RetryWatch()
    logging.getLogger("bot.store.db").addHandler(watch)
    try:
        async with lock_held(db_file, "immediate") as locker:
            write = asyncio.create_task(
                db.execute("INSERT INTO tags (key, display) VALUES (?, ?)", ("locktest", "locktest"))
            )
            await asyncio.wait_for(watch.retrying.wait(), timeout=30)
            assert not write.done(), "the write waits; it has not failed"
            assert locker.stdin is not None
            locker.stdin.write(b"release\n")
            await locker.stdin.drain()
            await asyncio.wait_for(write, timeout=30)
        assert await db.fetchval("SELECT count(*) FROM tags WHERE key = 'locktest'") == 1
    finally:
        logging.getLogger("bot.store.db").removeHandler(watch)
        await db.close()


def test_doctor_json_survives_a_closed_pipe(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`head -3`) is already gone
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--db", str(tmp_path / "d.db"), "doctor", "--offline", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 141


async def test_backup_refuses_a_missing_folder_and_an_existing_file(db_file: Path, tmp_path: Path) -> None:
    missing = tmp_path / "mistyped" / "dir" / "b.db"
    result = await asyncio.to_thread(paperbot, "--db", str(db_file), "db", "backup", str(missing))
    assert result.returncode != 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "mistyped").exists()

    target = tmp_path / "b.db"
    target.write_bytes(b"keep me")
    result = await asyncio.to_thread(paperbot, "--db", str(db_file), "db", "backup", str(target))
    assert result.returncode != 0 and "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_bytes() == b"keep me"

    result = await asyncio.to_thread(paperbot, "--db", str(db_file), "db", "backup", str(target), "--force")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_health_says_in_words_what_is_wrong(tmp_path: Path) -> None:
    result = paperbot("--db", str(tmp_path / "data" / "paperbot.db"), "health")
    assert result.returncode == 1
    assert "the bot is not running with this database" in result.stderr
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr


def _actions(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str | None]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield " ".join((*path, choice.dest)), choice.help
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        else:
            yield " ".join((*path, action.dest)), action.help


def test_every_subcommand_and_option_has_a_help_line() -> None:
    missing = [name for name, text in _actions(build_parser()) if not text]
    assert missing == []
    for command in ("ask", "ingest"):
        help_text = build_parser()._subparsers._group_actions[0].choices[command].format_help()  # type: ignore[union-attr]
        assert len(help_text.splitlines()) > 8, help_text


def test_a_busy_database_is_explained_to_members_not_logged_as_a_bug() -> None:
    import discord
    from discord import app_commands

    from bot.store.db import DatabaseBusy
    from bot.ui.errors import is_expected, message_for

    wrapped = app_commands.AppCommandError("command failed")
    wrapped.__cause__ = DatabaseBusy("database is busy: another paperbot process holds it")
    assert is_expected(wrapped)
    assert "try again in a minute" in message_for(wrapped, discord.Locale.american_english)
    assert "1분 후" in message_for(wrapped, discord.Locale.korean)
