"""`paperbot run`: build resources once, start the bot, shut down cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

import discord
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import PaperBot, Services
from bot.settings import Settings
from bot.store.db import Database

log = logging.getLogger(__name__)


def point_at_server(settings: Settings) -> None:
    """Talk only to a Discord-compatible server when both URLs are configured (tests use a loopback fake).

    discord.py has no constructor option for this; these two class attributes are its documented hooks.
    """
    if settings.discord_api_base and settings.discord_gateway_url:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
        log.info("using Discord-compatible server at %s", settings.discord_api_base)
    elif settings.discord_api_base or settings.discord_gateway_url:
        raise SystemExit("set both PAPERBOT_DISCORD_API_BASE and PAPERBOT_DISCORD_GATEWAY_URL, or neither")


async def build_services(settings: Settings, db: Database) -> Services:
    """Everything optional (answering, scheduler) is attached here by the features that provide it."""
    services = Services(settings=settings, db=db, scheduler=AsyncIOScheduler(timezone=settings.tz))
    from bot.features import attach_features

    await attach_features(services)
    return services


async def run_bot(settings: Settings, *, sync: bool = False) -> int:
    """Run until SIGTERM/SIGINT. Start-up failures (a rejected token, Discord unreachable, a database
    that cannot be opened) propagate after cleanup, for the CLI to explain in a line."""
    if settings.discord_token is None:
        raise SystemExit("paperbot: DISCORD_TOKEN is not set: add it to .env (see .env.example)")
    point_at_server(settings)
    async with await Database.open(settings.db, busy_timeout=settings.db_busy_timeout) as db:
        create_owned_folders(settings)
        services = await build_services(settings, db)
        try:
            await _run_until_stopped(PaperBot(services), settings.discord_token.get_secret_value(), sync)
        finally:
            await services_shutdown(services)
    return 0


async def _run_until_stopped(bot: PaperBot, token: str, sync: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        if sync:
            await bot.login(token)
            await bot.sync_global()
            runner = asyncio.create_task(bot.connect(reconnect=True), name="paperbot-gateway")
        else:
            runner = asyncio.create_task(bot.start(token), name="paperbot-gateway")
        stopper = asyncio.create_task(stop.wait(), name="paperbot-stop")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("shutting down: finishing in-flight work")
        else:
            stopper.cancel()
        await bot.close()
        with suppress(asyncio.CancelledError):
            await runner  # re-raises a start-up failure (LoginFailure, connection errors)


def create_owned_folders(settings: Settings) -> None:
    """Folders under the data directory are the bot's own: create them (a fresh bind mount has none).

    Folders elsewhere are the operator's: doctor reports them missing rather than guessing.
    """
    data_dir = settings.db.resolve().parent
    for folder in (settings.inbox_dir, settings.backup_dir):
        if folder is not None and folder.resolve().is_relative_to(data_dir) and not folder.exists():
            folder.mkdir(parents=True)
            log.info("created %s", folder)


async def services_shutdown(services: Services) -> None:
    for closer in services.closers:
        await closer()
