"""Extractive answers on the shared vault: is the first citation the expected paper, is ``covered`` right.

    .venv/bin/python bench/answer_eval.py [--vault PATH] [--questions PATH] [--offtopic PATH] [--db PATH]

On-topic questions (bench/retrieval_questions.json) should be covered and cite the expected paper first;
off-topic ones (bench/offtopic_questions.json) should get "the notes do not cover this". The baseline,
run in the same process, is the check answers used before: covered when any passage shares one word
with the question. Run twice in one process: with BM25 retrieval, and as the default install answers
(hybrid retrieval with the offline model; its vectors are computed first unless stored). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.textfold import query_terms  # noqa: E402
from bot.services.answers.answerer import Answerer  # noqa: E402
from bot.services.answers.types import Passage  # noqa: E402
from bot.services.ingest.pipeline import ingest_paths  # noqa: E402
from bot.services.search.embedders import UseEmbedder, build_embedder  # noqa: E402
from bot.services.search.retrieval import Retriever  # noqa: E402
from bot.store.db import Database  # noqa: E402


def baseline_covers(question: str, passages: list[Passage]) -> bool:
    """The check before issue 13: any passage shares a single term with the question."""
    terms = query_terms(question)
    if not passages:
        return False
    return (
        any(t in p.text.casefold() or t in p.title.casefold() for p in passages for t in terms) or not terms
    )


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


async def run(
    db: Database,
    on_topic: list[dict[str, object]],
    off_topic: list[dict[str, object]],
    retriever: Retriever,
    label: str,
) -> None:
    answerer = Answerer(db, retriever)
    first_ok = top1_ok = covered_on = base_on = 0
    by_kind: dict[str, list[int]] = {}
    latencies: list[float] = []
    misses: list[str] = []
    for item in on_topic:
        question, expected = str(item["q"]), set(item["expected"])  # type: ignore[arg-type]
        started = time.perf_counter()
        answer = await answerer.ask(question)
        latencies.append(time.perf_counter() - started)
        passages = await retriever.passages(question, k=5)
        first = answer.citations[0].arxiv_id if answer.citations else None
        hit = int(first in expected)
        first_ok += hit
        top1_ok += int(bool(passages) and passages[0].arxiv_id in expected)
        covered_on += int(answer.covered)
        base_on += int(baseline_covers(question, passages))
        by_kind.setdefault(str(item["kind"]), []).append(hit)
        if not hit or not answer.covered:
            misses.append(
                f"  {'covered' if answer.covered else 'UNCOVERED':<10}{first or '-':<12}{question[:70]}"
            )
    covered_off = base_off = 0
    wrong_off: list[str] = []
    for item in off_topic:
        question = str(item["q"])
        started = time.perf_counter()
        answer = await answerer.ask(question)
        latencies.append(time.perf_counter() - started)
        passages = await retriever.passages(question, k=5)
        covered_off += int(answer.covered)
        base_off += int(baseline_covers(question, passages))
        if answer.covered:
            wrong_off.append(f"  covered   {question}")
    n_on, n_off = len(on_topic), len(off_topic)
    right = (covered_on + n_off - covered_off, base_on + n_off - base_off)
    print(f"\n## {label}: {n_on} on-topic questions, {n_off} off-topic questions (extractive answers)")
    print(f"first citation is the expected paper: {pct(first_ok, n_on)}")
    print(f"  (retrieval's top paper is the expected one: {pct(top1_ok, n_on)})")
    for kind, hits in sorted(by_kind.items()):
        print(f"  {kind:<11}{pct(sum(hits), len(hits))}")
    print(
        f"covered right, overall:    {pct(right[0], n_on + n_off)}   baseline {pct(right[1], n_on + n_off)}"
    )
    print(f"  on-topic said covered:   {pct(covered_on, n_on)}   baseline {pct(base_on, n_on)}")
    print(
        f"  off-topic said uncovered: {pct(n_off - covered_off, n_off)}   baseline {pct(n_off - base_off, n_off)}"
    )
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"answer latency: median {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms"
    )
    if misses:
        print("on-topic misses (covered?, first citation, question):")
        print("\n".join(misses))
    if wrong_off:
        print("off-topic questions said covered:")
        print("\n".join(wrong_off))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vault", type=Path, default=ROOT.parent / "shared" / "corpus" / "arxiv-today")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "retrieval_questions.json")
    parser.add_argument("--offtopic", type=Path, default=ROOT / "bench" / "offtopic_questions.json")
    parser.add_argument("--db", type=Path, help="reuse a database that already holds the vault")
    args = parser.parse_args()
    on_topic = json.loads(args.questions.read_text(encoding="utf-8"))
    off_topic = json.loads(args.offtopic.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "answers.db"
        async with await Database.open(path) as db:
            if args.db is None:
                started = time.perf_counter()
                await ingest_paths(db, [args.vault])
                print(f"ingest: {time.perf_counter() - started:.1f} s")
            await run(db, on_topic, off_topic, Retriever(db), "BM25 retrieval (PAPERBOT_EMBEDDINGS=none)")
            if UseEmbedder.available():
                hybrid = await Retriever.build(db, build_embedder("offline"))
                started = time.perf_counter()
                embedded = await hybrid.update()
                print(
                    f"\nembedded {embedded} papers in {time.perf_counter() - started:.1f} s (0: already stored)"
                )
                await run(
                    db, on_topic, off_topic, hybrid, "default install: hybrid retrieval (USE + expansion)"
                )


if __name__ == "__main__":
    asyncio.run(main())
