"""Planning a day's digest: which papers go to which channels, before anything is sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.services.digest.routes import channels_for_tags, guild_config, list_routes
from bot.store.db import Database
from bot.store.papers import tags_for


@dataclass(frozen=True)
class PlannedEntry:
    paper_id: int
    title: str
    tags: list[str]
    channel_ids: list[int]


@dataclass
class DigestPlan:
    guild_id: int
    day: dt.date
    entries: list[PlannedEntry] = field(default_factory=list)

    @property
    def unrouted(self) -> list[PlannedEntry]:
        """Entries that will not be posted anywhere (no matching route and no fallback)."""
        return [e for e in self.entries if not e.channel_ids]

    @property
    def post_count(self) -> int:
        return sum(len(e.channel_ids) for e in self.entries)

    def by_channel(self) -> dict[int, list[PlannedEntry]]:
        grouped: dict[int, list[PlannedEntry]] = {}
        for entry in self.entries:
            for channel in entry.channel_ids:
                grouped.setdefault(channel, []).append(entry)
        return grouped


async def digest_papers(db: Database, day: dt.date) -> list[tuple[int, str]]:
    """(paper id, title) of a day's entries in the order the curator wrote them."""
    rows = await db.fetchall(
        "SELECT p.id, p.title FROM entries e JOIN papers p ON p.id = e.paper_id "
        "WHERE e.digest_date = ? ORDER BY e.source_id, e.position, e.id",
        (day.isoformat(),),
    )
    return [(int(r["id"]), str(r["title"])) for r in rows]


async def plan_digest(db: Database, guild_id: int, day: dt.date) -> DigestPlan:
    """Each entry of ``day`` routed to every channel matching any of its tags, else the fallback."""
    papers = await digest_papers(db, day)
    routes = await list_routes(db, guild_id)
    config = await guild_config(db, guild_id)
    tags = await tags_for(db, [pid for pid, _ in papers])
    plan = DigestPlan(guild_id, day)
    for paper_id, title in papers:
        paper_tags = tags.get(paper_id, [])
        channels = channels_for_tags(routes, paper_tags, config.fallback_channel_id)
        plan.entries.append(PlannedEntry(paper_id, title, paper_tags, channels))
    return plan
