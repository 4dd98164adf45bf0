"""The outbox drain: after downtime or a crash, every unfinished post and missed digest day within the
horizon goes out once, oldest first, and one post's failure never stops the rest of a run."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from bot.services.community import members
from bot.services.digest.run import post_digest
from bot.services.digest.schedule import mark_run
from bot.services.ingest.pipeline import ingest_upload
from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.notes import SIX_ENTRIES, make_digest
from tests.test_digest_crash import CrashingSender, crash_run

DAY = dt.date(2024, 7, 11)
BEFORE = DAY - dt.timedelta(days=1)
POSTS_PER_DAY = 7  # SIX_ENTRIES routed as in tests.test_digest_posting


async def _setup_days(env: BotEnv, *days: dt.date) -> None:
    for day in days:
        report = await ingest_upload(env.db, make_digest(day.isoformat(), SIX_ENTRIES).encode(), f"{day}.txt")
        assert report.ok, report.errors
    await env.route("diffusion", "vision")
    await env.route("video", "vision")
    await env.route("llm", "papers")
    await env.fallback("general")


def posts_seen(env: BotEnv) -> collections.Counter[tuple[int, str, str]]:
    """(channel, title, digest day) → how many messages Discord got for it (duplicates show)."""
    return collections.Counter(
        (int(m["channel_id"]), m["embeds"][0]["title"], m["embeds"][0]["footer"]["text"][-10:])
        for m in env.fake.message_log
        if m.get("embeds")
        and m["embeds"][0].get("footer")
        and "nonce" in m
        and str(m["nonce"]).startswith("pb")
    )


async def _open_rows(env: BotEnv) -> int:
    return int(await env.db.fetchval("SELECT count(*) FROM posts WHERE state != 'sent'"))


async def test_downtime_across_two_digest_times_posts_both_days_in_order(env: BotEnv, run_bot: Any) -> None:
    await _setup_days(env, BEFORE - dt.timedelta(days=1), BEFORE, DAY)
    # the bot last ran the day before yesterday's digest, then was down at both later digest times
    await mark_run(env.db, env.fake.guild_id, BEFORE - dt.timedelta(days=1), "posted", clock=env.clock)
    env.clock.now = dt.datetime(2024, 7, 11, 15, 0, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        assert (await runner.wait_for_run(env.fake.guild_id, DAY)).complete
    seen = posts_seen(env)
    assert all(n == 1 for n in seen.values()), seen
    days = collections.Counter(day for _, _, day in seen)
    assert days == {BEFORE.isoformat(): POSTS_PER_DAY, DAY.isoformat(): POSTS_PER_DAY}  # not the posted day
    # oldest first: every post of the 10th went out before any of the 11th
    order = [
        m["embeds"][0]["footer"]["text"][-10:]
        for m in sorted(env.fake.message_log, key=lambda m: int(m["id"]))
        if str(m.get("nonce", "")).startswith("pb")
    ]
    assert order == sorted(order)
    log = [m["content"] for m in env.fake.messages_in("mod-log")]
    caught = [line for line in log if line.startswith("Caught up 2 digest day(s)")]
    assert len(caught) == 1, log
    assert "2024-07-10: 7 posts" in caught[0] and "2024-07-11: 7 posts" in caught[0]
    assert await _open_rows(env) == 0
    states = await env.db.fetchall("SELECT digest_date, state FROM digest_runs ORDER BY digest_date")
    assert [tuple(r) for r in states] == [
        ("2024-07-09", "posted"),
        ("2024-07-10", "posted"),
        ("2024-07-11", "posted"),
    ]


async def test_crashed_post_of_an_earlier_day_is_finished_by_the_next_start(
    env: BotEnv, run_bot: Any
) -> None:
    await _setup_days(env, BEFORE, DAY)
    # the evening before: a moderator's /digest post of the 10th dies mid fan-out (kill -9)
    env.clock.now = dt.datetime(2024, 7, 10, 8, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        await crash_run(env, CrashingSender(DiscordSender(handle.bot), at=3, after_send=True), BEFORE)
        await handle.drain()
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state = 'sending'") >= 1
    # the next day, after the 09:00 slot: the 10th's leftovers go first, then the 11th
    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        assert (await runner.wait_for_run(env.fake.guild_id, DAY)).complete
        assert runner.finished[(env.fake.guild_id, BEFORE)].complete
    seen = posts_seen(env)
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]
    assert collections.Counter(day for _, _, day in seen) == {
        BEFORE.isoformat(): POSTS_PER_DAY,
        DAY.isoformat(): POSTS_PER_DAY,
    }
    assert await _open_rows(env) == 0


async def test_nothing_older_than_the_horizon_is_delivered(env: BotEnv, run_bot: Any) -> None:
    old = DAY - dt.timedelta(days=5)
    await _setup_days(env, old, DAY)
    await mark_run(env.db, env.fake.guild_id, old - dt.timedelta(days=1), "posted", clock=env.clock)
    env.settings.catch_up_days = 3
    env.clock.now = dt.datetime(2024, 7, 11, 15, 0, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        done = await handle.bot.services.digest_runner.drain()
    days = [r.day for r in done[env.fake.guild_id]]
    assert days == [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
    assert {day for _, _, day in posts_seen(env)} == {DAY.isoformat()}
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE digest_date = ?", (old.isoformat(),)) == 0


async def test_first_start_on_an_old_vault_posts_only_the_latest_slot(env: BotEnv, run_bot: Any) -> None:
    await _setup_days(env, BEFORE, DAY)
    env.clock.now = dt.datetime(2024, 7, 11, 15, 0, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
    assert {day for _, _, day in posts_seen(env)} == {DAY.isoformat()}


async def test_periodic_drain_job_delivers_posts_given_back(env: BotEnv, run_bot: Any) -> None:
    await _setup_days(env, DAY)
    env.scheduled = True
    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)
    env.fake.fail_next("POST", f"/channels/{env.fake.channel_id('general')}/messages", status=400, times=1)
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        first = await runner.wait_for_run(env.fake.guild_id, DAY)
        assert first.posts_retry == 1 and not first.complete
        row = await env.db.fetchone(
            "SELECT state, error FROM posts WHERE channel_id = ?", (env.fake.channel_id("general"),)
        )
        assert row["state"] == "pending" and "400" in row["error"]
        job = handle.bot.services.scheduler.get_job("outbox-drain")
        assert job.trigger.interval == dt.timedelta(seconds=env.settings.drain_seconds)
        runner.finished.clear()
        job.modify(next_run_time=dt.datetime.now(dt.UTC))  # fire it now instead of in five minutes
        second = await runner.wait_for_run(env.fake.guild_id, DAY)
        assert second.complete and second.posts_sent == 1 and second.posts_already == POSTS_PER_DAY - 1
    assert all(n == 1 for n in posts_seen(env).values())
    assert len(posts_seen(env)) == POSTS_PER_DAY
    assert await env.db.fetchval("SELECT state FROM digest_runs") == "posted"


async def test_an_unexpected_error_on_one_post_is_recorded_and_the_run_goes_on(
    env: BotEnv, run_bot: Any
) -> None:
    """A reconcile lookup that fails (history 400) used to abort the whole run and strand its claims."""
    await _setup_days(env, DAY)
    member = env.fake.user_id("member")
    await members.set_tags(env.db, member, env.fake.guild_id, ["llm"])
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        await crash_run(env, CrashingSender(DiscordSender(handle.bot), at=1, after_send=True), DAY)
        await handle.drain()
    env.clock.now = dt.datetime(2024, 7, 11, 8, 45, tzinfo=dt.UTC)  # past the lease, before the slot
    async with run_bot(env.make_bot) as handle:
        env.fake.fail_next("GET", "/channels/*/messages", status=400, times=20)
        report = await post_digest(env.db, DiscordSender(handle.bot), env.fake.guild_id, DAY, clock=env.clock)
        env.fake.fault_rules.clear()
        assert report.posts_retry >= 1 and not report.complete
        assert report.posts_sent + report.posts_already + report.posts_retry == POSTS_PER_DAY
        assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state = 'sending'") == 0
        errors = await env.db.fetchall("SELECT error FROM posts WHERE state = 'pending'")
        assert errors and all("HTTPException" in r["error"] for r in errors)
        assert await env.db.fetchval("SELECT count(*) FROM dm_deliveries WHERE state = 'sending'") == 0
        again = await post_digest(env.db, DiscordSender(handle.bot), env.fake.guild_id, DAY, clock=env.clock)
        assert again.complete
    seen = posts_seen(env)
    assert len(seen) == POSTS_PER_DAY and all(n == 1 for n in seen.values()), seen
    assert len(env.fake.dms_to("member")) == 1
