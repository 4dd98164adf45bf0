"""Buttons and modals are first-class: errors reach the member, one shared cooldown, live permissions."""

from __future__ import annotations

from typing import Any

from tests.botenv import BotEnv
from tests.fakediscord import FakeDiscord
from tests.fakeopenai import FakeOpenAI
from tests.test_bot_answers import _with_llm

MANAGE_GUILD = 1 << 5


def _buttons(fake: FakeDiscord, channel: str | int, paper_id: int | str) -> dict[str, Any]:
    """A message of the bot's with the paper buttons (as left by an earlier post)."""
    row = {
        "type": 1,
        "components": [
            {"type": 2, "style": 2, "label": action, "custom_id": f"paperbot:{action}:{paper_id}"}
            for action in ("ask", "summarise", "save")
        ],
    }
    return fake.create_message(
        fake.channel_id(channel), fake.bot_user_id, {"content": "", "components": [row]}
    )


async def _paper_id(env: BotEnv) -> int:
    return int(await env.db.fetchval("SELECT id FROM papers WHERE arxiv_id = '2407.07860'"))


async def test_button_errors_reach_the_member(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    missing = _buttons(env.fake, "papers", 424242)
    forged = _buttons(env.fake, "papers", "9" * 30)
    async with run_bot(env.make_bot):
        for message, action in [(missing, "ask"), (missing, "summarise"), (missing, "save"), (forged, "ask")]:
            custom_id = next(
                c["custom_id"]
                for c in message["components"][0]["components"]
                if f":{action}:" in c["custom_id"]
            )
            rec = await env.fake.click(message, custom_id, user="member")
            assert rec.ephemeral and "No paper matches" in rec.text, (action, rec.text)
            assert rec.allowed_mentions == {"parse": []}


async def test_one_cooldown_for_commands_buttons_and_modals(
    env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI
) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = "It trains on pose-free video [1]."
    post = _buttons(env.fake, "papers", await _paper_id(env))
    async with run_bot(env.make_bot):
        first = await env.fake.click(post, post["components"][0]["components"][1]["custom_id"], user="member")
        await first.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
        again = [
            await env.fake.click(post, post["components"][0]["components"][1]["custom_id"], user="member"),
            await env.fake.click(post, post["components"][0]["components"][0]["custom_id"], user="member"),
            await env.fake.slash("ask", {"question": "what data does it use"}, user="member"),
            await env.fake.slash("summarise", {"paper": "2407.07860"}, user="member"),
        ]
        for rec in again:
            assert rec.ephemeral and "Slow down" in rec.text, rec.text
        other = await env.fake.slash("ask", {"question": "what data does it use"}, user="admin")
        await other.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
    assert len(fake_openai.requests) == 2, "one LLM call per member inside the cooldown"


async def test_modal_submit_shares_the_cooldown(env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = "It trains on pose-free video [1]."
    post = _buttons(env.fake, "papers", await _paper_id(env))
    async with run_bot(env.make_bot):
        opened = await env.fake.click(
            post, post["components"][0]["components"][0]["custom_id"], user="member"
        )
        assert opened.callback_type == 9
        asked = await env.fake.slash("ask", {"question": "what data does it use"}, user="member")
        await asked.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
        late = await env.fake.submit_modal(opened, {"Your question": "and the cameras?"}, user="member")
        assert late.ephemeral and "Slow down" in late.text
    assert len(fake_openai.requests) == 1


async def test_answers_are_guild_only(env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    dm = env.fake.ensure_dm_channel(env.fake.user_id("member"))
    in_dm = _buttons(env.fake, int(dm["id"]), await _paper_id(env))
    async with run_bot(env.make_bot):
        synced = {c["name"]: c for c in env.fake.commands[env.fake.guild_id]}
        for name in ("ask", "summarise", "compare"):
            assert synced[name].get("contexts") == [0] or synced[name].get("dm_permission") is False
        rec = await env.fake.slash("ask", {"question": "what data"}, user="member", channel=int(dm["id"]))
        assert rec.ephemeral and "Use this command in a server" in rec.text
        click = await env.fake.click(
            in_dm, in_dm["components"][0]["components"][1]["custom_id"], user="member"
        )
        assert click.ephemeral and "Use this command in a server" in click.text
    assert fake_openai.requests == []


async def test_moderator_check_uses_the_permissions_discord_sends(env: BotEnv, run_bot: Any) -> None:
    env.fake.add_role("Managers", permissions=MANAGE_GUILD)
    env.fake.set_member_roles("member", ["Managers"])
    async with run_bot(env.make_bot):
        allowed = await env.fake.slash("route list", user="member")
        assert "Only moderators" not in allowed.text
        # The role loses Manage Server but the bot misses the GUILD_ROLE_UPDATE: its cache is stale.
        env.fake.set_role_permissions("Managers", 0, notify=False)
        refused = await env.fake.slash("route list", user="member")
        assert refused.ephemeral and "Only moderators" in refused.text
        env.fake.set_role_permissions("Managers", MANAGE_GUILD, notify=False)
        assert "Only moderators" not in (await env.fake.slash("route list", user="member")).text


async def test_stale_buttons_and_forms_say_what_to_do(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    row = {"type": 1, "components": [{"type": 2, "style": 2, "label": "Next", "custom_id": "pager-next"}]}
    old_pager = env.fake.create_message(
        env.fake.channel_id("general"), env.fake.bot_user_id, {"components": [row]}
    )
    post = _buttons(env.fake, "papers", await _paper_id(env))
    async with run_bot(env.make_bot):
        opened = await env.fake.click(
            post, post["components"][0]["components"][0]["custom_id"], user="member"
        )
        assert opened.callback_type == 9
    async with run_bot(env.make_bot):  # restarted: the open form and the old pager have no handler now
        pressed = await env.fake.click(old_pager, "pager-next", user="member")
        assert pressed.ephemeral and "Run the command again" in pressed.text
        late = await env.fake.submit_modal(opened, {"Your question": "still there?"}, user="member")
        assert late.ephemeral and "Run the command again" in late.text
        # live components are not answered twice
        saved = await env.fake.click(post, post["components"][0]["components"][2]["custom_id"], user="member")
        assert "Run the command again" not in saved.text
