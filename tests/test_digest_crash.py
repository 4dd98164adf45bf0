"""Crash injection: kill the sender at each step of sending, restart, and count every post."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bot.domain.models import Paper
from bot.services.digest.outbox import OutboxPost
from bot.services.digest.run import DigestSender, post_digest
from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.test_digest_posting import DAY, _setup, assert_exactly_once


class Crash(BaseException):
    """The process dies: nothing after this point runs (it is not an Exception, so nothing catches it)."""


class CrashingSender:
    """Delegates to the real sender until the ``at``-th post, then dies before or after sending it."""

    def __init__(self, inner: DigestSender, *, at: int, after_send: bool) -> None:
        self.inner, self.at, self.after_send = inner, at, after_send
        self.calls = 0
        self.dead = False

    def _check(self) -> None:
        if self.dead:
            raise Crash

    async def send_post(
        self, post: OutboxPost, paper: Paper, *, language: str, thread: bool
    ) -> tuple[int, int | None]:
        self._check()
        self.calls += 1
        number = self.calls  # other channels' workers send concurrently
        if number == self.at and not self.after_send:
            self.dead = True
            raise Crash
        result = await self.inner.send_post(post, paper, language=language, thread=thread)
        self._check()  # died while this request was in flight: its id is never recorded either
        if number == self.at:
            self.dead = True  # sent, but the message id is never recorded
            raise Crash
        return result

    async def find_post(self, channel_id: int, paper_id: int, day: dt.date) -> int | None:
        self._check()
        return await self.inner.find_post(channel_id, paper_id, day)

    async def open_dm(self, user_id: int) -> int:
        self._check()
        return await self.inner.open_dm(user_id)

    async def send_dm(self, *args: Any) -> int:
        self._check()
        return await self.inner.send_dm(*args)

    async def find_dm(self, dm_channel_id: int, guild_id: int, day: dt.date) -> int | None:
        self._check()
        return await self.inner.find_dm(dm_channel_id, guild_id, day)

    async def report(self, guild_id: int, text: str) -> None:
        self._check()
        await self.inner.report(guild_id, text)


async def crash_run(env: BotEnv, sender: DigestSender, day: dt.date) -> None:
    """Run a digest until the sender dies, then wait for the run's other workers to hit the dead sender.

    In a real crash every task dies at once; here the channel workers that were mid-request finish their
    request first and then die at the next call, so nothing of the run outlives this function.
    """
    with pytest.raises(Crash):
        await post_digest(env.db, sender, env.fake.guild_id, day, clock=env.clock)
    workers = [
        t
        for t in asyncio.all_tasks()
        if not t.done()
        and getattr(t.get_coro(), "__name__", "") in ("channel_worker", "deliver_dms", "dm_worker")
    ]
    if workers:
        await asyncio.wait(workers, timeout=10)


@pytest.mark.parametrize("after_send", [False, True], ids=["before-send", "after-send-before-record"])
@pytest.mark.parametrize("at", [1, 4])
async def test_crash_then_restart_posts_everything_exactly_once(
    env: BotEnv, run_bot: Any, at: int, after_send: bool
) -> None:
    await _setup(env)
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)  # before the slot: no catch-up yet
    async with run_bot(env.make_bot) as handle:
        crashing = CrashingSender(DiscordSender(handle.bot), at=at, after_send=after_send)
        await crash_run(env, crashing, DAY)
        await handle.drain()
        # restarting at once: the dead sender's claim is still fresh, so nobody resends it yet
        early = await post_digest(env.db, DiscordSender(handle.bot), env.fake.guild_id, DAY, clock=env.clock)
        # every channel worker had claimed its next post when the process died
        assert early.posts_in_flight >= 1
        assert not early.complete
    stuck = await env.db.fetchval("SELECT count(*) FROM posts WHERE state = 'sending'")
    assert stuck == early.posts_in_flight

    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)  # later: past the slot and the lease
    async with run_bot(env.make_bot) as handle:  # a fresh process catches up on start-up
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.complete
    assert_exactly_once(env)
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state != 'sent'") == 0
    assert (
        await env.db.fetchval("SELECT state FROM digest_runs WHERE digest_date = ?", (DAY.isoformat(),))
        == "posted"
    )
