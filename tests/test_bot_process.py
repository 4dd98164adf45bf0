"""`paperbot run` as a real process against the fake Discord: settings contract and graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakediscord import FakeDiscord


async def test_run_talks_only_to_configured_server_and_stops_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DISCORD_TOKEN": "fake-token",
        "PAPERBOT_DB": str(tmp_path / "run.db"),
        "PAPERBOT_DISCORD_API_BASE": fake_discord.api_base,
        "PAPERBOT_DISCORD_GATEWAY_URL": fake_discord.gateway_url,
        "PAPERBOT_DEV_GUILD_ID": str(fake_discord.guild_id),
        "PAPERBOT_EMBEDDINGS": "none",
        "OPENAI_API_KEY": "sk-never-logged",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_discord.wait_for("PUT /applications/*/guilds/*/commands", timeout=30)
        rec = await fake_discord.slash("tags", user="member", timeout=15)
        assert "No tags yet" in rec.text
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()
    assert b"sk-never-logged" not in stderr
    assert not fake_discord.unhandled
    assert (tmp_path / "run.db").exists()
