"""A paperbot wired to the fake Discord: settings, a database with test notes, a controllable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import PaperBot, Services
from bot.services.answers.answerer import Answerer
from bot.services.answers.llm import LLM
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.retrieval import Retriever
from bot.settings import Settings, settings_from
from bot.store.db import Database
from tests.fakediscord import FakeDiscord
from tests.notes import DIGEST, NOTE_4DIM, write

DAY = dt.date(2024, 7, 11)


@dataclass
class Clock:
    """A clock the test moves by hand; services read it instead of the wall clock."""

    # Before the 09:00 digest slot, so start-up catch-up has nothing to post unless a test moves it.
    now: dt.datetime = field(default_factory=lambda: dt.datetime(2024, 7, 11, 8, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class BotEnv:
    fake: FakeDiscord
    db: Database
    settings: Settings
    clock: Clock
    root: Path

    scheduled: bool = False
    llm: LLM | None = None

    def make_bot(self) -> PaperBot:
        scheduler = AsyncIOScheduler(timezone=self.settings.tz) if self.scheduled else None
        retriever = Retriever(self.db)
        answerer = Answerer(self.db, retriever, self.llm)
        return PaperBot(
            Services(
                self.settings,
                self.db,
                clock=self.clock,
                scheduler=scheduler,
                retriever=retriever,
                answerer=answerer,
            )
        )

    async def route(self, tag: str, channel: str) -> None:
        from bot.services.digest.routes import set_route

        await set_route(self.db, self.fake.guild_id, tag, self.fake.channel_id(channel))

    async def fallback(self, channel: str) -> None:
        from bot.services.digest.routes import update_guild_config

        await update_guild_config(
            self.db, self.fake.guild_id, fallback_channel_id=self.fake.channel_id(channel)
        )

    async def ingest_sample(self) -> None:
        write(self.root, "notes/240711 Controlling Space and Time.md", NOTE_4DIM)
        write(self.root, "notes/2024-07-11.txt", DIGEST)
        report = await ingest_paths(self.db, [self.root / "notes"])
        assert report.ok, report.errors


def make_settings(fake: FakeDiscord, db_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "discord_token": "fake-token",
        "db": db_path,
        "dev_guild_id": fake.guild_id,
        "moderator_role": "Moderator",
        "log_channel_id": fake.channel_id("mod-log"),
        "timezone": "UTC",
        "digest_time": dt.time(9, 0),
        "embeddings": "none",
    }
    values.update(overrides)
    return settings_from(**values)


@pytest.fixture
async def env(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[BotEnv]:
    db = await Database.open(tmp_path / "bot.db")
    try:
        yield BotEnv(fake_discord, db, make_settings(fake_discord, tmp_path / "bot.db"), Clock(), tmp_path)
    finally:
        await db.close()
