"""/foryou: papers a member has not saved or reacted to, from what they saved, reacted to and follow.

A member's profile is the weighted mean of the embedding centroids of the papers they engaged with
(saves count twice a reaction) plus tag weights (tags of those papers, rarer tags counting more, and
followed tags at full weight). Candidates are scored by closeness to the profile, by being related to
the member's most recent papers (the related-papers ranking), and by tag affinity. Papers with a
muted tag never appear. The profile is stored (``member_profiles``) and rebuilt when the member's
activity changes; :func:`forget` deletes it with everything else derived from them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from bot.domain.arxiv import normalise_title
from bot.domain.tags import tag_key
from bot.services.clock import Clock, utc_now
from bot.services.community.members import subscriptions
from bot.services.community.reactions import top_papers
from bot.services.discovery.related import RelatedFinder, load_notes
from bot.services.discovery.vectors import PaperVectors
from bot.store.db import Database, in_chunks
from bot.store.papers import get_papers

SAVE_WEIGHT = 2.0
REACTION_WEIGHT = 1.0
NEIGHBOUR_SEEDS = 3  # most recent engaged papers whose related papers are candidates
TOP_TAGS = 12


@dataclass(frozen=True)
class Reason:
    """Why a paper is recommended: ``kind`` is saved | reacted | follow | tag | popular | new."""

    kind: str
    subject: str = ""  # a paper title or a tag
    count: int = 0


@dataclass(frozen=True)
class Recommendation:
    id: int
    arxiv_id: str | None
    title: str
    tags: list[str]
    score: float
    reason: Reason


@dataclass
class ForYou:
    items: list[Recommendation] = field(default_factory=list)
    fallback: bool = False  # no history: the community's recent top papers
    engaged: int = 0


@dataclass
class Profile:
    engaged: dict[int, tuple[str, float, str]]  # paper id -> (saved|reacted, weight, latest time)
    follows: list[str]
    mutes: list[str]
    tag_weights: dict[str, float]
    vector: np.ndarray | None = None


async def engagement(db: Database, user_id: int) -> dict[int, tuple[str, float, str]]:
    """Paper id → (how, weight, when) for every paper a member saved or reacted to."""
    found: dict[int, tuple[str, float, str]] = {}
    for row in await db.fetchall(
        "SELECT paper_id, max(created_at) AS at FROM reactions WHERE user_id = ? GROUP BY paper_id",
        (user_id,),
    ):
        found[int(row["paper_id"])] = ("reacted", REACTION_WEIGHT, str(row["at"]))
    for row in await db.fetchall("SELECT paper_id, created_at FROM saved WHERE user_id = ?", (user_id,)):
        found[int(row["paper_id"])] = ("saved", SAVE_WEIGHT, str(row["created_at"]))
    return found


async def _tag_weights(
    db: Database, engaged: dict[int, tuple[str, float, str]], follows: list[str]
) -> dict[str, float]:
    weights: dict[str, float] = {}
    total = int(await db.fetchval("SELECT count(*) FROM papers")) or 1
    for chunk in in_chunks(list(engaged)):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            "SELECT pt.paper_id, t.key, (SELECT count(*) FROM paper_tags x WHERE x.tag_id = t.id) AS n "  # noqa: S608
            f"FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id IN ({marks})",
            list(chunk),
        )
        for row in rows:
            idf = math.log(1 + total / max(1, int(row["n"])))
            key = str(row["key"])
            weights[key] = weights.get(key, 0.0) + engaged[int(row["paper_id"])][1] * idf
    top = max(weights.values(), default=0.0) or 1.0
    scaled = {k: v / top for k, v in weights.items()}
    for key in follows:
        scaled[key] = 1.0
    return scaled


def _basis(engaged: dict[int, tuple[str, float, str]], follows: list[str], model: str | None) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for pid in sorted(engaged):
        digest.update(f"{pid}:{engaged[pid][0]};".encode())
    digest.update(("|" + ",".join(sorted(follows)) + "|" + (model or "")).encode())
    return digest.hexdigest()


async def build_profile(
    db: Database,
    vectors: PaperVectors | None,
    model: str | None,
    user_id: int,
    guild_id: int,
    *,
    clock: Clock = utc_now,
) -> Profile:
    """The member's profile, from the stored one when their activity has not changed since."""
    engaged = await engagement(db, user_id)
    subs = await subscriptions(db, user_id, guild_id)
    profile = Profile(engaged, subs.follows, subs.mutes, {})
    basis = _basis(engaged, subs.follows, model if vectors is not None else None)
    stored = await db.fetchone("SELECT * FROM member_profiles WHERE user_id = ?", (user_id,))
    if stored is not None and stored["basis"] == basis:
        profile.tag_weights = json.loads(stored["tag_weights"])
        if stored["vector"] is not None and vectors is not None:
            profile.vector = np.frombuffer(stored["vector"], dtype=np.float32)
        return profile
    profile.tag_weights = await _tag_weights(db, engaged, subs.follows)
    if vectors is not None:
        profile.vector = vectors.profile((pid, w) for pid, (_k, w, _t) in engaged.items())
    if engaged or subs.follows:
        await db.execute(
            "INSERT INTO member_profiles (user_id, model, vector, tag_weights, basis, engaged, updated_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(user_id) DO UPDATE SET model = excluded.model, "
            "vector = excluded.vector, tag_weights = excluded.tag_weights, basis = excluded.basis, "
            "engaged = excluded.engaged, updated_at = excluded.updated_at",
            (
                user_id,
                model if profile.vector is not None else None,
                profile.vector.astype(np.float32).tobytes() if profile.vector is not None else None,
                json.dumps(profile.tag_weights, sort_keys=True),
                basis,
                len(engaged),
                clock().isoformat(timespec="seconds"),
            ),
        )
    return profile


