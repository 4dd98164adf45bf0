"""The fake keeps Discord's clocks: nonce dedupe only within a window, 15-minute tokens, the 3 s ack."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord.records import InteractionFailed


class Slow(discord.Client):
    """``/later`` answers at once, then follows up when told; ``/stall`` acknowledges only when told."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default())
        self.tree = app_commands.CommandTree(self)
        self.go = asyncio.Event()
        self.outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

        @self.tree.command(name="later", description="answers now, follows up later")
        async def later(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.send_message("now")
            await self.go.wait()
            try:
                await interaction.followup.send("later")
                self.outcome.set_result(None)
            except discord.HTTPException as exc:
                self.outcome.set_result(exc)

        @self.tree.command(name="stall", description="acknowledges too late")
        async def stall(interaction: discord.Interaction[Any]) -> None:
            await self.go.wait()
            try:
                await interaction.response.send_message("too late")
                self.outcome.set_result(None)
            except discord.HTTPException as exc:
                self.outcome.set_result(exc)

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def test_nonce_dedupes_only_within_the_window(fake_discord: FakeDiscord, run_bot: Any) -> None:
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client):
        channel = client.get_partial_messageable(fake_discord.channel_id("papers"))
        first = await channel.send("hello", nonce="pb-same")
        fake_discord.advance(fake_discord.nonce_window - 5)
        within = await channel.send("hello", nonce="pb-same")
        fake_discord.advance(10)  # now past the window of the first send
        after = await channel.send("hello", nonce="pb-same")
    assert first.id == within.id != after.id
    assert len(fake_discord.messages_in("papers")) == 2
    assert after.id >> 22 > first.id >> 22  # snowflakes follow the fake's clock


async def test_interaction_tokens_expire_after_15_minutes(fake_discord: FakeDiscord, run_bot: Any) -> None:
    bot = Slow()
    async with run_bot(bot, expect_errors=True):
        rec = await fake_discord.slash("later")
        assert rec.text == "now"
        fake_discord.advance(15 * 60 + 1)
        bot.go.set()
        error = await asyncio.wait_for(bot.outcome, 5)
    assert isinstance(error, discord.HTTPException) and error.status == 401 and error.code == 50027
    assert rec.followups == []


async def test_an_interaction_not_acknowledged_in_time_fails(fake_discord: FakeDiscord, run_bot: Any) -> None:
    fake_discord.ack_deadline = 0.05  # Discord's 3 s, shortened so the test does not wait
    bot = Slow()
    async with run_bot(bot, expect_errors=True):
        rec = await fake_discord.slash("stall", wait=False)
        with pytest.raises(InteractionFailed, match="This interaction failed"):
            await rec.wait_done()
        bot.go.set()
        error = await asyncio.wait_for(bot.outcome, 5)
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert fake_discord.failed_interactions == [rec] and rec.callback is None
