"""One paragraph, one commentary: the same words from a digest, a vault note and its ``… 1.md`` copy are
stored once with all their sources, dated by the notes; a database written before is repaired."""

from __future__ import annotations

from pathlib import Path

from bot.domain.note_meta import commentary_key
from bot.services.ingest.pipeline import ingest_paths
from bot.store.db import Database
from bot.store.papers import resolve_paper
from tests.notes import DIGEST, NOTE_4DIM, write
from tests.test_ingest import undo_migrations_from_5

PARAGRAPH = "카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요."
PROJECT = "https://4d-diffusion.github.io/"


def _vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    # the vault note opens its commentary with the project page, as the real 4DiM note does
    write(
        root,
        "240710 Controlling Space and Time.md",
        NOTE_4DIM.replace(PARAGRAPH, f"{PROJECT}\n\n{PARAGRAPH}"),
    )
    # Obsidian's duplicate: the same note, the paragraph re-wrapped
    write(
        root,
        "240710 Controlling Space and Time 1.md",
        NOTE_4DIM.replace(PARAGRAPH, PARAGRAPH.replace(" 카메라 포즈 없는", "\n카메라  포즈 없는")),
    )
    write(root, "2024-07-11.txt", DIGEST)
    return root


async def test_the_same_paragraph_from_three_files_is_one_commentary(db: Database, tmp_path: Path) -> None:
    report = await ingest_paths(db, [_vault(tmp_path)])
    assert report.ok, report.errors
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None
    assert [commentary_key(c.body) for c in paper.commentary] == [PARAGRAPH]  # one row, first file's wrapping
    assert paper.commentary[0].body_en.startswith("It conditions on camera pose")
    assert paper.commentary[0].created_at.date().isoformat() == "2024-07-10"  # the note's date, not today
    assert PROJECT in paper.links
    sources = await db.fetchall(
        "SELECT source FROM commentary_sources WHERE commentary_id = ? ORDER BY source",
        (paper.commentary[0].id,),
    )
    assert [Path(r["source"]).name for r in sources] == [
        "2024-07-11.txt",
        "240710 Controlling Space and Time 1.md",
        "240710 Controlling Space and Time.md",
    ]
    # ingesting again changes nothing, and an edit of one file edits only what that file gave
    again = await ingest_paths(db, [tmp_path / "vault"])
    assert again.files_unchanged == 3
    assert await db.fetchval("SELECT count(*) FROM commentary") == 2  # 4DiM's and the tiny LM's


async def test_an_older_database_is_repaired_by_migration_5(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = await Database.open(path)
    await ingest_paths(db, [_vault(tmp_path)])
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None
    keeper = paper.commentary[0].id
    # Stand the database where paperbot left it before: three rows for one paragraph (one opening with
    # the project URL, one re-wrapped), all dated when they were ingested, and no commentary sources.
    origins = [
        str(r["source"])
        for r in await db.fetchall("SELECT source FROM commentary_sources WHERE commentary_id = ?", (keeper,))
    ]
    note = next(o for o in origins if o.endswith("Time.md"))
    copy = next(o for o in origins if o.endswith("Time 1.md"))
    digest = next(o for o in origins if o.endswith(".txt"))
    stamp = "2026-11-30T10:00:00+00:00"
    await db.execute(
        "UPDATE commentary SET body = ?, origin = ?, created_at = ?, updated_at = ? WHERE id = ?",
        (f"{PROJECT}\n\n{PARAGRAPH}", note, stamp, stamp, keeper),
    )
    await db.execute("UPDATE papers SET links = '[]' WHERE id = ?", (paper.id,))
    for origin, body, body_en in (
        (copy, PARAGRAPH.replace(" 카메라 포즈 없는", "\n카메라  포즈 없는"), paper.commentary[0].body_en),
        (digest, PARAGRAPH, ""),
    ):
        await db.execute(
            "INSERT INTO commentary (paper_id, body, body_en, author, origin, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (paper.id, body, body_en, "curator", origin, stamp, stamp),
        )
    await undo_migrations_from_5(db)
    await db.conn.execute("PRAGMA user_version=4")
    assert await db.fetchval("SELECT count(*) FROM commentary WHERE paper_id = ?", (paper.id,)) == 3
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() >= 5
        repaired = await resolve_paper(db, "2407.07860")
        assert repaired is not None
        assert [c.body for c in repaired.commentary] == [PARAGRAPH]
        assert repaired.commentary[0].id == keeper
        assert repaired.commentary[0].body_en.startswith("It conditions")
        assert repaired.commentary[0].created_at.date().isoformat() == "2024-07-10"
        assert repaired.links == [PROJECT]
        count = await db.fetchval(
            "SELECT count(*) FROM commentary_sources WHERE commentary_id = ?", (keeper,)
        )
        assert count == 3
        hits = await db.fetchval("SELECT count(*) FROM paper_fts WHERE paper_fts MATCH '\"pose\"'")
        assert hits >= 1
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
