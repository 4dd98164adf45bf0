"""Related-paper quality on the curator's vault, against links the ranking never sees; and latencies.

    .venv/bin/python bench/related.py [--vault PATH] [--db PATH] [--no-embeddings]

The relatedness signal is the curator's own ``[[wiki links]]`` between notes (``# Links`` sections and
inline links). They are stripped from the parsed notes before ingesting into a temporary database
(nothing of the vault is copied into the repository), then used as the answer key: for each note with
a resolvable link, the linked notes in either direction are its related papers. recall@10 is the share
of a paper's linked papers found in its top 10, averaged over those papers.

The baseline is plain BM25 with the whole note as the query (every term of title, commentary, abstract
and tags ORed, the same field weights as search). Ablations show which signals help.
Also prints the p95 latency of ``related`` (embeddings loaded) and of /foryou for a member who engaged
with 200 papers. Prints figures only; targets: recall@10 >= 1.2x baseline, related p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from bot.domain.sources import iter_source_files, parse_bytes
from bot.domain.textfold import any_of
from bot.services.discovery.foryou import recommend
from bot.services.discovery.links import resolve_links
from bot.services.discovery.related import RelatedFinder, RelatedWeights, note_terms, note_text
from bot.services.ingest.pipeline import source_key
from bot.services.ingest.write import write_parsed
from bot.services.search.embedders import build_embedder
from bot.services.search.fulltext import FIELD_WEIGHTS
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from bot.store.papers import get_paper

ROOT = Path(__file__).resolve().parents[1]
WIKI = re.compile(r"\[\[[^\[\]]*\]\]")
K = 10


async def ingest_without_links(db: Database, vault: Path, *, write: bool = True) -> dict[str, list[str]]:
    """Ingest the vault's notes with every wiki link removed; returns note stem → link names."""
    links: dict[str, list[str]] = {}
    batch = []
    for path in iter_source_files([vault]):
        data = path.read_bytes()
        parsed = parse_bytes(data, str(path))
        if not parsed.ok:
            continue
        for entry in parsed.entries:
            if entry.links:
                links.setdefault(path.stem, []).extend(entry.links)
            entry.links = []
            entry.commentary = WIKI.sub("", entry.commentary)
            entry.commentary_en = WIKI.sub("", entry.commentary_en)
        batch.append((parsed, source_key(path), hashlib.sha256(data).hexdigest()))
    for start in range(0, len(batch) if write else 0, 500):
        await write_parsed(db, batch[start : start + 500])
    return links


async def answer_key(db: Database, links: dict[str, list[str]]) -> dict[int, set[int]]:
    """Paper id → the papers linked to or from its notes (resolved with the bot's own link resolution)."""
    names = {n for targets in links.values() for n in targets} | set(links)
    resolved = await resolve_links(db, names)
    related: dict[int, set[int]] = {}
    for stem, targets in links.items():
        source = resolved.get(stem)
        for name in targets:
            target = resolved.get(name.strip().removesuffix(".md").strip())
            if source is not None and target is not None and target != source:
                related.setdefault(source, set()).add(target)
                related.setdefault(target, set()).add(source)
    return related


async def whole_note_bm25(db: Database, paper_id: int) -> list[int]:
    """The baseline: BM25 with every term of the note ORed as the query."""
    paper = await get_paper(db, paper_id)
    assert paper is not None
    terms = list(note_terms(note_text(paper)))
    weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
    rows = await db.fetchall(
        f"SELECT rowid AS id FROM paper_fts WHERE paper_fts MATCH ? "
        f"ORDER BY bm25(paper_fts, {weights}) LIMIT ?",
        (any_of(terms), K + 1),
    )
    return [int(r["id"]) for r in rows if int(r["id"]) != paper_id][:K]


def recall(ranked: list[int], expected: set[int]) -> float:
    return len(set(ranked[:K]) & expected) / min(len(expected), K)


async def measure(name: str, rank: object, key: dict[int, set[int]]) -> tuple[float, list[float]]:
    scores, times = [], []
    for paper_id, expected in key.items():
        started = time.perf_counter()
        ranked = await rank(paper_id)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
        scores.append(recall(ranked, expected))
    mean = statistics.fmean(scores)
    times.sort()
    print(f"  {name:<44}{mean:>8.3f}{statistics.median(times):>9.1f}{p95(times):>9.1f}")
    return mean, times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def finder_rank(finder: RelatedFinder):  # type: ignore[no-untyped-def]
    async def rank(paper_id: int) -> list[int]:
        return [r.id for r in await finder.related(paper_id, limit=K)]

    return rank


