"""Tag → channel routes per guild, the fallback channel, and where a paper's tags send it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.tags import tag_key
from bot.services.clock import iso_now
from bot.store.db import Database

LANGUAGES = ("original", "english", "both")


@dataclass(frozen=True)
class Route:
    tag_key: str
    channel_id: int


@dataclass(frozen=True)
class GuildConfig:
    guild_id: int
    fallback_channel_id: int | None = None
    language: str = "both"
    threads: bool = False


async def set_route(db: Database, guild_id: int, tag: str, channel_id: int, *, by: int | None = None) -> str:
    """Route ``tag`` to ``channel_id``; returns the normalised tag key. Idempotent."""
    key = tag_key(tag)
    if not key:
        raise ValueError("a tag needs at least one letter or digit, e.g. #diffusion")
    await db.execute(
        "INSERT OR IGNORE INTO routes (guild_id, tag_key, channel_id, created_by, created_at) VALUES (?,?,?,?,?)",
        (guild_id, key, channel_id, by, iso_now()),
    )
    return key


async def remove_route(db: Database, guild_id: int, tag: str, channel_id: int) -> bool:
    """Remove one route; False when there was none."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "DELETE FROM routes WHERE guild_id = ? AND tag_key = ? AND channel_id = ?",
            (guild_id, tag_key(tag), channel_id),
        )
        return cur.rowcount > 0


async def list_routes(db: Database, guild_id: int) -> list[Route]:
    rows = await db.fetchall(
        "SELECT tag_key, channel_id FROM routes WHERE guild_id = ? ORDER BY tag_key, channel_id", (guild_id,)
    )
    return [Route(r["tag_key"], r["channel_id"]) for r in rows]


async def guild_config(db: Database, guild_id: int) -> GuildConfig:
    row = await db.fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
    if row is None:
        return GuildConfig(guild_id)
    return GuildConfig(guild_id, row["fallback_channel_id"], row["language"], bool(row["threads"]))


async def update_guild_config(
    db: Database,
    guild_id: int,
    *,
    fallback_channel_id: int | None = None,
    language: str | None = None,
    threads: bool | None = None,
) -> GuildConfig:
    """Change only the given settings of a guild."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    current = await guild_config(db, guild_id)
    await db.execute(
        "INSERT INTO guild_settings (guild_id, fallback_channel_id, language, threads, updated_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT(guild_id) DO UPDATE SET fallback_channel_id = excluded.fallback_channel_id,"
        " language = excluded.language, threads = excluded.threads, updated_at = excluded.updated_at",
        (
            guild_id,
            fallback_channel_id if fallback_channel_id is not None else current.fallback_channel_id,
            language or current.language,
            int(threads if threads is not None else current.threads),
            iso_now(),
        ),
    )
    return await guild_config(db, guild_id)


def channels_for_tags(routes: Iterable[Route], tags: Iterable[str], fallback: int | None) -> list[int]:
    """Every channel routed from any of ``tags``, each once, in route order; else the fallback."""
    keys = {tag_key(t) for t in tags}
    channels = list(dict.fromkeys(r.channel_id for r in routes if r.tag_key in keys))
    if channels:
        return channels
    return [fallback] if fallback is not None else []
