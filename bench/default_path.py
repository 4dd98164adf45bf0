"""The default install measured end to end (issue 14), for bench/ingest_search.py.

* ``cli_default_path``: ``paperbot ingest VAULT`` in a fresh process with default settings (parse and every
  embedding the default computes), then ``paperbot embed`` again (nothing changed: nothing is embedded),
  then ``paperbot -v search`` with and without the offline model and ``paperbot ask``, each with its peak
  RSS (from ``wait4``) and the ``-v`` timing line that says whether a model was loaded.
* ``heartbeat_during_backfill``: the real bot against the in-process fake Discord, with the default
  embedder backfilling the whole vault in the background; samples the gateway heartbeat ACK latency
  (discord.py's ``bot.latency``, heartbeats every second) and the event loop's lag until the backfill ends.
* ``bare_fts``: a bare FTS5 BM25 query (the same OR of terms, ``ORDER BY bm25 LIMIT 10``) over the
  same index, the baseline that search's p95 is compared with (timed interleaved with search).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.domain.textfold import match_expression
from bot.store.db import Database

SEARCH = "camera pose conditioned video diffusion"
ASK = "how does 4DiM use video data?"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] if ordered else 0.0


def run_cli(
    db: Path, env: dict[str, str], *argv: str, ok: tuple[int, ...] = (0,)
) -> tuple[float, float, str, str]:
    """(seconds, peak RSS in MB, stdout, stderr) of ``python -m bot --db DB ARGV...`` in a new process.

    The child is reaped with ``wait4``, which gives its own peak RSS; its output goes to temporary files.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAPERBOT_", "DISCORD_"))}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--db", str(db), *argv],
            env={**clean, **env},
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in ok:
        raise SystemExit(f"paperbot {' '.join(argv)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, stdout, stderr


def cli_default_path(vault: Path, tmp: Path) -> dict[str, Any]:
    db = tmp / "default.db"
    default = {"PAPERBOT_EMBEDDINGS": "offline", "PAPERBOT_E5": "off"}
    print("\n## 6. Default install, end to end (fresh processes, default settings)")
    load = os.getloadavg()[0]
    # Exit status 1: the vault has four scratch files that ingest refuses (and reports) on purpose.
    seconds, rss, out, _ = run_cli(db, default, "ingest", str(vault), ok=(0, 1))
    embedded = re.search(r"embedded (\d+) papers", out)
    print(
        f"   paperbot ingest VAULT (parse + USE on every chunk): {seconds:.1f} s, peak RSS {rss:.0f} MB, "
        f"{embedded.group(1) if embedded else 0} papers embedded; load average {load:.1f} on {os.cpu_count()} cores"
    )
    again, _, out, _ = run_cli(db, default, "embed")
    print(f"   paperbot embed again (no text changed): {again:.1f} s, {out.strip().splitlines()[0]}")
    rows: dict[str, Any] = {"ingest": seconds, "ingest_rss": rss, "load": load}
    for label, env in (
        ("no model (PAPERBOT_EMBEDDINGS=none)", {"PAPERBOT_EMBEDDINGS": "none"}),
        ("default", default),
    ):
        took, rss_search, _, err = run_cli(db, env, "-v", "search", SEARCH)
        line = next((ln for ln in err.splitlines() if ln.startswith("search: ")), "(no -v line)")
        print(f"   paperbot -v search, {label}: {took:.1f} s process, peak RSS {rss_search:.0f} MB; {line}")
        rows[f"search_rss_{'none' if 'none' in label else 'default'}"] = rss_search
        rows[f"search_line_{'none' if 'none' in label else 'default'}"] = line
    took, ask_rss, _, _ = run_cli(db, default, "ask", ASK)
    print(f"   paperbot ask (extractive, USE loaded): {took:.1f} s process, peak RSS {ask_rss:.0f} MB")
    rows["peak_rss"] = max(rss, rows["search_rss_default"], ask_rss)
    rows["db"] = db
    return rows


async def bare_fts(db: Database, text: str) -> bool:
    """The bare FTS5 BM25 query for ``text`` (the same OR of quoted terms search uses, top 10, no joins,
    snippets or tags): the baseline search's p95 is compared with. False when the text has no terms."""
    from bot.services.search.fulltext import FIELD_WEIGHTS

    expression = match_expression(text)
    if not expression:
        return False
    weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
    await db.fetchall(
        f"SELECT rowid, bm25(paper_fts, {weights}) AS s FROM paper_fts WHERE paper_fts MATCH ? "
        "ORDER BY s LIMIT 10",
        (expression,),
    )
    return True


async def hybrid_search(db_path: Path, texts: list[str], rounds: int = 3) -> dict[str, float]:
    """``/search`` as the bot runs it by default once vectors are stored: BM25 fused with USE, query
    embedded each time; timed interleaved with the bare FTS5 query (no model there, so no target)."""
    from bot.features import build_answering
    from bot.settings import settings_from

    settings = settings_from(discord_token="x", embeddings="offline", e5="off")
    async with await Database.open(db_path) as db:
        retriever, _answerer, _client = await build_answering(settings, db, in_bot=True)
        queries = [t for t in texts if t.strip()]
        for text in queries:  # warm-up: the model loads on the first query
            await retriever.search(text)
        timed: list[float] = []
        bare: list[float] = []
        for _ in range(rounds):
            for text in queries:
                began = time.perf_counter()
                await retriever.search(text)
                timed.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                await bare_fts(db, text)
                bare.append((time.perf_counter() - began) * 1000)
    print(f"\n## 6b. /search with the default embedder ({retriever.mode}; the query is embedded each time)")
    print(
        f"   {len(timed)} searches: p50 {percentile(timed, 50):.1f} ms, p95 {percentile(timed, 95):.1f} ms; "
        f"bare FTS5 alongside: p50 {percentile(bare, 50):.1f} ms, p95 {percentile(bare, 95):.1f} ms"
    )
    return {"p95": percentile(timed, 95), "bare": percentile(bare, 95)}


async def heartbeat_during_backfill(db_path: Path) -> dict[str, float]:
    """Heartbeat ACK latency and event-loop lag while the bot backfills the vault with the default embedder."""
    from discord.gateway import KeepAliveHandler

    import tests.fakediscord.gateway as gateway
    from bot.app import PaperBot, Services
    from bot.features import attach_features
    from tests.botenv import Clock, make_settings
    from tests.fakediscord import FakeDiscord, running_bot

    gateway.HEARTBEAT_INTERVAL_MS = 1000  # the real gateway says ~41 s; one a second gives enough samples
    async with FakeDiscord() as fake, await Database.open(db_path) as db:
        await db.execute("DELETE FROM chunks")
        await db.execute("DELETE FROM embedded")
        papers = int(await db.fetchval("SELECT count(*) FROM papers"))
        settings = make_settings(fake, db_path, embeddings="offline")
        services = Services(settings, db, clock=Clock())
        await attach_features(services)
        bot = PaperBot(services)
        latencies: list[float] = []
        lags: list[float] = []
        sent: list[float] = []
        # discord.py's own bot.latency races with an instant loopback ACK (the ACK can arrive before its
        # heartbeat thread records the send time), so time it here: from the moment the heartbeat thread
        # builds the payload (before the loop must run to send it) to the moment the loop handles the ACK.
        payload, ack = KeepAliveHandler.get_payload, KeepAliveHandler.ack

        def get_payload(handler: KeepAliveHandler) -> dict[str, Any]:
            sent.append(time.perf_counter())
            return payload(handler)

        def on_ack(handler: KeepAliveHandler) -> None:
            if sent:
                latencies.append((time.perf_counter() - sent.pop()) * 1000)
            ack(handler)

        KeepAliveHandler.get_payload, KeepAliveHandler.ack = get_payload, on_ack  # type: ignore[method-assign]
        began = time.perf_counter()
        try:
            async with running_bot(fake, bot):
                backfill = [t for t in bot._background if t.get_name() == "embeddings-update"]
                while backfill and not backfill[0].done():
                    tick = time.perf_counter()
                    await asyncio.sleep(0.05)
                    lags.append((time.perf_counter() - tick - 0.05) * 1000)
                took = time.perf_counter() - began
        finally:
            KeepAliveHandler.get_payload, KeepAliveHandler.ack = payload, ack  # type: ignore[method-assign]
        embedded = int(await db.fetchval("SELECT count(DISTINCT paper_id) FROM chunks"))
        for closer in services.closers:
            await closer()
    print(f"\n## 7. Gateway heartbeat while the bot backfills {papers} papers with the default embedder")
    print(
        f"   backfill {embedded} papers in {took:.1f} s inside the running bot; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"   heartbeat ACK latency over {len(latencies)} heartbeats: p50 {percentile(latencies, 50):.0f} ms, "
        f"p95 {percentile(latencies, 95):.0f} ms, max {max(latencies, default=0):.0f} ms"
    )
    print(
        f"   event-loop lag (50 ms ticks, {len(lags)}): p50 {percentile(lags, 50):.1f} ms, "
        f"p95 {percentile(lags, 95):.1f} ms, max {max(lags, default=0):.1f} ms"
    )
    return {
        "hb_max": max(latencies, default=float("nan")),
        "hb_p95": percentile(latencies, 95),
        "lag_max": max(lags, default=0),
    }
