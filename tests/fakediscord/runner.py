"""Run a real discord.py bot against :class:`FakeDiscord`: URL patching, start/ready/close, error capture."""

# Waits take an explicit ``timeout`` on purpose: a silent bot must fail fast, never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from .records import BotError, running_handler_tasks
from .server import FakeDiscord

BotFactory = Callable[[], discord.Client | Awaitable[discord.Client]]


@contextlib.contextmanager
def point_discord_at(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at ``fake`` (process-wide), restoring on exit."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


class _ErrorLogHandler(logging.Handler):
    """Collects exceptions discord.py only logs ("Ignoring exception in ...")."""

    def __init__(self, sink: Callable[[BaseException], None]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if (
            record.exc_info
            and record.exc_info[1] is not None
            and str(record.msg).startswith("Ignoring exception")
        ):
            self.sink(record.exc_info[1])


@dataclass
class BotHandle:
    """A running bot: ``handle.bot``, collected ``handle.errors`` and :meth:`drain`."""

    bot: discord.Client
    fake: FakeDiscord
    errors: list[BaseException] = field(default_factory=list)

    def _record(self, exc: BaseException) -> None:
        if not any(e is exc for e in self.errors):
            self.errors.append(exc)
            self.fake.signal.report_error(exc)

    def _on_runner_done(self, task: asyncio.Task[None]) -> None:
        """The gateway loop died (e.g. a parse error in discord.py): fail waiting tests immediately."""
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            self._record(exc)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for discord.py's handler tasks (slash/view/modal/event) that are currently running."""
        pending = running_handler_tasks()
        if pending:
            await asyncio.wait(pending, timeout=timeout)


def _install_error_hooks(handle: BotHandle) -> Callable[[], None]:
    tree = getattr(handle.bot, "tree", None)
    restore: list[Callable[[], None]] = []
    if tree is not None:
        original = tree.on_error

        # A bot may declare some errors expected (refusals, bad input it answers itself): not failures.
        expected = getattr(handle.bot, "is_expected_error", None)

        async def on_error(interaction: discord.Interaction[Any], error: Exception, /) -> None:
            if expected is None or not expected(error):
                handle._record(error)
            await original(interaction, error)

        tree.on_error = on_error
        restore.append(lambda: setattr(tree, "on_error", original))
    handler = _ErrorLogHandler(handle._record)
    logger = logging.getLogger("discord")
    logger.addHandler(handler)
    restore.append(lambda: logger.removeHandler(handler))

    def undo() -> None:
        for step in restore:
            step()

    return undo


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    bot: discord.Client | BotFactory,
    *,
    token: str = "fake-token",
    ready_timeout: float = 5.0,
    expect_errors: bool = False,
    fast_ready: bool = True,
) -> AsyncIterator[BotHandle]:
    """Run ``bot`` (or ``bot()``) against ``fake`` until the block exits.

    Logs in, connects, waits for ``on_ready``; on exit drains handler tasks, closes the bot and restores
    discord.py's URLs. Exceptions the bot only logs (tree/view/modal/event errors) are collected in
    ``handle.errors``; they make pending fake waits fail fast and are raised as :class:`BotError` at exit
    unless ``expect_errors``. ``fast_ready`` lowers ``guild_ready_timeout`` (2 s by default) to 0.05 s.
    """
    client = bot if isinstance(bot, discord.Client) else bot()
    if inspect.isawaitable(client):
        client = await client
    assert isinstance(client, discord.Client)
    if fast_ready:
        client._connection.guild_ready_timeout = min(client._connection.guild_ready_timeout, 0.05)
    handle = BotHandle(client, fake)
    fake.signal.fail_fast = not expect_errors
    undo_hooks = _install_error_hooks(handle)
    try:
        with point_discord_at(fake):
            await client.login(token)
            runner = asyncio.get_running_loop().create_task(client.connect(), name="fakediscord-bot")
            runner.add_done_callback(handle._on_runner_done)
            try:
                await _wait_ready(client, runner, ready_timeout)
                yield handle
            finally:
                await handle.drain()
                await client.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(runner, 5.0)
    finally:
        undo_hooks()
        fake.signal.fail_fast = True
    if handle.errors and not expect_errors:
        raise BotError(f"the bot raised {len(handle.errors)} error(s): {handle.errors!r}") from handle.errors[
            0
        ]


async def _wait_ready(client: discord.Client, runner: asyncio.Task[None], timeout: float) -> None:
    ready = asyncio.get_running_loop().create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({ready, runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready in done:
        return
    ready.cancel()
    if runner in done:
        runner.result()  # re-raise why the bot stopped
        raise RuntimeError("the bot stopped before becoming ready")
    raise TimeoutError(f"the bot did not become ready within {timeout}s")
