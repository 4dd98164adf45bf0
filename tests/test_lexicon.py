"""Query expansion mined from the vault: consonant skeletons, mining, storage, and ranking end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.services.ingest.edits import add_commentary
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search import embedders
from bot.services.search.fulltext import search_ranked
from bot.services.search.lexicon import Lexicon, load_lexicon, mine, refresh_lexicon, strip_particles
from bot.services.search.retrieval import LEXICON_REFRESH_S, Retriever
from bot.services.search.translit import hangul_key, latin_key
from bot.store.db import Database
from bot.store.fts import stem
from bot.store.migrations import MIGRATIONS
from tests.notes import write
from tests.test_retrieval import HashEmbedder


@pytest.mark.parametrize(
    ("english", "korean"),
    [
        ("pretraining", "프리트레이닝"),
        ("finetuning", "파인튜닝"),
        ("embedding", "임베딩"),
        ("hallucination", "할루시네이션"),
        ("transformer", "트랜스포머"),
        ("generation", "제너레이션"),
        ("token", "토큰"),
        ("context", "컨텍스트"),
        ("robot", "로봇"),
    ],
)
def test_a_loanword_and_its_english_word_share_a_consonant_key(english: str, korean: str) -> None:
    assert latin_key(english) == hangul_key(korean)
    assert len(latin_key(english)) >= 3


def test_keys_of_other_words_and_other_scripts() -> None:
    assert latin_key("pretraining") != hangul_key("학습")
    assert latin_key("token") != latin_key("attention")
    assert hangul_key("BERT") == "" and hangul_key("토큰s") == ""
    assert latin_key("토큰") == "" and latin_key("gpt-4") == ""
    assert latin_key("Transformer") == latin_key("transformer"), "case does not matter"


def test_particles_are_stripped_only_when_two_syllables_remain() -> None:
    assert strip_particles("프리트레이닝을") == "프리트레이닝"
    assert strip_particles("모델에서는") == "모델", "the longest ending goes"
    assert strip_particles("토큰") == "토큰"
    assert strip_particles("이는") == "이는", "one syllable would be left"


# (title, abstract, commentary, commentary in English) as the miner reads papers.
PAPERS = [
    ("Efficient Pretraining for Speech", "", "프리트레이닝 데이터를 늘렸더니 좋아졌네요.", ""),
    ("Token Merging for Fast Vision Transformers", "", "비슷한 토큰을 합쳐서 속도를 높였네요.", ""),
    ("XLNet", "", "새로운 프리트레이닝 방법. 토큰 순서를 섞어서 예측합니다.", ""),
    ("Sparse Layers", "We route tokens with a Mixture of Experts (MoE) layer.", "라우팅이 핵심.", ""),
    ("Dedup A", "", "중복 데이터가 해롭다는 결과.", "Duplicate data hurts."),
    ("Dedup B", "", "중복 문서를 지웠더니 좋아졌다.", "Removing duplicate documents helped."),
    ("Dedup C", "", "중복 제거는 필수.", "Removing duplicate text is a must."),
    ("Nothing Alike", "", "사실 별 차이가 없네요.", ""),
]


def test_mining_finds_loanwords_acronyms_and_parallel_pairs() -> None:
    lexicon = mine(PAPERS)

    assert "프리트레이닝" in lexicon.loanwords[stem("pretraining")], "seen beside 'Pretraining'"
    assert "토큰" in lexicon.loanwords[stem("token")]
    mined = {form for forms in lexicon.loanwords.values() for form in forms}
    assert not mined & {"사실", "차이가", "차이", "데이터"}, "no note pairs these with an English word"
    assert lexicon.acronyms["moe"] == ["mixture of experts"]
    assert lexicon.acronyms["mixture of experts"] == ["moe"]
    assert "중복" in lexicon.pairs[stem("duplicate")], "co-occurs in all three translated notes"


def test_expansion_adds_mined_terms_in_both_directions() -> None:
    lexicon = mine(PAPERS)

    assert {"프리트레이닝", "토큰"} <= set(lexicon.expand("How does pretraining shuffle tokens?"))
    assert "mixture of experts" in lexicon.expand("routing in MoE")
    assert "moe" in lexicon.expand("a mixture of experts router")
    assert "중복" in lexicon.expand("is duplicated data harmful")
    assert lexicon.expand("트랜스포머 학습") == [], "Korean words are not expanded"
    assert Lexicon().expand("pretraining") == []


async def test_expansion_phrases_match_folded_hangul(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    target = int(await db.fetchval("SELECT id FROM papers WHERE title = 'XLNet'"))
    assert (await search_ranked(db, "", phrases=["프리트레이닝", "토큰"]))[0][0] == target
    assert await search_ranked(db, "", phrases=["트레이닝 프리"]) == [], "a phrase keeps its order"
    assert await search_ranked(db, "", phrases=['") OR *']) == [], "phrases are quoted, not parsed"


async def test_refresh_stores_the_lexicon_and_mines_again_only_when_notes_change(
    db: Database, tmp_path: Path
) -> None:
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    first = await refresh_lexicon(db)
    assert first is not None and "프리트레이닝" in first.loanwords[stem("pretraining")]
    assert await load_lexicon(db) == first
    assert await refresh_lexicon(db) is None, "nothing changed"

    paper_id = int(await db.fetchval("SELECT id FROM papers WHERE title = 'XLNet'"))
    await add_commentary(db, paper_id, "임베딩 레이어를 공유합니다.", author="m", author_id=1)
    assert await refresh_lexicon(db) is not None, "a new note: mined again"
    assert await refresh_lexicon(db, force=True) is not None


async def test_migration_8_applies_to_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = await Database.open(path)
    await db.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE lexicon; DROP TABLE lexicon_state;")
    before = next(n for n, sql in enumerate(MIGRATIONS) if "CREATE TABLE lexicon " in sql)
    assert before == 7
    conn.execute(f"PRAGMA user_version = {before}")
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS) >= 8
        assert await load_lexicon(db) == Lexicon()
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


# A small vault: title-only notes with Korean commentary (as most of the curator's are), and English
# papers whose abstracts share the question's common words.
DIGEST = """2024년 7월 11일
Speech at Scale
(A. Author)
프리트레이닝(pretraining) 데이터를 늘렸더니 성능이 좋아졌네요.
#speech
Merging for Fast Vision Models
(B. Author)
비슷한 토큰(token)을 합쳐서 속도를 높였네요.
#vision
Image Models That Fill In
(C. Author)
마스킹(masking) 비율을 75%까지 올려도 잘 된다는 결과.
#vision
XLNet
(Zhilin Yang, Zihang Dai)
새로운 프리트레이닝 방법. 마스킹 없이 토큰 순서를 섞어서 예측하니 독립 가정이 필요 없다.
#nlp
Word Order in Parsing
(D. Author)
We study how free word order makes parsing harder.
구문 분석 결과.
#parsing
A Method for Causal Discovery
(E. Author)
Which dependencies between variables are causal, from observational data alone.
인과 구조 학습.
#causality
Weather From Space
(F. Author)
We predict rain from satellite images.
날씨 예측.
#climate
"""

QUESTION = "which pretraining method predicts masked tokens in a shuffled order?"


async def _ranks(db: Database, retriever: Retriever) -> tuple[int, list[int], list[int]]:
    """The target's id, then the fused ranking with the mined lexicon and without it."""
    await retriever.update()
    target = int(await db.fetchval("SELECT id FROM papers WHERE title = 'XLNet'"))
    expanded = [p for p, _ in await retriever.rank(QUESTION, limit=10)]
    mined, retriever.lexicon = retriever.lexicon, Lexicon()
    plain = [p for p, _ in await retriever.rank(QUESTION, limit=10)]
    retriever.lexicon = mined
    return target, expanded, plain


