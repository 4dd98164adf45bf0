"""Pytest fixtures: ``fake_discord`` and ``run_bot``.

Enable with ``pytest_plugins = ["tests.fakediscord.fixtures"]`` (root conftest or a test module) and use::

    async def test_ping(fake_discord, run_bot):
        async with run_bot(make_bot) as handle:          # make_bot() -> commands.Bot (or pass an instance)
            rec = await fake_discord.slash("ping")
            assert rec.text == "pong"
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from .runner import BotFactory, BotHandle, running_bot
from .server import FakeDiscord
from .spec import STATS, spec_checker, spec_path

_SPEC_MISSING = (
    "fakediscord: Discord's OpenAPI spec is not at {path}; request bodies are NOT validated against it "
    "(only the documented limits in validate.py are checked)"
)


def spec_status() -> str:
    """One line saying whether request bodies are validated against the spec, and which file."""
    if spec_checker() is None:
        return _SPEC_MISSING.format(path=spec_path())
    return f"fakediscord: validating request bodies against {spec_path()}"


def pytest_report_header(config: pytest.Config) -> str:
    return spec_status()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if spec_checker() is None:
        terminalreporter.write_line(_SPEC_MISSING.format(path=spec_path()))
        return
    terminalreporter.write_line(
        f"fakediscord: validated {STATS.validated} request bodies against Discord's OpenAPI spec "
        f"({len(STATS.routes)} routes); {STATS.violations} rejected (tests that send bad bodies on purpose included)"
    )
    report = os.environ.get("FAKEDISCORD_STATS")
    if report:
        Path(report).write_text(
            json.dumps(
                {"validated": STATS.validated, "violations": STATS.violations, "routes": STATS.routes},
                indent=1,
                sort_keys=True,
            )
        )


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` with the default guild; closed after the test.

    At teardown the test fails if the bot sent any body Discord would reject (the spec or the
    documented limits), naming each field; a test that sends one on purpose clears ``fake.violations``.
    """
    if spec_checker() is None:
        warnings.warn(_SPEC_MISSING.format(path=spec_path()), stacklevel=1)
    async with FakeDiscord() as fake:
        yield fake
    fake.check_violations()


@pytest.fixture
def run_bot(fake_discord: FakeDiscord) -> Callable[..., contextlib.AbstractAsyncContextManager[BotHandle]]:
    """``async with run_bot(make_bot, **options) as handle:`` runs a bot against ``fake_discord``."""

    def _run(
        bot: discord.Client | BotFactory, **options: Any
    ) -> contextlib.AbstractAsyncContextManager[BotHandle]:
        return running_bot(fake_discord, bot, **options)

    return _run
