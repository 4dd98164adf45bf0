"""Logging levels: -v shows paperbot's debug detail, not every library's."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers = root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in ("", "bot", "discord")}
    yield
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_verbose_shows_paperbots_debug_lines_but_not_the_libraries() -> None:
    setup_logging(verbose=True)
    assert logging.getLogger("bot.services.search.retrieval").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG), "one line per SQL statement"
    assert logging.getLogger("openai").isEnabledFor(logging.INFO)
    setup_logging(verbose=False)
    assert not logging.getLogger("bot").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("bot").isEnabledFor(logging.INFO)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.INFO)
