"""Sending and re-rendering paper posts in Discord (the adapter side of posting)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import discord

from bot.domain.models import Paper
from bot.services.digest.outbox import OutboxPost
from bot.services.digest.report import ChannelUnavailable, DmEntry, DmRefused
from bot.services.digest.routes import guild_config
from bot.store.papers import get_paper
from bot.ui.embeds import COLOUR, no_mentions, render_paper_embeds
from bot.ui.i18n import t
from bot.ui.limits import EMBED_DESCRIPTION, MESSAGE, truncate
from bot.ui.views import paper_view

if TYPE_CHECKING:
    from bot.app import PaperBot

log = logging.getLogger(__name__)
CLOCK_SKEW = dt.timedelta(minutes=10)  # the host's clock may run ahead of Discord's


async def refresh_paper_posts(bot: PaperBot, paper_id: int) -> int:
    """Edit every message already posted for a paper to show its current commentary; returns how many."""
    paper = await get_paper(bot.db, paper_id)
    if paper is None:
        return 0
    rows = await bot.db.fetchall(
        "SELECT guild_id, channel_id, message_id, digest_date FROM posts "
        "WHERE paper_id = ? AND state = 'sent' AND message_id IS NOT NULL",
        (paper_id,),
    )
    edited = 0
    for row in rows:
        config = await guild_config(bot.db, row["guild_id"])
        day = dt.date.fromisoformat(row["digest_date"]) if row["digest_date"] else None
        embeds = render_paper_embeds(paper, language=config.language, digest_date=day)
        message = bot.get_partial_messageable(row["channel_id"]).get_partial_message(row["message_id"])
        try:
            await message.edit(embeds=embeds, view=paper_view(paper_id), allowed_mentions=no_mentions())
            edited += 1
        except discord.NotFound:
            log.info("post %s in channel %s was deleted; not refreshed", row["message_id"], row["channel_id"])
        except discord.HTTPException as exc:
            log.warning("could not refresh post %s: %s", row["message_id"], exc)
    return edited


def guild_url(guild_id: int, *, base: str = "https://discord.com") -> str:
    return f"{base}/channels/{guild_id}"


def web_base(api_base: str | None) -> str:
    """Where message links point: the configured Discord-compatible server's origin, else discord.com."""
    if api_base:
        url = urlsplit(api_base)
        if url.scheme and url.netloc:
            return f"{url.scheme}://{url.netloc}"
    return "https://discord.com"


def jump_url(guild_id: int, channel_id: int, message_id: int, *, base: str = "https://discord.com") -> str:
    return f"{base}/channels/{guild_id}/{channel_id}/{message_id}"


