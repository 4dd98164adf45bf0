from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from bot.services.digest.run import post_digest
from bot.services.ingest.pipeline import ingest_upload
from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.notes import SIX_ENTRIES, make_digest

DAY = dt.date(2024, 7, 11)


async def _setup(env: BotEnv) -> None:
    report = await ingest_upload(env.db, make_digest(DAY.isoformat(), SIX_ENTRIES).encode(), "d.txt")
    assert report.ok, report.errors
    await env.route("diffusion", "vision")
    await env.route("video", "vision")  # overlaps with diffusion: still one post per channel
    await env.route("llm", "papers")
    await env.fallback("general")


def posts_by_channel(env: BotEnv) -> dict[str, collections.Counter[str]]:
    """channel name → Counter of paper titles over every message ever created there (duplicates show)."""
    names = {env.fake.channel_id(n): n for n in ("general", "papers", "vision", "mod-log")}
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for message in env.fake.message_log:
        channel = names.get(int(message["channel_id"]))
        if channel and message.get("embeds"):
            counts[channel][message["embeds"][0]["title"]] += 1
    return counts


EXPECTED = {
    "vision": {"Video Diffusion at Scale", "Diffusion Language Models", "Point Tracking in the Wild"},
    "papers": {
        "Sparse Mixture of Experts Revisited",
        "Diffusion Language Models",
        "A Benchmark for Long Context",
    },
    "general": {"Neural Fields for Robots"},
}


def assert_exactly_once(env: BotEnv) -> None:
    counts = posts_by_channel(env)
    for channel, titles in EXPECTED.items():
        assert set(counts[channel]) == titles, channel
        assert all(n == 1 for n in counts[channel].values()), (channel, counts[channel])


