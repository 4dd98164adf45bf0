"""The `paperbot` command line: the same services the bot uses, for terminals and scripts."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.settings import DEFAULT_DB

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from exc


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    db_default = argparse.ArgumentParser(add_help=False)
    db_default.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="SQLite database path")
    parser = argparse.ArgumentParser(
        prog="paperbot", description="Curated paper notes for research communities on Discord."
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="database (default: $PAPERBOT_DB, then ./data/paperbot.db)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[db_default], help="ingest digest .txt, note .md or folders")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-embed", action="store_true", help="skip computing embeddings for new papers")

    p = sub.add_parser("search", parents=[db_default], help="ranked search over papers and commentary")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--tag", help="only papers with this tag")
    p.add_argument("--since", type=_date, help="only papers noted on or after YYYY-MM-DD")
    p.add_argument("--until", type=_date, help="only papers noted on or before YYYY-MM-DD")
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", parents=[db_default], help="answer from the notes (LLM when configured)")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--tag", help="only papers with this tag")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("embed", parents=[db_default], help="compute missing embeddings (backfill)")
    p.add_argument("--prune", action="store_true", help="delete vectors of other (earlier) embedding models")

    p = sub.add_parser("show", parents=[db_default], help="one paper with its commentary")
    p.add_argument("paper", metavar="PAPER", help="arXiv id, URL or internal id")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stats", parents=[db_default], help="counts of papers, commentary, tags, ...")
    p.add_argument("--json", action="store_true")

    from bot.cli_ops import add_ops_commands

    add_ops_commands(sub, db_default, _date)

    from bot.cli_discovery import add_discovery_commands

    add_discovery_commands(sub, db_default, _positive)

    p = sub.add_parser("run", help="start the bot (settings from the environment and .env)")
    p.add_argument("--sync", action="store_true", help="sync application commands globally first")
    return parser


def resolve_db(args: argparse.Namespace) -> Path:
    if getattr(args, "db", None):
        return Path(args.db)
    env = os.environ.get("PAPERBOT_DB")
    return Path(env) if env else DEFAULT_DB


def fail(message: str) -> int:
    print(f"paperbot: {message}", file=sys.stderr)
    return 2


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.cli_commands import HANDLERS
    from bot.cli_discovery import DISCOVERY_HANDLERS
    from bot.cli_ops import OPS_HANDLERS
    from bot.logs import setup_logging

    setup_logging(
        verbose=args.verbose, json_lines=os.environ.get("PAPERBOT_LOG_JSON", "").lower() in ("1", "true")
    )
    handler: Handler = {**HANDLERS, **OPS_HANDLERS, **DISCOVERY_HANDLERS}[args.command]
    try:
        return asyncio.run(handler(args))
    except KeyboardInterrupt:
        return 130