async def _titles(db: Database, paper_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    found: dict[int, tuple[str, str | None]] = {}
    for chunk in in_chunks(paper_ids):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT id, title, arxiv_id FROM papers WHERE id IN ({marks})", list(chunk))  # noqa: S608
        found.update({int(r["id"]): (str(r["title"]), r["arxiv_id"]) for r in rows})
    return found


async def _tagged(db: Database, keys: list[str]) -> dict[int, set[str]]:
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    rows = await db.fetchall(
        "SELECT pt.paper_id, t.key FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "  # noqa: S608
        f"WHERE t.key IN ({marks})",
        keys,
    )
    found: dict[int, set[str]] = {}
    for row in rows:
        found.setdefault(int(row["paper_id"]), set()).add(str(row["key"]))
    return found


def _scaled(signal: dict[int, float]) -> dict[int, float]:
    if not signal:
        return {}
    low, high = min(signal.values()), max(signal.values())
    span = high - low
    return {p: (v - low) / span if span > 0 else 1.0 for p, v in signal.items()}


async def recommend(
    db: Database,
    finder: RelatedFinder,
    user_id: int,
    *,
    guild_id: int,
    limit: int = 5,
    skip_shown: bool = False,
    record: bool = True,
    clock: Clock = utc_now,
) -> ForYou:
    """Recommendations for one member, best first, each with its reason; see the module docstring."""
    vectors = finder.paper_vectors()
    model = finder.retriever.embedder.name if finder.retriever and finder.retriever.embedder else None
    profile = await build_profile(db, vectors, model, user_id, guild_id, clock=clock)
    muted = {tag_key(m) for m in profile.mutes}
    blocked = set(profile.engaged)
    if skip_shown:
        rows = await db.fetchall("SELECT paper_id FROM foryou_shown WHERE user_id = ?", (user_id,))
        blocked |= {int(r["paper_id"]) for r in rows}
    if not profile.engaged and not profile.follows:
        result = await _community_top(db, limit, blocked, muted, clock)
    else:
        result = await _personal(db, finder, vectors, profile, limit, blocked, muted)
    if record and result.items:
        now = clock().isoformat(timespec="seconds")
        await db.executemany(
            "INSERT INTO foryou_shown (user_id, paper_id, shown_at) VALUES (?,?,?) "
            "ON CONFLICT(user_id, paper_id) DO UPDATE SET shown_at = excluded.shown_at",
            [(user_id, item.id, now) for item in result.items],
        )
    return result


async def _personal(
    db: Database,
    finder: RelatedFinder,
    vectors: PaperVectors | None,
    profile: Profile,
    limit: int,
    blocked: set[int],
    muted: set[str],
) -> ForYou:
    dense: dict[int, float] = {}
    if vectors is not None and profile.vector is not None:
        dense = dict(vectors.nearest(profile.vector, 300, exclude=blocked))
    neighbours: dict[int, float] = {}
    seed_of: dict[int, int] = {}
    recent = sorted(profile.engaged, key=lambda p: (profile.engaged[p][2], p), reverse=True)
    for seed in recent[:NEIGHBOUR_SEEDS]:
        note = await finder.note(seed)
        if note is None:
            continue
        close, _shared, _terms = await finder.ranked(note)
        for pid, value in close[:30]:
            if pid not in blocked and value > neighbours.get(pid, -1.0):
                neighbours[pid], seed_of[pid] = value, seed
    top_tags = sorted(profile.tag_weights, key=lambda k: -profile.tag_weights[k])[:TOP_TAGS]
    tagged = await _tagged(db, top_tags)
    affinity = {
        pid: sum(profile.tag_weights[k] for k in keys) for pid, keys in tagged.items() if pid not in blocked
    }
    weights = (0.45, 0.3, 0.25) if dense else (0.0, 0.55, 0.45)
    fused: dict[int, float] = {}
    for weight, signal in zip(weights, (_scaled(dense), _scaled(neighbours), _scaled(affinity)), strict=True):
        for pid, value in signal.items():
            fused[pid] = fused.get(pid, 0.0) + weight * value
    ranked = sorted(fused, key=lambda p: (-fused[p], p))[: limit * 4]
    papers = await load_notes(db, ranked)
    engaged_papers = await _titles(db, list(profile.engaged))
    seen_keys = {normalise_title(title) for title, _a in engaged_papers.values()}
    seen_keys |= {arxiv_id for _t, arxiv_id in engaged_papers.values() if arxiv_id}
    items: list[Recommendation] = []
    for pid in ranked:
        paper = papers.get(pid)
        if paper is None or {tag_key(t) for t in paper.tags} & muted:
            continue
        keys = {normalise_title(paper.title)} | ({paper.arxiv_id} if paper.arxiv_id else set())
        if keys & seen_keys:
            continue
        seen_keys |= keys
        reason = _reason(pid, paper.tags, profile, seed_of, vectors, engaged_papers)
        items.append(
            Recommendation(pid, paper.arxiv_id, paper.title, paper.tags, round(fused[pid], 4), reason)
        )
        if len(items) == limit:
            break
    return ForYou(items=items, engaged=len(profile.engaged))


def _reason(
    pid: int,
    tags: list[str],
    profile: Profile,
    seed_of: dict[int, int],
    vectors: PaperVectors | None,
    engaged_papers: dict[int, tuple[str, str | None]],
) -> Reason:
    seed = seed_of.get(pid)
    if seed is None and vectors is not None and profile.engaged:
        mine = vectors.vector(pid)
        if mine is not None:
            best = max(
                ((float(mine @ v), p) for p in profile.engaged if (v := vectors.vector(p)) is not None),
                default=None,
            )
            seed = best[1] if best is not None and best[0] > 0.5 else None
    if seed is not None and seed in engaged_papers:
        return Reason(profile.engaged[seed][0], engaged_papers[seed][0])
    keys = {tag_key(t): t for t in tags}
    followed = [keys[k] for k in profile.follows if k in keys]
    if followed:
        return Reason("follow", followed[0])
    liked = sorted((k for k in keys if k in profile.tag_weights), key=lambda k: -profile.tag_weights[k])
    return Reason("tag", keys[liked[0]]) if liked else Reason("tag", tags[0] if tags else "")


async def _community_top(
    db: Database, limit: int, blocked: set[int], muted: set[str], clock: Clock
) -> ForYou:
    items: list[Recommendation] = []
    for period in ("week", "month"):
        for top in await top_papers(db, period, limit=limit * 3, clock=clock):
            if top.paper_id in blocked or any(i.id == top.paper_id for i in items):
                continue
            items.append(
                Recommendation(
                    top.paper_id, top.arxiv_id, top.title, [], 0.0, Reason("popular", period, top.reactions)
                )
            )
    if len(items) < limit:
        rows = await db.fetchall(
            "SELECT id FROM papers ORDER BY first_seen DESC, id DESC LIMIT ?", (limit * 3,)
        )
        for row in rows:
            pid = int(row["id"])
            if pid not in blocked and all(i.id != pid for i in items):
                items.append(Recommendation(pid, None, "", [], 0.0, Reason("new")))
    papers = await get_papers(db, [i.id for i in items])
    kept = []
    for item in items:
        paper = papers.get(item.id)
        if paper is None or {tag_key(t) for t in paper.tags} & muted:
            continue
        kept.append(Recommendation(item.id, paper.arxiv_id, paper.title, paper.tags, item.score, item.reason))
    return ForYou(items=kept[:limit], fallback=True)


@dataclass(frozen=True)
class Forgotten:
    profile: int
    shown: int
    weekly: int
    saved: int = 0
    reactions: int = 0


async def forget(db: Database, user_id: int, *, activity: bool = False) -> Forgotten:
    """Delete what paperbot derived about a member: their profile, the record of what it recommended
    them and their weekly-DM choice; with ``activity`` also their saves and recorded reactions. One
    transaction. The weekly-DM delivery log (member, week, state) stays, so opting in again in the same
    week cannot bring a second DM."""
    counts: dict[str, int] = {}
    async with db.transaction() as conn:
        tables = [("profile", "member_profiles"), ("shown", "foryou_shown"), ("weekly", "foryou_prefs")]
        if activity:
            tables += [("saved", "saved"), ("reactions", "reactions")]
        for name, table in tables:
            cur = await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # noqa: S608
            counts[name] = cur.rowcount
    return Forgotten(
        counts["profile"],
        counts["shown"],
        counts["weekly"],
        counts.get("saved", 0),
        counts.get("reactions", 0),
    )


async def set_weekly(db: Database, user_id: int, guild_id: int, on: bool, *, clock: Clock = utc_now) -> None:
    """Turn the weekly "papers you may have missed" DM on or off (recommendations shaped by ``guild_id``)."""
    await db.execute(
        "INSERT INTO foryou_prefs (user_id, guild_id, weekly_dm, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(user_id) DO UPDATE SET guild_id = excluded.guild_id, weekly_dm = excluded.weekly_dm, "
        "updated_at = excluded.updated_at",
        (user_id, guild_id, int(on), clock().isoformat(timespec="seconds")),
    )


async def weekly_on(db: Database, user_id: int) -> bool:
    return bool(await db.fetchval("SELECT weekly_dm FROM foryou_prefs WHERE user_id = ?", (user_id,)))


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())
