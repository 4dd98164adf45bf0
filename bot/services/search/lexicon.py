"""Query expansion resources mined from the vault itself: loanwords, acronyms, Korean↔English pairs.

An English paraphrase of a note with an English title and Korean commentary shares almost no index term
with it: the commentary spells English terms in Hangul (프리트레이닝), defines nothing, and its English
translation, when there is one, is often missing. :class:`Lexicon` is mined from the stored notes (no
hand-written entries) and turns a query into extra terms for a second, lower-weighted BM25 list:

* **loanwords** - Hangul words of the commentary that spell an English word of the same note (equal
  consonant skeletons, :mod:`bot.services.search.translit`), by its stem (``pretraining`` → 프리트레이닝);
* **acronyms** - "Mixture of Experts (MoE)" definitions in titles, abstracts and commentary, both ways;
* **parallel pairs** - Korean words that co-occur with an English word across the notes that carry an
  ``<english>`` translation (Dice coefficient over notes), e.g. ``duplicate`` → 중복.

:class:`~bot.services.search.retrieval.Retriever` adds two BM25 lists per expanded query (the expansion
terms alone, and the query's terms with them; weights in :mod:`bot.services.search.fusion`). Measured
with bench/retrieval_eval.py on the curator's vault (106 questions; constants chosen on the tune split):
recall@5 tune 0.877 → 0.930 (7 → 4 misses), held-out 0.878 → 0.939 (6 → 3; BM25 alone 9), whole set
0.877 → 0.934 (13 → 7; BM25 18); R@1 and MRR rose too. On the tune split the parallel pairs do most of
it (7 misses without them), acronyms one question, loanwords none on their own. Mining the 3,854 notes
takes about 1.2 s (a transient ~16 MB); the two extra BM25 queries move retrieval + prompt p95 from
about 20 to 32 ms.
"""

from __future__ import annotations

import asyncio
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from bot.domain.textfold import STOPWORDS
from bot.services.clock import iso_now
from bot.services.search.translit import MIN_KEY, hangul_key, latin_key
from bot.store.db import Database
from bot.store.fts import stem_words
from bot.store.lexicon import load_tables, replace_tables, stored_fingerprint, vault_fingerprint
from bot.store.vectors import paper_texts

_HANGUL_WORD = re.compile("[\uac00-\ud7a3]+")
_LATIN_WORD = re.compile("[A-Za-z][A-Za-z0-9]*")
_QUERY_WORD = re.compile("[A-Za-z]+(?:-[A-Za-z]+)*")
# Particles and endings that Korean attaches to a (loan)word, longest first when stripping.
_SUFFIX_TEXT = """을 를 이 가 은 는 의 에 로 과 와 도 만 들 으로 에서 에게 까지 부터 보다 처럼 이나 이라 라는
이라는 이고 으로는 에서는 에는 에도 으로도 만으로 들의 들은 들을 들이 들로 적 적인 적으로 하는 하고 해서 한 된 되는
했 하여 하면 이다 입니다 인 이며 이죠 죠 요"""
_SUFFIXES = sorted(_SUFFIX_TEXT.split(), key=len, reverse=True)
_PARTICLE = re.compile(f"^(.{{2,}}?)(?:{'|'.join(_SUFFIXES)})$")
_ACRONYM = re.compile(r"\(\s*([A-Z][A-Za-z0-9]{1,9}?)s?\s*\)")
_WORDS_BEFORE = re.compile(r"(?:[A-Za-z][A-Za-z-]*\s+){1,8}$")
_SMALL_WORDS = frozenset({"of", "the", "and", "for", "to", "in", "on", "with", "a", "an", "by", "from"})

MIN_NOTES = 3  # a parallel pair must co-occur in at least this many notes
MIN_DICE = 0.3
PAIRS_PER_WORD = 2
MAX_EXPANSIONS = 24  # terms added to one query at most (each costs BM25 time)
LOANWORD_MIN_SHARE = 0.3
LOANWORD_MIN_RELATIVE = 0.1


@lru_cache(maxsize=65536)
def strip_particles(word: str) -> str:
    """A Hangul word without one trailing particle/ending (the longest), if two syllables remain."""
    match = _PARTICLE.match(word)
    return match.group(1) if match else word


def _hangul_forms(text: str) -> set[str]:
    return {strip_particles(w) for w in _HANGUL_WORD.findall(text) if len(w) >= 2}


