"""`paperbot doctor`: check settings, the database, Discord, the LLM and embeddings, and the folders.

Each check returns a :class:`CheckResult` with a one-line detail and, when it failed, a one-line fix.
Secrets never reach a result: details are built from names and statuses, never from request headers,
and every result is scrubbed of the token and API key before it is returned.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from pydantic import SecretStr, ValidationError

from bot.services.answers.prompts import check_templates, template_names
from bot.services.ops.doctor_endpoints import (
    HTTP_TIMEOUT,
    CheckResult,
    check_embeddings,
    check_llm,
    failed,
    passed,
    public_url,
)
from bot.settings import Settings
from bot.store.db import Database
from bot.store.migrations import MIGRATIONS

DISCORD_API = "https://discord.com/api/v10"
REDACTED = "***"
# Shorter values are not real secrets (local servers accept any key) and would scrub ordinary words.
MIN_SECRET_LENGTH = 8
# Application flags for privileged intents (granted, or limited to fewer than 100 servers).
PRIVILEGED_INTENTS = {"presence": 3 << 12, "server members": 3 << 14, "message content": 3 << 18}
NETWORK_FIX = "check the network, DNS, firewall or proxy (outbound HTTPS to discord.com must be allowed)"
RESET_HINT = "reset the token in the Developer Portal (your app → Bot → Reset Token) and update DISCORD_TOKEN"


_passed, _failed, _public_url = passed, failed, public_url


def settings_error(exc: ValidationError) -> CheckResult:
    """A failed `settings` result for settings that do not load (for the CLI, before run_checks)."""
    problems = [
        f"{'.'.join(str(part) for part in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
    ]
    return _failed("settings", "; ".join(problems), "correct these values in .env or the environment")


def check_settings(settings: Settings) -> CheckResult:
    """The token is present and bare, the time zone is known, the test-server URLs are paired."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    try:
        ZoneInfo(settings.timezone)
        zone_known = True
    except (ZoneInfoNotFoundError, ValueError):
        zone_known = False
    problems = [
        (not token, "DISCORD_TOKEN is not set", f"add DISCORD_TOKEN to .env: {RESET_HINT}"),
        (
            token.lower().startswith(("bot ", "'", '"')) or any(ch.isspace() for ch in token),
            "DISCORD_TOKEN has a 'Bot ' prefix, quotes or spaces in it",
            "set DISCORD_TOKEN to the bare token from the Developer Portal",
        ),
        (
            not zone_known,
            f"unknown time zone {settings.timezone!r}",
            "set PAPERBOT_TIMEZONE to an IANA name such as Asia/Seoul",
        ),
        (
            bool(settings.discord_api_base) != bool(settings.discord_gateway_url),
            "only one of PAPERBOT_DISCORD_API_BASE and PAPERBOT_DISCORD_GATEWAY_URL is set",
            "set both (a Discord-compatible test server) or neither (real Discord)",
        ),
    ]
    for broken, detail, fix in problems:
        if broken:
            return _failed("settings", detail, fix)
    summary = f"token set; time zone {settings.timezone}; digest at {settings.digest_time:%H:%M}"
    return _passed("settings", f"{summary}; database {settings.db}")


RESTORE = (
    "stop the bot and restore the latest backup (`paperbot db backup` makes them), or move the file aside"
)