async def foryou_latency(db: Database, finder: RelatedFinder, runs: int = 30) -> list[float]:
    """/foryou for a member who saved 150 papers and reacted to 50 others (200 engaged papers).

    The member is deleted again afterwards, so a reused database is left as it was."""
    rows = await db.fetchall("SELECT id FROM papers ORDER BY id")
    ids = [int(r["id"]) for r in rows]
    picked = random.Random(15).sample(ids, 200)
    user = 4242
    now = "2026-11-30T12:00:00+00:00"
    await db.executemany(
        "INSERT OR IGNORE INTO saved (user_id, paper_id, created_at) VALUES (?,?,?)",
        [(user, pid, now) for pid in picked[:150]],
    )
    await db.executemany(
        "INSERT OR IGNORE INTO reactions (message_id, paper_id, user_id, emoji, created_at) VALUES (?,?,?,?,?)",
        [(900000 + n, pid, user, "👍", now) for n, pid in enumerate(picked[150:])],
    )
    times = []
    try:
        for _ in range(runs):  # the first run builds and stores the profile; later ones reuse it
            started = time.perf_counter()
            await recommend(db, finder, user, guild_id=1, limit=10)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        for table in ("saved", "reactions", "member_profiles", "foryou_shown"):
            await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user,))
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault", type=Path, default=ROOT.parent / "shared" / "corpus" / "arxiv-today")
    parser.add_argument("--db", type=Path, help="reuse this database (ingested by an earlier run)")
    parser.add_argument("--no-embeddings", action="store_true", help="skip the embedding signal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "related.db"
        fresh = not path.exists()
        async with await Database.open(path) as db:
            started = time.perf_counter()
            links = await ingest_without_links(db, args.vault, write=fresh)
            stored_links = int(await db.fetchval("SELECT count(*) FROM papers WHERE links != '[]'"))
            print(
                f"ingest ({'fresh' if fresh else 'reused'}): {time.perf_counter() - started:.1f} s; "
                f"papers with links left in the store: {stored_links}"
            )
            key = await answer_key(db, links)
            pairs = sum(len(v) for v in key.values())
            print(f"answer key: {len(key)} papers with curator links, {pairs} (paper, related) pairs")
            retriever = None
            if not args.no_embeddings:
                retriever = await Retriever.build(db, build_embedder("offline"))
                started = time.perf_counter()
                done = await retriever.update()
                print(f"embeddings: {done} papers embedded in {time.perf_counter() - started:.1f} s")

            print(f"\n  {'method (recall@' + str(K) + ')':<44}{'recall':>8}{'p50 ms':>9}{'p95 ms':>9}")
            base, _ = await measure(
                "BM25, whole note as query (baseline)", lambda p: whole_note_bm25(db, p), key
            )
            variants = [
                ("BM25, salient terms only", RelatedWeights(1.0, 0.0, 0.0)),
                ("tags only", RelatedWeights(0.0, 0.0, 1.0)),
                ("BM25 salient + tags", RelatedWeights(0.7, 0.0, 0.3)),
            ]
            if retriever is not None:
                variants += [
                    ("embedding centroids only", RelatedWeights(0.0, 1.0, 0.0)),
                    ("BM25 salient + embeddings", RelatedWeights(0.6, 0.4, 0.0)),
                    ("all three (default weights)", RelatedWeights()),
                ]
            results = {}
            for name, weights in variants:
                finder = RelatedFinder(db, retriever, weights=weights, curator_first=False)
                results[name], times = await measure(name, finder_rank(finder), key)
            default = RelatedFinder(db, retriever, curator_first=False)
            best_name = "all three (default weights)" if retriever is not None else "BM25 salient + tags"
            best = results[best_name]
            _, times = await measure("default finder, second pass (warm)", finder_rank(default), key)
            foryou = await foryou_latency(db, default)
            print(
                f"\n/foryou, member with 200 engaged papers: p50 {statistics.median(foryou):.1f} ms, "
                f"p95 {p95(foryou):.1f} ms over {len(foryou)} runs"
            )
            print("\ntargets")
            ratio = best / base if base else float("inf")
            print(
                f"  recall@10 >= 1.2x baseline:  {best:.3f} vs {base:.3f} = {ratio:.2f}x  "
                f"{'PASS' if ratio >= 1.2 else 'MISS'}"
            )
            print(
                f"  related p95 <= 30 ms:        {p95(times):.1f} ms  {'PASS' if p95(times) <= 30 else 'MISS'}"
            )


if __name__ == "__main__":
    asyncio.run(main())