@dataclass
class Lexicon:
    """Expansion tables: English stem → Hangul loanwords, acronym ↔ phrase, English stem → Korean words."""

    loanwords: dict[str, list[str]] = field(default_factory=dict)
    acronyms: dict[str, list[str]] = field(default_factory=dict)
    pairs: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.loanwords) + len(self.acronyms) + len(self.pairs)

    def tables(self) -> dict[str, dict[str, list[str]]]:
        """The tables by kind, as :mod:`bot.store.lexicon` stores them."""
        return {"loanword": self.loanwords, "acronym": self.acronyms, "pair": self.pairs}

    @classmethod
    def from_tables(cls, tables: Mapping[str, Mapping[str, list[str]]]) -> Lexicon:
        return cls(
            dict(tables.get("loanword", {})), dict(tables.get("acronym", {})), dict(tables.get("pair", {}))
        )

    def expand(self, query: str) -> list[str]:
        """Extra search terms for ``query`` (phrases as plain text; Hangul is folded by the index)."""
        words = [w.casefold() for w in _QUERY_WORD.findall(query)]
        plain = [w for part in words for w in part.split("-")]
        content = [w for w in plain if w not in STOPWORDS]
        out: list[str] = []
        seen: set[str] = set()

        def add(terms: Iterable[str]) -> None:
            for term in terms:
                if term not in seen:
                    seen.add(term)
                    out.append(term)

        # Loanwords by the stem of each word (masked, masking: 마스킹), and of hyphenated or adjacent
        # words joined (fine-tuning: 파인튜닝).
        candidates = [*content, *(w.replace("-", "") for w in words if "-" in w)]
        candidates += [a + b for a, b in pairwise(content)]
        candidate_stems = stem_words(candidates)
        for word in candidates:
            add(self.loanwords.get(candidate_stems[word], []))
        # Acronyms both ways: "moe" in the query adds its phrase, the phrase adds "moe".
        joined = " ".join(plain)
        for word in plain:
            add(self.acronyms.get(word, []))
        for phrase, acronyms in self.acronyms.items():
            if " " in phrase and f" {phrase} " in f" {joined} ":
                add(acronyms)
        stems = stem_words(content)
        for word in content:
            add(self.pairs.get(stems[word], []))
        return out[:MAX_EXPANSIONS]


async def load_lexicon(db: Database) -> Lexicon:
    """The stored tables (empty before the first :func:`refresh_lexicon`)."""
    return Lexicon.from_tables(await load_tables(db))


async def refresh_lexicon(db: Database, *, force: bool = False) -> Lexicon | None:
    """Mine the vault again when its texts changed since the stored tables were mined (or ``force``);
    returns the new lexicon, or None when the stored one is current. Mining runs in a worker thread
    (about 4 s for the curator's 3,854 notes), so the event loop keeps running.
    """
    fingerprint = await vault_fingerprint(db)
    if not force and await stored_fingerprint(db) == fingerprint:
        return None
    papers = [row[2:6] for row in await paper_texts(db, "")]
    lexicon = await asyncio.to_thread(mine, papers)
    await replace_tables(db, lexicon.tables(), fingerprint, iso_now())
    return lexicon


def mine(papers: Sequence[tuple[str, str, str, str]], *, min_notes: int = MIN_NOTES) -> Lexicon:
    """A :class:`Lexicon` from the vault's papers as (title, abstract, commentary, commentary in English)."""
    lexicon = Lexicon()
    lexicon.loanwords = _loanwords(papers)
    lexicon.acronyms = _acronyms(t for paper in papers for t in paper)
    lexicon.pairs = _pairs(
        [(body, en) for _, _, body, en in papers if body.strip() and en.strip()], min_notes
    )
    return lexicon


def _latin_keys(text: str) -> dict[str, set[str]]:
    """consonant key → the Latin words of ``text`` with it (each word, without a plural s, and adjacent
    words joined)."""
    words = [w.casefold() for w in _LATIN_WORD.findall(text)]
    forms = [*words, *(w[:-1] for w in words if w.endswith("s") and len(w) > 3)]
    forms += [a + b for a, b in pairwise(words) if a not in STOPWORDS and b not in STOPWORDS]
    keys: dict[str, set[str]] = defaultdict(set)
    for form in forms:
        key = latin_key(form)
        if len(key) >= MIN_KEY:
            keys[key].add(form)
    return keys


