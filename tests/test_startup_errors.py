"""`paperbot run` failing to start, as a real process: one or two lines naming the cause and the fix.

The servers here are loopback stand-ins for what a user meets: Discord rejecting the token (401), nothing
listening, a name that does not resolve, plain HTTP where TLS is expected, and a gateway that closes with
4014 (privileged intents). A fake Discord whose dev guild the bot is not in checks that start-up goes on.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakediscord import FakeDiscord

RUN_TIMEOUT = 60


async def start_paperbot(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_paperbot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await start_paperbot(*args, env=env, cwd=cwd)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=RUN_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


def server_env(api_base: str, gateway: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": "rejected.token.value",
        "PAPERBOT_DB": str(tmp_path / "data" / "paperbot.db"),
        "PAPERBOT_DISCORD_API_BASE": api_base,
        "PAPERBOT_DISCORD_GATEWAY_URL": gateway,
    }


def assert_short_explanation(code: int, stderr: str, *expected: str) -> None:
    assert code != 0
    assert "Traceback" not in stderr, stderr
    assert "voice will NOT be supported" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("paperbot:")]
    assert 1 <= len(lines) <= 2, stderr
    for text in expected:
        assert text in stderr, stderr
    assert "rejected.token.value" not in stderr


@pytest.fixture
async def discord_like() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server: 401 for a token ending in ``.bad``; otherwise login works and the gateway
    closes with 4014 after IDENTIFY, as Discord does for disallowed privileged intents."""
    seen: list[str] = []

    def reply(data: object, status: int = 200) -> web.Response:
        # Exactly application/json, no charset, or discord.py reads the body as a string.
        return web.Response(
            body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
        )

    async def me(request: web.Request) -> web.Response:
        seen.append("GET /users/@me")
        if request.headers.get("Authorization", "").endswith(".value"):
            return reply({"message": "401: Unauthorized", "code": 0}, status=401)
        return reply({"id": "10", "username": "paperbot", "discriminator": "0", "bot": True, "avatar": None})

    async def application(_: web.Request) -> web.Response:
        owner = {"id": "1", "username": "owner", "discriminator": "0", "avatar": None}
        app = {"id": "20", "name": "paperbot", "icon": None, "description": "", "summary": "", "type": None}
        app |= {"bot_public": False, "bot_require_code_grant": False, "verify_key": "0" * 64, "team": None}
        app |= {"owner": owner, "flags": 0, "redirect_uris": [], "interactions_endpoint_url": None}
        return reply(app)

    async def gateway_bot(request: web.Request) -> web.Response:
        url = f"ws://{request.host}/gateway"
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return reply({"url": url, "shards": 1, "session_start_limit": limit})

    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for message in ws:
            if json.loads(message.data).get("op") == 2:
                seen.append("IDENTIFY")
                await ws.close(code=4014, message=b"Disallowed intent(s).")
        return ws

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    app.router.add_get("/api/v10/oauth2/applications/@me", application)
    app.router.add_get("/api/v10/gateway/bot", gateway_bot)
    app.router.add_get("/gateway", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_rejected_token(discord_like: tuple[str, list[str]], tmp_path: Path) -> None:
    base, seen = discord_like
    env = server_env(f"{base}/api/v10", f"{base.replace('http', 'ws')}/gateway", tmp_path)
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "rejected DISCORD_TOKEN (401", "Reset Token")
    assert seen == ["GET /users/@me"]


async def test_privileged_intents_refused(discord_like: tuple[str, list[str]], tmp_path: Path) -> None:
    base, seen = discord_like
    env = server_env(f"{base}/api/v10", f"{base.replace('http', 'ws')}/gateway", tmp_path)
    env["DISCORD_TOKEN"] = "accepted.token.good"
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "privileged intents", "Developer Portal")
    assert "IDENTIFY" in seen


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_nothing_listening(tmp_path: Path) -> None:
    port = closed_port()
    env = server_env(f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway", tmp_path)
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(
        code, stderr, f"127.0.0.1:{port}: connection refused", "PAPERBOT_DISCORD_API_BASE"
    )


async def test_name_that_does_not_resolve(tmp_path: Path) -> None:
    env = server_env("http://discord.invalid/api/v10", "ws://discord.invalid/gateway", tmp_path)
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "discord.invalid does not resolve (DNS)")


async def test_tls_to_a_plain_http_server(discord_like: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = discord_like
    tls = base.replace("http://", "https://")
    env = server_env(f"{tls}/api/v10", f"{tls.replace('https', 'wss')}/gateway", tmp_path)
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "TLS handshake")


async def test_missing_database_folder(tmp_path: Path) -> None:
    env = server_env("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway", tmp_path)
    env["PAPERBOT_DB"] = str(tmp_path / "mistyped" / "deeper" / "paperbot.db")
    code, stderr = await run_paperbot("run", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "database folder", "does not exist", "mkdir -p")
    assert not (tmp_path / "mistyped").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
async def test_unwritable_database_folder(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    env = server_env("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway", tmp_path)
    env["PAPERBOT_DB"] = str(folder / "paperbot.db")
    code, stderr = await run_paperbot("stats", env=env, cwd=tmp_path)
    assert_short_explanation(code, stderr, "not writable")


async def test_dev_guild_the_bot_is_not_in_warns_and_keeps_running(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    env = server_env(fake_discord.api_base, fake_discord.gateway_url, tmp_path)
    env |= {
        "DISCORD_TOKEN": "fake-token",
        "PAPERBOT_DEV_GUILD_ID": "123456789",
        "PAPERBOT_EMBEDDINGS": "none",
        "PAPERBOT_INBOX_DIR": str(tmp_path / "data" / "inbox"),  # a fresh data folder: the bot makes it
    }
    proc = await start_paperbot("run", env=env, cwd=tmp_path)
    try:
        await fake_discord.wait_for("PUT /applications/*/guilds/123456789/commands", timeout=30)
        rec = await fake_discord.slash("tags", user="member", timeout=15)
        assert "No tags yet" in rec.text, "the bot kept running after the failed sync"
        proc.terminate()
        _, stderr_bytes = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = stderr_bytes.decode()
    assert proc.returncode == 0, stderr
    assert "could not sync commands to PAPERBOT_DEV_GUILD_ID 123456789" in stderr
    assert "Traceback" not in stderr and "voice will NOT" not in stderr
    assert (tmp_path / "data" / "inbox").is_dir()
