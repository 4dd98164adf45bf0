"""Long answers arrive whole: split at sentence or line breaks over several messages, citations intact."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.ui.answers import split_answer
from tests.botenv import BotEnv
from tests.fakediscord import text_of
from tests.fakeopenai import FakeOpenAI
from tests.test_bot_answers import _with_llm


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def long_answer(chars: int) -> str:
    sentences = [
        "4DiM trains on posed 3D scenes, posed 4D data and unposed video together [1].",
        "The curator notes that the pose-free video is what makes the model generalise [2].",
        "Camera and time conditioning are separate inputs, so either can be held fixed [1][2].",
        "비디오 데이터를 함께 학습해서 일반화가 좋아졌다는 점이 핵심이다 [2].",
    ]
    paragraphs, text, i = [], "", 0
    while len(text) < chars:
        paragraphs.append(" ".join(sentences[(i + k) % 4] for k in range(6)))
        text = "\n\n".join(paragraphs)
        i += 1
    return text[:chars].rsplit(" ", 1)[0] + " and it ends with the last citation [2]."


@given(
    st.lists(
        st.sampled_from(["word", "sentence.", "[3]", "[12].", "\n", "\n\n", "한국어 문장이다.", "x" * 50]),
        max_size=400,
    ),
    st.integers(min_value=60, max_value=400),
)
def test_split_answer_loses_nothing_and_keeps_citations(tokens: list[str], limit: int) -> None:
    text = " ".join(tokens)
    parts = split_answer(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
    assert not any(re.match(r"\[\d", p) for p in parts[1:] if len(p) < limit), "a citation leads a part"


async def test_a_long_answer_arrives_whole(env: BotEnv, run_bot: Any, fake_openai: FakeOpenAI) -> None:
    await env.ingest_sample()
    _with_llm(env, fake_openai)
    fake_openai.reply = long_answer(6_303)
    assert len(fake_openai.reply) >= 6_303
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("ask", {"question": "how does 4DiM use video data"}, user="member")
        await rec.wait_until(lambda r: r.followups and "Sources" in str(r.followups[-1].get("embeds")))
        messages = [rec.message or {}, *rec.followups]
    descriptions = [e["description"] for m in messages for e in m["embeds"]]
    assert len(descriptions) == 2 and all(len(d) <= 4096 for d in descriptions)
    assert _squash(" ".join(descriptions)) == _squash(fake_openai.reply)
    assert descriptions[-1].endswith("the last citation [2].")
    assert all(d.rstrip().endswith((".", "]")) for d in descriptions), "split at sentence ends"
    assert "(continued 2/2)" in text_of(messages[-1])