def _loanwords(papers: Iterable[tuple[str, str, str, str]]) -> dict[str, list[str]]:
    """English stem → Hangul forms of the commentary that spell that English word, by the vault's evidence.

    A form spells an English word when their consonant keys are equal and the word is in the same
    paper's title or commentary (its English version, or English words left in it) in at least
    LOANWORD_MIN_SHARE of the papers whose commentary has the form: 프리트레이닝 is kept for
    ``pretrain``, while 어시스턴트 (assistant) is not taken for ``student``, whose key it shares.
    """
    seen: Counter[str] = Counter()
    matched: Counter[tuple[str, str]] = Counter()
    for title, _abstract, body, english in papers:
        forms = _hangul_forms(body)
        if not forms:
            continue
        seen.update(forms)
        latin = _latin_keys(f"{title} {body} {english}")
        hits = [(form, latin[key]) for form in forms if (key := hangul_key(form)) in latin]
        stems = stem_words({word for _, words in hits for word in words})
        matched.update({(stems[word], form) for form, words in hits for word in words})
    best: dict[str, int] = {}
    for (english_stem, _), n in matched.items():
        best[english_stem] = max(n, best.get(english_stem, 0))
    by_stem: dict[str, list[str]] = defaultdict(list)
    for (english_stem, form), n in matched.most_common():
        if n >= LOANWORD_MIN_SHARE * seen[form] and n >= LOANWORD_MIN_RELATIVE * best[english_stem]:
            by_stem[english_stem].append(form)
    return dict(by_stem)


def _acronyms(texts: Iterable[str]) -> dict[str, list[str]]:
    """acronym → defining phrases and phrase → acronyms, for "Words Like This (WLT)" in the texts."""
    table: dict[str, set[str]] = defaultdict(set)
    for text in texts:
        for match in _ACRONYM.finditer(text):
            acronym = match.group(1)
            before = _WORDS_BEFORE.search(text, max(0, match.start() - 120), match.start())
            if before is None:
                continue
            phrase = _defined_by(before.group(0).split(), acronym)
            if phrase:
                table[acronym.casefold()].add(phrase)
                table[phrase].add(acronym.casefold())
    return {k: sorted(v) for k, v in table.items()}


def _defined_by(words: list[str], acronym: str) -> str | None:
    """The trailing words whose initials (parts of hyphenated words count) spell the acronym's capitals."""
    letters = [c.casefold() for c in acronym if c.isupper() or c.isdigit()]
    if len(letters) < 2:
        return None
    for start in range(len(words) - 1, -1, -1):
        tail = words[start:]
        initials = [
            p[0].casefold() for w in tail for p in w.split("-") if p and p.casefold() not in _SMALL_WORDS
        ]
        if initials == letters:
            return " ".join(w.casefold() for w in tail)
        if len(initials) > len(letters):
            return None
    return None


def _pairs(parallel: Sequence[tuple[str, str]], min_notes: int) -> dict[str, list[str]]:
    """English stem → Korean forms most associated with it (Dice over notes) in the parallel notes."""
    notes: list[tuple[set[str], set[str]]] = []
    for body, english in parallel:
        words = {w.casefold() for w in _LATIN_WORD.findall(english)} - STOPWORDS
        latin_in_body = {w.casefold() for w in _LATIN_WORD.findall(body)}
        notes.append((set(stem_words(words - latin_in_body).values()), _hangul_forms(body)))
    english_df = Counter(e for stems, _ in notes for e in stems)
    korean_df = Counter(k for _, forms in notes for k in forms)
    # Only pairs that can reach MIN_DICE are counted: both words in min_notes notes or more, and
    # 2 min(df) >= MIN_DICE (df + df), since they co-occur in at most min(df) notes. (Counting every
    # pair held ~30 MB at once for the curator's vault.)
    ratio = 2 / MIN_DICE - 1  # the most one document frequency may exceed the other's
    together: Counter[tuple[str, str]] = Counter()
    for stems, forms in notes:
        by_df = sorted((korean_df[k], k) for k in forms if korean_df[k] >= min_notes)
        dfs = [df for df, _ in by_df]
        for e in stems:
            df = english_df[e]
            if df >= min_notes:
                low, high = bisect_left(dfs, df / ratio), bisect_right(dfs, df * ratio)
                together.update((e, k) for _, k in by_df[low:high])
    best: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (english_stem, form), n in together.items():
        if n < min_notes:
            continue
        dice = 2 * n / (english_df[english_stem] + korean_df[form])
        if dice >= MIN_DICE:
            best[english_stem].append((dice, form))
    return {
        e: [k for _, k in sorted(scored, key=lambda s: (-s[0], s[1]))[:PAIRS_PER_WORD]]
        for e, scored in best.items()
    }
