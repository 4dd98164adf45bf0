"""Pytest fixtures: ``fake_discord`` and ``run_bot``.

Enable with ``pytest_plugins = ["tests.fakediscord.fixtures"]`` (root conftest or a test module) and use::

    async def test_ping(fake_discord, run_bot):
        async with run_bot(make_bot) as handle:          # make_bot() -> commands.Bot (or pass an instance)
            rec = await fake_discord.slash("ping")
            assert rec.text == "pong"
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest

from .runner import BotFactory, BotHandle, running_bot
from .server import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` with the default guild; closed after the test."""
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def run_bot(fake_discord: FakeDiscord) -> Callable[..., contextlib.AbstractAsyncContextManager[BotHandle]]:
    """``async with run_bot(make_bot, **options) as handle:`` runs a bot against ``fake_discord``."""

    def _run(
        bot: discord.Client | BotFactory, **options: Any
    ) -> contextlib.AbstractAsyncContextManager[BotHandle]:
        return running_bot(fake_discord, bot, **options)

    return _run
