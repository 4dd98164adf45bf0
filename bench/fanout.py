"""How close a digest fan-out comes to the fastest posting Discord's rate limits allow.

Runs the real bot against the loopback fake Discord with per-channel and global limits enforced, posts one
digest that every channel receives in full and that every subscriber is DMed, and compares the wall time
with the lower bound the limits set. Run from the repository root::

    .venv/bin/python bench/fanout.py [--entries 30 --channels 8 --subscribers 200 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import math
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# The fake Discord and test helpers live in tests/, which is not installed: import them from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.community import members
from bot.services.digest import routes
from bot.services.digest.report import DigestReport
from bot.services.ingest.pipeline import ingest_upload
from bot.store.db import Database
from tests.botenv import BotEnv, Clock, make_settings
from tests.fakediscord import FakeDiscord, RecordedRequest, running_bot
from tests.notes import make_digest

DAY = dt.date(2024, 7, 11)
FANOUT_TAG = "digest"  # every entry carries it and it is routed to every channel
TOPICS = [f"topic-{n}" for n in range(12)]


@dataclasses.dataclass(frozen=True)
class Workload:
    titles: list[str]
    entry_topics: list[list[str]]
    follows: list[list[str]]  # per subscriber, the topics followed

    def expected_dm_titles(self, subscriber: int) -> set[str]:
        followed = set(self.follows[subscriber])
        return {t for t, topics in zip(self.titles, self.entry_topics, strict=True) if followed & set(topics)}


@dataclasses.dataclass
class RequestCounts:
    channel_posts: int = 0
    dm_opens: int = 0
    dm_messages: int = 0
    other: int = 0
    rate_limited: int = 0
    rate_limited_global: int = 0
    rate_limited_bucket: int = 0
    last_post_at: float = 0.0
    last_dm_at: float = 0.0
    first_dm_at: float | None = None


@dataclasses.dataclass
class RunResult:
    report: DigestReport
    elapsed: float
    counts: RequestCounts
    traced_peak: int
    discord_warnings: int
    retry_notices: int


def is_retry_notice(record: logging.LogRecord) -> bool:
    """discord.py's notice that it got a 429 and retries (expected here); not a give-up or an error."""
    return (
        record.name == "discord.http"
        and record.levelno == logging.WARNING
        and "Retrying in" in record.getMessage()
    )


class _QuietRateLimits(logging.Filter):
    """Keeps the expected 429 retry notices off the console (they are counted instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_retry_notice(record)


class _WarningCounter(logging.Handler):
    """Counts discord.py's warnings or worse, and how many of them are 429 retry notices."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.total = 0
        self.retry_notices = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.total += 1
        self.retry_notices += is_retry_notice(record)


def build_workload(entries: int, subscribers: int, seed: int) -> Workload:
    """Entries with two topics each (every topic used), subscribers following 1–3 topics."""
    rng = random.Random(seed)
    titles = [f"Fan-out Study {n:03d}" for n in range(entries)]
    entry_topics = [[TOPICS[n % len(TOPICS)], TOPICS[(n * 5 + 3) % len(TOPICS)]] for n in range(entries)]
    follows = [rng.sample(TOPICS, rng.randint(1, 3)) for _ in range(subscribers)]
    return Workload(titles, entry_topics, follows)


def count_requests(
    requests: list[RecordedRequest], channel_ids: set[int], dm_channel_ids: set[int], started: float
) -> RequestCounts:
    counts = RequestCounts()
    for request in requests:
        if request.status == 429:
            counts.rate_limited += 1
            is_global = isinstance(request.response, dict) and request.response.get("global")
            if is_global:
                counts.rate_limited_global += 1
            else:
                counts.rate_limited_bucket += 1
            continue
        at = request.time - started
        channel = int(request.params.get("channel_id", 0))
        if request.matches("POST", "/users/@me/channels"):
            counts.dm_opens += 1
        elif request.matches("POST", "/channels/*/messages") and channel in channel_ids:
            counts.channel_posts += 1
            counts.last_post_at = max(counts.last_post_at, at)
        elif request.matches("POST", "/channels/*/messages") and channel in dm_channel_ids:
            counts.dm_messages += 1
            counts.last_dm_at = max(counts.last_dm_at, at)
            counts.first_dm_at = at if counts.first_dm_at is None else min(counts.first_dm_at, at)
        else:
            counts.other += 1
    return counts


@dataclasses.dataclass(frozen=True)
class Bounds:
    per_channel: float  # (ceil(N / L) - 1) x W
    global_rate: float  # R / G
    dms_after_posts: float  # also: a DM waits until each of its entries has a post
    discord_py: float  # also: discord.py returns a bucket's L-th post only when the bucket resets

    @property
    def minimum(self) -> float:
        return max(self.per_channel, self.global_rate)


def release_bound(releases: list[float], rate: float) -> float:
    """Fewest seconds to serve requests at ``rate``/s overall when each may not start before its release."""
    ordered = sorted(releases)
    return max((t + (len(ordered) - i) / rate for i, t in enumerate(ordered)), default=0.0)


