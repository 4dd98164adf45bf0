"""Export to Markdown notes and ingest them back: the same papers, commentary and tags."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.domain.arxiv import arxiv_url
from bot.services.ingest.edits import add_commentary
from bot.services.ingest.pipeline import ingest_paths
from bot.services.ops.export import ExportReport, export_vault, render_note, safe_title
from bot.store.db import Database
from bot.store.papers import resolve_paper
from tests.notes import DIGEST, NOTE_4DIM, NOTE_NO_ARXIV, SIX_ENTRIES, make_digest, write


@dataclass(frozen=True)
class PaperView:
    """Everything about a paper a note carries, with its commentaries joined as a note writes them."""

    arxiv_id: str | None
    title: str
    authors: tuple[str, ...]
    abstract: str
    link: str | None  # arXiv abs URL, else the source URL: the line a note starts with
    first_seen: str | None
    links: tuple[str, ...]
    commentary: str
    commentary_en: str
    tags: tuple[tuple[str, str], ...]  # (key, display)


async def snapshot(db: Database) -> dict[str, PaperView]:
    """Papers keyed by arXiv id, or by title key when they have none."""
    views: dict[str, PaperView] = {}
    for row in await db.fetchall("SELECT * FROM papers ORDER BY id"):
        notes = await db.fetchall(
            "SELECT body, body_en FROM commentary WHERE paper_id = ? ORDER BY created_at, id", (row["id"],)
        )
        tags = await db.fetchall(
            "SELECT t.key, t.display FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE pt.paper_id = ? ORDER BY t.key",
            (row["id"],),
        )
        arxiv_id = row["arxiv_id"]
        key = arxiv_id or f"title:{row['title_key']}"
        assert key not in views, f"two papers share the key {key}"
        views[key] = PaperView(
            arxiv_id=arxiv_id,
            title=row["title"],
            authors=tuple(json.loads(row["authors"])),
            abstract=row["abstract"],
            link=arxiv_url(arxiv_id) if arxiv_id else row["url"],
            first_seen=row["first_seen"],
            links=tuple(json.loads(row["links"])),
            commentary="\n\n".join(n["body"].strip() for n in notes if n["body"].strip()),
            commentary_en="\n\n".join(n["body_en"].strip() for n in notes if n["body_en"].strip()),
            tags=tuple((t["key"], t["display"]) for t in tags),
        )
    return views


def differences(before: dict[str, PaperView], after: dict[str, PaperView]) -> list[str]:
    """Every field that did not come back, one line each, for a readable failure."""
    lines = [f"missing after re-import: {key}" for key in before.keys() - after.keys()]
    lines += [f"new after re-import: {key}" for key in after.keys() - before.keys()]
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key], after[key]
        for name in PaperView.__dataclass_fields__:
            if getattr(old, name) != getattr(new, name):
                lines.append(f"{key} {name}: {getattr(old, name)!r} -> {getattr(new, name)!r}")
    return lines


async def round_trip(db: Database, tmp_path: Path) -> tuple[ExportReport, Database]:
    """Export ``db`` to ``tmp_path/export`` and ingest that folder into a new database (caller closes it)."""
    report = await export_vault(db, tmp_path / "export")
    fresh = await Database.open(tmp_path / "reimported.db")
    ingested = await ingest_paths(fresh, [tmp_path / "export"])
    assert ingested.ok, [str(e) for e in ingested.errors]
    assert ingested.files == report.notes
    return report, fresh


async def test_sample_notes_round_trip(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "in/240711 Controlling Space and Time.md", NOTE_4DIM)
    write(tmp_path, "in/Scaling.md", NOTE_NO_ARXIV)  # no date in the name: first_seen stays empty
    write(tmp_path, "in/2024-07-11.txt", DIGEST)
    write(tmp_path, "in/2024-07-12.txt", make_digest("2024-07-12", SIX_ENTRIES))
    assert (await ingest_paths(db, [tmp_path / "in"])).ok

    report, fresh = await round_trip(db, tmp_path)
    try:
        assert differences(await snapshot(db), await snapshot(fresh)) == []
    finally:
        await fresh.close()
    assert report.notes == 9
    assert report.undated == 1
    assert report.merged_commentary == report.member_commentary == 0
    names = {p.relative_to(tmp_path / "export").as_posix() for p in report.paths}
    assert "2024/240711 Controlling Space and Time with Diffusion Models.md" in names
    assert "2024/240712 Sparse Mixture of Experts Revisited.md" in names
    assert "undated/Scaling Notes Without Ids.md" in names


async def test_note_text(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "240711 4DiM.md", NOTE_4DIM)
    await ingest_paths(db, [tmp_path])
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None
    paper.links = ["Diffusion Models", "4D"]
    assert render_note(paper) == (
        "https://arxiv.org/abs/2407.07860\n\n"
        "*Controlling Space and Time with Diffusion Models* "
        "(Daniel Watson, Saurabh Saxena, Lala Li, Andrea Tagliasacchi)\n\n"
        "> We present 4DiM, a cascaded diffusion model for 4D novel view synthesis. "
        "We advocate joint training on 3D, 4D and video data.\n\n"
        "카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요.\n\n"
        "<english>\nIt conditions on camera pose and time, and also trains on video without poses.\n"
        "</english>\n\n"
        "#diffusion #neural-rendering #video\n\n"
        "# Links\n[[Diffusion Models]]\n[[4D]]\n"
    )


TRICKY = """https://arxiv.org/abs/2401.00001

