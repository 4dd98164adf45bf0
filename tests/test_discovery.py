"""Related papers and /foryou recommendations as services, the `related` CLI, and migration 7."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.services.community import members
from bot.services.discovery import foryou
from bot.services.discovery.related import RelatedFinder, RelatedWeights
from bot.store.db import Database
from bot.store.migrations import MIGRATIONS
from tests.discovery_notes import ingest_discovery_vault


async def test_related_puts_curator_links_first_and_never_the_paper_or_its_duplicate(
    db: Database, tmp_path: Path
) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    finder = RelatedFinder(db)
    related = await finder.related(ids["a"], limit=6)
    assert related[0].id == ids["b"]
    assert related[0].curator and related[0].reason == "curator link"
    found = [r.id for r in related]
    assert ids["a"] not in found and ids["dup"] not in found
    assert len(found) == len(set(found))
    assert ids["c"] in found
    assert found.index(ids["c"]) < (found.index(ids["d"]) if ids["d"] in found else len(found))
    scaling = next(r for r in related if r.id == ids["c"])
    assert not scaling.curator
    assert "shared tags: #moe" in scaling.reason
    # The link is the curator's in both directions: Expert Choice shows the note that links to it.
    back = await finder.related(ids["b"], limit=3)
    assert back[0].id == ids["a"] and back[0].curator


async def test_related_of_the_duplicate_row_excludes_the_original(db: Database, tmp_path: Path) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    related = await RelatedFinder(db).related(ids["dup"], limit=10)
    assert related
    assert ids["a"] not in [r.id for r in related]


async def test_note_text_with_fts_syntax_is_searched_as_words(db: Database, tmp_path: Path) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    finder = RelatedFinder(db, weights=RelatedWeights(1.0, 0.0, 0.0), max_df=1.0, curator_first=False)
    paper = await finder.related(ids["a"], limit=3)  # the note holds `"quoted" AND (NEAR* -x:y`
    assert paper
    note = await finder.note(ids["a"])
    assert note is not None
    terms = await finder.salient_terms(note)
    assert "expert" in terms or "experts" in terms
    assert not {"and", "near*", "(near"} & set(terms)


async def test_reactions_break_ties_between_equally_related_papers(db: Database, tmp_path: Path) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    finder = RelatedFinder(db, curator_first=False)

    async def clones() -> list[int]:
        found = [r.id for r in await finder.related(ids["c"], limit=10)]
        return [p for p in found if p in (ids["clone1"], ids["clone2"])]

    assert await clones() == [ids["clone1"], ids["clone2"]]  # a tie: lower id first
    for user in (1, 2, 3):
        await db.execute(
            "INSERT INTO reactions (message_id, paper_id, user_id, emoji, created_at) VALUES (?,?,?,?,?)",
            (500 + user, ids["clone2"], user, "👍", "2024-07-10T00:00:00+00:00"),
        )
    assert await clones() == [ids["clone2"], ids["clone1"]]


async def test_unknown_paper_has_no_related(db: Database, tmp_path: Path) -> None:
    await ingest_discovery_vault(db, tmp_path)
    assert await RelatedFinder(db).related(999_999) == []


def test_cli_related_json_maps_each_paper_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    path = tmp_path / "cli.db"

    async def setup() -> None:
        async with await Database.open(path) as db:
            await ingest_discovery_vault(db, tmp_path)

    asyncio.run(setup())
    code = main(["--db", str(path), "related", "2407.00001", "arXiv:2407.00003", "--limit", "3", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["2407.00001", "arXiv:2407.00003"]
    first = data["2407.00001"]
    assert len(first) == 3
    assert set(first[0]) == {"id", "arxiv_id", "title", "tags", "score", "reason"}
    assert first[0]["arxiv_id"] == "2407.00002" and first[0]["reason"] == "curator link"
    assert all(item["arxiv_id"] != "2407.00001" for item in first)
    assert [i["score"] for i in first[1:]] == sorted((i["score"] for i in first[1:]), reverse=True)

    code = main(["--db", str(path), "related", "2407.00001"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.startswith("Related to: Sparse Expert Routing")
    assert "★ Expert Choice Routing" in out and "curator link" in out

    code = main(["--db", str(path), "related", "2407.00001", "no such paper", "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "no paper 'no such paper'" in err and err[-1] == "\n" and err.count("\n") == 1


async def test_foryou_recommends_unseen_papers_with_reasons_and_respects_mutes(
    db: Database, tmp_path: Path
) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    finder = RelatedFinder(db)
    user, guild = 77, 1
    await members.toggle_saved(db, user, ids["a"])
    await members.set_tags(db, user, guild, ["benchmark"], "mute")
    result = await foryou.recommend(db, finder, user, guild_id=guild, limit=5)
    assert not result.fallback and result.engaged == 1
    got = [r.id for r in result.items]
    assert got and ids["a"] not in got and ids["dup"] not in got
    assert ids["bench"] not in got  # muted #benchmark
    assert ids["d"] not in got[:3]
    top = result.items[0]
    assert top.reason.kind == "saved" and top.reason.subject.startswith("Sparse Expert Routing")
    profile = await db.fetchone("SELECT engaged, tag_weights FROM member_profiles WHERE user_id = ?", (user,))
    assert profile is not None and profile["engaged"] == 1 and "moe" in json.loads(profile["tag_weights"])
    shown = {
        int(r[0]) for r in await db.fetchall("SELECT paper_id FROM foryou_shown WHERE user_id = ?", (user,))
    }
    assert shown == set(got)


async def test_foryou_without_history_shows_community_top_and_says_so(db: Database, tmp_path: Path) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    import datetime as dt

    now = dt.datetime(2024, 7, 11, 8, 0, tzinfo=dt.UTC)
    for user in (1, 2):
        await db.execute(
            "INSERT INTO reactions (message_id, paper_id, user_id, emoji, created_at) VALUES (?,?,?,?,?)",
            (900 + user, ids["d"], user, "🔥", (now - dt.timedelta(days=1)).isoformat()),
        )
    result = await foryou.recommend(db, RelatedFinder(db), 55, guild_id=1, limit=3, clock=lambda: now)
    assert result.fallback
    assert result.items[0].id == ids["d"]
    assert result.items[0].reason.kind == "popular" and result.items[0].reason.count == 2
    assert len(result.items) == 3  # topped up with the newest papers
    assert await db.fetchval("SELECT count(*) FROM member_profiles WHERE user_id = 55") == 0


async def test_forget_deletes_derived_data_and_keeps_saves_unless_asked(db: Database, tmp_path: Path) -> None:
    ids = await ingest_discovery_vault(db, tmp_path)
    user = 77
    await members.toggle_saved(db, user, ids["a"])
    await db.execute(
        "INSERT INTO reactions (message_id, paper_id, user_id, emoji, created_at) VALUES (1, ?, ?, '👍', 'x')",
        (ids["c"], user),
    )
    await foryou.set_weekly(db, user, 1, True)
    await foryou.recommend(db, RelatedFinder(db), user, guild_id=1)
    await foryou.recommend(db, RelatedFinder(db), 78, guild_id=1)  # someone else's data stays
    done = await foryou.forget(db, user)
    assert done.profile == 1 and done.shown > 0 and done.weekly == 1
    for table in ("member_profiles", "foryou_shown", "foryou_prefs"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = ?", (user,)) == 0
    assert await db.fetchval("SELECT count(*) FROM saved WHERE user_id = ?", (user,)) == 1
    assert await db.fetchval("SELECT count(*) FROM reactions WHERE user_id = ?", (user,)) == 1
    assert await db.fetchval("SELECT count(*) FROM foryou_shown WHERE user_id = 78") > 0
    everything = await foryou.forget(db, user, activity=True)
    assert everything.saved == 1 and everything.reactions == 1
    assert await db.fetchval("SELECT count(*) FROM saved WHERE user_id = ?", (user,)) == 0


async def test_migration_7_applies_to_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = await Database.open(path)
    await db.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE foryou_prefs; DROP TABLE member_profiles; DROP TABLE foryou_shown; DROP TABLE foryou_dms;"
        "DROP TABLE lexicon; DROP TABLE lexicon_state;"  # migration 8, applied again after 7
    )
    before = next(n for n, sql in enumerate(MIGRATIONS) if "CREATE TABLE foryou_prefs" in sql)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"foryou_prefs", "member_profiles", "foryou_shown", "foryou_dms"} <= tables
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


class BagOfWordsEmbedder:
    """A deterministic embedder for tests: each word hashed into one of 64 dimensions."""

    name = "bag-64"
    dim = 64

    async def embed(self, texts: list[str], *, query: bool = False) -> Any:
        import hashlib

        import numpy as np

        rows = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in text.casefold().split():
                rows[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


async def test_embedding_signal_and_profile_vector_follow_re_embedded_papers(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services.search.retrieval import Retriever

    ids = await ingest_discovery_vault(db, tmp_path)
    retriever = await Retriever.build(db, BagOfWordsEmbedder())
    assert await retriever.update() > 0
    dense = RelatedFinder(db, retriever, weights=RelatedWeights(0.0, 1.0, 0.0), curator_first=False)
    found = await dense.related(ids["c"], limit=5)
    assert len(found) == 5 and ids["c"] not in [r.id for r in found]
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
    before = dense._dense(ids["c"])[ids["d"]]

    await members.toggle_saved(db, 5, ids["a"])
    await foryou.recommend(db, RelatedFinder(db, retriever), 5, guild_id=1)
    row = await db.fetchone("SELECT model, length(vector) AS n FROM member_profiles WHERE user_id = 5")
    assert row is not None and row["model"] == "bag-64" and row["n"] == 64 * 4

    # The video paper is rewritten to be about expert routing and re-embedded: the centroids follow.
    monkeypatch.setattr("bot.services.discovery.vectors.RECHECK_SECONDS", 0.0)
    await db.execute(
        "UPDATE papers SET abstract = ?, title = ? WHERE id = ?",
        (
            "We scale sparse expert routing to thousands of experts and study router load balance.",
            "Scaling Mixture of Experts Routers Again",
            ids["d"],
        ),
    )
    assert await retriever.update(paper_ids=[ids["d"]]) == 1
    assert dense._dense(ids["c"])[ids["d"]] > before + 0.1
