"""Discovery: /related, /foryou papers|settings|forget, and the weekly recommendations DM job.

Recommendations are private: every /foryou reply is ephemeral and the weekly DM goes to the member only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.cron import CronTrigger
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.cogs._common import Interaction, find_paper, paper_autocomplete
from bot.services.community.members import subscriptions
from bot.services.discovery import foryou
from bot.services.discovery.foryou_dm import WeeklyReport, deliver_weekly
from bot.ui.discovery.foryou_dm import DiscordForYouSender
from bot.ui.discovery.related_button import related_finder, send_related
from bot.ui.discovery.render import render_foryou_embed
from bot.ui.embeds import no_mentions
from bot.ui.i18n import t

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)
JOB_ID = "foryou-weekly"
FORYOU_LIMIT = 6
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeeklyForYou:
    """Runs the weekly DM (scheduled, and once at start-up when this week's slot has passed)."""

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.sender = DiscordForYouSender(bot)
        self._lock = asyncio.Lock()
        self.last: WeeklyReport | None = None

    def slot_passed(self) -> bool:
        settings = self.bot.settings
        now = self.bot.services.clock().astimezone(settings.tz)
        monday = foryou.week_start(now.date())
        day = monday + dt.timedelta(days=WEEKDAYS.index(settings.foryou_day))
        return now >= dt.datetime.combine(day, settings.foryou_time, tzinfo=settings.tz)

    async def run(self) -> WeeklyReport:
        async with self._lock:
            report = await deliver_weekly(
                self.bot.db, related_finder(self.bot), self.sender, clock=self.bot.services.clock
            )
            self.last = report
            log.info(
                "weekly recommendations %s: %d sent, %d already, %d empty, %d refused, %d failed",
                report.week,
                report.sent,
                report.already,
                report.empty,
                report.refused,
                report.failed,
            )
            return report

    async def catch_up(self) -> None:
        if self.slot_passed():
            await self.run()


class ConfirmForget(discord.ui.View):
    """Asks before deleting saves and reactions too; only the member who asked can press it."""

    def __init__(self, owner_id: int, locale: discord.Locale) -> None:
        super().__init__(timeout=120)
        self.owner_id = owner_id
        self.locale = locale
        self.confirm.label = t("foryou.confirm_button", locale)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(t("error.not_yours", interaction.locale), ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[ConfirmForget]) -> None:
        done = await foryou.forget(interaction.client.db, interaction.user.id, activity=True)
        self.stop()
        text = t(
            "foryou.forgotten_all", self.locale, shown=done.shown, saved=done.saved, reactions=done.reactions
        )
        await interaction.response.edit_message(content=text, view=None)


class Discovery(commands.Cog):
    foryou_group = app_commands.Group(
        name=_("foryou"),
        description=_("Recommendations from what you read (only you see them)"),
        guild_only=True,
    )

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.weekly = WeeklyForYou(bot)
        bot.services.foryou_weekly = self.weekly
        self._caught_up = False

    async def cog_load(self) -> None:
        scheduler = self.bot.services.scheduler
        if scheduler is None:
            return
        settings = self.bot.settings
        scheduler.add_job(
            self.weekly.run,
            CronTrigger(
                day_of_week=settings.foryou_day,
                hour=settings.foryou_time.hour,
                minute=settings.foryou_time.minute,
                timezone=settings.tz,
            ),
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )

    async def cog_unload(self) -> None:
        scheduler = self.bot.services.scheduler
        if scheduler is not None and scheduler.get_job(JOB_ID) is not None:
            scheduler.remove_job(JOB_ID)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if not self._caught_up and self.bot.services.scheduler is not None:
            self._caught_up = True
            self.bot.spawn(self.weekly.catch_up(), name="foryou-catch-up")

    @app_commands.command(name=_("related"), description=_("Papers related to a paper"))
    @app_commands.describe(paper=_("Title or arXiv id"))
    @app_commands.rename(paper=_("paper"))
    @app_commands.autocomplete(paper=paper_autocomplete)
    async def related_command(self, interaction: Interaction, paper: str) -> None:
        found = await find_paper(interaction, paper)
        await send_related(interaction, found.id, ephemeral=False)

    @foryou_group.command(
        name=_("papers"), description=_("Papers you may like, from your saves, reactions and tags")
    )
    async def foryou_papers(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None  # the group is guild-only
        result = await foryou.recommend(
            self.bot.db,
            related_finder(self.bot),
            interaction.user.id,
            guild_id=interaction.guild_id,
            limit=FORYOU_LIMIT,
            clock=self.bot.services.clock,
        )
        await interaction.response.send_message(
            embed=render_foryou_embed(result, interaction.locale),
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @foryou_group.command(name=_("settings"), description=_("Turn the weekly recommendations DM on or off"))
    @app_commands.describe(weekly_dm=_("Send me a weekly DM of papers I may have missed"))
    @app_commands.rename(weekly_dm=_("weekly_dm"))
    async def foryou_settings(self, interaction: Interaction, weekly_dm: bool | None = None) -> None:
        assert interaction.guild_id is not None
        db, user = self.bot.db, interaction.user.id
        if weekly_dm is not None:
            await foryou.set_weekly(db, user, interaction.guild_id, weekly_dm, clock=self.bot.services.clock)
        on = await foryou.weekly_on(db, user)
        text = t(
            "foryou.settings",
            interaction.locale,
            state=t(f"foryou.{'on' if on else 'off'}", interaction.locale),
        )
        if on and (await subscriptions(db, user, interaction.guild_id)).paused:
            text += t("foryou.paused_note", interaction.locale)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())

    @foryou_group.command(name=_("forget"), description=_("Delete what paperbot derived about you"))
    @app_commands.describe(also_saves_and_reactions=_("Also delete your saves and recorded reactions"))
    @app_commands.rename(also_saves_and_reactions=_("also_saves_and_reactions"))
    async def foryou_forget(self, interaction: Interaction, also_saves_and_reactions: bool = False) -> None:
        if also_saves_and_reactions:
            await interaction.response.send_message(
                t("foryou.confirm", interaction.locale),
                view=ConfirmForget(interaction.user.id, interaction.locale),
                ephemeral=True,
            )
            return
        done = await foryou.forget(self.bot.db, interaction.user.id)
        await interaction.response.send_message(
            t("foryou.forgotten", interaction.locale, shown=done.shown), ephemeral=True
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Discovery(bot))
