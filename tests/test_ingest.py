from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.services.ingest.pipeline import forget_deleted, ingest_paths, ingest_upload
from bot.store.db import Database
from bot.store.papers import get_paper, resolve_paper
from tests.notes import DIGEST, NOTE_4DIM, NOTE_NO_ARXIV, write


async def _count(db: Database, table: str) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


async def test_vault_note_and_digest_are_one_paper(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "vault/2024/240711 Controlling Space and Time.md", NOTE_4DIM)
    write(tmp_path, "vault/2024/240711 Controlling Space and Time 1.md", NOTE_4DIM)
    write(tmp_path, "digests/2024-07-11.txt", DIGEST.replace("Controlling Space", "Controlling  space"))
    report = await ingest_paths(db, [tmp_path])
    assert report.ok, report.errors
    assert report.papers_new == 2
    assert await _count(db, "papers") == 2
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None
    # the digest has no arXiv id: matched by normalised title to the vault's paper
    assert paper.tags == ["diffusion", "neural-rendering", "video"]
    assert len(paper.commentary) == 1, "identical commentary from the duplicate and the digest is kept once"
    assert paper.commentary[0].body_en.startswith("It conditions on camera pose")
    assert "Andrea Tagliasacchi" in paper.authors


async def test_reingest_is_idempotent_and_skips_unchanged(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "n/240711 A.md", NOTE_4DIM)
    write(tmp_path, "d.txt", DIGEST)
    await ingest_paths(db, [tmp_path])
    before = {t: await _count(db, t) for t in ("papers", "commentary", "paper_tags", "entries", "paper_fts")}
    again = await ingest_paths(db, [tmp_path])
    assert again.files_unchanged == 2
    assert again.papers_new == again.papers_updated == 0
    after = {t: await _count(db, t) for t in before}
    assert after == before


async def test_edited_note_updates_paper_and_keeps_revision(db: Database, tmp_path: Path) -> None:
    note = write(tmp_path, "240711 A.md", NOTE_4DIM)
    await ingest_paths(db, [note])
    note.write_text(NOTE_4DIM.replace("같이 학습했군요.", "같이 학습했다고 합니다."), encoding="utf-8")
    report = await ingest_paths(db, [note])
    assert (report.papers_new, report.papers_updated) == (0, 1)
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None and paper.commentary[0].body.endswith("학습했다고 합니다.")
    assert await _count(db, "commentary_revisions") == 1
    assert await db.fetchval("SELECT count(*) FROM paper_fts WHERE paper_fts MATCH '\"합니\"'") == 1


async def test_paper_without_arxiv_id_is_identified_by_title(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "a/240101 Scaling.md", NOTE_NO_ARXIV)
    write(tmp_path, "b/240301 Scaling again.md", NOTE_NO_ARXIV.replace("*Scaling Notes", "*scaling notes"))
    await ingest_paths(db, [tmp_path])
    assert await _count(db, "papers") == 1
    row = await db.fetchone("SELECT arxiv_id, first_seen, last_seen FROM papers")
    assert row is not None and row["arxiv_id"] is None
    assert (row["first_seen"], row["last_seen"]) == ("2024-01-01", "2024-03-01")


async def test_bad_files_are_reported_and_store_nothing(db: Database, tmp_path: Path) -> None:
    good = write(tmp_path, "240711 Good.md", NOTE_4DIM)
    latin = tmp_path / "bad-latin1.txt"
    latin.write_bytes("2024-07-11\nCaf\xe9 paper\n".encode("latin-1"))
    binary = tmp_path / "240711 binary.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    empty = write(tmp_path, "240712 empty.md", "   \n")
    broken = write(tmp_path, "broken.txt", "2024-07-11\nA title with no authors line\n#tag\n")
    report = await ingest_paths(db, [good, latin, binary, empty, broken, tmp_path / "missing.md"])
    assert not report.ok
    assert report.files_failed == 5
    by_path = {Path(e.path).name: e for e in report.errors}
    assert by_path["bad-latin1.txt"].line == 2
    assert "UTF-8" in by_path["bad-latin1.txt"].message
    assert "binary" in by_path["240711 binary.md"].message
    assert "empty" in by_path["240712 empty.md"].message
    assert by_path["broken.txt"].line is not None
    assert "missing.md" in by_path
    assert await _count(db, "papers") == 1
    assert await _count(db, "sources") == 1


async def test_upload_rejected_when_any_entry_is_broken(db: Database) -> None:
    broken = DIGEST + "Dangling title without authors\n#x\n"
    report = await ingest_upload(db, broken.encode(), "2024-07-11.txt")
    assert not report.ok and report.errors
    assert await _count(db, "papers") == 0
    report = await ingest_upload(db, DIGEST.encode(), "2024-07-11.txt")
    assert report.ok and report.papers_new == 2
    assert await _count(db, "entries") == 2