async def test_expansion_lists_find_the_title_only_note_that_bm25_cannot(
    db: Database, tmp_path: Path
) -> None:
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    retriever = await Retriever.build(db, HashEmbedder())
    target, expanded, plain = await _ranks(db, retriever)
    assert target not in [p for p, _ in await search_ranked(db, QUESTION)], "no English word in common"
    assert sorted(retriever.lexicon.expand(QUESTION)) == sorted(["프리트레이닝", "토큰", "마스킹"])
    bm25, alone, with_query = await retriever.lexical_lists(QUESTION)
    assert alone[1][0][0] == target, "the expansion terms alone rank it first"
    assert bm25[0] == 1.0 and 0 < with_query[0] < alone[0] < 1.0, "both lists weigh less than BM25"
    assert expanded.index(target) < plain.index(target)


async def test_expansion_fixes_a_paraphrase_that_bm25_and_the_offline_model_miss(
    db: Database, tmp_path: Path
) -> None:
    pytest.importorskip(embedders.USE_MODULE)
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    target, expanded, plain = await _ranks(db, await Retriever.build(db, embedders.UseEmbedder()))
    assert plain[0] != target, "BM25 + USE alone rank an English paper with common words first"
    assert expanded[0] == target


async def test_a_note_found_by_expansion_shows_the_sentence_with_the_expanded_terms(
    db: Database, tmp_path: Path
) -> None:
    write(tmp_path, "n/d.txt", DIGEST)
    write(tmp_path, "n/240712 more.md", LONG_NOTE)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    retriever = await Retriever.build(db, HashEmbedder())
    await retriever.update()
    hits = {h.title: h for h in await retriever.search("pretraining tokens", limit=10)}
    assert hits["XLNet Again"].snippet == "**프리트레이닝에서** **토큰** 순서를 바꾸는 아이디어가 핵심입니다."


LONG_NOTE = """https://arxiv.org/abs/1906.99999

XLNet Again (Someone Else)

처음 문장은 상관없는 이야기입니다. 날씨가 좋네요.

프리트레이닝에서 토큰 순서를 바꾸는 아이디어가 핵심입니다.

#nlp
"""


async def test_partial_updates_mine_a_changed_vault_at_most_hourly(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    now = [1000.0]
    retriever = await Retriever.build(db, HashEmbedder())
    retriever.clock = lambda: now[0]
    assert len(retriever.lexicon) == 0
    paper_id = int(await db.fetchval("SELECT id FROM papers WHERE title = 'XLNet'"))
    await retriever.update(paper_ids=[paper_id])
    assert "프리트레이닝" in retriever.lexicon.expand("pretraining"), "first update: mined"
    await add_commentary(db, paper_id, "임베딩(embedding) 레이어를 공유합니다.", author="m", author_id=1)
    now[0] += LEXICON_REFRESH_S - 1
    await retriever.update(paper_ids=[paper_id])
    assert "임베딩" not in (await load_lexicon(db)).expand("embedding"), "within the hour: not mined again"
    now[0] += 1
    await retriever.update(paper_ids=[paper_id])
    assert "임베딩" in (await load_lexicon(db)).expand("embedding"), "an hour on: the changed vault is mined"
    assert "임베딩" in retriever.lexicon.expand("embedding")
    await add_commentary(db, paper_id, "디코더(decoder) 구조입니다.", author="m", author_id=1)
    await retriever.update()
    assert "디코더" in (await load_lexicon(db)).expand("decoder"), "a full update mines at once"
