"""Fuzzing ingest: whatever bytes arrive, no exception escapes and a rejected file stores nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.ingest.pipeline import ingest_upload
from bot.store.db import Database
from tests.notes import DIGEST, NOTE_4DIM

TABLES = ("papers", "commentary", "tags", "paper_tags", "entries", "sources", "paper_fts")

lines = st.sampled_from(DIGEST.splitlines() + NOTE_4DIM.splitlines() + ["", "#", "(", ")", "> ", "<english>"])
documents = st.one_of(
    st.lists(lines, max_size=25).map("\n".join),
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


async def _counts(db: Database) -> dict[str, int]:
    return {t: int(await db.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, name=st.sampled_from(["d.txt", "240711 note.md", "x.md"]), as_bytes=st.booleans())
async def test_fuzzed_uploads_store_all_or_nothing(
    db: Database, document: str, name: str, as_bytes: bool
) -> None:
    data = document.encode("utf-8") if not as_bytes else document.encode("utf-16")
    before = await _counts(db)
    report = await ingest_upload(db, data, name)
    after = await _counts(db)
    if not report.ok:
        assert after == before, report.errors
        assert all(e.path == name and e.message for e in report.errors)
    else:
        assert after["sources"] >= before["sources"]
    assert await db.fetchval("PRAGMA foreign_key_check") is None
