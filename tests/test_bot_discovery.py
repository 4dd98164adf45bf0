"""Discovery through the real bot and the fake Discord: the Related button (also after a restart),
/related, /foryou papers|settings|forget, and the weekly recommendations DM."""

from __future__ import annotations

from typing import Any

from bot.services.community import members
from tests.botenv import BotEnv
from tests.discovery_notes import ingest_discovery_vault


def _custom_id(message: dict[str, Any], part: str) -> str:
    return next(
        c["custom_id"] for row in message["components"] for c in row["components"] if part in c["custom_id"]
    )


async def test_related_button_on_a_post_works_after_restart(env: BotEnv, run_bot: Any) -> None:
    await ingest_discovery_vault(env.db, env.root)
    async with run_bot(env.make_bot):
        shown = await env.fake.slash("paper", {"paper": "2407.00001"}, user="member")
        message = shown.message
        assert message is not None
        labels = [c["label"] for row in message["components"] for c in row["components"]]
        assert labels[-1] == "Related"
    async with run_bot(env.make_bot):  # a new process: only the database and the message remain
        rec = await env.fake.click(message, _custom_id(message, ":related:"), user="member")
        assert rec.ephemeral
        assert rec.allowed_mentions == {"parse": []}
        embed = rec.embeds[0]
        assert embed["title"] == "Related to: Sparse Expert Routing for Language Models"
        lines = embed["description"].split("\n\n")
        assert "Expert Choice Routing" in lines[0] and "★ curator link" in lines[0]
        assert "https://arxiv.org/abs/2407.00002" in lines[0]
        assert "Sparse Expert Routing for Language Models" not in embed["description"]
        assert "shared tags: `#moe`" in embed["description"]
        assert "curator's own link" in embed["footer"]["text"]


async def test_related_command_with_autocomplete_in_korean(env: BotEnv, run_bot: Any) -> None:
    await ingest_discovery_vault(env.db, env.root)
    async with run_bot(env.make_bot):
        choices = await env.fake.autocomplete("related", {"paper": "Expert Choice"}, focused="paper")
        assert choices[0]["name"].startswith("Expert Choice Routing")
        rec = await env.fake.slash("related", {"paper": choices[0]["value"]}, user="member", locale="ko")
        assert not rec.ephemeral
        embed = rec.embeds[0]
        assert embed["title"].startswith("관련 논문: Expert Choice Routing")
        assert "★ 큐레이터 연결" in embed["description"].split("\n\n")[0]
        missing = await env.fake.slash("related", {"paper": "zzzz qqqq"}, user="member")
        assert missing.ephemeral and "No paper matches" in missing.text


async def test_foryou_is_private_and_explains_each_pick(env: BotEnv, run_bot: Any) -> None:
    ids = await ingest_discovery_vault(env.db, env.root)
    async with run_bot(env.make_bot):
        fresh = await env.fake.slash("foryou papers", user="member")
        assert fresh.ephemeral
        assert "haven't saved or reacted to any papers yet" in fresh.embeds[0]["description"]
        shown = await env.fake.slash("paper", {"paper": "2407.00001"}, user="member")
        assert shown.message is not None
        await env.fake.click(shown.message, _custom_id(shown.message, ":save:"), user="member")
        await members.set_tags(env.db, env.fake.user_id("member"), env.fake.guild_id, ["benchmark"], "mute")
        rec = await env.fake.slash("foryou papers", user="member")
        assert rec.ephemeral and rec.allowed_mentions == {"parse": []}
        body = rec.embeds[0]["description"]
        assert "because you saved “Sparse Expert Routing for Language Models”" in body
        assert "Routing Benchmark Suite" not in body  # muted
        first_line = body.split("\n")[0]
        assert "Sparse Expert Routing" not in first_line  # never what they already saved
        assert "Only you can see this" in rec.embeds[0]["footer"]["text"]
        other = await env.fake.slash("foryou papers", user="admin")
        assert "haven't saved" in other.embeds[0]["description"]
    assert ids["a"] not in {int(r[0]) for r in await env.db.fetchall("SELECT paper_id FROM foryou_shown")}


