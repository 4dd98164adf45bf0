"""`paperbot digest post`, `db backup`, `export`, `doctor` and `health`: operating from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import Handler, fail, open_db, print_json, resolve_db
from bot.settings import load_settings
from bot.store.db import Database


def add_ops_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    db_default: argparse.ArgumentParser,
    date_type: object,
) -> None:
    p = sub.add_parser("digest", parents=[db_default], help="post a day's digest without the gateway")
    digest = p.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    post = digest.add_parser("post", parents=[db_default], help="post a day's digest now (default: today)")
    post.add_argument("--date", type=date_type, help="digest date YYYY-MM-DD")  # type: ignore[arg-type]
    post.add_argument("--guild", type=int, action="append", help="guild id (default: every guild of the bot)")

    p = sub.add_parser("db", parents=[db_default], help="database maintenance")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    backup = db.add_parser("backup", parents=[db_default], help="online backup, safe while the bot runs")
    backup.add_argument("target", type=Path, metavar="PATH", help="backup file, or a folder for a dated file")
    backup.add_argument("--force", action="store_true", help="replace PATH if it already exists")

    p = sub.add_parser("export", parents=[db_default], help="write every paper as a Markdown note")
    p.add_argument("target", type=Path, metavar="DIR", help="folder for the notes (created if missing)")

    p = sub.add_parser("doctor", parents=[db_default], help="check settings, database and endpoints")
    p.add_argument(
        "--offline",
        action="store_true",
        help="skip the checks that call Discord, the chat model and embeddings",
    )
    p.add_argument("--json", action="store_true", help="print the checks as a JSON array")

    p = sub.add_parser("health", parents=[db_default], help="exit 0 when a running bot is connected")
    p.add_argument("--max-age", type=float, default=120.0, help="seconds a heartbeat stays fresh")


async def cmd_digest(args: argparse.Namespace) -> int:
    from bot.app import PaperBot, Services
    from bot.features import attach_features
    from bot.runner import point_at_server
    from bot.ui.digest.runner import DigestRunner

    settings = load_settings()
    if settings.discord_token is None:
        return fail("DISCORD_TOKEN is not set: add it to .env (see .env.example)")
    point_at_server(settings)
    async with await open_db(args) as db:
        services = Services(settings, db)  # no scheduler: one run, then exit
        await attach_features(services)
        bot = PaperBot(services, rest_only=True)
        async with bot:
            await bot.login(settings.discord_token.get_secret_value())
            runner = DigestRunner(bot)
            day = args.date or runner.today_slot()
            guilds = args.guild or [guild.id async for guild in bot.fetch_guilds(limit=None)]
            failed = False
            for guild_id in guilds:
                report = await runner.run(guild_id, day)
                print(
                    f"guild {guild_id} {day}: {report.entries} papers, {report.posts_sent} posts sent, "
                    f"{report.posts_already} already posted, {report.posts_failed} failed, {report.dms_sent} DMs"
                )
                for problem in report.problems:
                    print(f"  {problem}", file=sys.stderr)
                failed = failed or not report.complete
    return 1 if failed else 0


async def cmd_db(args: argparse.Namespace) -> int:
    from bot.services.ops.health import BackupError, backup_to

    async with await open_db(args) as db:
        try:
            target = await backup_to(db, args.target, force=args.force, create_folders=False)
        except BackupError as exc:
            return fail(str(exc))
    print(f"backed up {resolve_db(args)} to {target}")
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    from bot.services.ops.export import ExportError, export_vault

    async with await open_db(args) as db:
        try:
            report = await export_vault(db, args.target)
        except ExportError as exc:
            print(f"paperbot export: {exc}", file=sys.stderr)
            return 2
    print(report.summary())
    return 0


async def cmd_doctor(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.services.ops.doctor import exit_status, format_results, run_checks, settings_error

    overrides = {"db": args.db} if getattr(args, "db", None) else {}
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        results = [settings_error(exc)]
    else:
        results = await run_checks(settings, discord_http=not args.offline, endpoints=not args.offline)
    if args.json:
        print_json([r.__dict__ for r in results])
    else:
        print(format_results(results))
    return exit_status(results)


async def cmd_health(args: argparse.Namespace) -> int:
    from bot.services.ops.health import heartbeat_path, read_heartbeat

    db_path = resolve_db(args)
    healthy, reason = read_heartbeat(heartbeat_path(db_path), max_age=args.max_age)
    if healthy:
        try:
            async with await Database.open(db_path, migrate=False) as db:
                await db.fetchval("SELECT count(*) FROM papers")
        except Exception as exc:
            healthy, reason = False, f"database {db_path} is not readable: {exc}"
    print(reason, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


OPS_HANDLERS: dict[str, Handler] = {
    "digest": cmd_digest,
    "db": cmd_db,
    "export": cmd_export,
    "doctor": cmd_doctor,
    "health": cmd_health,
}