class DiscordSender:
    """The Discord side of posting a digest (implements services.digest_run.DigestSender)."""

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self._landing: dict[str, asyncio.Future[int]] = {}
        self._finishing: set[asyncio.Task[discord.Message]] = set()
        self._guilds: dict[int, discord.Guild] = {}
        self.web_base = web_base(bot.settings.discord_api_base)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except (discord.NotFound, discord.Forbidden) as exc:
                raise ChannelUnavailable(exc.text or str(exc)) from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable(f"channel {channel_id} is not a text channel")
        return channel

    async def send_post(
        self, post: OutboxPost, paper: Paper, *, language: str, thread: bool
    ) -> tuple[int, int | None]:
        """Send with the post's nonce; the id is known as soon as the post lands (see :meth:`message_seen`).

        When a post uses up a channel's rate-limit bucket, discord.py returns from ``send()`` only after the
        bucket resets (up to 5 s later). The gateway's MESSAGE_CREATE carries our nonce at once, so the id,
        and the DMs that link to it, need not wait; the ``send()`` itself still finishes in the background.
        """
        channel = await self._channel(post.channel_id)
        embeds = render_paper_embeds(paper, language=language, digest_date=post.digest_date)
        landed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._landing[post.nonce] = landed
        sending = asyncio.create_task(
            channel.send(
                embeds=embeds, view=paper_view(paper.id), nonce=post.nonce, allowed_mentions=no_mentions()
            ),
            name=f"paperbot-post-{post.id}",
        )
        try:
            either: set[asyncio.Future[Any]] = {sending, landed}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if thread or not landed.done():
                message = await sending
                message_id = message.id
            else:
                message_id = landed.result()
                self._finishing.add(sending)
                sending.add_done_callback(self._sent_in_background)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise ChannelUnavailable(exc.text or str(exc)) from exc
        finally:
            self._landing.pop(post.nonce, None)
        thread_id = None
        if thread and isinstance(channel, discord.TextChannel):
            try:
                created = await message.create_thread(
                    name=truncate(paper.title, 100), auto_archive_duration=1440
                )
                thread_id = created.id
            except discord.HTTPException as exc:
                log.warning("could not open a thread on %s: %s", message.id, exc)
        return message_id, thread_id

    def message_seen(self, message: discord.Message) -> None:
        """A MESSAGE_CREATE of the bot's own: resolve the post waiting on its nonce."""
        waiting = self._landing.get(str(message.nonce)) if message.nonce is not None else None
        if waiting is not None and not waiting.done():
            waiting.set_result(message.id)

    def _sent_in_background(self, task: asyncio.Task[discord.Message]) -> None:
        self._finishing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a post that already landed reported an error: %s", task.exception())

    async def find_post(self, channel_id: int, paper_id: int, day: dt.date) -> int | None:
        """The post for (paper, day) this bot already made in the channel, if any, however long ago.

        Discord dedupes an ``enforce_nonce`` resend only for a few minutes, so after a crash the post is
        looked up instead: the bot's own messages since the outbox row was written (less a margin for
        clock skew), oldest first, carrying the paper's Save button and the day in the footer.
        """
        channel = await self._channel(channel_id)
        wanted = f"paperbot:save:{paper_id}"
        me = self.bot.user.id if self.bot.user else None
        since = await self._post_written(channel_id, paper_id, day)
        after = discord.Object(id=discord.utils.time_snowflake(since - CLOCK_SKEW)) if since else None
        try:
            async for message in channel.history(limit=None, after=after, oldest_first=True):
                if message.author.id != me:
                    continue
                ids = {
                    getattr(c, "custom_id", None)
                    for row in message.components
                    for c in getattr(row, "children", [])
                }
                footer = message.embeds[0].footer.text if message.embeds and message.embeds[0].footer else ""
                if wanted in ids and day.isoformat() in (footer or ""):
                    return message.id
        except (discord.NotFound, discord.Forbidden) as exc:
            raise ChannelUnavailable(exc.text or str(exc)) from exc
        return None

    async def _post_written(self, channel_id: int, paper_id: int, day: dt.date) -> dt.datetime | None:
        """When the outbox row for this post was written: no message for it can be older."""
        written = await self.bot.db.fetchval(
            "SELECT created_at FROM posts WHERE channel_id = ? AND paper_id = ? AND digest_date = ?",
            (channel_id, paper_id, day.isoformat()),
        )
        if not written:
            return None
        when = dt.datetime.fromisoformat(str(written))
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)

    async def open_dm(self, user_id: int) -> int:
        channel = await self.bot.create_dm(discord.Object(id=user_id))
        return channel.id

    async def send_dm(
        self, dm_channel_id: int, guild_id: int, day: dt.date, entries: list[DmEntry], nonce: str
    ) -> int:
        guild = await self._guild(guild_id)
        locale = guild.preferred_locale if guild else None
        lines = []
        for entry in entries:
            target = jump_url(guild_id, *entry.jump, base=self.web_base) if entry.jump else entry.link
            title = truncate(entry.title, 200)
            lines.append(f"• [{title}]({target})" if target else f"• {title}")
        embed = discord.Embed(
            title=t("dm.title", locale, day=day.isoformat(), guild=guild.name if guild else ""),
            url=guild_url(guild_id, base=self.web_base),  # with the day in the title: how find_dm knows it
            description=truncate("\n".join(lines), EMBED_DESCRIPTION),
            colour=COLOUR,
        )
        embed.set_footer(text=t("dm.footer", locale))
        channel = self.bot.get_partial_messageable(dm_channel_id, type=discord.ChannelType.private)
        try:
            message = await channel.send(embed=embed, nonce=nonce, allowed_mentions=no_mentions())
        except discord.Forbidden as exc:
            if exc.code == 50007:
                raise DmRefused(exc.text) from exc
            raise
        return message.id

    async def find_dm(self, dm_channel_id: int, guild_id: int, day: dt.date) -> int | None:
        """This guild's digest DM for ``day`` among the bot's recent messages in the DM channel.

        Matched by the embed's link to the guild and the day in its title, not by the nonce (Discord
        does not return nonces in history, and only deduplicates them for a few minutes).
        """
        channel = self.bot.get_partial_messageable(dm_channel_id, type=discord.ChannelType.private)
        me = self.bot.user.id if self.bot.user else None
        url, stamp = guild_url(guild_id, base=self.web_base), day.isoformat()
        try:
            async for message in channel.history(limit=50):
                if message.author.id != me or not message.embeds:
                    continue
                embed = message.embeds[0]
                if embed.url == url and stamp in (embed.title or ""):
                    return message.id
        except discord.Forbidden as exc:
            if exc.code == 50007:
                raise DmRefused(exc.text) from exc
            raise
        return None

    async def _guild(self, guild_id: int) -> discord.Guild | None:
        """The guild from the gateway cache, or fetched once over REST (``paperbot digest post`` has no
        gateway, so its DMs would otherwise name no server)."""
        guild = self.bot.get_guild(guild_id) or self._guilds.get(guild_id)
        if guild is None:
            try:
                guild = self._guilds[guild_id] = await self.bot.fetch_guild(guild_id)
            except discord.HTTPException as exc:
                log.warning("could not look up guild %s for its name: %s", guild_id, exc)
        return guild

    async def report(self, guild_id: int, text: str) -> None:
        channel_id = self.bot.settings.log_channel_id
        if channel_id is None:
            log.warning("guild %s: %s (no PAPERBOT_LOG_CHANNEL_ID to report to)", guild_id, text)
            return
        await self.bot.get_partial_messageable(channel_id).send(
            truncate(text, MESSAGE), allowed_mentions=no_mentions()
        )