Q* (Star) Learning: Stars and (Parens) (Jane Doe (MIT), Chulsoo Kim, O'Neil)

> First abstract paragraph,
> wrapped onto a second line.
>
> Second paragraph with a [[Wiki Link]] inside.

첫 번째 코멘트 문단. [[Inline Note]] 참고.

두 번째 문단입니다.

#Small_Models #LLM #rl.

# Links
[[Inline Note]]
[[Another Note]]
"""

ENGLISH_ONLY = """https://example.com/blog/post

*A Blog Post Without an arXiv Id*

<english>
Only an English commentary here.

It has two paragraphs.
</english>

#blog
"""


async def test_tricky_notes_round_trip(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "in/240101 Tricky.md", TRICKY)
    write(tmp_path, "in/240102 Blog.md", ENGLISH_ONLY)
    assert (await ingest_paths(db, [tmp_path / "in"])).ok
    before = await snapshot(db)
    tricky = before["2401.00001"]
    assert tricky.title == "Q* (Star) Learning: Stars and (Parens)"
    assert tricky.authors == ("Jane Doe (MIT)", "Chulsoo Kim", "O'Neil")
    assert ("small-models", "Small_Models") in tricky.tags
    report, fresh = await round_trip(db, tmp_path)
    try:
        assert differences(before, await snapshot(fresh)) == []
    finally:
        await fresh.close()
    assert report.inexact == {}
    names = {p.name for p in report.paths}
    assert names == {
        "240101 Q (Star) Learning Stars and (Parens).md",
        "240102 A Blog Post Without an arXiv Id.md",
    }
    # "*Q* (Star) ...* (authors)" would read back as the title "Q": the plain "Title (Authors)" line is used.
    text = report.paths[0].read_text(encoding="utf-8")
    assert "\n\nQ* (Star) Learning: Stars and (Parens) (Jane Doe (MIT), Chulsoo Kim, O'Neil)\n\n" in text


async def test_notes_that_cannot_read_back_exactly_are_reported(db: Database, tmp_path: Path) -> None:
    # A digest keeps a title's double space; a note's title line is read with spaces collapsed.
    write(tmp_path, "2024-07-12.txt", make_digest("2024-07-12", [("Two  Spaces Title", ["llm"])]))
    assert (await ingest_paths(db, [tmp_path / "2024-07-12.txt"])).ok
    paper = await resolve_paper(db, "Two  Spaces Title")
    assert paper is not None
    report = await export_vault(db, tmp_path / "out")
    assert report.inexact == {paper.id: ["title"]}
    assert "1 notes that will not read back exactly" in report.summary()


async def test_several_commentaries_come_back_one_by_one_with_authors_and_dates(
    db: Database, tmp_path: Path
) -> None:
    write(tmp_path, "in/240711 4DiM.md", NOTE_4DIM)
    write(tmp_path, "in/240712 4DiM again.md", NOTE_4DIM.replace("학습했군요.", "다시 읽어 보니 좋네요."))
    await ingest_paths(db, [tmp_path / "in"])
    paper = await resolve_paper(db, "2407.07860")
    assert paper is not None
    await add_commentary(
        db, paper.id, "멤버의 의견입니다.", author="member", author_id=42, body_en="A member."
    )
    before = await snapshot(db)
    rows_before = await commentary_rows(db)

    report, fresh = await round_trip(db, tmp_path)
    try:
        assert differences(before, await snapshot(fresh)) == []
        assert await commentary_rows(fresh) == rows_before
        again = await resolve_paper(fresh, "2407.07860")
        assert again is not None
        assert [c.author for c in again.commentary] == ["curator", "curator", "member"]
        assert [c.created_at.date().isoformat() for c in again.commentary][:2] == ["2024-07-11", "2024-07-12"]
        assert await fresh.fetchval("SELECT author_id FROM commentary WHERE author = 'member'") == 42
        assert await entry_rows(fresh) == await entry_rows(db)
    finally:
        await fresh.close()
    assert report.inexact == {}


async def commentary_rows(db: Database) -> list[tuple[object, ...]]:
    """Every commentary as (paper, author, author id, body, English, created, updated), sorted."""
    rows = await db.fetchall(
        "SELECT coalesce(p.arxiv_id, p.title_key) AS paper, c.author, c.author_id, c.body, c.body_en, "
        "c.created_at, c.updated_at FROM commentary c JOIN papers p ON p.id = c.paper_id"
    )
    return sorted(tuple(r) for r in rows)


async def entry_rows(db: Database) -> list[tuple[object, ...]]:
    rows = await db.fetchall(
        "SELECT coalesce(p.arxiv_id, p.title_key), e.digest_date FROM entries e JOIN papers p ON p.id = e.paper_id"
    )
    return sorted(tuple(r) for r in rows)


async def test_file_names_are_safe_and_unique(db: Database, tmp_path: Path) -> None:
    long_title = "아주 긴 제목 " * 40
    notes = {
        "240301 a.md": "https://arxiv.org/abs/2403.00001\n\n*Same Title*\n\n#a\n",
        "240301 b.md": "https://arxiv.org/abs/2403.00002\n\n*Same Title*\n\n#b\n",
        "240302 c.md": "https://arxiv.org/abs/2403.00003\n\n*What/Why: a <Study>? #1 | [x]*\n\n#c\n",
        "240303 d.md": f"https://arxiv.org/abs/2403.00004\n\n*{long_title}*\n\n#d\n",
        "e.md": "*...Hidden Dots*\n\n#e\n",
        "f.md": "*200101 Looks Dated*\n\n#f\n",
    }
    for name, text in notes.items():
        write(tmp_path, f"in/{name}", text)
    assert (await ingest_paths(db, [tmp_path / "in"])).ok
    before = await snapshot(db)
    report, fresh = await round_trip(db, tmp_path)
    try:
        assert differences(before, await snapshot(fresh)) == []
    finally:
        await fresh.close()
    names = sorted(p.relative_to(tmp_path / "export").as_posix() for p in report.paths)
    assert names[:3] == [
        "2024/240301 Same Title (2).md",
        "2024/240301 Same Title.md",
        "2024/240302 What Why a Study 1 x.md",
    ]
    assert names[4:] == ["undated/Hidden Dots.md", "undated/_200101 Looks Dated.md"]
    assert len(Path(names[3]).name.encode()) <= 160
    assert report.renamed == 1
    assert safe_title("CON") == "_CON"
    assert safe_title(" .. ") == "untitled"


async def test_export_of_empty_database(db: Database, tmp_path: Path) -> None:
    report = await export_vault(db, tmp_path / "out")
    assert (report.notes, report.paths) == (0, [])
    assert "0 notes" in report.summary()


async def test_real_corpus_round_trip(shared_corpus: Path, db: Database, tmp_path: Path) -> None:
    """The whole real vault and digest: export, re-import, and compare every paper field by field."""
    assert (await ingest_paths(db, [shared_corpus])).papers_new > 3500
    before = await snapshot(db)
    rows_before, entries_before = await commentary_rows(db), await entry_rows(db)
    report, fresh = await round_trip(db, tmp_path)
    try:
        after = await snapshot(fresh)
        rows_after, entries_after = await commentary_rows(fresh), await entry_rows(fresh)
        second = await export_vault(fresh, tmp_path / "second")
    finally:
        await fresh.close()
    assert differences(before, after) == []
    # every commentary row (author, text, dates) and every digest entry comes back
    assert len(rows_after) == len(rows_before) and rows_after == rows_before
    assert entries_after == entries_before
    assert report.inexact == {}
    assert report.notes == len(before)
    # Exporting the re-imported database gives the same file names and the same bytes.
    first_files = {p.relative_to(report.target): p.read_bytes() for p in report.paths}
    second_files = {p.relative_to(second.target): p.read_bytes() for p in second.paths}
    assert first_files.keys() == second_files.keys()
    relaid = [name for name, data in first_files.items() if second_files[name] != data]
    assert relaid == []
    # The only field compared through its canonical form: a paper with an arXiv id always reads back
    # with the arXiv abs URL, so a source URL a later note gave it (a PDF mirror) is not kept.
    rows = await db.fetchall(
        "SELECT arxiv_id, url FROM papers WHERE arxiv_id IS NOT NULL AND url IS NOT 'https://arxiv.org/abs/' || arxiv_id"
    )
    assert len(rows) <= 2, [tuple(r) for r in rows]
