"""Soak: the whole shared vault, a week of digests through the fake Discord with random 429/5xx faults,
a restart between days, a crash mid-posts and another mid-DMs, downtime across two digest times and
same-name uploads; every post and DM exactly once, nothing lost, and the database intact.

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

from bot.services.community import members
from bot.services.digest.plan import plan_digest
from bot.services.ingest.pipeline import ingest_paths
from bot.ui.digest.posting import DiscordSender
from tests.botenv import BotEnv
from tests.fakediscord import FakeFile
from tests.notes import make_digest
from tests.test_digest_crash import CrashingSender, crash_run
from tests.test_dm_crash import DmCrashingSender


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


async def _subscribe(env: BotEnv, tags: list[str]) -> list[int]:
    for n in range(5):
        env.fake.add_member(f"reader{n}")
    users = [
        env.fake.user_id(name) for name in ("member", "moderator", "admin", *(f"reader{n}" for n in range(5)))
    ]
    for n, user in enumerate(users):
        await members.set_tags(
            env.db, user, env.fake.guild_id, [tags[n % len(tags)], tags[(n + 1) % len(tags)]]
        )
    return users


async def _same_name_uploads(env: BotEnv, days: list[dt.date], tags: list[str]) -> None:
    """Two different digests pasted as message.txt, then the first edited and pasted again."""
    digests = [
        make_digest(
            day.isoformat(), [(f"Soak Upload {day} Paper {n}", [tags[n % len(tags)]]) for n in range(2)]
        )
        for day in days
    ]
    first = await env.fake.slash(
        "digest import", attachments={"file": FakeFile("message.txt", digests[0].encode())}, user="admin"
    )
    second = await env.fake.slash(
        "digest import", attachments={"file": FakeFile("message.txt", digests[1].encode())}, user="admin"
    )
    edited = digests[0].replace("큐레이터의 코멘트입니다", "큐레이터의 고친 코멘트입니다")
    again = await env.fake.slash(
        "digest import", attachments={"file": FakeFile("message.txt", edited.encode())}, user="admin"
    )
    assert "Added 2" in first.text and "new upload" in second.text and "Added 2" in second.text
    assert "replaces the earlier upload" in again.text and "not in this upload any more" not in again.text


def _dm_days(env: BotEnv, users: list[int]) -> collections.Counter[tuple[int, str]]:
    """(member, digest day) → DMs Discord got for it."""
    seen: collections.Counter[tuple[int, str]] = collections.Counter()
    for user in users:
        channel = env.fake.dm_channels.get(user)
        for message in env.fake.messages.get(channel, []) if channel else []:
            title = message["embeds"][0]["title"]
            seen[(user, next(w for w in title.split() if w[:2] == "20" and len(w) == 10))] += 1
    return seen


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
    tags = [str(row["key"]) for row in top_tags]
    for n, tag in enumerate(tags):
        await env.route(tag, "vision" if n % 2 else "papers")
    await env.fallback("general")
    users = await _subscribe(env, tags)
    rng = random.Random(20241129)
    faults: collections.Counter[int] = collections.Counter()
    restarts = 0
    down = {week[3], week[4]}  # the bot is down at both of these digest times
    per_day = {
        day: int(
            await env.db.fetchval("SELECT count(*) FROM entries WHERE digest_date = ?", (day.isoformat(),))
        )
        for day in week
    }
    crash_day = max(week[1:3], key=lambda d: per_day[d])
    dm_crash_day = week[1] if crash_day == week[2] else week[2]
    assert per_day[crash_day] and per_day[dm_crash_day], per_day
    for index, day in enumerate(week):
        if day in down:
            continue
        _inject(env, rng, faults)
        if day in (crash_day, dm_crash_day):
            # before the slot (no catch-up): crash in the middle of this day's posts, or of its DMs
            env.clock.now = dt.datetime.combine(day, dt.time(8, 30), tzinfo=dt.UTC)
            async with run_bot(env.make_bot) as handle:
                inner = DiscordSender(handle.bot)
                dying = (
                    CrashingSender(inner, at=3, after_send=True)
                    if day == crash_day
                    else DmCrashingSender(inner, at=1, step="record")
                )
                await crash_run(env, dying, day)
                await handle.drain()
            restarts += 1
        env.clock.now = dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)
        async with run_bot(env.make_bot) as handle:  # every day is a fresh start-up: catch-up posts it
            runner = handle.bot.services.digest_runner
            result = await runner.wait_for_run(env.fake.guild_id, day, 120)
            assert result.complete, result
            for missed in sorted(down) if day > max(down) and index == 5 else []:
                assert runner.finished[(env.fake.guild_id, missed)].complete
            if index == 0:
                # digests for the coming days, both pasted as message.txt, then the bot goes down
                await _same_name_uploads(env, sorted(down), tags)
        if index == 5:
            restarts += 1  # an extra restart with nothing due must not repost anything
            async with run_bot(env.make_bot) as handle:
                await handle.bot.services.digest_runner.catch_up()

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
        if m.get("embeds") and m["embeds"][0].get("footer") and str(m.get("nonce", "")).startswith("pb")
    )
    assert len(planned) >= 10
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]
    assert sum(seen.values()) == len(planned)
    for day in week:  # nothing lost: every day's plan has all its posts
        plan = await plan_digest(env.db, env.fake.guild_id, day)
        rows = await env.db.fetchval("SELECT count(*) FROM posts WHERE digest_date = ?", (day.isoformat(),))
        assert rows == plan.post_count, day
    uploaded = await env.db.fetchval("SELECT count(*) FROM papers WHERE title LIKE 'Soak Upload %'")
    assert uploaded == 4
    assert (
        await env.db.fetchval(
            "SELECT count(DISTINCT p.paper_id) FROM posts p JOIN papers x ON x.id = p.paper_id WHERE x.title LIKE 'Soak Upload %'"
        )
        == 4
    )
    assert await env.db.fetchval("SELECT count(*) FROM posts WHERE state != 'sent'") == 0
    dms = _dm_days(env, users)
    assert all(n == 1 for n in dms.values()), [k for k, n in dms.items() if n > 1]
    delivered = await env.db.fetchall(
        "SELECT user_id, digest_date, state, error, attempts FROM dm_deliveries"
    )
    assert {(r["user_id"], r["digest_date"]) for r in delivered if r["state"] == "sent"} == set(dms)
    assert [tuple(r) for r in delivered if r["state"] != "sent"] == []
    assert len(dms) >= len(users)
    assert await env.db.integrity_check() == "ok"
    injected = collections.Counter(r.status for r in env.fake.requests if r.injected)
    assert sum(injected.values()) >= 5, "faults were armed before each day and most of them fired"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nSOAK: {len(planned)} posts and {sum(dms.values())} DMs over {len(week)} days ({week[0]}..{week[-1]}), "
        f"faults injected {dict(injected)} (armed {dict(faults)}), restarts {restarts + len(week) - len(down)} "
        f"({len(week) - len(down)} daily start-ups, 2 crashes, 1 idle), downtime {len(down)} digest times "
        f"({min(down)}..{max(down)}), duration {time.perf_counter() - started:.1f} s, peak RSS {peak_mb:.0f} MB"
    )