def compute_bounds(args: argparse.Namespace, workload: Workload) -> Bounds:
    """Every channel posts every entry in order, so entry i is post i of each channel (window i // L)."""
    window_of = [(i // args.per_channel) * args.window for i in range(args.entries)]
    # discord.py sleeps in the request that empties a bucket until it resets, so that post's id comes late.
    id_known = [
        t + (args.window if i % args.per_channel == args.per_channel - 1 else 0.0)
        for i, t in enumerate(window_of)
    ]
    dm_needs = [
        [i for i, title in enumerate(workload.titles) if title in workload.expected_dm_titles(n)]
        for n in range(len(workload.follows))
    ]
    dm_needs = [needs for needs in dm_needs if needs]
    posts = [t for t in window_of for _ in range(args.channels)]
    opens = [0.0] * len(dm_needs)
    total = len(posts) + 2 * len(dm_needs)
    return Bounds(
        per_channel=(math.ceil(args.entries / args.per_channel) - 1) * args.window,
        global_rate=total / args.global_rate,
        dms_after_posts=release_bound(
            posts + opens + [max(window_of[i] for i in needs) for needs in dm_needs], args.global_rate
        ),
        discord_py=release_bound(
            posts + opens + [max(id_known[i] for i in needs) for needs in dm_needs], args.global_rate
        ),
    )


async def run_fanout(
    args: argparse.Namespace, workload: Workload, root: Path
) -> tuple[FakeDiscord, RunResult]:
    async with FakeDiscord() as fake:
        channel_ids = [int(fake.add_channel(f"feed-{n}")["id"]) for n in range(args.channels)]
        user_ids = [fake.user_id(fake.add_member(f"reader{n:04d}")) for n in range(args.subscribers)]
        fake.rate_limits(per_channel=(args.per_channel, args.window), global_per_second=args.global_rate)

        db = await Database.open(root / "bench.db")
        try:
            entries = list(
                zip(workload.titles, ([FANOUT_TAG, *t] for t in workload.entry_topics), strict=True)
            )
            ingested = await ingest_upload(db, make_digest(DAY.isoformat(), entries).encode(), "d.txt")
            if not ingested.ok:
                raise RuntimeError(f"the generated digest did not ingest: {ingested.errors}")
            for channel_id in channel_ids:
                await routes.set_route(db, fake.guild_id, FANOUT_TAG, channel_id)
            for user_id, topics in zip(user_ids, workload.follows, strict=True):
                await members.set_tags(db, user_id, fake.guild_id, topics)

            # The tests' wiring (clock before the 09:00 slot, no scheduler), so the bench builds the bot
            # exactly as the suite does.
            env = BotEnv(fake, db, make_settings(fake, root / "bench.db"), Clock(), root)
            warnings = _WarningCounter()
            logging.getLogger("discord").addHandler(warnings)
            try:
                async with running_bot(fake, env.make_bot) as handle:
                    runner = handle.bot.services.digest_runner
                    await runner.wait_for_run(fake.guild_id, runner.today_slot())  # start-up catch-up done
                    mark = fake.mark()
                    tracemalloc.reset_peak()
                    started_loop = asyncio.get_running_loop().time()
                    started = time.perf_counter()
                    report = await runner.run(fake.guild_id, DAY)
                    elapsed = time.perf_counter() - started
                    _, traced_peak = tracemalloc.get_traced_memory()
                    counts = count_requests(
                        fake.requests[mark:], set(channel_ids), set(fake.dm_channels.values()), started_loop
                    )
            finally:
                logging.getLogger("discord").removeHandler(warnings)
        finally:
            await db.close()
        return fake, RunResult(report, elapsed, counts, traced_peak, warnings.total, warnings.retry_notices)


def verify_exactly_once(fake: FakeDiscord, workload: Workload, channels: int) -> list[str]:
    """One line per check: each entry once per channel, one DM per subscriber listing its entries."""
    lines: list[str] = []
    wanted = set(workload.titles)
    for n in range(channels):
        channel_id = fake.channel_id(f"feed-{n}")
        titles = collections.Counter(
            m["embeds"][0]["title"]
            for m in fake.message_log
            if int(m["channel_id"]) == channel_id and m.get("embeds")
        )
        dupes = sorted(t for t, c in titles.items() if c > 1)
        missing = sorted(wanted - set(titles))
        ok = not dupes and not missing and set(titles) == wanted
        lines.append(
            f"  feed-{n}: {sum(titles.values())} posts, {len(titles)} distinct"
            f"{'' if ok else f'  MISMATCH missing={missing[:3]} duplicated={dupes[:3]}'}"
        )
    dm_channel_to_user = {ch: user for user, ch in fake.dm_channels.items()}
    per_user = collections.Counter(
        dm_channel_to_user[int(m["channel_id"])]
        for m in fake.message_log
        if int(m["channel_id"]) in dm_channel_to_user
    )
    subscribers = [fake.user_id(f"reader{n:04d}") for n in range(len(workload.follows))]
    expecting = [n for n in range(len(subscribers)) if workload.expected_dm_titles(n)]
    exactly_one = sum(1 for n in expecting if per_user[subscribers[n]] == 1)
    duplicated = sum(1 for n in expecting if per_user[subscribers[n]] > 1)
    wrong_contents = 0
    for n in expecting:
        dms = fake.dms_to(subscribers[n])
        if len(dms) != 1:
            continue
        text = dms[0]["embeds"][0]["description"]
        listed = {t for t in workload.titles if t in text}
        if listed != workload.expected_dm_titles(n) or text.count("https://discord.com/channels/") != len(
            listed
        ):
            wrong_contents += 1
    lines.append(
        f"  DMs: {len(expecting)} subscribers expect one; {exactly_one} got exactly one, {duplicated} got"
        f" more, {len(expecting) - exactly_one - duplicated} got none; {wrong_contents} with wrong entries/links"
    )
    return lines


def print_results(args: argparse.Namespace, fake: FakeDiscord, workload: Workload, result: RunResult) -> None:
    report, counts = result.report, result.counts
    bounds = compute_bounds(args, workload)
    minimum = bounds.minimum
    ratio = result.elapsed / minimum if minimum else float("inf")
    dms = sum(1 for n in range(args.subscribers) if workload.expected_dm_titles(n))
    sent = counts.channel_posts + counts.dm_opens + counts.dm_messages + counts.other
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    print(
        f"fan-out: {args.entries} entries x {args.channels} channels, {args.subscribers} subscribers;"
        f" limits {args.per_channel}/{args.window:g}s per channel bucket, {args.global_rate}/s global"
    )
    print()
    print("minimum time the limits allow:")
    print(
        f"  per channel: (ceil(N / L) - 1) x W = (ceil({args.entries} / {args.per_channel}) - 1)"
        f" x {args.window:g}s = {bounds.per_channel:.1f}s"
    )
    print(
        f"  global:      R / G = ({args.entries * args.channels} posts + {dms} DM opens + {dms} DMs)"
        f" / {args.global_rate}/s = {bounds.global_rate:.1f}s"
    )
    print(f"  minimum = max(per channel, global) = {minimum:.1f}s")
    print("tighter bounds, max over t of t + (requests that cannot start before t) / G:")
    print(
        f"  DMs wait for a post of each of their entries (entry i is posted at (i // L) x W at the"
        f" earliest): {bounds.dms_after_posts:.2f}s"
    )
    print(
        f"  and discord.py hands back a bucket's L-th post only when the bucket resets (+W for the"
        f" link to entries L, 2L, ...): {bounds.discord_py:.2f}s"
    )
    print()
    print(f"total time:        {result.elapsed:.2f}s")
    print(f"ratio to minimum:  {ratio:.3f}x  (target <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'})")
    print(
        f"ratio to tighter:  {result.elapsed / bounds.dms_after_posts:.3f}x (DMs after posts),"
        f" {result.elapsed / bounds.discord_py:.3f}x (and discord.py's bucket sleep)"
    )
    print(f"requests/s:        {sent / result.elapsed:.1f} answered (+ {counts.rate_limited} 429s)")
    print(
        f"requests:          {counts.channel_posts} channel posts, {counts.dm_opens} DM channel opens,"
        f" {counts.dm_messages} DM messages, {counts.other} other"
    )
    print(
        f"429s received:     {counts.rate_limited} ({counts.rate_limited_global} global,"
        f" {counts.rate_limited_bucket} per-bucket)"
    )
    first_dm = f"{counts.first_dm_at:.2f}s" if counts.first_dm_at is not None else "-"
    print(
        f"timeline:          last channel post at {counts.last_post_at:.2f}s, DMs from {first_dm}"
        f" to {counts.last_dm_at:.2f}s"
    )
    print(
        f"report:            {report.posts_sent} posts sent (of {report.posts_planned} planned),"
        f" {report.dms_sent} DMs sent, {report.posts_failed} posts failed, {report.dms_failed} DMs failed"
    )
    traced = f"{result.traced_peak / 2**20:.1f} MiB" if tracemalloc.is_tracing() else "off"
    print(
        f"peak memory:       tracemalloc {traced} during the run (Python allocations, fake Discord"
        f" included); maxrss {rss_kib / 1024:.1f} MiB for the process"
    )
    print(
        f"discord.py logs:   {result.discord_warnings} warnings or worse, {result.retry_notices} of them 429"
        " retry notices (not shown); any other is printed above"
    )
    print()
    print("exactly-once:")
    for line in verify_exactly_once(fake, workload, args.channels):
        print(line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=30)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--per-channel", type=int, default=5, help="posts per bucket window")
    parser.add_argument("--window", type=float, default=5.0, help="bucket window in seconds")
    parser.add_argument("--global-rate", type=int, default=50, help="requests per second, all routes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="time without tracemalloc's overhead (no Python peak)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietRateLimits())
    if not args.no_tracemalloc:
        tracemalloc.start()
    workload = build_workload(args.entries, args.subscribers, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        fake, result = asyncio.run(run_fanout(args, workload, Path(tmp)))
    print_results(args, fake, workload, result)


if __name__ == "__main__":
    main()
