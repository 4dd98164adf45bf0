from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from bot.services.answers.llm import LLM
from tests.botenv import BotEnv
from tests.fakeopenai import FakeOpenAI


def _with_llm(env: BotEnv, fake: FakeOpenAI) -> None:
    # A deployment allowing long answers (PAPERBOT_ANSWER_MAX_TOKENS=2000); the fake honours the cap.
    client = AsyncOpenAI(api_key="k", base_url=fake.url, max_retries=0)
    env.llm = LLM(client, "test-model", timeout=5, max_tokens=2000)


async def test_ask_streams_then_shows_sources_without_pinging(
    env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI
) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = "4DiM also trains on pose-free video [1], per the abstract too [2]. @everyone"
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("ask", {"question": "how does 4DiM use video data"}, user="member")
        assert rec.callback_type == 5 and not rec.ephemeral
        await rec.wait_until(lambda r: r.embeds and "Sources" in str(r.embeds[0].get("fields")))
        embed = rec.embeds[0]
        assert embed["description"].startswith("4DiM also trains on pose-free video [1]")
        assert "@everyone" not in embed["description"]
        sources = embed["fields"][0]["value"]
        assert (
            "[1] [Controlling Space and Time with Diffusion Models](https://arxiv.org/abs/2407.07860)"
            in sources
        )
        assert "curator's commentary" in sources and "abstract" in sources
        assert all(e.get("allowed_mentions", {"parse": []}) == {"parse": []} for e in rec.edits)
        assert len(rec.edits) >= 2, "a partial edit while streaming, then the final answer"


async def test_ask_cooldown_and_extractive_notice(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        first = await env.fake.slash("ask", {"question": "4DiM 비디오 데이터"}, user="member", locale="ko")
        await first.wait_until(lambda r: r.embeds and r.embeds[0].get("footer"))
        assert "언어 모델이 설정되어 있지 않아" in first.embeds[0]["footer"]["text"]
        second = await env.fake.slash("ask", {"question": "again please"}, user="member")
        assert second.ephemeral and "Slow down" in second.text
        other = await env.fake.slash("ask", {"question": "tiny language model"}, user="admin")
        assert other.callback_type == 5


async def test_ask_button_opens_modal_and_answers_privately(
    env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI
) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = "It uses pose-free video [1]."
    async with run_bot(env.make_bot):
        shown = await env.fake.slash("paper", {"paper": "2407.07860"}, user="member")
        ask_id = next(
            c["custom_id"] for row in shown.components for c in row["components"] if ":ask:" in c["custom_id"]
        )
        opened = await env.fake.click(shown.message, ask_id, user="member")
        assert opened.callback_type == 9
        answered = await env.fake.submit_modal(
            opened, {"Your question": "what data does it train on?"}, user="member"
        )
        await answered.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
        assert answered.ephemeral
        assert "pose-free video [1]" in answered.embeds[0]["description"]
        summarise_id = ask_id.replace(":ask:", ":summarise:")
        summary = await env.fake.click(shown.message, summarise_id, user="admin")
        await summary.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
        assert summary.ephemeral
    only_paper = fake_openai.requests[0]["messages"][1]["content"]
    assert "A Tiny Language Model Study" not in only_paper, "ask-about-this uses only that paper"


async def test_compare_and_summarise_commands(env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = "One is 4D diffusion [1], the other tiny LMs [3]."
    async with run_bot(env.make_bot):
        rec = await env.fake.slash(
            "compare", {"paper_a": "2407.07860", "paper_b": "A Tiny Language Model Study"}, user="member"
        )
        await rec.wait_until(lambda r: r.embeds and r.embeds[0].get("fields"))
        assert "↔" in rec.embeds[0]["title"]
        same = await env.fake.slash(
            "compare", {"paper_a": "2407.07860", "paper_b": "2407.07860"}, user="admin"
        )
        assert same.ephemeral and "two different papers" in same.text
        # An endpoint that ignores max_tokens and runs on: the answer stops at PAPERBOT_ANSWER_MAX_CHARS
        # (8,000: two messages at most), marked cut off, instead of becoming a dozen follow-ups.
        fake_openai.reply, fake_openai.ignore_max_tokens = "요약 [1]. " + "문장입니다. " * 6000, True
        summary = await env.fake.slash("summarise", {"paper": "2407.07860"}, user="moderator")
        await summary.wait_until(
            lambda r: r.embeds and "cut off" in r.embeds[0].get("footer", {}).get("text", "")
        )
        await summary.wait_followups(1)
        assert len(summary.followups) == 1
        total = sum(
            len(e["description"]) for m in [summary.message or {}, *summary.followups] for e in m["embeds"]
        )
        assert 7_000 < total <= 8_100