def _inspect_file(path: Path) -> CheckResult | int:
    """File-level checks, then ``PRAGMA user_version`` read with plain sqlite3 (opening would migrate)."""
    name = "database"
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), Path.cwd())
        if not os.access(folder, os.W_OK | os.X_OK):
            return _failed(
                name, f"{path} does not exist and {folder} is not writable", f"make {folder} writable"
            )
        return _passed(name, f"no database at {path} yet; the first `paperbot run` or `ingest` creates it")
    if not (os.access(path.parent, os.W_OK | os.X_OK) and os.access(path, os.R_OK | os.W_OK)):
        return _failed(
            name,
            f"{path} or its folder is not writable (SQLite writes -wal and -shm files beside it)",
            f"give the bot's user write access to {path.parent}",
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return _failed(name, f"{path} is not a readable SQLite database: {exc}", RESTORE)


async def check_database(path: Path) -> CheckResult:
    """The database opens, is (or is migrated to) the current schema, and passes its integrity check."""
    name, latest = "database", len(MIGRATIONS)
    if str(path) == ":memory:":
        return _passed(name, "in memory (nothing is kept after the process exits)")
    before = await asyncio.to_thread(_inspect_file, path)
    if isinstance(before, CheckResult):
        return before
    if before > latest:
        return _failed(
            name,
            f"{path} is at schema {before}, newer than this paperbot ({latest})",
            "upgrade paperbot, or restore a backup made by this version",
        )
    try:
        db = await Database.open(path)
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        return _failed(name, f"{path} cannot be opened or migrated: {exc}", RESTORE)
    try:
        integrity = await db.integrity_check()
        after = await db.schema_version()
        papers = int(await db.fetchval("SELECT count(*) FROM papers"))
    except sqlite3.DatabaseError as exc:
        return _failed(name, f"{path} is damaged: {exc}", RESTORE)
    finally:
        with suppress(sqlite3.Error):
            await db.close()
    if integrity != "ok":
        return _failed(name, f"{path} failed its integrity check: {integrity.splitlines()[0]}", RESTORE)
    schema = f"schema {before} → {after} (migrated now)" if after != before else f"schema {after} (current)"
    return _passed(name, f"{path}: {schema}, integrity ok, {papers} papers")


async def _get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        if response.status != 200:
            return response.status, None
        return response.status, await response.json(content_type=None)


async def check_discord(settings: Settings) -> CheckResult:
    """The token signs in (``GET /users/@me``); the application's public flag and intents are reported."""
    name = "discord"
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        return CheckResult(name, False, "no DISCORD_TOKEN to check", "set DISCORD_TOKEN", skipped=True)
    base = (settings.discord_api_base or DISCORD_API).rstrip("/")
    headers = {
        "Authorization": f"Bot {settings.discord_token.get_secret_value().strip()}",
        "User-Agent": "DiscordBot (https://github.com/paperbot, 0.1) paperbot-doctor",
    }
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
        ) as session:
            status, me = await _get_json(session, f"{base}/users/@me")
            if status == 401:
                return _failed(name, f"Discord refused the token (401) at {_public_url(base)}", RESET_HINT)
            if status != 200 or not isinstance(me, dict):
                return _failed(
                    name,
                    f"GET /users/@me answered HTTP {status}",
                    "retry in a minute; if it persists check https://discordstatus.com",
                )
            app_status, app = await _get_json(session, f"{base}/oauth2/applications/@me")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _failed(
            name, f"cannot reach {_public_url(base)}: {str(exc) or type(exc).__name__}", NETWORK_FIX
        )
    if me.get("bot") is False:
        return _failed(name, "the token belongs to a user account, not a bot", RESET_HINT)
    detail = f"signed in as {me.get('username', '?')} (id {me.get('id', '?')})"
    if app_status == 200 and isinstance(app, dict):
        public = "public" if app.get("bot_public") else "private"
        flags = int(app.get("flags") or 0)
        intents = ", ".join(k for k, bits in PRIVILEGED_INTENTS.items() if flags & bits) or "none"
        detail += (
            f"; application {app.get('name', '?')} is a {public} bot; "
            f"privileged intents enabled: {intents} (paperbot needs none)"
        )
    else:
        detail += f"; application details unavailable (HTTP {app_status})"
    return _passed(name, detail)


def check_prompts() -> CheckResult:
    """Every prompt template ships with this install and renders with its variables."""
    problems = check_templates()
    if problems:
        return _failed(
            "prompts", "; ".join(problems), "reinstall paperbot (pip install --force-reinstall paperbot)"
        )
    return _passed("prompts", f"{len(template_names())} templates load and render")


