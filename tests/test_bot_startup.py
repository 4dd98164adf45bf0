from __future__ import annotations

from typing import Any

from tests.botenv import BotEnv

MEMBER_COMMANDS = {
    "search",
    "paper",
    "tags",
    "top",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "mute",
    "dms",
    "saved",
}
MODERATOR_GROUPS = {
    "commentary": {"add", "edit", "missing"},
    "digest": {"import", "preview", "post", "settings"},
    "route": {"set", "remove", "list", "fallback"},
}


async def test_commands_sync_to_dev_guild_with_permissions_and_korean(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot) as handle:
        synced = env.fake.commands[env.fake.guild_id]
        by_name = {c["name"]: c for c in synced}
        assert MEMBER_COMMANDS | MODERATOR_GROUPS.keys() <= by_name.keys()
        for group, subcommands in MODERATOR_GROUPS.items():
            assert int(by_name[group]["default_member_permissions"]) == 32  # Manage Server
            assert {o["name"] for o in by_name[group]["options"]} == subcommands
        search = by_name["search"]
        assert search["name_localizations"]["ko"] == "검색"
        assert search["description_localizations"]["ko"]
        assert [o["name"] for o in search["options"]] == ["query", "tag", "since"]
        assert all(o["description"] for o in search["options"])
        assert handle.bot.intents.message_content is False
        assert not env.fake.commands.get(None), "no global sync unless asked"
