"""The `paperbot` command line: the same services the bot uses, for terminals and scripts.

The parser and ``main`` live here; the commands in ``commands`` (notes, search, answers, the bot) and
``ops`` (digest post, backup, export, doctor, health); what they share in ``common``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.common import Handler
from bot.cli.ops import add_ops_commands

log = logging.getLogger("bot.cli")


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

    p = sub.add_parser(
        "ingest",
        parents=[db_default],
        help="ingest digest .txt, note .md or folders",
        description="Store papers, commentary, tags and digest entries from notes. Each file is all or "
        "nothing; a broken one is reported as path:line: [field] and stores nothing. Unchanged files are skipped.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="digest .txt, note .md, or a folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-embed", action="store_true", help="skip computing embeddings for new papers")

    p = sub.add_parser("search", parents=[db_default], help="ranked search over papers and commentary")
    p.add_argument("query", metavar="QUERY", help="words to find (Korean or English); never search syntax")
    p.add_argument("--tag", help="only papers with this tag")
    p.add_argument("--since", type=_date, help="only papers noted on or after YYYY-MM-DD")
    p.add_argument("--until", type=_date, help="only papers noted on or before YYYY-MM-DD")
    p.add_argument("--limit", type=_positive, default=10, help="how many results (default 10)")
    p.add_argument("--json", action="store_true", help="print a JSON array, best first")

    p = sub.add_parser(
        "ask",
        parents=[db_default],
        help="answer from the notes (LLM when configured)",
        description="Answer a question from the stored commentary and abstracts, citing the papers used. "
        "With PAPERBOT_LLM_MODEL and an endpoint the model writes the answer; otherwise (or when the "
        "endpoint fails) it quotes the notes and says so.",
    )
    p.add_argument("question", metavar="QUESTION", help="the question, in Korean or English")
    p.add_argument("--tag", help="only papers with this tag")
    p.add_argument("--json", action="store_true", help="print {answer, mode, citations, covered, ...}")

    p = sub.add_parser("embed", parents=[db_default], help="compute missing embeddings (backfill)")
    p.add_argument("--prune", action="store_true", help="delete vectors of other (earlier) embedding models")

    p = sub.add_parser("show", parents=[db_default], help="one paper with its commentary")
    p.add_argument("paper", metavar="PAPER", help="arXiv id, URL or internal id")
    p.add_argument("--json", action="store_true", help="print the paper as JSON")

    p = sub.add_parser("stats", parents=[db_default], help="counts of papers, commentary, tags, ...")
    p.add_argument("--json", action="store_true", help="print one JSON object of integer counts")

    add_ops_commands(sub, db_default, _date)

    from bot.cli.discovery import add_discovery_commands

    add_discovery_commands(sub, db_default, _positive)

    p = sub.add_parser("run", help="start the bot (settings from the environment and .env)")
    p.add_argument("--sync", action="store_true", help="sync application commands globally first")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported once a command is chosen: `paperbot health` need not load the answering stack.
    from bot.cli.commands import HANDLERS
    from bot.cli.discovery import DISCOVERY_HANDLERS
    from bot.cli.ops import OPS_HANDLERS
    from bot.logs import setup_logging

    setup_logging(
        verbose=args.verbose, json_lines=os.environ.get("PAPERBOT_LOG_JSON", "").lower() in ("1", "true")
    )
    handler: Handler = {**HANDLERS, **OPS_HANDLERS, **DISCOVERY_HANDLERS}[args.command]
    try:
        status = asyncio.run(handler(args))
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return closed_pipe()
    except Exception as exc:
        from bot.failures import explain

        message = explain(exc)
        if message is None:
            raise
        log.debug("%s failed", args.command, exc_info=exc)
        for line in message.splitlines():
            print(f"paperbot: {line}", file=sys.stderr)
        return 1
    return status


def closed_pipe() -> int:
    """The reader went away (`paperbot doctor --json | head`): stop quietly, as `cat` would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader closed
