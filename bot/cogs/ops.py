"""Operations: /status for moderators, the heartbeat file, optional metrics endpoint, scheduled backups."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from typing import TYPE_CHECKING

import discord
from aiohttp import web
from apscheduler.triggers.cron import CronTrigger
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction
from bot.services.ops.health import (
    backup_to,
    heartbeat_path,
    metrics_text,
    prune_backups,
    store_figures,
    write_heartbeat,
)
from bot.ui.checks import moderator_only
from bot.ui.embeds import COLOUR

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30


def _latency(bot: PaperBot) -> float | None:
    value = bot.latency
    return None if value is None or math.isnan(value) or math.isinf(value) else value


class Ops(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self._metrics: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._heartbeat_lock = asyncio.Lock()

    async def cog_load(self) -> None:
        settings = self.bot.settings
        scheduler = self.bot.services.scheduler
        if scheduler is not None and settings.backup_dir is not None:
            scheduler.add_job(
                self.backup,
                CronTrigger(hour=3, minute=17, timezone=settings.tz),
                id="daily-backup",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=6 * 3600,
            )
        if settings.metrics_port is not None:
            await self._start_metrics(settings.metrics_port)

    async def cog_unload(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await self._write_heartbeat(connected=False, stopped=True)  # closing: health must say so
        if self._metrics is not None:
            await self._metrics.cleanup()
        scheduler = self.bot.services.scheduler
        if scheduler is not None and scheduler.get_job("daily-backup") is not None:
            scheduler.remove_job("daily-backup")

    async def _write_heartbeat(self, *, connected: bool | None = None, stopped: bool = False) -> None:
        if str(self.bot.settings.db) == ":memory:":
            return
        path = heartbeat_path(self.bot.settings.db)
        async with self._heartbeat_lock:  # writes land in the order they were made
            if connected is None:
                connected = self.bot.is_ready() and not self.bot.is_closed()
            try:
                await asyncio.to_thread(
                    write_heartbeat, path, connected=connected, latency=_latency(self.bot), stopped=stopped
                )
            except OSError as exc:
                log.warning("could not write the heartbeat %s: %s", path, exc)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._write_heartbeat()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self._write_heartbeat(connected=True)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="paperbot-heartbeat")

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        await self._write_heartbeat(connected=True)

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        await self._write_heartbeat(connected=False)

    async def backup(self) -> None:
        folder = self.bot.settings.backup_dir
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        target = await backup_to(self.bot.db, folder)
        removed = prune_backups(folder, self.bot.settings.backup_keep)
        log.info("backed up to %s; pruned %d old backups", target, len(removed))

    async def _start_metrics(self, port: int) -> None:
        async def metrics(request: web.Request) -> web.Response:
            figures = await store_figures(self.bot.db, clock=self.bot.services.clock)
            body = metrics_text(
                figures,
                uptime=time.monotonic() - self.bot.started_at,
                latency=_latency(self.bot),
                connected=self.bot.is_ready() and not self.bot.is_closed(),
            )
            return web.Response(text=body, content_type="text/plain", charset="utf-8")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._metrics = web.AppRunner(app)
        await self._metrics.setup()
        await web.TCPSite(self._metrics, self.bot.settings.metrics_host, port).start()
        log.info("metrics on http://%s:%d/metrics", self.bot.settings.metrics_host, port)

    @app_commands.command(name=_("status"), description=_("How paperbot is doing (moderators)"))
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def status(self, interaction: Interaction) -> None:
        figures = await store_figures(self.bot.db, clock=self.bot.services.clock)
        services = self.bot.services
        uptime = dt.timedelta(seconds=int(time.monotonic() - self.bot.started_at))
        latency = _latency(self.bot)
        runner = services.digest_runner
        last = "—"
        if runner is not None and runner.last_run is not None:
            day, report = runner.last_run
            last = f"{day.isoformat()}: {report.posts_sent} sent, {report.posts_failed} failed, {report.dms_sent} DMs"
        answerer, retriever = services.answerer, services.retriever
        embed = discord.Embed(title="paperbot status", colour=COLOUR)
        embed.add_field(name="Uptime", value=str(uptime))
        embed.add_field(
            name="Gateway latency", value=f"{latency * 1000:.0f} ms" if latency is not None else "—"
        )
        embed.add_field(name="Last digest", value=last, inline=False)
        embed.add_field(name="Outbox", value=f"{figures.posts_queued} queued · {figures.posts_failed} failed")
        embed.add_field(name="Answers", value=answerer.mode if answerer else "off")
        embed.add_field(name="Retrieval", value=retriever.mode if retriever else "bm25")
        embed.add_field(name="Store", value=f"{figures.papers} papers · {figures.db_bytes / 1e6:.1f} MB")
        embed.add_field(name="LLM answers today", value=str(figures.llm_calls_today))
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Ops(bot))
