"""Retrieval ideas measured against the default fusion, on the TUNE split only (issue 14, second round).

    .venv/bin/python bench/retrieval_variants.py [--vault PATH] [--questions PATH] [--db PATH]

Each variant changes the default retrieval (BM25 + lexicon expansion lists + USE per field,
bot/services/search/{retrieval,fusion,lexicon}.py) in one way and is scored on the tune questions of
bench/retrieval_questions.json; held-out questions are never loaded here, so nothing in this script can
steer a choice by them. Printed per variant: recall@1, recall@5, MRR (top 10), misses@5, the time per
query of what the variant adds to the default's precomputed lists (ms/q), and the ranks of the missed
papers in that variant's fused top 100 (">100" when absent).

* RM3-style pseudo-relevance feedback: the most distinctive words (tf in the top-k fused papers,
  weighted by their fused scores, times log(N/df) from the FTS vocabulary) as a further BM25 list;
* Rocchio for the dense lists: query vector + beta * mean of the top-k papers' chunk vectors per field,
  as further lists (``add``) or instead of the dense lists (``replace``);
* IBM Model 1 (EM, bench/ibm_model1.py) on the notes with an ``<english>`` translation:
  t(Korean | English) instead of (``replace``) or beside (``add``) the Dice pairs of the mined lexicon,
  and t(English | Korean) giving each Korean note English pseudo-words, scored as a further list;
* tags of the top-k fused papers as a weak list over the fused top 100;
* the query split into clauses, each embedded, best clause per paper as further dense lists;
* the lexicon's expansion terms embedded (USE is multilingual) as a further commentary list;
* candidate depth (each list's top N before min-max).

Measured on the curator's vault (3,854 notes; tune split, 57 questions): the default has 4 misses
(R@1 0.789, R@5 0.930, MRR 0.836); no variant has fewer. RM3 keeps 4 misses (R@1 down to 0.72-0.79),
Rocchio adds misses (6-7) or, replacing the dense lists, keeps 4 with a lower MRR; Model 1 (0.4 s of
EM) keeps 4 at best (t >= 0.3 replacing the Dice pairs, or t >= 0.5 beside them) and adds misses when
its threshold is lower; translating the notes keeps 4 (w 0.3) or adds one (w 0.6); tags keep 4 misses with R@1 0.807 / MRR 0.845 (one question one rank up);
clause vectors, embedded expansion terms and other candidate depths add misses. The missed papers
rank 69 and below 100 (x3) in the default fusion: re-ranking the top of the list cannot reach them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.domain.textfold import STOPWORDS, query_terms
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.embedders import build_embedder
from bot.services.search.fulltext import search_ranked
from bot.services.search.fusion import FIELD_WEIGHTS, Ranked, fuse
from bot.services.search.lexicon import Lexicon, refresh_lexicon, strip_particles
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from bot.store.fts import stem
from bot.store.vectors import paper_texts

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ as a package
from bench.ibm_model1 import DocTranslation, expansion_pairs, parallel_notes, train

ROOT = Path(__file__).resolve().parents[1]
_WORD = re.compile("[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]|[\uac00-\ud7a3]{2,}")
_HANGUL = re.compile("[\uac00-\ud7a3]+")
Lists = list[tuple[float, Ranked]]


@dataclass
class Case:
    """One tune question with the lists of the default fusion."""

    query: str
    expected: set[int]
    lexical: Lists
    vector: npt.NDArray[np.float32]
    dense: Lists
    base: Ranked  # the default fusion, top 100


@dataclass
class World:
    db: Database
    retriever: Retriever
    texts: dict[int, str]  # title + commentary (both languages)
    vocab: dict[str, int]  # FTS index term -> papers with it
    tags: dict[int, list[int]]  # paper -> tag ids
    tagged: dict[int, list[int]]  # tag id -> papers


def rank_of(ranked: Ranked, expected: set[int]) -> int:
    return next((n for n, (pid, _) in enumerate(ranked, 1) if pid in expected), 10**6)


async def cases_for(world: World, questions: list[dict[str, object]], arxiv: dict[str, int]) -> list[Case]:
    source = world.retriever.sources[0]
    out = []
    for item in questions:
        query = str(item["q"])
        lexical = await world.retriever.lexical_lists(query)
        vector = (await source.embedder.embed([query], query=True))[0]
        per_field = source.index.search_fields(vector, world.retriever.candidates, fields=source.fields)
        dense = [(FIELD_WEIGHTS[f], ranked) for f, ranked in per_field.items()]
        expected = {arxiv[a] for a in item["expected"] if a in arxiv}  # type: ignore[attr-defined]
        out.append(Case(query, expected, lexical, vector, dense, fuse([*lexical, *dense], 100)))
    return out


# -- variants: each returns the lists to fuse for one case ------------------------------------------

Variant = Callable[[World, Case], Awaitable[Lists]]


def default() -> Variant:
    async def run(world: World, case: Case) -> Lists:
        return [*case.lexical, *case.dense]

    return run


def rm3(k: int, terms: int, weight: float, max_share: float = 1.0, script: str = "any") -> Variant:
    async def run(world: World, case: Case) -> Lists:
        top = case.base[:k]
        total = sum(s for _, s in top) or 1.0
        mass: Counter[str] = Counter()
        for pid, score in top:
            words = [w.casefold() for w in _WORD.findall(world.texts.get(pid, ""))]
            words = [strip_particles(w) if _HANGUL.fullmatch(w) else w for w in words if w not in STOPWORDS]
            counts = Counter(w for w in words if len(w) >= 2)
            length = sum(counts.values()) or 1
            for word, n in counts.items():
                mass[word] += score / total * n / length
        asked = {stem(t) for t in query_terms(case.query)}
        n_papers = len(world.texts)
        scored = []
        for word, m in mass.items():
            hangul = bool(_HANGUL.fullmatch(word))
            if (script == "latin" and hangul) or (script == "hangul" and not hangul):
                continue
            if hangul:
                df = min(world.vocab.get(word[i : i + 2], 0) for i in range(len(word) - 1))
            else:
                if stem(word) in asked:
                    continue
                df = world.vocab.get(stem(word), 0)
            if 2 <= df <= max_share * n_papers:
                scored.append((m * math.log(n_papers / df), word))
        chosen = [w for _, w in sorted(scored, reverse=True)[:terms]]
        extra = await search_ranked(world.db, case.query, limit=50, phrases=chosen) if chosen else []
        return [*case.lexical, *case.dense, (weight, extra)]

    return run


def rocchio(k: int, beta: float, mode: str) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        source = world.retriever.sources[0]
        lists = []
        for field in source.fields:
            means = [v.mean(0) for pid, _ in case.base[:k] if len(v := source.index.vectors(pid, field))]
            if means:
                moved = case.vector + beta * np.mean(means, axis=0)
                moved /= np.linalg.norm(moved)
                lists.append((FIELD_WEIGHTS[field], source.index.search(moved, 50, field=field)))
        return [*case.lexical, *(lists if mode == "replace" else [*case.dense, *lists])]

    return run


def with_lexicon(lexicon: Lexicon) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        kept = world.retriever.lexicon
        world.retriever.lexicon = lexicon
        try:
            lexical = await world.retriever.lexical_lists(case.query)
        finally:
            world.retriever.lexicon = kept
        return [*lexical, *case.dense]

    return run


def translated(notes: DocTranslation, weight: float) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        return [*case.lexical, *case.dense, (weight, notes.rank(case.query))]

    return run


def tag_list(k: int, weight: float) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        n_papers = len(world.texts)
        votes: Counter[int] = Counter()
        for pid, score in case.base[:k]:
            for tag in world.tags.get(pid, []):
                votes[tag] += score
        candidates = {pid for pid, _ in case.base}
        scores: Counter[int] = Counter()
        for tag, vote in votes.items():
            idf = math.log(n_papers / len(world.tagged[tag]))
            for pid in world.tagged[tag]:
                if pid in candidates:
                    scores[pid] += vote * idf
        return [*case.lexical, *case.dense, (weight, scores.most_common(50))]

    return run


def clauses(weight: float) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        source = world.retriever.sources[0]
        parts = [p.strip() for p in re.split(r"[,;?]| and | or | by | for ", case.query)]
        parts = [p for p in parts if len(p.split()) >= 3]
        lists = [*case.lexical, *case.dense]
        if len(parts) > 1:
            vectors = await source.embedder.embed(parts, query=True)
            for field in source.fields:
                best: dict[int, float] = {}
                for vector in vectors:
                    for pid, score in source.index.search(vector, 50, field=field):
                        best[pid] = max(best.get(pid, -1.0), score)
                ranked = sorted(best.items(), key=lambda kv: -kv[1])[:50]
                lists.append((FIELD_WEIGHTS[field] * weight, ranked))
        return lists

    return run


def embedded_expansion(weight: float, with_query: bool) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        source = world.retriever.sources[0]
        terms = world.retriever.lexicon.expand(case.query)
        lists = [*case.lexical, *case.dense]
        if terms:
            text = " ".join([case.query, *terms] if with_query else terms)
            vector = (await source.embedder.embed([text], query=True))[0]
            lists.append((weight, source.index.search(vector, 50, field="commentary")))
        return lists

    return run


def depth(candidates: int) -> Variant:
    async def run(world: World, case: Case) -> Lists:
        source = world.retriever.sources[0]
        kept = world.retriever.candidates
        world.retriever.candidates = candidates
        try:
            lexical = await world.retriever.lexical_lists(case.query)
        finally:
            world.retriever.candidates = kept
        per_field = source.index.search_fields(case.vector, candidates, fields=source.fields)
        return [*lexical, *((FIELD_WEIGHTS[f], r) for f, r in per_field.items())]

    return run


# -- main -------------------------------------------------------------------------------------------


async def score(name: str, world: World, cases: list[Case], variant: Variant) -> None:
    ranks = []
    started = time.perf_counter()
    for case in cases:
        ranks.append(rank_of(fuse(await variant(world, case), 100), case.expected))
    per_query = (time.perf_counter() - started) * 1000 / max(1, len(cases))
    n = max(1, len(cases))
    r1, r5 = sum(r == 1 for r in ranks) / n, sum(r <= 5 for r in ranks) / n
    mrr = sum(1 / r for r in ranks if r <= 10) / n
    missed = " ".join(str(r) if r <= 100 else ">100" for r in ranks if r > 5)
    print(
        f"  {name:<52}{r1:>7.3f}{r5:>7.3f}{mrr:>7.3f}{sum(r > 5 for r in ranks):>7}  {per_query:>6.1f}  {missed}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vault", type=Path, default=ROOT.parent / "shared" / "corpus" / "arxiv-today")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "retrieval_questions.json")
    parser.add_argument("--db", type=Path, required=True, help="database to ingest into and keep vectors in")
    args = parser.parse_args()
    questions = [q for q in json.loads(args.questions.read_text(encoding="utf-8")) if q["split"] == "tune"]
    async with await Database.open(args.db) as db:
        await ingest_paths(db, [args.vault])
        await refresh_lexicon(db)
        retriever = await Retriever.build(db, build_embedder("offline"))
        await retriever.update()
        papers = await paper_texts(db, "")
        texts = {int(row[0]): f"{row[2]} {row[4]} {row[5]}" for row in papers}
        vocab = {
            str(r["term"]): int(r["doc"])
            for r in await db.fetchall("SELECT term, doc FROM temp.paper_fts_terms")
        }
        tags: dict[int, list[int]] = {}
        tagged: dict[int, list[int]] = {}
        for r in await db.fetchall("SELECT paper_id, tag_id FROM paper_tags"):
            tags.setdefault(int(r["paper_id"]), []).append(int(r["tag_id"]))
            tagged.setdefault(int(r["tag_id"]), []).append(int(r["paper_id"]))
        world = World(db, retriever, texts, vocab, tags, tagged)
        arxiv = {
            str(r["arxiv_id"]): int(r["id"]) for r in await db.fetchall("SELECT id, arxiv_id FROM papers")
        }
        cases = await cases_for(world, questions, arxiv)

        parallel = [(row[4], row[5]) for row in papers if row[4].strip() and row[5].strip()]
        started = time.perf_counter()
        notes = parallel_notes(parallel)
        ko_given_en = train(notes)
        took = time.perf_counter() - started
        en_given_ko = train([(forms, stems) for stems, forms in notes])
        commentary = {int(row[0]): row[4] for row in papers if row[4].strip()}
        print(f"{len(cases)} tune questions; IBM Model 1 on {len(parallel)} parallel notes: {took:.2f} s")
        print(f"  {'variant':<52}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'miss':>7}  {'ms/q':>6}  missed ranks")
        variants: list[tuple[str, Variant]] = [("default (BM25 + expansion + USE per field)", default())]
        variants += [
            (f"RM3 k={k} terms={m} w={w}", rm3(k, m, w))
            for k, m, w in [(3, 10, 0.1), (5, 10, 0.3), (10, 20, 0.2)]
        ]
        variants += [
            (f"RM3 k=3 terms=10 w=0.3 {s} only, df <= {d:.0%}", rm3(3, 10, 0.3, d, s))
            for s in ("latin", "hangul")
            for d in (0.02, 0.1)
        ]
        variants += [
            (f"Rocchio k={k} beta={b} {m}", rocchio(k, b, m))
            for k, b, m in [
                (3, 0.3, "add"),
                (5, 0.7, "add"),
                (3, 1.5, "add"),
                (3, 0.3, "replace"),
                (3, 0.7, "replace"),
            ]
        ]
        variants += [
            (
                f"Model 1 {m} Dice pairs, t >= {p}, top {n}",
                with_lexicon(
                    dataclasses.replace(
                        retriever.lexicon,
                        pairs=expansion_pairs(ko_given_en, retriever.lexicon.pairs, p, n, m),
                    )
                ),
            )
            for m, p, n in [
                ("replace", 0.1, 2),
                ("replace", 0.2, 2),
                ("replace", 0.3, 1),
                ("add", 0.15, 2),
                ("add", 0.3, 2),
                ("add", 0.5, 1),
            ]
        ]
        variants += [
            (
                f"Model 1 note translation t >= {p}, top {n}, w={w}",
                translated(DocTranslation(en_given_ko, commentary, threshold=p, top=n), w),
            )
            for p, n, w in [(0.05, 30, 0.3), (0.05, 30, 0.6), (0.01, 100, 0.3)]
        ]
        variants += [
            (f"tags of top {k} as a list, w={w}", tag_list(k, w)) for k, w in [(3, 0.1), (10, 0.1), (3, 0.3)]
        ]
        variants += [(f"clause vectors, weight x{w}", clauses(w)) for w in (0.3, 1.0)]
        variants += [
            (f"expansion terms embedded{' with the query' if q else ''}, w={w}", embedded_expansion(w, q))
            for w, q in [(0.2, False), (0.4, False), (0.4, True)]
        ]
        variants += [(f"candidate depth {n}", depth(n)) for n in (30, 100, 200)]
        for name, variant in variants:
            await score(name, world, cases, variant)


if __name__ == "__main__":
    asyncio.run(main())