def check_folder(
    name: str,
    variable: str,
    path: Path | None,
    purpose: str,
    *,
    write: bool = False,
    data_dir: Path | None = None,
) -> CheckResult:
    """A configured folder exists (or, for one the bot writes, can be created) with the access it needs.

    A folder under ``data_dir`` (the database's folder) is the bot's own: it is created at start-up.
    """
    if path is None:
        return _passed(name, f"{variable} not set: {purpose} is off")
    access, needs = (os.R_OK | os.X_OK | os.W_OK, "writable") if write else (os.R_OK | os.X_OK, "readable")
    owned = data_dir is not None and path.resolve().is_relative_to(data_dir.resolve())
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path.cwd())
        creatable = os.access(parent, os.W_OK | os.X_OK)
        if owned and creatable:
            return _passed(name, f"{path} does not exist yet; the bot creates it when it starts")
        if write and creatable:
            return _passed(name, f"{path} does not exist yet; it is created when first needed")
        return _failed(
            name, f"{path} does not exist", f"mkdir -p {path} ({needs} by the bot), or unset {variable}"
        )
    if not path.is_dir():
        return _failed(name, f"{path} is not a folder", f"point {variable} at a folder")
    if not os.access(path, access):
        return _failed(name, f"{path} is not {needs} by this user", f"give the bot's user access to {path}")
    return _passed(name, f"{path} is {needs}" if write else f"{path} is readable")


def _scrub(result: CheckResult, secrets: list[str]) -> CheckResult:
    detail, fix = result.detail, result.fix
    for secret in secrets:
        detail = detail.replace(secret, REDACTED)
        fix = fix.replace(secret, REDACTED) if fix else fix
    return replace(result, detail=detail, fix=fix)


def _secrets(settings: Settings) -> list[str]:
    values: list[SecretStr | None] = [settings.discord_token, settings.openai_api_key]
    found = [v.get_secret_value() for v in values if v is not None]
    return [s for text in found for s in {text, text.strip()} if len(s) >= MIN_SECRET_LENGTH]


async def run_checks(
    settings: Settings, *, discord_http: bool = True, endpoints: bool = True
) -> list[CheckResult]:
    """Every check in order: settings, database, discord, llm, embeddings, inbox, vault, backups.

    ``discord_http=False`` skips the calls to Discord; ``endpoints=False`` skips the chat completion
    and embeddings calls (``--offline`` does both).
    """
    call = endpoints
    offline = CheckResult("discord", False, "not checked (offline)", None, skipped=True)
    results = [
        check_settings(settings),
        await check_database(settings.db),
        check_prompts(),
        await check_discord(settings) if discord_http else offline,
        await check_llm(settings, call=call),
        await check_embeddings(settings, call=call),
        check_folder(
            "inbox",
            "PAPERBOT_INBOX_DIR",
            settings.inbox_dir,
            "ingesting dropped notes",
            data_dir=settings.db.parent,
        ),
        check_folder("vault", "PAPERBOT_VAULT_DIR", settings.vault_dir, "posting dated vault notes"),
        check_folder("backups", "PAPERBOT_BACKUP_DIR", settings.backup_dir, "the daily backup", write=True),
    ]
    secrets = _secrets(settings)
    return [_scrub(result, secrets) for result in results]


def format_results(results: list[CheckResult]) -> str:
    """Lines for a terminal: ``ok``/``FAIL``/``skip``, the check, its detail, and the fix under it."""
    lines: list[str] = []
    for result in results:
        mark = "skip" if result.skipped else ("ok" if result.ok else "FAIL")
        lines.append(f"[{mark:>4}] {result.name}: {result.detail}")
        if result.fix and not result.ok:
            lines.append(f"       fix: {result.fix}")
    return "\n".join(lines)


def exit_status(results: list[CheckResult]) -> int:
    """0 when nothing failed (skipped checks do not count), else 1."""
    return 0 if all(r.ok or r.skipped for r in results) else 1