async def test_weekly_dm_once_per_week_respecting_pauses_and_forget(env: BotEnv, run_bot: Any) -> None:
    ids = await ingest_discovery_vault(env.db, env.root)
    member, admin, moderator = (env.fake.user_id(n) for n in ("member", "admin", "moderator"))
    for user in (member, admin, moderator):
        await members.toggle_saved(env.db, user, ids["a"])
    await members.set_paused(env.db, admin, True)
    await members.set_tags(env.db, member, env.fake.guild_id, ["benchmark"], "mute")
    env.fake.dm_refused.add(moderator)
    async with run_bot(env.make_bot) as handle:
        for user in ("member", "admin", "moderator"):
            rec = await env.fake.slash("foryou settings", {"weekly_dm": True}, user=user)
            assert rec.ephemeral and "**on**" in rec.text
        assert "paused" in (await env.fake.slash("foryou settings", user="admin")).text
        weekly = handle.bot.services.foryou_weekly
        report = await weekly.run()
        assert (report.sent, report.refused) == (1, 1)
        again = await weekly.run()
        assert again.sent == 0 and again.already == 2
    async with run_bot(env.make_bot) as handle:  # a restart in the same week sends nothing new
        assert (await handle.bot.services.foryou_weekly.run()).sent == 0
        dms = env.fake.dms_to("member")
        assert len(dms) == 1
        embed = dms[0]["embeds"][0]
        assert embed["title"].startswith("Papers you may have missed")
        assert "because you saved" in embed["description"]
        assert "Routing Benchmark Suite" not in embed["description"]  # muted #benchmark
        assert "Scaling Mixture of Experts Routers" in embed["description"]
        assert "Sparse Expert Routing for Language Models" not in embed["description"].split("\n")[0]
        assert env.fake.dms_to("admin") == []
        states = dict(await env.db.fetchall("SELECT user_id, state FROM foryou_dms"))
        assert states == {member: "sent", moderator: "refused"}

        forgot = await env.fake.slash("foryou forget", user="member")
        assert forgot.ephemeral and "saves and reactions are kept" in forgot.text
        assert await env.db.fetchval("SELECT count(*) FROM member_profiles WHERE user_id = ?", (member,)) == 0
        assert await env.db.fetchval("SELECT count(*) FROM saved WHERE user_id = ?", (member,)) == 1
        off = await env.fake.slash("foryou settings", user="member")
        assert "**off**" in off.text

        ask = await env.fake.slash("foryou forget", {"also_saves_and_reactions": True}, user="member")
        assert ask.ephemeral and "cannot be undone" in ask.text
        assert ask.message is not None
        button = _custom_id(ask.message, "")
        assert await env.db.fetchval("SELECT count(*) FROM saved WHERE user_id = ?", (member,)) == 1
        done = await env.fake.click(ask.message, button, user="member")
        assert "1 saves" in done.text
        assert await env.db.fetchval("SELECT count(*) FROM saved WHERE user_id = ?", (member,)) == 0


async def test_weekly_dm_catches_up_at_start_once_the_slot_has_passed(env: BotEnv, run_bot: Any) -> None:
    from bot.services.discovery import foryou

    ids = await ingest_discovery_vault(env.db, env.root)
    member = env.fake.user_id("member")
    await members.toggle_saved(env.db, member, ids["a"])
    await foryou.set_weekly(env.db, member, env.fake.guild_id, True)
    env.scheduled = True  # Thursday 08:00: this week's Monday 10:00 slot has passed
    async with run_bot(env.make_bot):
        await env.fake.wait_for(
            lambda r: (
                r.method == "POST"
                and r.route == "/channels/{channel_id}/messages"
                and bool(env.fake.dms_to("member"))
            ),
            timeout=10,
        )
    async with run_bot(env.make_bot) as handle:
        assert (await handle.bot.services.foryou_weekly.run()).sent == 0
    assert len(env.fake.dms_to("member")) == 1
    assert await env.db.fetchval("SELECT state FROM foryou_dms WHERE user_id = ?", (member,)) == "sent"
