"""Running digests from Discord: locks per day, source refresh, run bookkeeping, recap, retries."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from typing import TYPE_CHECKING

import discord

from bot.services.digest import outbox
from bot.services.digest.recap import build_recap, render_activity_png
from bot.services.digest.run import DigestReport, post_digest
from bot.services.digest.schedule import last_slot, mark_run, missed_days
from bot.services.ingest.pipeline import IngestReport, forget_deleted, ingest_paths
from bot.ui.digest.posting import DiscordSender
from bot.ui.embeds import COLOUR, no_mentions
from bot.ui.i18n import t
from bot.ui.limits import MESSAGE, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)


def caught_up_line(reports: list[DigestReport], locale: discord.Locale | str | None) -> str:
    """The moderator log line after a catch-up: per day, what was posted and DMed (oldest first)."""
    days = [
        t(
            "digest.caught_up_day",
            locale,
            day=r.day.isoformat(),
            posts=r.posts_sent,
            dms=r.dms_sent + r.dms_already,
            failed=r.posts_failed + r.dms_failed,
            left=r.posts_retry + r.posts_in_flight + r.dms_retry + r.dms_in_flight,
        )
        for r in reports
    ]
    return truncate(t("digest.caught_up", locale, count=len(reports), days="; ".join(days)), MESSAGE)


class DigestRunner:
    """One per bot: serialises runs of the same guild and day in this process."""

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.sender = DiscordSender(bot)
        self._locks: dict[tuple[int, dt.date], asyncio.Lock] = {}
        self._reported: set[tuple[str, str]] = set()
        self.last_run: tuple[dt.date, DigestReport] | None = None
        self.finished: dict[tuple[int, dt.date], DigestReport] = {}
        self._changed = asyncio.Condition()

    def today_slot(self) -> dt.date:
        settings = self.bot.settings
        return last_slot(self.bot.services.clock(), settings.tz, settings.digest_time)

    async def refresh_sources(self) -> IngestReport | None:
        """Ingest new or changed files from the inbox and vault (retracting notes deleted from the vault);
        report failures once per file version."""
        folders = [p for p in (self.bot.settings.inbox_dir, self.bot.settings.vault_dir) if p is not None]
        if not folders:
            return None
        report = await ingest_paths(self.bot.db, folders)
        if self.bot.settings.vault_dir is not None:  # a note deleted from the vault is retracted
            await forget_deleted(self.bot.db, self.bot.settings.vault_dir)
        self.bot.embed_later(sorted(report.paper_ids))
        fresh = [e for e in report.errors if (e.path, e.message) not in self._reported]
        self._reported.update((e.path, e.message) for e in fresh)
        if fresh:
            text = "Could not ingest these files (nothing from them was stored or posted):\n" + "\n".join(
                f"- {issue}" for issue in fresh[:20]
            )
            for guild in self.bot.guilds:
                await self.sender.report(guild.id, truncate(text, MESSAGE))
        return report

    async def run(self, guild_id: int, day: dt.date) -> DigestReport:
        """Post a guild's digest for ``day``; concurrent calls for the same day wait and then find it done."""
        lock = self._locks.setdefault((guild_id, day), asyncio.Lock())
        async with lock:
            clock = self.bot.services.clock
            await mark_run(self.bot.db, guild_id, day, "posting", clock=clock)
            report = await post_digest(self.bot.db, self.sender, guild_id, day, clock=clock)
            if report.complete:
                await mark_run(self.bot.db, guild_id, day, "posted", clock=clock)
            elif (report.posts_in_flight or report.dms_in_flight) and self.bot.services.scheduler is not None:
                retry_at = clock() + outbox.LEASE + dt.timedelta(seconds=5)
                self.bot.services.scheduler.add_job(
                    self.run,
                    "date",
                    run_date=retry_at,
                    args=[guild_id, day],
                    id=f"digest-retry-{guild_id}-{day}",
                    replace_existing=True,
                )
            self.last_run = (day, report)
            self.finished[(guild_id, day)] = report
            async with self._changed:
                self._changed.notify_all()
            log.info(
                "digest %s guild %s: %d sent, %d already, %d failed, %d DMs (%d refused)",
                day,
                guild_id,
                report.posts_sent,
                report.posts_already,
                report.posts_failed,
                report.dms_sent,
                report.dms_refused,
            )
            return report

    async def wait_for_run(self, guild_id: int, day: dt.date, timeout: float = 10.0) -> DigestReport:  # noqa: ASYNC109
        """The report of the next (or last) finished run of a guild's day (for /status and tests)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: (guild_id, day) in self.finished)
            return self.finished[(guild_id, day)]

    async def scheduled(self) -> None:
        """The daily job: refresh sources, then every guild's digest for today's slot."""
        await self.refresh_sources()
        day = self.today_slot()
        for guild in list(self.bot.guilds):
            await self.run(guild.id, day)

    async def catch_up(self) -> None:
        """On start-up: refresh the sources, then deliver everything missed (see :meth:`drain`)."""
        await self.refresh_sources()
        await self.drain()

    async def drain(self) -> dict[int, list[DigestReport]]:
        """Deliver every unfinished post and DM and every missed digest day within the horizon,
        oldest first, per guild; tell the moderators what was caught up. Also runs periodically."""
        settings = self.bot.settings
        done: dict[int, list[DigestReport]] = {}
        for guild in list(self.bot.guilds):
            days = await missed_days(
                self.bot.db,
                guild.id,
                tz=settings.tz,
                at=settings.digest_time,
                horizon_days=settings.catch_up_days,
                clock=self.bot.services.clock,
            )
            reports = []
            for day in days:
                log.info("catching up the %s digest for guild %s", day, guild.id)
                try:
                    reports.append(await self.run(guild.id, day))
                except Exception:  # one day's failure must not keep the later days from going out
                    log.exception("catching up the %s digest for guild %s failed", day, guild.id)
            done[guild.id] = reports
            caught = [r for r in reports if r.delivered or r.posts_failed or r.dms_failed]
            if caught:
                await self.sender.report(guild.id, caught_up_line(caught, guild.preferred_locale))
        return done

    async def post_recap(self) -> int | None:
        """Send the weekly recap with its chart to the recap channel; returns the message id."""
        channel_id = self.bot.settings.recap_channel_id
        if channel_id is None:
            return None
        recap = await build_recap(self.bot.db, clock=self.bot.services.clock)
        lines = [
            f"{n}. [{truncate(p.title, 150)}](https://arxiv.org/abs/{p.arxiv_id}) · {p.reactions}"
            if p.arxiv_id
            else f"{n}. {truncate(p.title, 150)} · {p.reactions}"
            for n, p in enumerate(recap.top, start=1)
        ]
        embed = discord.Embed(
            title=f"Weekly recap · week of {recap.week_of.isoformat()}",
            colour=COLOUR,
            description="\n".join(lines) or "No reactions on paper posts this week.",
        )
        embed.set_image(url="attachment://tag-activity.png")
        png = await asyncio.to_thread(render_activity_png, recap.activity)
        message = await self.bot.get_partial_messageable(channel_id).send(
            embed=embed,
            file=discord.File(fp=io.BytesIO(png), filename="tag-activity.png"),
            allowed_mentions=no_mentions(),
        )
        return message.id