async def test_failure_mid_write_leaves_no_half_file(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "d.txt", DIGEST)
    # A trigger that fails on the second paper simulates the disk filling up mid-file.
    await db.conn.execute(
        "CREATE TEMP TRIGGER fail_second BEFORE INSERT ON entries WHEN new.position = 1 "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await ingest_paths(db, [tmp_path])
    for table in ("papers", "commentary", "paper_tags", "entries", "sources", "paper_fts"):
        assert await _count(db, table) == 0, table
    assert db.fts_live


async def test_show_paper_round_trip(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "240711 A.md", NOTE_4DIM)
    await ingest_paths(db, [tmp_path])
    paper = await resolve_paper(db, "https://arxiv.org/abs/2407.07860v2")
    assert paper is not None
    same = await get_paper(db, paper.id)
    assert same == paper
    assert paper.link == "https://arxiv.org/abs/2407.07860"


async def _tags(db: Database, arxiv_id: str) -> list[str]:
    paper = await resolve_paper(db, arxiv_id)
    assert paper is not None
    return paper.tags


async def _fts_tag_hits(db: Database, word: str) -> int:
    return int(
        await db.fetchval("SELECT count(*) FROM paper_fts WHERE paper_fts MATCH ?", (f'tags:"{word}"',))
    )


async def test_a_tag_deleted_from_a_note_leaves_the_paper_unless_another_file_lists_it(
    db: Database, tmp_path: Path
) -> None:
    note = write(tmp_path, "vault/240711 A.md", NOTE_4DIM)
    write(tmp_path, "digests/2024-07-11.txt", DIGEST)  # lists #neural-rendering #diffusion, not #video
    await ingest_paths(db, [tmp_path])
    assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering", "video"]

    note.write_text(NOTE_4DIM.replace(" #diffusion #video", ""), encoding="utf-8")
    report = await ingest_paths(db, [tmp_path])

    assert (report.papers_new, report.papers_updated) == (0, 1)
    assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering"], (
        "the digest still lists #diffusion"
    )
    assert await _fts_tag_hits(db, "video") == 0, "search by the deleted tag no longer finds the paper"
    assert await _fts_tag_hits(db, "diffusion") == 1

    note.write_text(NOTE_4DIM, encoding="utf-8")  # the curator puts it back
    await ingest_paths(db, [tmp_path])
    assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering", "video"]


async def test_tags_of_a_database_from_before_tag_sources_are_credited_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    note = write(tmp_path, "vault/240711 A.md", NOTE_4DIM)
    db = await Database.open(path)
    await ingest_paths(db, [note])
    # Put the database back to schema 3, as a paperbot from before tag and entry sources left it.
    await db.execute("DROP TABLE tag_sources")
    await db.execute("DROP TABLE entry_sources")
    await undo_migrations_from_5(db)
    await db.conn.execute("PRAGMA user_version=3")
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.fetchval("SELECT count(*) FROM tag_sources") == 3
        assert await db.fetchval("SELECT count(*) FROM entry_sources") == 1
        note.write_text(NOTE_4DIM.replace(" #video", ""), encoding="utf-8")
        await ingest_paths(db, [note])
        assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering"]
    finally:
        await db.close()


async def undo_migrations_from_5(db: Database) -> None:
    """Take away what migrations 5 and later added (newest first), so a test can stand a database at
    schema 4 or older; the upgrade then runs them all again."""
    for statement in (
        "DROP TABLE lexicon",  # 8
        "DROP TABLE lexicon_state",
        "DROP TABLE foryou_prefs",  # 7
        "DROP TABLE member_profiles",
        "DROP TABLE foryou_shown",
        "DROP TABLE foryou_dms",
        "ALTER TABLE chunks DROP COLUMN field",  # 6
        "DROP INDEX dm_deliveries_open",  # 5
        "ALTER TABLE dm_deliveries DROP COLUMN attempts",
        "DROP TABLE upload_removals",
        "DROP TABLE commentary_sources",
    ):
        await db.execute(statement)


async def _entries(db: Database, day: str) -> list[str]:
    rows = await db.fetchall(
        "SELECT p.title FROM entries e JOIN papers p ON p.id = e.paper_id WHERE e.digest_date = ? ORDER BY p.title",
        (day,),
    )
    return [r["title"] for r in rows]


