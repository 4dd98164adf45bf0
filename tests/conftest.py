"""Shared fixtures: a migrated database per test, and the path to the shared corpus when present."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.db import Database

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


# Variables a developer's shell may set for their own bot; no test may see them.
FOREIGN_ENV_PREFIXES = ("PAPERBOT_", "OPENAI_", "DISCORD_")


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never see a developer's token, endpoint or `.env`; embeddings are opt-in per test.

    The working folder is an empty one, so neither this process nor the CLI processes tests start can
    read a `.env` from the checkout.
    """
    for name in list(os.environ):
        if name.startswith(FOREIGN_ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERBOT_EMBEDDINGS", "none")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


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
