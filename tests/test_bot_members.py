from __future__ import annotations

from typing import Any

from bot.services.ingest.pipeline import ingest_paths
from tests.botenv import BotEnv
from tests.notes import write


async def _many_diffusion_papers(env: BotEnv, count: int = 12) -> None:
    for i in range(count):
        write(
            env.root,
            f"many/2407{i:02d} Diffusion {i}.md",
            f"https://arxiv.org/abs/2407.{10000 + i}\n\n*Diffusion Study {i}* (Author {i})\n\n"
            f"> A diffusion model study number {i}.\n\n확산 모델 실험 {i}.\n\n#diffusion #study-{i % 3}\n",
        )
    assert (await ingest_paths(env.db, [env.root / "many"])).ok


async def test_search_paginates_and_only_invoker_can_page(env: BotEnv, run_bot: Any) -> None:
    await _many_diffusion_papers(env)
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("search", {"query": "diffusion study"}, user="member")
        assert not rec.ephemeral
        assert rec.allowed_mentions == {"parse": []}
        embed = rec.embeds[0]
        assert len(embed["fields"]) == 5
        assert "1/3" in embed["footer"]["text"]
        buttons = {c["label"]: c for row in rec.components for c in row["components"]}
        assert buttons["Previous"]["disabled"] is True
        message = rec.message
        other = await env.fake.click(message, buttons["Next"]["custom_id"], user="admin")
        assert other.ephemeral and "run it yourself" in other.text
        turned = await env.fake.click(message, buttons["Next"]["custom_id"], user="member")
        assert turned.callback_type == 7
        assert "2/3" in turned.callback.data["embeds"][0]["footer"]["text"]
        titles_page_1 = {f["name"] for f in embed["fields"]}
        titles_page_2 = {f["name"] for f in turned.callback.data["embeds"][0]["fields"]}
        assert not titles_page_1 & titles_page_2


async def test_search_empty_suggests_tags(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("search", {"query": "quantum chromodynamics"}, user="member")
        assert rec.ephemeral
        assert "No papers match" in rec.text and "`#diffusion`" in rec.text


async def test_search_korean_locale_and_filters(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("search", {"query": "비디오 데이터", "since": "2024-07-01"}, locale="ko")
        assert "검색" in rec.embeds[0]["title"]
        assert "Controlling Space and Time" in rec.text
        bad = await env.fake.slash("search", {"query": "x", "since": "yesterday"}, user="member")
        assert bad.ephemeral and "YYYY-MM-DD" in bad.text


async def test_paper_autocomplete_and_show(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        choices = await env.fake.autocomplete("paper", {"paper": "2407.078"}, focused="paper")
        assert choices[0]["name"].startswith("Controlling Space and Time")
        rec = await env.fake.slash("paper", {"paper": choices[0]["value"]}, user="member")
        embed = rec.embeds[0]
        assert embed["url"] == "https://arxiv.org/abs/2407.07860"
        assert embed["description"].startswith("카메라 포즈와")
        assert "It conditions on camera pose" in embed["description"]
        ids = [c["custom_id"] for row in rec.components for c in row["components"]]
        assert ids == [f"paperbot:{a}:{choices[0]['value']}" for a in ("ask", "summarise", "save", "related")]
        typed = await env.fake.slash("paper", {"paper": "4DiM"}, user="member")
        assert typed.embeds[0]["title"] == "Controlling Space and Time with Diffusion Models"
        missing = await env.fake.slash("paper", {"paper": "zzzz qqqq"}, user="member")
        assert missing.ephemeral and "No paper matches" in missing.text


async def test_tags_subscribe_mute_and_dms(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        tags = await env.fake.slash("tags", user="member")
        assert "`#diffusion` 1" in tags.text and "`#small_models` 1" in tags.text
        choices = await env.fake.autocomplete("subscribe", {"tag": "#llm diff"}, focused="tag")
        assert choices[0]["value"] == "#llm diffusion"
        rec = await env.fake.slash("subscribe", {"tag": "#Diffusion, llm #nope"}, user="member")
        assert rec.ephemeral
        assert "`#diffusion`, `#llm`" in rec.text and "`#nope`" in rec.text
        await env.fake.slash("mute", {"tag": "video"}, user="member")
        await env.fake.slash("dms", {"paused": True}, user="member")
        subs = await env.fake.slash("subscriptions", user="member")
        fields = {f["name"]: f["value"] for f in subs.embeds[0]["fields"]}
        assert fields == {"Following": "`#diffusion`, `#llm`", "Muted": "`#video`"}
        assert "paused" in subs.embeds[0]["footer"]["text"]
        gone = await env.fake.slash("unsubscribe", {"tag": "llm nothing"}, user="member")
        assert "Unsubscribed from `#llm`" in gone.text and "`#nothing`" in gone.text
        mine = await env.fake.slash("subscriptions", user="member")
        assert "`#llm`" not in mine.text
        other = await env.fake.slash("subscriptions", user="admin")
        assert "follow no tags" in other.text


async def test_save_button_and_saved_list(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        shown = await env.fake.slash("paper", {"paper": "2407.07860"}, user="member")
        save_id = next(
            c["custom_id"] for row in shown.components for c in row["components"] if "save" in c["custom_id"]
        )
        saved = await env.fake.click(shown.message, save_id, user="member")
        assert saved.ephemeral and "Saved **Controlling Space" in saved.text
        listing = await env.fake.slash("saved", user="member")
        assert "Controlling Space and Time" in listing.text
        again = await env.fake.click(shown.message, save_id, user="member")
        assert "Removed" in again.text
        assert "Nothing saved" in (await env.fake.slash("saved", user="member")).text
