"""/digest import, preview, post and settings; the daily schedule, catch-up, inbox polling and recap."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, parse_day
from bot.services.digest import routes
from bot.services.digest.plan import plan_digest
from bot.services.ingest.pipeline import ingest_upload
from bot.ui.checks import moderator_only
from bot.ui.digest.runner import DigestRunner
from bot.ui.embeds import COLOUR, no_mentions
from bot.ui.errors import UserFacingError
from bot.ui.i18n import t
from bot.ui.import_views import ConfirmRemoval, send_import_reply, upload_lines
from bot.ui.limits import EMBED_DESCRIPTION, truncate

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)
MODERATOR = discord.Permissions(manage_guild=True)
MAX_UPLOAD = 2 * 1024 * 1024
JOB_IDS = ("daily-digest", "inbox-poll", "weekly-recap", "outbox-drain")


class Digest(commands.Cog):
    digest = app_commands.Group(
        name=_("digest"),
        description=_("Import, preview and post digests"),
        default_permissions=MODERATOR,
        guild_only=True,
    )

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.runner = DigestRunner(bot)
        self._caught_up = False
        bot.services.digest_runner = self.runner

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ConfirmRemoval)
        scheduler = self.bot.services.scheduler
        if scheduler is None:
            return
        settings = self.bot.settings
        scheduler.add_job(
            self.runner.scheduled,
            CronTrigger(
                hour=settings.digest_time.hour, minute=settings.digest_time.minute, timezone=settings.tz
            ),
            id="daily-digest",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        scheduler.add_job(
            self.runner.drain,
            IntervalTrigger(seconds=settings.drain_seconds),
            id="outbox-drain",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        if settings.inbox_dir or settings.vault_dir:
            scheduler.add_job(
                self.runner.refresh_sources,
                IntervalTrigger(seconds=settings.inbox_poll_seconds),
                id="inbox-poll",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        if settings.recap_channel_id:
            scheduler.add_job(
                self.runner.post_recap,
                CronTrigger(
                    day_of_week=settings.recap_day,
                    hour=settings.recap_time.hour,
                    minute=settings.recap_time.minute,
                    timezone=settings.tz,
                ),
                id="weekly-recap",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ConfirmRemoval)
        scheduler = self.bot.services.scheduler
        if scheduler is not None:
            for job_id in JOB_IDS:
                if scheduler.get_job(job_id) is not None:
                    scheduler.remove_job(job_id)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            self.runner.sender.message_seen(message)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if not self._caught_up:
            self._caught_up = True
            self.bot.spawn(self.runner.catch_up(), name="digest-catch-up")

    @digest.command(name=_("import"), description=_("Import a digest .txt or note .md"))
    @app_commands.describe(file=_("The .txt or .md file"))
    @app_commands.rename(file=_("file"))
    @moderator_only()
    async def digest_import(self, interaction: Interaction, file: discord.Attachment) -> None:
        if not file.filename.lower().endswith((".txt", ".md")):
            raise UserFacingError(t("import.bad_type", interaction.locale, name=file.filename))
        if file.size > MAX_UPLOAD:
            raise UserFacingError(t("import.too_big", interaction.locale, limit=MAX_UPLOAD // 1024))
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await ingest_upload(self.bot.db, await file.read(), file.filename)
        self.bot.embed_later(sorted(report.paper_ids))
        if not report.ok:
            lines = [t("import.rejected", interaction.locale, name=file.filename)]
            lines += [f"- {issue}" for issue in report.errors[:15]]
        else:
            lines = [t("import.done", interaction.locale, name=file.filename, summary=report.summary())]
            if report.upload is not None:
                lines += upload_lines(report.upload, interaction.locale)
            lines += [f"- {issue}" for issue in report.warnings[:10]]
        await send_import_reply(interaction, "\n".join(lines), report.upload if report.ok else None)

    @digest.command(name=_("preview"), description=_("Show what a day's digest would post where"))
    @app_commands.describe(date=_("Digest date (YYYY-MM-DD, default today)"))
    @app_commands.rename(date=_("date"))
    @moderator_only()
    async def digest_preview(self, interaction: Interaction, date: str | None = None) -> None:
        assert interaction.guild_id is not None
        day = parse_day(date, interaction.locale) or self.runner.today_slot()
        plan = await plan_digest(self.bot.db, interaction.guild_id, day)
        lines = []
        for channel_id, entries in plan.by_channel().items():
            lines.append(f"<#{channel_id}>")
            lines += [f"- {e.title}" for e in entries]
        if plan.unrouted:
            lines.append(t("route.no_fallback", interaction.locale))
            lines += [f"- {e.title}" for e in plan.unrouted]
        embed = discord.Embed(
            title=f"{day.isoformat()} · {len(plan.entries)} papers · {plan.post_count} posts",
            colour=COLOUR,
            description=truncate(
                "\n".join(lines) or t("digest.empty", interaction.locale), EMBED_DESCRIPTION
            ),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())

    @digest.command(name=_("post"), description=_("Post a day's digest now"))
    @app_commands.describe(date=_("Digest date (YYYY-MM-DD, default today)"))
    @app_commands.rename(date=_("date"))
    @moderator_only()
    async def digest_post(self, interaction: Interaction, date: str | None = None) -> None:
        assert interaction.guild_id is not None
        day = parse_day(date, interaction.locale) or self.runner.today_slot()
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.runner.run(interaction.guild_id, day)
        text = t(
            "digest.posted",
            interaction.locale,
            day=day.isoformat(),
            entries=report.entries,
            sent=report.posts_sent,
            already=report.posts_already,
            failed=report.posts_failed,
            dms=report.dms_sent,
        )
        if report.problems:
            text += "\n" + "\n".join(f"- {p}" for p in report.problems[:8])
        await interaction.followup.send(truncate(text, 1900), ephemeral=True, allowed_mentions=no_mentions())

    @digest.command(name=_("settings"), description=_("How digest posts look on this server"))
    @app_commands.describe(
        language=_("Which commentary posts show: original, English, or both"),
        threads=_("Open a discussion thread under each post"),
    )
    @app_commands.rename(language=_("language"), threads=_("threads"))
    @app_commands.choices(
        language=[app_commands.Choice(name=_(lang), value=lang) for lang in routes.LANGUAGES]
    )
    @moderator_only()
    async def digest_settings(
        self, interaction: Interaction, language: str | None = None, threads: bool | None = None
    ) -> None:
        assert interaction.guild_id is not None
        config = await routes.update_guild_config(
            self.bot.db, interaction.guild_id, language=language, threads=threads
        )
        await interaction.response.send_message(
            t("digest.settings", interaction.locale, language=config.language, threads=config.threads),
            ephemeral=True,
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Digest(bot))
