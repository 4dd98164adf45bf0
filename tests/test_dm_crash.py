"""DMs exactly once: kill the sender at each step of a member's DM, restart, and count every DM."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.domain.models import Paper
from bot.services.community import members
from bot.services.digest.outbox import OutboxPost
from bot.services.digest.run import DigestSender, post_digest
from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.test_digest_crash import Crash, crash_run
from tests.test_digest_posting import DAY, _setup, assert_exactly_once

SUBSCRIBERS = ("member", "moderator", "admin")


class DmCrashingSender:
    """The real sender, until the ``at``-th DM, where the process dies at ``step``:

    ``open`` before the DM channel is opened, ``find`` (a restart) while looking for an earlier DM,
    ``send`` just before the DM is sent, ``record`` after Discord created it but before it is recorded.
    """

    def __init__(self, inner: DigestSender, *, at: int, step: str) -> None:
        self.inner, self.at, self.step = inner, at, step
        self.opened = 0
        self.sent = 0
        self.dead = False

    def _check(self) -> None:
        if self.dead:
            raise Crash

    def _die(self) -> None:
        self.dead = True
        raise Crash

    async def send_post(
        self, post: OutboxPost, paper: Paper, *, language: str, thread: bool
    ) -> tuple[int, int | None]:
        self._check()
        return await self.inner.send_post(post, paper, language=language, thread=thread)

    async def find_post(self, channel_id: int, paper_id: int, day: dt.date) -> int | None:
        self._check()
        return await self.inner.find_post(channel_id, paper_id, day)

    async def open_dm(self, user_id: int) -> int:
        self._check()
        self.opened += 1
        if self.step == "open" and self.opened == self.at:
            self._die()
        return await self.inner.open_dm(user_id)

    async def find_dm(self, dm_channel_id: int, guild_id: int, day: dt.date) -> int | None:
        self._check()
        return await self.inner.find_dm(dm_channel_id, guild_id, day)

    async def send_dm(self, *args: Any) -> int:
        self._check()
        self.sent += 1
        number = self.sent
        if self.step == "send" and number == self.at:
            self._die()
        message_id = await self.inner.send_dm(*args)
        self._check()
        if self.step == "record" and number == self.at:
            self._die()  # Discord has the DM; its id is never recorded
        return message_id

    async def report(self, guild_id: int, text: str) -> None:
        self._check()
        await self.inner.report(guild_id, text)


async def _subscribe(env: BotEnv) -> None:
    for name, tags in zip(SUBSCRIBERS, (["llm"], ["video"], ["robotics", "llm"]), strict=True):
        await members.set_tags(env.db, env.fake.user_id(name), env.fake.guild_id, tags)


def _dm_posts(env: BotEnv) -> dict[str, int]:
    return {
        name: len(
            env.fake.requests_matching(
                f"POST /channels/{env.fake.dm_channels[env.fake.user_id(name)]}/messages"
            )
        )
        for name in SUBSCRIBERS
        if env.fake.user_id(name) in env.fake.dm_channels
    }


@pytest.mark.parametrize("step", ["open", "send", "record"])
@pytest.mark.parametrize("at", [1, 3])
async def test_crash_during_dms_then_restart_dms_each_member_exactly_once(
    env: BotEnv, run_bot: Any, step: str, at: int
) -> None:
    await _setup(env)
    await _subscribe(env)
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)  # before the slot: no catch-up yet
    async with run_bot(env.make_bot) as handle:
        await crash_run(env, DmCrashingSender(DiscordSender(handle.bot), at=at, step=step), DAY)
        await handle.drain()
        # restarting at once: the dead run's DM claims are fresh, so nothing is resent and the day stays open
        early = await post_digest(env.db, DiscordSender(handle.bot), env.fake.guild_id, DAY, clock=env.clock)
        assert not early.complete
    stuck = await env.db.fetchval("SELECT count(*) FROM dm_deliveries WHERE state = 'sending'")
    assert stuck >= 1
    before = _dm_posts(env)

    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)  # later: past the slot and the lease
    async with run_bot(env.make_bot) as handle:  # a fresh process catches up on start-up
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.complete, report
    assert_exactly_once(env)
    for name in SUBSCRIBERS:
        assert len(env.fake.dms_to(name)) == 1, name
    after = _dm_posts(env)
    if step == "record":
        # the DMs that landed (the one the crash hit, and any other in flight with it) were found in the DM
        # channels' history, not sent again (nor deduplicated by nonce)
        assert report.dms_already >= 1
        assert sum(after.values()) == sum(before.values()) + report.dms_sent
    states = await env.db.fetchall("SELECT state, message_id FROM dm_deliveries")
    assert [r["state"] for r in states] == ["sent"] * len(SUBSCRIBERS)
    dm_ids = {int(m["id"]) for name in SUBSCRIBERS for m in env.fake.dms_to(name)}
    assert {r["message_id"] for r in states} == dm_ids


async def test_crash_while_looking_for_an_earlier_dm_then_restart(env: BotEnv, run_bot: Any) -> None:
    """Two crashes in a row: after sending, then again during the restart's history lookup."""
    await _setup(env)
    await _subscribe(env)
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        await crash_run(env, DmCrashingSender(DiscordSender(handle.bot), at=1, step="record"), DAY)
        await handle.drain()
    env.clock.advance(minutes=5)

    class DiesLooking(DmCrashingSender):
        async def find_dm(self, dm_channel_id: int, guild_id: int, day: dt.date) -> int | None:
            self._die()
            return None

    async with run_bot(env.make_bot) as handle:
        await crash_run(env, DiesLooking(DiscordSender(handle.bot), at=0, step="none"), DAY)
        await handle.drain()
    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.complete, report
    for name in SUBSCRIBERS:
        assert len(env.fake.dms_to(name)) == 1, name
    assert_exactly_once(env)


async def test_a_dm_stuck_in_sending_by_an_older_paperbot_is_reconciled_after_the_upgrade(
    env: BotEnv, run_bot: Any
) -> None:
    """Before migration 5 a DM in flight at a crash stayed in 'sending' for ever (lost, never resent)."""
    from tests.test_ingest import undo_migrations_from_5

    await _setup(env)
    await _subscribe(env)
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        await crash_run(env, DmCrashingSender(DiscordSender(handle.bot), at=1, step="record"), DAY)
        await handle.drain()
    await undo_migrations_from_5(env.db)
    await env.db.conn.execute("PRAGMA user_version=4")
    assert await env.db.migrate() >= 5
    assert await env.db.fetchval("SELECT min(attempts) FROM dm_deliveries") == 1
    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.complete and report.dms_already >= 1
    for name in SUBSCRIBERS:
        assert len(env.fake.dms_to(name)) == 1, name
