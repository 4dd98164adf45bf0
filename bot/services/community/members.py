"""What members choose: tag subscriptions and mutes, paused DMs, saved papers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.domain.tags import tag_key
from bot.services.clock import iso_now
from bot.store.db import Database


@dataclass
class MemberSubscriptions:
    follows: list[str] = field(default_factory=list)
    mutes: list[str] = field(default_factory=list)
    paused: bool = False


def split_tags(text: str) -> list[str]:
    """Tag keys from free text such as ``#llm, diffusion vision_language``, deduplicated."""
    keys = (tag_key(part) for part in text.replace(",", " ").split())
    return list(dict.fromkeys(k for k in keys if k))


async def set_tags(
    db: Database, user_id: int, guild_id: int, tags: Iterable[str], kind: str = "follow"
) -> list[str]:
    """Follow (or mute) each tag in a guild; a tag is either followed or muted, the last choice wins."""
    keys = list(dict.fromkeys(k for k in (tag_key(t) for t in tags) if k))
    now = iso_now()
    await db.executemany(
        "INSERT INTO subscriptions (user_id, guild_id, tag_key, kind, created_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(user_id, guild_id, tag_key) DO UPDATE SET kind = excluded.kind",
        [(user_id, guild_id, key, kind, now) for key in keys],
    )
    return keys


async def unset_tags(db: Database, user_id: int, guild_id: int, tags: Iterable[str]) -> list[str]:
    """Stop following or muting each tag; returns the keys that were set."""
    keys = [k for k in (tag_key(t) for t in tags) if k]
    removed: list[str] = []
    async with db.transaction() as conn:
        for key in keys:
            cur = await conn.execute(
                "DELETE FROM subscriptions WHERE user_id = ? AND tag_key = ?", (user_id, key)
            )
            if cur.rowcount:
                removed.append(key)
    return removed


async def subscriptions(db: Database, user_id: int, guild_id: int) -> MemberSubscriptions:
    rows = await db.fetchall(
        "SELECT tag_key, kind FROM subscriptions WHERE user_id = ? AND guild_id = ? ORDER BY tag_key",
        (user_id, guild_id),
    )
    paused = await db.fetchval("SELECT dms_paused FROM member_prefs WHERE user_id = ?", (user_id,))
    return MemberSubscriptions(
        follows=[r["tag_key"] for r in rows if r["kind"] == "follow"],
        mutes=[r["tag_key"] for r in rows if r["kind"] == "mute"],
        paused=bool(paused),
    )


async def set_paused(db: Database, user_id: int, paused: bool) -> None:
    await db.execute(
        "INSERT INTO member_prefs (user_id, dms_paused, updated_at) VALUES (?,?,?) "
        "ON CONFLICT(user_id) DO UPDATE SET dms_paused = excluded.dms_paused, updated_at = excluded.updated_at",
        (user_id, int(paused), iso_now()),
    )


async def toggle_saved(db: Database, user_id: int, paper_id: int) -> bool:
    """Save a paper for a member, or unsave it when already saved; True when now saved."""
    async with db.transaction() as conn:
        cur = await conn.execute("DELETE FROM saved WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
        if cur.rowcount:
            return False
        await conn.execute(
            "INSERT INTO saved (user_id, paper_id, created_at) VALUES (?,?,?)", (user_id, paper_id, iso_now())
        )
        return True


async def saved_papers(
    db: Database, user_id: int, *, limit: int = 25, offset: int = 0
) -> list[tuple[int, str]]:
    """(paper id, title) a member saved, newest first."""
    rows = await db.fetchall(
        "SELECT p.id, p.title FROM saved s JOIN papers p ON p.id = s.paper_id WHERE s.user_id = ? "
        "ORDER BY s.created_at DESC, p.id DESC LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    return [(int(r["id"]), str(r["title"])) for r in rows]
