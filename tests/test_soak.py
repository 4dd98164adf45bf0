"""Soak: the whole shared vault, a week of digests through the fake Discord with random 429/5xx faults,
a restart between days and a crash mid-digest; every post exactly once and the database intact.

Skipped when ../shared/corpus is absent. Figures are printed (run with -s to see them).
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import resource
import time
from pathlib import Path
from typing import Any

from bot.services.ingest import ingest_paths
from bot.ui.posting import DiscordSender
from tests.botenv import BotEnv
from tests.test_digest_crash import CrashingSender, crash_run


async def _busiest_week(env: BotEnv) -> list[dt.date]:
    rows = await env.db.fetchall("SELECT digest_date, count(*) AS n FROM entries GROUP BY digest_date")
    counts = {dt.date.fromisoformat(r["digest_date"]): int(r["n"]) for r in rows}
    start = max(counts, key=lambda d: sum(counts.get(d + dt.timedelta(days=i), 0) for i in range(7)))
    return [start + dt.timedelta(days=i) for i in range(7)]


def _inject(env: BotEnv, rng: random.Random, faults: collections.Counter[int]) -> None:
    for _ in range(rng.randint(1, 3)):
        status = rng.choice([429, 429, 429, 500, 502])
        env.fake.fail_next("POST", "/channels/*/messages", status=status, times=1, retry_after=0.05)
        faults[status] += 1


async def test_week_of_digests_with_faults_and_restarts(
    env: BotEnv, run_bot: Any, shared_corpus: Path
) -> None:
    started = time.perf_counter()
    report = await ingest_paths(env.db, [shared_corpus / "arxiv-today"])
    assert report.papers_new > 3000
    week = await _busiest_week(env)
    top_tags = await env.db.fetchall(
        "SELECT t.key, count(*) AS n FROM entries e JOIN paper_tags pt ON pt.paper_id = e.paper_id "
        "JOIN tags t ON t.id = pt.tag_id WHERE e.digest_date BETWEEN ? AND ? GROUP BY t.key ORDER BY n DESC LIMIT 4",
        (week[0].isoformat(), week[-1].isoformat()),
    )
    for n, row in enumerate(top_tags):
        await env.route(row["key"], "vision" if n % 2 else "papers")
    await env.fallback("general")
    rng = random.Random(20241129)
    faults: collections.Counter[int] = collections.Counter()
    restarts = 0

    per_day = {
        day: int(
            await env.db.fetchval("SELECT count(*) FROM entries WHERE digest_date = ?", (day.isoformat(),))
        )
        for day in week
    }
    crash_day = max(week[1:], key=lambda d: per_day[d])
    for index, day in enumerate(week):
        _inject(env, rng, faults)
        if day == crash_day:
            # before the slot (no catch-up), crash in the middle of this day's digest
            env.clock.now = dt.datetime.combine(day, dt.time(8, 30), tzinfo=dt.UTC)
            async with run_bot(env.make_bot) as handle:
                await crash_run(env, CrashingSender(DiscordSender(handle.bot), at=3, after_send=True), day)
                await handle.drain()
            restarts += 1
        env.clock.now = dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)
        async with run_bot(env.make_bot) as handle:  # every day is a fresh start-up: catch-up posts it
            result = await handle.bot.services.extras["digest_runner"].wait_for_run(
                env.fake.guild_id, day, 60
            )
            assert result.complete, result
        if index == 5:
            restarts += 1  # an extra restart with nothing due must not repost anything
            async with run_bot(env.make_bot) as handle:
                await handle.bot.services.extras["digest_runner"].catch_up()

    planned = await env.db.fetchall(
        "SELECT channel_id, paper_id, digest_date, message_id FROM posts WHERE digest_date BETWEEN ? AND ?",
        (week[0].isoformat(), week[-1].isoformat()),
    )
    seen = collections.Counter(
        (
            int(m["channel_id"]),
            m["embeds"][0].get("url") or m["embeds"][0]["title"],
            m["embeds"][0]["footer"]["text"][-10:],
        )
        for m in env.fake.message_log
        if m.get("embeds") and m["embeds"][0].get("footer")
    )
    assert len(planned) >= 10
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]
    assert sum(seen.values()) == len(planned)
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state != 'sent'") == 0
    assert await env.db.integrity_check() == "ok"
    injected = collections.Counter(r.status for r in env.fake.requests if r.injected)
    assert sum(injected.values()) >= 5, "faults were armed before each day and most of them fired"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nSOAK: {len(planned)} posts over {len(week)} days ({week[0]}..{week[-1]}), "
        f"faults injected {dict(injected)} (armed {dict(faults)}), restarts {restarts} (+1 per day), "
        f"duration {time.perf_counter() - started:.1f} s, peak RSS {peak_mb:.0f} MB"
    )
