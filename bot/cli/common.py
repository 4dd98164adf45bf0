"""What every `paperbot` command shares: its settings and database, failing in a line, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.settings import Settings, load_settings
from bot.store.db import Database

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def cli_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and `.env`, with ``--db`` applied (loaded once per command)."""
    cached: Settings | None = getattr(args, "_settings", None)
    if cached is None:
        cached = load_settings()
        if getattr(args, "db", None):
            cached.db = Path(args.db)
        args._settings = cached
    return cached


def resolve_db(args: argparse.Namespace) -> Path:
    """``--db``, else PAPERBOT_DB (environment or `.env`), else ./data/paperbot.db."""
    return cli_settings(args).db


async def open_db(args: argparse.Namespace, *, migrate: bool = True) -> Database:
    """The command's database, waiting at most PAPERBOT_DB_BUSY_TIMEOUT for another process's lock."""
    settings = cli_settings(args)
    return await Database.open(settings.db, migrate=migrate, busy_timeout=settings.db_busy_timeout)


def fail(message: str) -> int:
    print(f"paperbot: {message}", file=sys.stderr)
    return 2


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
