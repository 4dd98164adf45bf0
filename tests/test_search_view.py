"""Search results a person can read: whole-word highlights, arXiv ids, a match share, "no good match"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.domain.textfold import query_terms
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.fulltext import highlight, search
from bot.services.search.view import good_match, match_hits
from bot.store.db import Database
from tests.botenv import BotEnv
from tests.notes import DIGEST, NOTE_4DIM, NOTE_NO_ARXIV, write


def test_korean_highlights_whole_words_not_bigrams() -> None:
    text = "카메라 포즈 없는 비디오 데이터로 학습했군요."
    assert highlight(text, query_terms("비디오")) == "카메라 포즈 없는 **비디오** 데이터로 학습했군요."
    # a particle on the query word, or on the text's word, still bolds the whole word
    assert (
        highlight(text, query_terms("비디오를 데이터"))
        == "카메라 포즈 없는 **비디오** **데이터로** 학습했군요."
    )
    assert "**비디**" not in highlight("비디오", query_terms("비디오"))


def test_latin_highlights_whole_words_only() -> None:
    assert highlight("RoBERTa uses videos and data.", query_terms("bert video")) == (
        "RoBERTa uses **videos** and data."
    )


@pytest.fixture
async def seeded(db: Database, tmp_path: Path) -> Database:
    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM)
    write(tmp_path, "n/d.txt", DIGEST)
    write(tmp_path, "n/blog.md", NOTE_NO_ARXIV)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    return db


async def test_match_share_and_confidence(seeded: Database) -> None:
    hits = await search(seeded, "4DiM video data")
    matches = await match_hits(seeded, "4DiM video data", hits)
    assert matches[hits[0].id].percent == 100 and good_match(matches)
    weak = await search(seeded, "video zebra xylophone quantum")
    weak_matches = await match_hits(seeded, "video zebra xylophone quantum", weak)
    assert weak and not good_match(weak_matches)
    assert 0 < weak_matches[weak[0].id].percent < 50
    assert await match_hits(seeded, "", []) == {} and good_match({})


def test_cli_search_says_no_good_match_and_shows_arxiv_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "v/240711 4dim.md", NOTE_4DIM)
    write(tmp_path, "v/blog.md", NOTE_NO_ARXIV)
    db = str(tmp_path / "s.db")
    assert main(["--db", db, "ingest", str(tmp_path / "v")]) == 0
    capsys.readouterr()
    assert main(["--db", db, "search", "4DiM video"]) == 0
    out = capsys.readouterr().out
    assert "(arXiv:2407.07860, 100% match)" in out and "No good match" not in out
    assert main(["--db", db, "search", "scaling blog"]) == 0
    out = capsys.readouterr().out
    assert "(no arXiv id, 100% match)" in out and not re.search(r"#\d", out), "no internal ids"
    assert main(["--db", db, "search", "video zebra xylophone quantum"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No good match for 'video zebra xylophone quantum'")
    assert main(["--db", db, "search", "4DiM video", "--json"]) == 0
    [hit] = [h for h in json.loads(capsys.readouterr().out) if h["arxiv_id"] == "2407.07860"]
    assert hit["match"] == 1.0 and isinstance(hit["score"], float)


async def test_slash_search_flags_weak_matches_and_shows_arxiv_ids(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    write(env.root, "extra/blog.md", NOTE_NO_ARXIV)
    assert (await ingest_paths(env.db, [env.root / "extra"])).ok
    async with run_bot(env.make_bot):
        good = await env.fake.slash("search", {"query": "4DiM video"}, user="member")
        embed = good.embeds[0]
        assert "description" not in embed or not embed["description"]
        assert (
            "[arXiv:2407.07860](https://arxiv.org/abs/2407.07860) · 100% match" in embed["fields"][0]["value"]
        )
        weak = await env.fake.slash("search", {"query": "video zebra xylophone quantum"}, user="member")
        assert weak.embeds[0]["description"].startswith("No good match for **video zebra xylophone quantum**")
        blog = await env.fake.slash("search", {"query": "scaling blog"}, locale="ko")
        assert blog.embeds[0]["fields"][0]["value"].startswith("arXiv id 없음 · 일치도 100%")
