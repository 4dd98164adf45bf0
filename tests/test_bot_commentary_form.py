"""Any stored commentary can be edited in Discord: long text spreads over several inputs of one modal."""

from __future__ import annotations

from typing import Any

from bot.services.ingest.pipeline import ingest_paths
from bot.ui.commentary_form import join_parts, split_for_inputs
from tests.botenv import BotEnv
from tests.notes import write


def korean_text(chars: int) -> str:
    """Korean paragraphs of sentences, ``chars`` long (the Books3 note's commentary is 14,146)."""
    sentence = "이 논문은 데이터 정제의 효과를 여러 규모에서 측정했고 결과가 꽤 설득력 있다. "
    paragraphs, text = [], ""
    while len(text) < chars:
        paragraphs.append(sentence * 7)
        text = "\n\n".join(p.strip() for p in paragraphs)
    return text[: chars - 1].rstrip() + "."


def english_text(chars: int) -> str:
    sentence = "The authors measure how data cleaning changes results at several scales. "
    return (sentence * (chars // len(sentence) + 1))[:chars].rstrip() + "."


NOTE = """https://arxiv.org/abs/2101.00027

*The Pile: An 800GB Dataset of Diverse Text for Language Modeling* (Leo Gao, Stella Biderman)

> We present the Pile, an 825 GiB English text corpus targeted at training large-scale language models.

{body}

<english>
{body_en}
</english>

#dataset #llm
"""


async def _import(env: BotEnv, body: str, body_en: str) -> None:
    write(env.root, "vault/Pile.md", NOTE.format(body=body, body_en=body_en))
    report = await ingest_paths(env.db, [env.root / "vault"])
    assert report.ok, report.errors


def _inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    return [row["components"][0] for row in modal["components"]]


def test_split_for_inputs_round_trips_exactly() -> None:
    text = korean_text(14_146)
    parts = split_for_inputs(text)
    assert len(parts) == 4 and all(len(p) <= 4000 for p, _ in parts)
    assert "".join(p + g for p, g in parts) == text
    assert all(p.endswith(".") for p, _ in parts), "cut at sentence ends"
    assert join_parts([p for p, _ in parts], [g for _, g in parts]) == text


async def test_imported_long_commentary_keeps_its_text_and_edits_in_one_form(
    env: BotEnv, run_bot: Any
) -> None:
    body, body_en = korean_text(14_146), english_text(1_200)
    await _import(env, body, body_en)
    stored = await env.db.fetchone("SELECT body, body_en FROM commentary")
    assert (stored["body"], stored["body_en"]) == (body, body_en), "import keeps the full text"
    async with run_bot(env.make_bot):
        opened = await env.fake.slash("commentary edit", {"paper": "2101.00027"}, user="moderator")
        assert opened.callback_type == 9
        inputs = _inputs(opened.modal or {})
        assert [i["label"] for i in inputs] == [
            "Your commentary (1/4)",
            "Your commentary (2/4)",
            "Your commentary (3/4)",
            "Your commentary (4/4)",
            "English version (optional)",
        ]
        assert all(len(i["value"]) <= i["max_length"] <= 4000 for i in inputs)
        # Submitting the form unchanged stores exactly what it showed.
        done = await env.fake.submit_modal(opened, {}, user="moderator")
        assert "Commentary saved" in done.text
        after = await env.db.fetchone("SELECT body, body_en FROM commentary")
        assert (after["body"], after["body_en"]) == (body, body_en)

        opened = await env.fake.slash("commentary edit", {"paper": "2101.00027"}, user="moderator")
        third = _inputs(opened.modal or {})[2]
        await env.fake.submit_modal(opened, {third["custom_id"]: "세 번째 부분을 고쳤다."}, user="moderator")
    edited = await env.db.fetchval("SELECT body FROM commentary")
    assert "세 번째 부분을 고쳤다." in edited and edited.endswith(split_for_inputs(body)[3][0])
    assert edited.startswith(split_for_inputs(body)[0][0])


async def test_when_both_texts_do_not_fit_the_moderator_edits_one_at_a_time(
    env: BotEnv, run_bot: Any
) -> None:
    body, body_en = korean_text(14_146), english_text(4_646)
    await _import(env, body, body_en)
    assert await env.db.fetchval("SELECT length(body_en) FROM commentary") == len(body_en)
    async with run_bot(env.make_bot):
        both = await env.fake.slash("commentary edit", {"paper": "2101.00027"}, user="moderator")
        assert both.ephemeral and "text:english" in both.text
        opened = await env.fake.slash(
            "commentary edit", {"paper": "2101.00027", "text": "english"}, user="moderator"
        )
        labels = [i["label"] for i in _inputs(opened.modal or {})]
        assert labels == ["English version (optional) (1/2)", "English version (optional) (2/2)"]
        first = _inputs(opened.modal or {})[0]
        await env.fake.submit_modal(opened, {first["custom_id"]: "A new first half."}, user="moderator")
    after = await env.db.fetchone("SELECT body, body_en FROM commentary")
    assert after["body"] == body, "the original text is untouched"
    assert after["body_en"].startswith("A new first half.") and len(after["body_en"]) < len(body_en)


async def test_commentary_form_is_rechecked_on_submit(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        opened = await env.fake.slash("commentary add", {"paper": "2407.07860"}, user="moderator")
        env.fake.set_member_roles("moderator", [])  # demoted while the form was open
        done = await env.fake.submit_modal(opened, {"Your commentary": "늦은 코멘트."}, user="moderator")
        assert done.ephemeral and "Only moderators" in done.text
    assert await env.db.fetchval("SELECT count(*) FROM commentary WHERE body LIKE '늦은%'") == 0
