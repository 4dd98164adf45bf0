from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bot.logs import JsonFormatter
from bot.services.ingest.pipeline import ingest_upload
from bot.services.ops.health import heartbeat_path, prune_backups, read_heartbeat
from tests.botenv import BotEnv
from tests.notes import DIGEST, NOTE_4DIM, SIX_ENTRIES, make_digest, write


async def _paperbot(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_digest_post_over_rest_only(env: BotEnv) -> None:
    assert (await ingest_upload(env.db, make_digest("2024-07-11", SIX_ENTRIES).encode(), "d.txt")).ok
    await env.fallback("papers")
    settings = {
        "DISCORD_TOKEN": "fake-token",
        "PAPERBOT_DB": str(env.settings.db),
        "PAPERBOT_DISCORD_API_BASE": env.fake.api_base,
        "PAPERBOT_DISCORD_GATEWAY_URL": env.fake.gateway_url,
        "PAPERBOT_DEV_GUILD_ID": str(env.fake.guild_id),  # a one-shot REST run must still not sync
    }
    code, out, err = await _paperbot("digest", "post", "--date", "2024-07-11", env=settings)
    assert code == 0, err
    assert "6 posts sent" in out
    assert len(env.fake.messages_in("papers")) == 6
    code, out, _ = await _paperbot("digest", "post", "--date", "2024-07-11", env=settings)
    assert "6 already posted" in out and len(env.fake.messages_in("papers")) == 6
    assert "fake-token" not in out + err
    assert env.fake.requests_matching("PUT /applications/*/guilds/*/commands") == []
    assert env.fake.requests_matching("PUT /applications/*/commands") == []


async def test_status_for_moderators(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        rec = await env.fake.slash("status", user="moderator")
        fields = {f["name"]: f["value"] for f in rec.embeds[0]["fields"]}
        assert rec.ephemeral
        assert fields["Answers"] == "extractive" and "2 papers" in fields["Store"]
        assert fields["Outbox"] == "0 queued · 0 failed"


async def test_heartbeat_and_health(env: BotEnv, run_bot: Any) -> None:
    path = heartbeat_path(env.settings.db)
    assert read_heartbeat(path, max_age=60)[0] is False
    async with run_bot(env.make_bot) as handle:
        await handle.drain()
        healthy, reason = read_heartbeat(path, max_age=60)
        assert healthy, reason
        code, out, _ = await _paperbot("--db", str(env.settings.db), "health", env={})
        assert code == 0 and "connected" in out
        code, _, err = await _paperbot("--db", str(env.settings.db), "health", "--max-age", "0", env={})
        assert code == 1 and "not running" in err
    code, _, err = await _paperbot("--db", str(env.settings.db), "health", env={})
    assert code == 1 and "the bot stopped" in err and "clean shutdown" in err


async def test_online_backup_while_running_and_retention(env: BotEnv, run_bot: Any, tmp_path: Path) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        code, _, err = await _paperbot(
            "--db", str(env.settings.db), "db", "backup", str(tmp_path / "b.db"), env={}
        )
        assert code == 0, err
    with sqlite3.connect(tmp_path / "b.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM papers").fetchone()[0] == 2
    folder = tmp_path / "daily"
    folder.mkdir()
    for day in range(10):
        (folder / f"paperbot-202407{day + 10}-031700.db").write_bytes(b"x")
    removed = prune_backups(folder, 7)
    assert len(removed) == 3 and sorted(p.name for p in folder.iterdir())[0] == "paperbot-20240713-031700.db"


async def test_metrics_endpoint(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env.settings.metrics_port = port
    async with (
        run_bot(env.make_bot),
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        body = await response.text()
    assert "paperbot_papers 2" in body and "paperbot_up 1" in body
    assert "# TYPE paperbot_posts_sent_total counter" in body


def test_json_log_lines() -> None:
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "posted %d", (3,), None)
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "posted 3" and data["level"] == "WARNING" and data["time"].endswith("+00:00")


async def test_a_digest_deleted_from_the_vault_before_its_day_is_not_posted(
    env: BotEnv, run_bot: Any
) -> None:
    vault = env.root / "vault"
    write(vault, "240711 Controlling.md", NOTE_4DIM)
    digest = write(vault, "2024-07-11.txt", DIGEST)
    env.settings.vault_dir = vault
    await env.fallback("papers")
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        await runner.refresh_sources()
        digest.unlink()  # the curator takes the digest back before 09:00
        await runner.refresh_sources()
        report = await runner.run(env.fake.guild_id, __import__("datetime").date(2024, 7, 11))
    assert report.entries == 1
    titles = [m["embeds"][0]["title"] for m in env.fake.messages_in("papers")]
    assert len(titles) == 1 and "Controlling Space and Time" in titles[0], "the vault note still lists 4DiM"


async def test_inbox_file_that_fails_is_reported_and_nothing_posted(env: BotEnv, run_bot: Any) -> None:
    inbox = env.root / "inbox"
    write(inbox, "2024-07-11.txt", DIGEST + "Dangling title with no authors\n#oops\n")
    env.settings.inbox_dir = inbox
    await env.fallback("papers")
    async with run_bot(env.make_bot) as handle:
        runner = handle.bot.services.digest_runner
        await runner.refresh_sources()
        await runner.refresh_sources()  # the same broken file is reported once
        report = await runner.run(env.fake.guild_id, __import__("datetime").date(2024, 7, 11))
    assert report.entries == 0
    assert env.fake.messages_in("papers") == []
    reports = [m["content"] for m in env.fake.messages_in("mod-log")]
    assert len(reports) == 1
    assert "2024-07-11.txt:" in reports[0] and "nothing from them was stored" in reports[0]


async def test_rest_only_digest_dms_name_the_guild_and_link_to_the_configured_server(env: BotEnv) -> None:
    from bot.services.community import members

    assert (await ingest_upload(env.db, make_digest("2024-07-11", SIX_ENTRIES).encode(), "d.txt")).ok
    await env.fallback("papers")
    await members.set_tags(env.db, env.fake.user_id("member"), env.fake.guild_id, ["llm"])
    settings = {
        "DISCORD_TOKEN": "fake-token",
        "PAPERBOT_DB": str(env.settings.db),
        "PAPERBOT_DISCORD_API_BASE": env.fake.api_base,
        "PAPERBOT_DISCORD_GATEWAY_URL": env.fake.gateway_url,
    }
    code, _, err = await _paperbot("digest", "post", "--date", "2024-07-11", env=settings)
    assert code == 0, err
    [dm] = env.fake.dms_to("member")
    embed = dm["embeds"][0]
    assert embed["title"].endswith("· Test Guild")
    origin = env.fake.api_base.removesuffix("/api/v10")
    links = re.findall(r"\]\((\S+)\)", embed["description"])
    assert links and all(link.startswith(f"{origin}/channels/{env.fake.guild_id}/") for link in links)
    posted = {m["id"] for m in env.fake.messages_in("papers")}
    assert {link.rsplit("/", 1)[1] for link in links} <= posted
