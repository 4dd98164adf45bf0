"""Shared fixtures: a migrated database per test, and the path to the shared corpus when present."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.db import Database

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's endpoint or token; embeddings are opt-in per test."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERBOT_LLM_MODEL", "DISCORD_TOKEN", "PAPERBOT_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS", "none")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "paperbot.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return SHARED_CORPUS


pytest_plugins = ["tests.fakediscord.fixtures", "tests.botenv", "tests.fakeopenai"]
