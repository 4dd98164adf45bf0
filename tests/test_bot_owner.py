from __future__ import annotations

from typing import Any

from tests.botenv import BotEnv


async def test_sync_is_owner_only(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot):
        refused = await env.fake.slash("sync", user="moderator")
        assert refused.ephemeral and "owner" in refused.text
        assert not env.fake.commands.get(None)
        done = await env.fake.slash("sync", user="admin")  # the application's owner in the fake
        assert "Synced" in done.text
        assert {c["name"] for c in env.fake.commands[None]} >= {"search", "ask", "route"}
