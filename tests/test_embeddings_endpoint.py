"""PAPERBOT_EMBEDDINGS=openai against the real openai client and the loopback fake: stored vectors are used
by a new process, and a server that is down, answers 404 or is too slow never crashes ingest, embed or search."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.embedders import OpenAIEmbedder
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from tests.fakeopenai import FakeOpenAI
from tests.notes import DIGEST, NOTE_4DIM, write

QUERY = "how does 4DiM use video data"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    write(tmp_path, "vault/240711 Controlling.md", NOTE_4DIM)
    write(tmp_path, "vault/2024-07-11.txt", DIGEST)
    return tmp_path / "vault"


async def paperbot(db: Path, env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """``python -m bot --db DB ARGV...`` in a new process; (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--db",
        str(db),
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def endpoint(url: str, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": url,
        "OPENAI_API_KEY": "k",
        "PAPERBOT_EMBEDDINGS": "openai",
        "PAPERBOT_EMBEDDINGS_MODEL": "embed-a",
        **extra,
    }


def chunk_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])


async def test_a_new_process_searches_with_the_stored_vectors(
    vault: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    db = tmp_path / "p.db"
    env = endpoint(fake_openai.url)
    code, out, err = await paperbot(db, env, "ingest", str(vault))
    assert code == 0, err
    assert "embedded 2 papers (hybrid search)" in out
    before = len(fake_openai.embedding_inputs())

    code, out, err = await paperbot(db, env, "-v", "search", QUERY, "--json")
    assert code == 0, err
    assert fake_openai.embedding_inputs()[before:] == [[QUERY]], (
        "only the query is embedded, nothing re-embedded"
    )
    assert "openai:embed-a embedded the query" in err


async def test_stored_width_is_known_before_the_first_reply(
    db: Database, vault: Path, fake_openai: FakeOpenAI
) -> None:
    assert (await ingest_paths(db, [vault])).ok
    client = AsyncOpenAI(api_key="k", base_url=fake_openai.url, max_retries=0)
    first = await Retriever.build(db, OpenAIEmbedder(client, "embed-a"))
    assert first.mode == "bm25", "nothing stored yet"
    assert await first.update() == 2
    requests = len(fake_openai.requests)

    fresh = OpenAIEmbedder(client, "embed-a")
    assert fresh.dim == 0
    second = await Retriever.build(db, fresh)
    assert len(fake_openai.requests) == requests, "loading calls no model"
    assert second.mode == "hybrid"
    assert second.index is not None and second.index.dim == 16 and len(second.index) == 2
    ranked = await second.rank(QUERY, limit=2)
    assert len(ranked) == 2
    await client.close()


@pytest.mark.parametrize("mode", ["404", "500"])
async def test_server_errors_leave_ingest_embed_and_search_working(
    vault: Path, tmp_path: Path, fake_openai: FakeOpenAI, mode: str
) -> None:
    fake_openai.embeddings_mode = mode
    db = tmp_path / "e.db"
    env = endpoint(fake_openai.url)

    code, out, err = await paperbot(db, env, "ingest", str(vault))
    assert code == 0, err
    assert "Traceback" not in err
    assert "files" in out.lower(), "the ingest summary is printed"
    warnings = [line for line in err.splitlines() if "WARNING" in line or "warning" in line.casefold()]
    assert len(warnings) == 1, err
    assert f"HTTP {mode}" in warnings[0] and "papers are stored" in warnings[0]
    code, out, _ = await paperbot(db, env, "stats", "--json")
    assert '"papers": 2' in out, "papers stay stored"

    code, out, err = await paperbot(db, env, "embed")
    assert code != 0 and "Traceback" not in err
    assert f"HTTP {mode}" in err.strip().splitlines()[-1]

    code, out, err = await paperbot(db, env, "search", "4DiM", "--json")
    assert code == 0 and "Traceback" not in err
    assert '"2407.07860"' in out, "keyword search still answers"
    code, out, err = await paperbot(db, env, "ask", QUERY, "--json")
    assert code == 0 and "Traceback" not in err
    assert '"arxiv_id": "2407.07860"' in out, "the answer still cites the paper found by keywords"


async def test_search_falls_back_to_keywords_when_the_server_goes_away(
    vault: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    db = tmp_path / "d.db"
    code, _, err = await paperbot(db, endpoint(fake_openai.url), "ingest", str(vault))
    assert code == 0, err
    assert chunk_count(db) > 0
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    code, out, err = await paperbot(db, endpoint(closed), "search", QUERY, "--json")
    assert code == 0 and "Traceback" not in err
    assert '"2407.07860"' in out
    assert "cannot reach the server" in err and "searching by keywords only" in err


async def test_batch_size_and_timeout_settings(vault: Path, tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    db = tmp_path / "b.db"
    code, _, err = await paperbot(
        db, endpoint(fake_openai.url, PAPERBOT_EMBEDDINGS_BATCH_SIZE="2"), "ingest", str(vault)
    )
    assert code == 0, err
    sizes = [len(batch) for batch in fake_openai.embedding_inputs()]
    assert sizes and max(sizes) == 2 and sum(sizes) == chunk_count(db)

    fake_openai.embeddings_mode = "slow"
    fake_openai.embeddings_delay = 20.0
    env = endpoint(fake_openai.url, PAPERBOT_EMBEDDINGS_TIMEOUT="0.3")
    code, out, err = await paperbot(db, env, "-v", "search", QUERY, "--json")
    assert code == 0 and '"2407.07860"' in out
    assert "no answer within 0.3 s" in err
    took_ms = float(re.search(r"search: ([0-9.]+) ms", err).group(1))  # type: ignore[union-attr]
    assert took_ms < 10_000, "given up after the timeout (and one retry), not after the server's 20 s"
