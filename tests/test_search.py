from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.models import Entry, ParsedFile
from bot.domain.textfold import match_expression
from bot.services.ingest.write import write_parsed
from bot.services.search.fulltext import search
from bot.store.db import Database

DAY = dt.date(2024, 7, 11)


def _entry(title: str, **fields: object) -> Entry:
    return Entry(title=title, note_date=fields.pop("note_date", DAY), **fields)  # type: ignore[arg-type]


async def _store(db: Database, *entries: Entry, key: str = "test:source") -> None:
    parsed = ParsedFile(path=key, kind="digest", digest_date=DAY, entries=list(entries))
    await write_parsed(db, [(parsed, key, "hash")])


async def _seed(db: Database) -> None:
    await _store(
        db,
        _entry(
            "Controlling Space and Time with Diffusion Models",
            arxiv_id="2407.07860",
            abstract="We present 4DiM, a cascaded diffusion model for 4D novel view synthesis, trained jointly"
            " on 3D, 4D and video data.",
            commentary="카메라 포즈 없는 비디오 데이터로도 같이 학습했군요.",
            tags=["neural-rendering", "diffusion"],
        ),
        _entry(
            "PaliGemma: A versatile 3B VLM for transfer",
            arxiv_id="2407.07726",
            abstract="PaliGemma is an open Vision-Language Model based on SigLIP and Gemma.",
            commentary="PaliGemma의 테크니컬 리포트가 나왔군요. 인코더도 같이 학습합니다.",
            tags=["vision-language"],
        ),
        _entry(
            "Video Diffusion Survey",
            arxiv_id="2405.00001",
            abstract="A survey of diffusion for video generation; video video video.",
            commentary="서베이.",
            tags=["diffusion", "video"],
            note_date=dt.date(2024, 5, 2),
        ),
    )


async def test_title_match_outranks_abstract_repetition(db: Database) -> None:
    await _seed(db)
    hits = await search(db, "PaliGemma")
    assert [h.arxiv_id for h in hits][:1] == ["2407.07726"]
    assert "**PaliGemma**" in hits[0].snippet


async def test_keyword_question_finds_paper_with_snippet(db: Database) -> None:
    await _seed(db)
    hits = await search(db, "how does 4DiM use video data")
    assert hits[0].arxiv_id == "2407.07860"
    assert hits[0].tags == ["diffusion", "neural-rendering"]
    assert hits[0].score > 0


async def test_korean_word_matches_with_particle(db: Database) -> None:
    await _seed(db)
    hits = await search(db, "데이터")
    assert [h.arxiv_id for h in hits] == ["2407.07860"]
    hits = await search(db, "인코더를 학습")
    assert hits[0].arxiv_id == "2407.07726"


async def test_tag_and_date_filters(db: Database) -> None:
    await _seed(db)
    hits = await search(db, "diffusion", tag="#Diffusion")
    assert {h.arxiv_id for h in hits} == {"2407.07860", "2405.00001"}
    hits = await search(db, "diffusion", since=dt.date(2024, 7, 1))
    assert [h.arxiv_id for h in hits] == ["2407.07860"]
    hits = await search(db, "", tag="video")
    assert [h.arxiv_id for h in hits] == ["2405.00001"]
    assert await search(db, "diffusion", tag="no-such-tag") == []


async def test_empty_and_operator_queries_are_safe(db: Database) -> None:
    await _seed(db)
    for query in ["", "   ", '"', "NEAR(", "a* -b", "((", ")", "title:foo", "🙂", "AND OR NOT", "^x"]:
        await search(db, query)  # must not raise
    assert await search(db, "") == []
    hits = await search(db, "NEAR(PaliGemma")
    assert hits[0].arxiv_id == "2407.07726"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
async def test_any_text_is_a_safe_query(db: Database, text: str) -> None:
    expression = match_expression(text)
    if expression is not None:
        assert expression.count('"') % 2 == 0
    await search(db, text)
