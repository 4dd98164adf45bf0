"""A post sent before a crash is found again without the nonce: after Discord's nonce window, however many
messages came after it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.test_digest_crash import CrashingSender, crash_run
from tests.test_digest_posting import DAY, _setup, assert_exactly_once


@pytest.mark.parametrize("chatter", [0, 250], ids=["quiet-channel", "250-messages-later"])
async def test_resent_post_is_found_after_the_nonce_window(env: BotEnv, run_bot: Any, chatter: int) -> None:
    await _setup(env)
    env.clock.now = dt.datetime(2024, 7, 11, 8, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        crashing = CrashingSender(DiscordSender(handle.bot), at=1, after_send=True)
        await crash_run(env, crashing, DAY)
        await handle.drain()
    lost = await env.db.fetchall("SELECT channel_id FROM posts WHERE state = 'sending'")
    assert lost, "the crash left a post sent but not recorded"
    for row in lost:  # the bot keeps talking in that channel (other posts, answers, ...)
        for n in range(chatter):
            env.fake.create_message(row["channel_id"], env.fake.bot_user_id, {"content": f"chatter {n}"})
    env.fake.advance(env.fake.nonce_window + 60)  # Discord has forgotten the nonce by now

    env.clock.now = dt.datetime(2024, 7, 11, 9, 30, tzinfo=dt.UTC)
    async with run_bot(env.make_bot) as handle:
        report = await handle.bot.services.digest_runner.wait_for_run(env.fake.guild_id, DAY)
        assert report.complete
    assert_exactly_once(env)
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state != 'sent'") == 0
