from __future__ import annotations

import datetime as dt

from bot.services.digest.plan import plan_digest
from bot.services.digest.routes import Route, channels_for_tags, set_route, update_guild_config
from bot.services.digest.schedule import last_slot
from bot.store.db import Database
from tests.botenv import DAY
from tests.notes import DIGEST, NOTE_4DIM, write

GUILD = 1


def test_channels_for_overlapping_tags_are_unique_and_fallback_only_when_unrouted() -> None:
    routes = [Route("diffusion", 10), Route("neural-rendering", 10), Route("video", 20), Route("llm", 30)]
    assert channels_for_tags(routes, ["#Diffusion", "neural_rendering", "video"], 99) == [10, 20]
    assert channels_for_tags(routes, ["robotics"], 99) == [99]
    assert channels_for_tags(routes, ["robotics"], None) == []
    assert channels_for_tags(routes, [], 99) == [99]


async def test_plan_routes_each_entry_once_per_channel(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.services.ingest.pipeline import ingest_paths

    write(tmp_path, "240711 A.md", NOTE_4DIM)
    write(tmp_path, "d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path])).ok
    await set_route(db, GUILD, "diffusion", 10)
    await set_route(db, GUILD, "neural-rendering", 10)
    await set_route(db, GUILD, "video", 20)
    await set_route(db, 2, "llm", 77)  # another guild's route does not apply
    plan = await plan_digest(db, GUILD, DAY)
    by_title = {e.title: e.channel_ids for e in plan.entries}
    assert by_title == {
        "Controlling Space and Time with Diffusion Models": [10, 20],
        "A Tiny Language Model Study": [],
    }
    assert [e.title for e in plan.unrouted] == ["A Tiny Language Model Study"]
    await update_guild_config(db, GUILD, fallback_channel_id=5)
    plan = await plan_digest(db, GUILD, DAY)
    assert plan.by_channel() == {10: [plan.entries[0]], 20: [plan.entries[0]], 5: [plan.entries[1]]}
    assert plan.post_count == 3


def test_last_slot_in_time_zone() -> None:
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    at = dt.time(9, 0)
    # 23:30 UTC on the 10th is 08:30 on the 11th in Seoul: before the slot, so the 10th's digest.
    assert last_slot(dt.datetime(2024, 7, 10, 23, 30, tzinfo=dt.UTC), seoul, at) == dt.date(2024, 7, 10)
    assert last_slot(dt.datetime(2024, 7, 11, 0, 0, tzinfo=dt.UTC), seoul, at) == dt.date(2024, 7, 11)
