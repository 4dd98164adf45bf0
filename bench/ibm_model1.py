"""IBM Model 1 (EM) on the vault's parallel notes, for bench/retrieval_variants.py (not product code).

The notes with an ``<english>`` translation are prepared as the Dice pairs of
bot/services/search/lexicon.py prepare them: Korean forms of the commentary (particles stripped),
English stems of the translation that are not also left in the Korean text, both only when in at
least ``min_notes`` notes. Each note is one sentence pair; :func:`train` runs EM with a NULL word over
all of a note's co-occurrences as one flat numpy array (about 0.4 s for the curator's 1,156 notes).

Two uses are measured: t(Korean | English) as query expansion instead of / beside the Dice pairs
(:func:`expansion_pairs`), and t(English | Korean) to give every Korean note English pseudo-words
scored as one more ranked list (:class:`DocTranslation`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from bot.domain.textfold import STOPWORDS, query_terms
from bot.services.search.lexicon import _LATIN_WORD, MIN_NOTES, _hangul_forms
from bot.store.fts import stem_words

Table = dict[str, list[tuple[float, str]]]  # given word -> (probability, generated word) best first


def parallel_notes(
    parallel: Sequence[tuple[str, str]], min_notes: int = MIN_NOTES
) -> list[tuple[set[str], set[str]]]:
    """(English stems, Korean forms) per (commentary, English translation), rare words dropped."""
    notes = []
    for body, english in parallel:
        words = {w.casefold() for w in _LATIN_WORD.findall(english)} - STOPWORDS
        in_body = {w.casefold() for w in _LATIN_WORD.findall(body)}
        notes.append((set(stem_words(words - in_body).values()), _hangul_forms(body)))
    english_df = Counter(e for stems, _ in notes for e in stems)
    korean_df = Counter(k for _, forms in notes for k in forms)
    return [
        ({e for e in stems if english_df[e] >= min_notes}, {k for k in forms if korean_df[k] >= min_notes})
        for stems, forms in notes
    ]


def train(pairs: Sequence[tuple[Collection[str], Collection[str]]], iterations: int = 5) -> Table:
    """t(generated | given) by EM over (given words, generated words) pairs; a NULL word absorbs some mass."""
    given = sorted({w for g, _ in pairs for w in g})
    made = sorted({w for _, m in pairs for w in m})
    if not given or not made:
        return {}
    g_id, m_id = {w: i for i, w in enumerate(given)}, {w: i for i, w in enumerate(made)}
    keys, widths = [], []
    for g, m in pairs:
        gs = np.array(sorted(g_id[w] for w in g), np.int64)
        ms = np.array(sorted(m_id[w] for w in m), np.int64)
        if len(gs) and len(ms):
            keys.append((ms[:, None] * len(given) + gs[None, :]).ravel())  # one row per generated word
            widths += [len(gs)] * len(ms)
    if not keys:
        return {}
    cells, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    cell_g, cell_m = cells % len(given), cells // len(given)
    rows = np.asarray(widths)
    starts = np.concatenate(([0], np.cumsum(rows)[:-1]))
    row_of = np.repeat(np.arange(len(rows)), rows)
    t = np.ones(len(cells))
    null = 1.0 / len(made)
    for _ in range(iterations):
        values = t[inverse]
        shares = values / (np.add.reduceat(values, starts) + null)[row_of]
        counts = np.bincount(inverse, weights=shares, minlength=len(cells))
        t = counts / np.bincount(cell_g, weights=counts, minlength=len(given))[cell_g]
    table: Table = {}
    for i in np.argsort(-t, kind="stable"):
        table.setdefault(given[cell_g[i]], []).append((float(t[i]), made[cell_m[i]]))
    return table


def expansion_pairs(
    table: Table, base: Mapping[str, list[str]], threshold: float, top: int, mode: str
) -> dict[str, list[str]]:
    """English stem -> Korean forms with t >= threshold (at most ``top``), instead of or added to ``base``."""
    chosen = {e: [k for p, k in scored if p >= threshold][:top] for e, scored in table.items()}
    chosen = {e: ks for e, ks in chosen.items() if ks}
    if mode == "replace":
        return chosen
    merged = {e: list(ks) for e, ks in base.items()}
    for e, ks in chosen.items():
        have = merged.setdefault(e, [])
        have.extend(k for k in ks if k not in have)
    return merged


class DocTranslation:
    """English pseudo-words of each note's Korean commentary, P(e | note) = mean over its forms of
    t(e | form), kept when t >= ``threshold``, the ``top`` best per note; queried by sum of P * idf."""

    def __init__(self, table: Table, commentary: Mapping[int, str], *, threshold: float, top: int) -> None:
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        notes = 0
        for paper_id, body in commentary.items():
            forms = _hangul_forms(body)
            mass: Counter[str] = Counter()
            for form in forms:
                for p, english in table.get(form, []):
                    if p >= threshold:
                        mass[english] += p / len(forms)
            for english, p in mass.most_common(top):
                self.postings[english].append((paper_id, p))
            notes += bool(mass)
        self.notes = max(1, notes)

    def rank(self, query: str, limit: int = 50) -> list[tuple[int, float]]:
        stems = set(stem_words([t for t in query_terms(query) if t.isascii()]).values())
        scores: Counter[int] = Counter()
        for english in stems:
            posting = self.postings.get(english, [])
            idf = math.log(self.notes / len(posting)) if posting else 0.0
            for paper_id, p in posting:
                scores[paper_id] += p * idf
        return scores.most_common(limit)
