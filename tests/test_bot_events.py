from __future__ import annotations

from typing import Any

from tests.botenv import BotEnv
from tests.fakediscord.runner import BotHandle


async def _react(
    env: BotEnv, handle: BotHandle, message: dict[str, Any], emoji: str, user: Any, *, added: bool = True
) -> None:
    """React as ``user`` and wait until the bot's listener has handled the raw event."""
    event = "raw_reaction_add" if added else "raw_reaction_remove"
    seen = handle.bot.loop.create_task(handle.bot.wait_for(event, timeout=5))
    if added:
        await env.fake.add_reaction("papers", int(message["id"]), emoji, user)
    else:
        await env.fake.remove_reaction("papers", int(message["id"]), emoji, user)
    await seen
    await handle.drain()


async def _post_digest(env: BotEnv) -> list[dict[str, Any]]:
    await env.fake.slash("route fallback", {"channel": "papers"}, user="admin")
    rec = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin")
    assert "2 posts sent" in rec.text
    return env.fake.messages_in("papers")


async def test_reactions_are_recorded_and_drive_top(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot) as handle:
        posts = await _post_digest(env)
        four_dim = next(m for m in posts if "Controlling" in m["embeds"][0]["title"])
        tiny = next(m for m in posts if "Tiny" in m["embeds"][0]["title"])
        for user in ("member", "admin", "moderator"):
            await _react(env, handle, four_dim, "🔥", user)
        await _react(env, handle, tiny, "👍", "member")
        await _react(env, handle, tiny, "👍", env.fake.bot_user_id)  # the bot's own
        assert await env.db.fetchval("SELECT count(*) FROM reactions") == 4
        await _react(env, handle, four_dim, "🔥", "admin", added=False)
        assert await env.db.fetchval("SELECT count(*) FROM reactions") == 3
        top = await env.fake.slash("top", {"period": "week"}, user="member")
        fields = top.embeds[0]["fields"]
        assert fields[0]["name"].startswith("1. Controlling Space")
        assert "2 reactions from 2 members" in fields[0]["value"]
        by_tag = await env.fake.slash("top", {"period": "day", "tag": "llm"}, user="member")
        assert [f["name"] for f in by_tag.embeds[0]["fields"]] == ["1. A Tiny Language Model Study"]


async def test_reaction_on_other_messages_is_ignored(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot) as handle:
        message = await env.fake.post_message("papers", "hello", user="member")
        await _react(env, handle, message, "👍", "admin")
        assert await env.db.fetchval("SELECT count(*) FROM reactions") == 0


async def test_429_on_follow_up_is_retried_once(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        await env.fake.slash("route fallback", {"channel": "papers"}, user="admin")
        mark = env.fake.mark()
        env.fake.fail_next("POST", "/webhooks/*", status=429, times=1, retry_after=0.05)
        deferred = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin")
        assert deferred.callback_type == 5
        assert len(deferred.followups) == 1
        assert "2 posts sent" in deferred.text
        webhook_calls = env.fake.requests_matching("POST /webhooks/*", since=mark)
        assert [r.status for r in webhook_calls] == [429, 200]


async def test_buttons_on_old_posts_work_after_restart(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        shown = await env.fake.slash("paper", {"paper": "2407.07860"}, user="member")
        message = shown.message
    async with run_bot(env.make_bot):  # a new process: nothing in memory, only the database
        save_id = next(
            c["custom_id"]
            for row in message["components"]
            for c in row["components"]
            if ":save:" in c["custom_id"]
        )
        rec = await env.fake.click(message, save_id, user="member")
        assert "Saved **Controlling Space and Time" in rec.text
