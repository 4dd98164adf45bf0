"""The full-text index's tokenizer, and the index terms it makes of a text (for snippets and rare terms).

``paper_fts`` is tokenised with SQLite's ``porter`` stemmer over ``unicode61``: Latin words are indexed by
their Porter stem (``networks`` and ``network`` are one term), and Hangul, which :func:`bot.domain.textfold.fold`
turns into character bigrams before SQLite sees it, passes through the stemmer unchanged. A MATCH stems
the query the same way, so search needs nothing more; code that compares query words with stored text
outside SQLite (snippets, the ``fts5vocab`` document counts) asks this module for the index terms, which
come from the same tokenizer in a private in-memory database, so they are the index's terms exactly.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache

from bot.domain.textfold import fold

# The tokenizer of paper_fts (migration 6). Change it only in a new migration that rebuilds the index.
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


class _Tokenizer:
    """One in-memory SQLite connection with an FTS5 table whose instance vocabulary lists each row's terms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._conn.execute(f"CREATE VIRTUAL TABLE probe USING fts5(text, tokenize = '{FTS_TOKENIZE}')")
        self._conn.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, 'instance')")

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's index terms, in order of appearance (texts are tokenised as given, not folded)."""
        out: list[list[tuple[int, str]]] = [[] for _ in texts]
        if not texts:
            return []
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO probe (rowid, text) VALUES (?, ?)", [(n, t) for n, t in enumerate(texts)]
                )
                for doc, term, offset in self._conn.execute("SELECT doc, term, offset FROM probe_terms"):
                    out[int(doc)].append((int(offset), str(term)))
            finally:
                self._conn.execute("ROLLBACK")
        return [[term for _, term in sorted(row)] for row in out]


_TOKENIZER = _Tokenizer()


def index_terms(texts: Sequence[str]) -> list[list[str]]:
    """The terms ``paper_fts`` indexes for each text (Hangul folded to bigrams, Latin words stemmed)."""
    return _TOKENIZER.terms([fold(t) for t in texts])


@lru_cache(maxsize=4096)
def stem(term: str) -> str:
    """The index term of one query term (``networks`` -> ``network``); the term itself if it makes none."""
    terms = _TOKENIZER.terms([term])[0]
    return terms[0] if len(terms) == 1 else term


_STEMS: dict[str, str] = {}
_STEMS_MAX = 200_000


def stem_words(words: Iterable[str]) -> dict[str, str]:
    """Each lower-case word's index term, from the same stemmer, with one tokenizer call for unseen words.

    Words that are not ASCII (Hangul bigrams, other scripts) are their own term. Results are cached
    (snippets see the same words query after query).
    """
    wanted = set(words)
    unseen = [w for w in wanted if w not in _STEMS and w.isascii()]
    if unseen:
        if len(_STEMS) > _STEMS_MAX:
            _STEMS.clear()
        for word, terms in zip(unseen, _TOKENIZER.terms(unseen), strict=True):
            _STEMS[word] = terms[0] if len(terms) == 1 else word
    return {w: _STEMS.get(w, w) for w in wanted}
