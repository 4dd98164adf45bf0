from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.notes import DIGEST, NOTE_4DIM, write


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    write(tmp_path, "vault/240711 Controlling.md", NOTE_4DIM)
    write(tmp_path, "vault/2024-07-11.txt", DIGEST)
    return tmp_path / "vault"


async def run_process(db: str, env: dict[str, str], *argv: str) -> str:
    """``python -m bot --db DB ARGV...`` in a child process with ``env`` added; its stdout, after exit 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--db",
        db,
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_search_show_stats_json_contracts(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    code, out, _ = run(capsys, "--db", db, "ingest", str(vault))
    assert code == 0
    assert "papers 2 new" in out

    code, out, _ = run(capsys, "--db", db, "search", "how does 4DiM use video data", "--json")
    hits = json.loads(out)
    assert code == 0
    assert hits[0]["arxiv_id"] == "2407.07860"
    assert {"id", "arxiv_id", "title", "tags", "score"} <= hits[0].keys()
    assert isinstance(hits[0]["score"], float) and isinstance(hits[0]["tags"], list)

    code, out, _ = run(capsys, "search", "작은 모델", "--tag", "small-models", "--json", "--db", db)
    assert [h["title"] for h in json.loads(out)] == ["A Tiny Language Model Study"]

    code, out, _ = run(capsys, "--db", db, "show", "2407.07860", "--json")
    paper = json.loads(out)
    assert paper["title"] == "Controlling Space and Time with Diffusion Models"
    assert paper["commentary"][0]["body"].startswith("카메라 포즈와")

    code, out, _ = run(capsys, "--db", db, "stats", "--json")
    stats = json.loads(out)
    assert (stats["papers"], stats["commentary"]) == (2, 2)
    assert stats["tags"] == 5 and all(isinstance(v, int) for v in stats.values())


def test_bad_input_exit_status_and_reason(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    (vault / "bad.txt").write_bytes(b"\xff\xfe not utf8")
    code, out, err = run(capsys, "--db", db, "ingest", str(vault))
    assert code == 1
    assert "bad.txt" in err and "UTF-8" in err
    assert "papers 2 new" in out, "the good files still ingest"

    code, _, err = run(capsys, "--db", db, "show", "9999.99999")
    assert code == 2
    assert err.count("\n") == 1 and "no paper" in err


def test_python_dash_m_bot_works(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "m.db"), "stats", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["papers"] == 0


def test_ask_json_contract_without_an_endpoint(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "ask.db")
    run(capsys, "--db", db, "ingest", str(vault))
    code, out, _ = run(capsys, "--db", db, "ask", "how does 4DiM use video data", "--json")
    answer = json.loads(out)
    assert code == 0
    assert answer["mode"] == "extractive"
    assert "No language model is configured" in answer["notice"]
    first = answer["citations"][0]
    assert {"n", "id", "arxiv_id", "title"} <= first.keys()
    assert (first["arxiv_id"], first["title"]) == (
        "2407.07860",
        "Controlling Space and Time with Diffusion Models",
    )
    assert all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])


async def test_ask_json_with_an_openai_compatible_endpoint(
    vault: Path, tmp_path: Path, fake_openai: Any
) -> None:
    db = str(tmp_path / "llm.db")
    env = {"OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "k", "PAPERBOT_LLM_MODEL": "test-model"}
    await run_process(db, env, "ingest", str(vault))
    answer = json.loads(await run_process(db, env, "ask", "how does 4DiM use video data", "--json"))
    assert answer["mode"] == "llm"
    assert answer["citations"] == [
        {
            "n": 1,
            "id": answer["citations"][0]["id"],
            "arxiv_id": "2407.07860",
            "title": "Controlling Space and Time with Diffusion Models",
            "source": "commentary",
            "link": "https://arxiv.org/abs/2407.07860",
        }
    ]


def test_export_and_doctor_commands(vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "ops.db")
    run(capsys, "--db", db, "ingest", str(vault))
    code, out, _ = run(capsys, "--db", db, "export", str(tmp_path / "out"))
    assert code == 0 and "2 notes" in out
    assert len(list((tmp_path / "out").rglob("*.md"))) == 2
    code, out, _ = run(capsys, "--db", db, "doctor", "--offline")
    assert "database" in out and "DISCORD_TOKEN" in out  # no token set: the check says how to fix it
    assert code == 1


async def test_embed_backfills_with_an_endpoint_and_prunes_an_earlier_model(
    vault: Path, tmp_path: Path, fake_openai: Any
) -> None:
    db = str(tmp_path / "embed.db")

    async def paperbot(model: str, *argv: str) -> str:
        env = {
            "OPENAI_BASE_URL": fake_openai.url,
            "OPENAI_API_KEY": "k",
            "PAPERBOT_EMBEDDINGS": "openai",
            "PAPERBOT_EMBEDDINGS_MODEL": model,
        }
        return await run_process(db, env, *argv)

    def models() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT model, count(*) FROM chunks GROUP BY model").fetchall())

    await paperbot("embed-a", "ingest", str(vault), "--no-embed")
    assert "embedded 2 papers with openai:embed-a" in await paperbot("embed-a", "embed")
    first = models()["openai:embed-a"]
    assert first >= 4

    out = await paperbot("embed-b", "embed")
    assert "embedded 2 papers with openai:embed-b" in out
    assert f"{first} chunks of other models remain (openai:embed-a); paperbot embed --prune" in out
    assert set(models()) == {"openai:embed-a", "openai:embed-b"}, "without --prune nothing is deleted"

    out = await paperbot("embed-b", "embed", "--prune")
    assert f"deleted {first} chunks of other models: openai:embed-a" in out
    assert set(models()) == {"openai:embed-b"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT model FROM embedded").fetchall() == [("openai:embed-b",)]
