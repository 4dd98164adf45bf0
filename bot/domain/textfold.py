"""Text folding for full-text search: Hangul runs become overlapping character bigrams.

SQLite's unicode61 tokenizer keeps Korean particles attached (``데이터로`` never matches
``데이터``) and the trigram tokenizer misses two-syllable words. Indexing Hangul as bigrams
fixes both: ``데이터로`` is indexed as ``데이 이터 터로`` and the query ``데이터`` becomes
``데이 이터``. Latin text passes through unchanged for unicode61 to tokenise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from operator import add

_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
HANGUL_CHARS = _HANGUL  # for character classes: syllables, jamo and compatibility jamo
_HANGUL_RUN = re.compile(f"[{_HANGUL}]+")
_HANGUL_SPLIT = re.compile(f"([{_HANGUL}]+)")
# Where one sentence ends and the next begins (snippets, extractive answers, embedding chunks).
SENTENCE_BREAK = re.compile(r"(?<=[.!?。])\s+|\n+")
# The same breaks kept by re.split (as odd items) and found without a look-behind at every character
# (4x faster on the vault's notes): sentences are then found by offset without a Python loop.
SENTENCE_SPLIT = re.compile(r"([.!?。]\s+|\n+)")


@lru_cache(maxsize=1024)
def sentence_bounds(text: str) -> tuple[list[int], list[int]]:
    """Where each piece of ``text`` between sentence breaks starts and ends (blank pieces included; a
    full stop stays with its sentence), from one ``re.split`` and a running sum.

    Cached by text: snippets see the same notes and abstracts search after search (a query-independent
    index of sorts, about 1 KB per text), and splitting a long abstract costs more than matching it.
    """
    pieces = SENTENCE_SPLIT.split(text)  # sentence, break, sentence, ..., sentence
    edges = list(accumulate(map(len, pieces)))
    starts = [0, *edges[1::2]]
    ends = [edge + (brk[0] != "\n") for edge, brk in zip(edges[0::2], pieces[1::2], strict=False)]
    return starts, [*ends, len(text)]


def split_sentences(text: str) -> list[str]:
    """The non-blank sentences of ``text``, stripped: ``SENTENCE_BREAK.split`` without the blanks, faster."""
    starts, ends = sentence_bounds(text)
    return [piece for start, end in zip(starts, ends, strict=True) if (piece := text[start:end].strip())]


_WORD = re.compile(rf"[{_HANGUL}]+|[^\W_]+", re.UNICODE)

# Words too common in questions to help ranking (English and Korean question words).
_STOPWORDS_TEXT = """
a an and are as at be by can do does did for from how i in is it its me of on or that the their
there these this to was what when where which who why will with about into than then paper papers
model models using use used uses based via vs our we you your 무엇 무엇인가 무엇인가요 어떤 어떻게 어디 언제 누가 왜 있나요 있는
논문 관련 대해 대한 알려줘 설명
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# Terms of one query that reach the index; the rest of a very long question is dropped.
MAX_TERMS = 24


def _bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(map(add, run, run[1:]))


def fold(text: str | None) -> str:
    """Text as it is indexed: Hangul runs as bigrams, separated from adjacent Latin text."""
    if not text:
        return ""
    # split() puts the Hangul runs at odd indexes; faster than sub() with a callback (hot in ingest).
    parts = _HANGUL_SPLIT.split(text)
    for i in range(1, len(parts), 2):
        parts[i] = f" {_bigrams(parts[i])} "
    return "".join(parts)


def query_terms(text: str) -> list[str]:
    """Index terms of a free-text query, deduplicated, stop words dropped (unless that leaves none)."""
    words = [w.casefold() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS] or words
    terms: list[str] = []
    seen: set[str] = set()
    for word in kept:
        parts = _bigrams(word).split() if _HANGUL_RUN.fullmatch(word) else [word]
        for part in parts:
            if part not in seen:
                seen.add(part)
                terms.append(part)
    return terms


def match_expression(text: str, *, max_terms: int = MAX_TERMS) -> str | None:
    """A safe FTS5 MATCH expression (OR of quoted terms) for user text, or None when nothing is searchable.

    Every term is wrapped in double quotes with embedded quotes doubled, so operators such as
    ``NEAR``, ``-``, ``*``, ``:`` or unbalanced parentheses in user text are searched as words.
    """
    terms = query_terms(text)[:max_terms]
    if not terms:
        return None
    return any_of(terms)


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 expression matching any of ``terms``, each quoted so it is searched as plain words."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