async def test_scheduled_job_posts_each_entry_once_per_channel(env: BotEnv, run_bot: Any) -> None:
    await _setup(env)
    env.scheduled = True
    env.clock.now = dt.datetime(2024, 7, 11, 8, 59, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        scheduler = handle.bot.services.scheduler
        job = scheduler.get_job("daily-digest")
        assert (job.next_run_time.hour, job.next_run_time.minute) == (9, 0)
        env.clock.now = dt.datetime(2024, 7, 11, 9, 0, tzinfo=dt.UTC)
        mark = env.fake.mark()
        job.modify(next_run_time=dt.datetime.now(dt.UTC))  # fire it now instead of waiting for 09:00
        runner = handle.bot.services.digest_runner
        report = await runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.posts_sent == 7
        assert len(env.fake.requests_matching("POST /channels/*/messages", since=mark)) == 7
    assert_exactly_once(env)
    assert await env.db.fetchval("SELECT state FROM digest_runs WHERE digest_date = '2024-07-11'") == "posted"
    post = next(
        m for m in env.fake.messages_in("vision") if m["embeds"][0]["title"] == "Video Diffusion at Scale"
    )
    embed = post["embeds"][0]
    assert embed["description"].startswith("Video Diffusion at Scale에 대한")
    assert "2024-07-11" in embed["footer"]["text"] and "#diffusion" in embed["footer"]["text"]
    for request in env.fake.requests_matching("POST /channels/*/messages"):
        assert request.json["allowed_mentions"] == {"parse": []}
        assert request.json["nonce"].startswith("pb") and request.json["enforce_nonce"] is True


async def test_catch_up_after_downtime_posts_once(env: BotEnv, run_bot: Any) -> None:
    await _setup(env)
    env.clock.now = dt.datetime(2024, 7, 11, 15, 0, tzinfo=dt.UTC)  # the bot was down at 09:00
    async with run_bot(env.make_bot) as handle:
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.posts_sent == 7
    async with run_bot(env.make_bot) as handle:  # a second start-up the same day finds it posted
        runner = handle.bot.services.digest_runner
        await runner.catch_up()
    assert_exactly_once(env)


async def test_overlapping_runs_never_both_post(env: BotEnv, run_bot: Any) -> None:
    import asyncio

    await _setup(env)
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        second_sender = DiscordSender(handle.bot)
        # the bot's own run and an independent runner (as `paperbot digest post` would be) at once
        reports = await asyncio.gather(
            runner.run(env.fake.guild_id, DAY),
            post_digest(env.db, second_sender, env.fake.guild_id, DAY, clock=env.clock),
            runner.run(env.fake.guild_id, DAY),
        )
    assert sum(r.posts_sent for r in reports) == 7
    assert_exactly_once(env)


async def test_faults_during_fan_out_are_retried_and_forbidden_channel_reported(
    env: BotEnv, run_bot: Any
) -> None:
    await _setup(env)
    env.fake.set_forbidden("general")
    async with run_bot(env.make_bot):
        env.fake.fail_next("POST", "/channels/*/messages", status=429, times=3, retry_after=0.05)
        env.fake.fail_next("POST", "/channels/*/messages", status=500, times=1)
        rec = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        assert "6 posts sent" in rec.text and "1 failed" in rec.text
    counts = posts_by_channel(env)
    assert "general" not in counts
    for channel in ("vision", "papers"):
        assert set(counts[channel]) == EXPECTED[channel]
        assert all(n == 1 for n in counts[channel].values())
    log = env.fake.messages_in("mod-log")
    assert any("cannot post in" in m["content"] for m in log)
    injected = [r.status for r in env.fake.requests if r.injected]
    assert sorted(injected) == [429, 429, 429, 500]


async def test_subscriber_dms_one_per_member_with_mutes_pauses_and_refusals(
    env: BotEnv, run_bot: Any
) -> None:
    from bot.services.community import members

    await _setup(env)
    guild = env.fake.guild_id
    member, admin, moderator = (env.fake.user_id(n) for n in ("member", "admin", "moderator"))
    await members.set_tags(env.db, member, guild, ["llm", "diffusion"])
    await members.set_tags(env.db, member, guild, ["benchmark"], "mute")
    await members.set_tags(env.db, admin, guild, ["video"])
    await members.set_paused(env.db, admin, True)
    await members.set_tags(env.db, moderator, guild, ["robotics"])
    env.fake.dm_refused.add(moderator)
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        assert "1 DMs" in rec.text
        again = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        assert "0 DMs" in again.text and "7 already posted" in again.text
    dms = env.fake.dms_to("member")
    assert len(dms) == 1
    text = dms[0]["embeds"][0]["description"]
    for title in (
        "Sparse Mixture of Experts Revisited",
        "Diffusion Language Models",
        "Video Diffusion at Scale",
    ):
        assert title in text
    assert "Long Context" not in text  # muted #benchmark
    assert f"https://discord.com/channels/{guild}/" in text
    assert env.fake.dms_to("admin") == []  # paused
    states = dict(await env.db.fetchall("SELECT user_id, state FROM dm_deliveries"))
    assert states == {member: "sent", moderator: "refused"}


async def test_guild_language_choice_and_threads(env: BotEnv, run_bot: Any) -> None:
    from bot.services.digest.routes import update_guild_config
    from tests.notes import NOTE_4DIM, write

    write(env.root, "n/240711 4dim.md", NOTE_4DIM)
    from bot.services.ingest.pipeline import ingest_paths

    await ingest_paths(env.db, [env.root / "n"])
    await env.fallback("papers")
    await update_guild_config(env.db, env.fake.guild_id, language="english", threads=True)
    async with run_bot(env.make_bot):
        await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
    post = env.fake.messages_in("papers")[0]
    assert post["embeds"][0]["description"].startswith("It conditions on camera pose")
    assert "카메라" not in post["embeds"][0]["description"]
    assert env.fake.requests_matching("POST /channels/*/messages/*/threads")
    thread_id = await env.db.fetchval("SELECT thread_id FROM posts")
    assert thread_id


async def test_weekly_recap_attaches_a_chart(env: BotEnv, run_bot: Any) -> None:
    await _setup(env)
    env.settings.recap_channel_id = env.fake.channel_id("general")
    env.clock.now = dt.datetime(2024, 7, 14, 18, 0, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        message_id = await runner.post_recap()
    recap = next(m for m in env.fake.messages_in("general") if int(m["id"]) == message_id)
    assert recap["embeds"][0]["title"].startswith("Weekly recap")
    upload = next(r for r in env.fake.requests if r.files and r.method == "POST")
    png = upload.files[0]
    assert png.filename == "tag-activity.png"
    assert png.content.startswith(b"\x89PNG") and len(png.content) > 5000