async def test_an_entry_deleted_from_a_digest_before_it_is_posted_is_not_posted(
    db: Database, tmp_path: Path
) -> None:
    write(tmp_path, "vault/240711 A.md", NOTE_4DIM)  # the vault also lists 4DiM on 2024-07-11
    digest = write(tmp_path, "digests/2024-07-11.txt", DIGEST)
    await ingest_paths(db, [tmp_path])
    both = ["A Tiny Language Model Study", "Controlling Space and Time with Diffusion Models"]
    assert await _entries(db, "2024-07-11") == both

    tiny_entry = DIGEST[DIGEST.index("A Tiny Language Model Study") :]
    digest.write_text(DIGEST.replace(tiny_entry, ""), encoding="utf-8")
    assert (await ingest_paths(db, [digest])).ok
    assert await _entries(db, "2024-07-11") == both[1:]
    assert await resolve_paper(db, "A Tiny Language Model Study") is not None, "the paper itself stays"

    # Dropping 4DiM from the digest too: the vault note still lists it for that day.
    digest.write_text("2024년 7월 11일\n" + tiny_entry, encoding="utf-8")
    await ingest_paths(db, [digest])
    assert await _entries(db, "2024-07-11") == both


async def test_an_entry_already_posted_stays_when_deleted_from_its_digest(
    db: Database, tmp_path: Path
) -> None:
    digest = write(tmp_path, "2024-07-11.txt", DIGEST)
    await ingest_paths(db, [digest])
    tiny = await resolve_paper(db, "A Tiny Language Model Study")
    assert tiny is not None
    await db.execute(
        "INSERT INTO posts (paper_id, guild_id, channel_id, digest_date, nonce, state, created_at)"
        " VALUES (?, 1, 2, '2024-07-11', 'n1', 'sent', 'x')",
        (tiny.id,),
    )
    digest.write_text(DIGEST[: DIGEST.index("A Tiny Language Model Study")], encoding="utf-8")
    await ingest_paths(db, [digest])
    assert "A Tiny Language Model Study" in await _entries(db, "2024-07-11")


async def test_a_note_deleted_from_the_vault_is_retracted(db: Database, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    note = write(vault, "2024/240711 A.md", NOTE_4DIM)
    digest = write(vault, "2024-07-11.txt", DIGEST)
    await ingest_paths(db, [vault])
    commentary = await _count(db, "commentary")

    note.unlink()
    assert await forget_deleted(db, vault) == [str(note)]
    assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering"], (
        "#video came only from the note"
    )
    assert await _entries(db, "2024-07-11") == [
        "A Tiny Language Model Study",
        "Controlling Space and Time with Diffusion Models",
    ], "the digest still lists both"
    assert await _count(db, "commentary") == commentary, "commentary stays for a moderator to edit"

    digest.unlink()
    write(vault, "notes/other.md", NOTE_NO_ARXIV)  # the vault is not empty: these are real deletions
    assert await forget_deleted(db, vault) == [str(digest)]
    assert await _entries(db, "2024-07-11") == []
    assert await forget_deleted(db, vault) == [], "nothing left to retract"

    write(vault, "2024-07-11.txt", DIGEST)  # put back: ingested again as new
    await ingest_paths(db, [vault])
    assert len(await _entries(db, "2024-07-11")) == 2


async def test_a_vanished_vault_is_not_taken_for_deletions(db: Database, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    for day in range(1, 16):
        write(vault, f"2407{day:02} note {day}.md", NOTE_4DIM.replace("2407.07860", f"2407.{day:05}"))
    await ingest_paths(db, [vault])
    before = await _count(db, "paper_tags")

    for path in sorted(vault.iterdir())[:12]:  # 12 of 15 gone at once: an accident, not edits
        path.unlink()
    assert await forget_deleted(db, vault) == []
    for path in vault.iterdir():
        path.unlink()
    vault.rmdir()  # unmounted
    assert await forget_deleted(db, vault) == []
    assert await _count(db, "paper_tags") == before


async def test_a_renamed_vault_note_keeps_its_tags_entries_and_commentary(
    db: Database, tmp_path: Path
) -> None:
    vault = tmp_path / "vault"
    note = write(vault, "240711 A.md", NOTE_4DIM)
    write(vault, "240711 B.md", NOTE_NO_ARXIV.replace("블로그", "또 다른 블로그"))
    await ingest_paths(db, [vault])
    before = {t: await _count(db, t) for t in ("paper_tags", "entries", "commentary")}

    note.rename(vault / "240711 Controlling Space and Time.md")
    await ingest_paths(db, [vault])
    assert await forget_deleted(db, vault) == [str(note)]

    assert {t: await _count(db, t) for t in before} == before
    assert await _tags(db, "2407.07860") == ["diffusion", "neural-rendering", "video"]
