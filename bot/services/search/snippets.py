"""Search snippets: the sentence of a paper's notes that best matches a query, its matches in bold.

Words are compared as the index compares them (:mod:`bot.store.fts`): Latin words by their Porter stem,
Hangul by bigram. A snippet is cut for every hit of every search, so the work per text is kept small:

* each text is scanned once for the few words that *may* match, with a pattern made of the query's
  literal probes only (character classes are slow to compile, and a query's pattern is compiled once
  per new query); word starts and ends are then found with precompiled patterns;
* only those words are stemmed (stems are cached) and counted, per sentence.

Measured on the vault (bench/ingest_search.py section 3, 73 queries x 10 hits): about half the time of
stemming every word of every sentence, and a cold query compiles in well under a millisecond.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.textfold import HANGUL_CHARS, sentence_bounds
from bot.store.fts import stem, stem_words

SNIPPET_CHARS = 180

# Letters as fold() leaves words for the tokenizer: Hangul (syllables and jamo) is split from the rest.
_INDEX_LETTER = re.compile(f"[^\\W_{HANGUL_CHARS}]")
_INDEX_LETTERS = re.compile(f"[^\\W_{HANGUL_CHARS}]*")
_INDEX_HANGUL = re.compile(f"[{HANGUL_CHARS}]")
# Words as snippets are bolded: runs of Hangul syllables, and runs of other letters and digits.
_SYLLABLES = "\uac00-\ud7a3"
_HANGUL_WORD = re.compile(f"[{_SYLLABLES}]+")
_BOLD_LETTER = re.compile(f"[^\\W_{_SYLLABLES}]")
_BOLD_LETTERS = re.compile(f"[^\\W_{_SYLLABLES}]*")


def _probes(stems: frozenset[str] | set[str]) -> list[str]:
    """A Porter stem differs from its words at most in its last letter (porter rewrites suffixes), so a
    Latin word can have the stem only if it starts with the stem less that letter."""
    return sorted({w[:-1] if len(w) > 2 else w for w in stems}, key=len, reverse=True)


def _literal(words: list[str], flags: int = 0) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, words)), flags) if words else None


def _occurrences(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _starts_word(text: str, at: int, letter: re.Pattern[str]) -> bool:
    return at == 0 or letter.match(text, at - 1) is None


@dataclass(frozen=True)
class _Matchers:
    """Where the words are in a text that may have one of a query's stems as their index term.

    Latin words are found by probe (``latin``); Hangul bigrams as substrings, overlaps included
    (모델이 holds 모델 and 델이); a one-syllable Hangul term only as a whole run, and a word of
    another script only as a whole word.
    """

    latin: re.Pattern[str] | None
    latin_any_case: re.Pattern[str] | None
    bigrams: tuple[str, ...]
    whole: tuple[str, ...]  # one-syllable Hangul terms and words of other scripts

    def find(self, text: str) -> list[tuple[int, str]]:
        """(position, case-folded word) of each candidate in ``text``."""
        folded = text.casefold()
        exact = len(folded) == len(text)  # casefold kept every position (it almost always does)
        source = folded if exact else text
        found: list[tuple[int, str]] = []
        pattern = self.latin if exact else self.latin_any_case
        if pattern is not None:
            for match in pattern.finditer(source):
                at = match.start()
                if _starts_word(source, at, _INDEX_LETTER):
                    end = _INDEX_LETTERS.match(source, match.end()).end()  # type: ignore[union-attr]
                    found.append((at, source[at:end].casefold()))
        for gram in self.bigrams:
            found += [(at, gram) for at in _occurrences(text, gram)]
        for word in self.whole:
            letter = _INDEX_HANGUL if _HANGUL_WORD.fullmatch(word) else _INDEX_LETTER
            for at in _occurrences(source, word):
                after = at + len(word)
                if _starts_word(source, at, letter) and letter.match(source, after) is None:
                    found.append((at, word))
        return found


@lru_cache(maxsize=512)
def _matchers(stems: frozenset[str]) -> _Matchers:
    latin = _probes({w for w in stems if w.isascii()})
    syllables = {w for w in stems if _HANGUL_WORD.fullmatch(w)}
    bigrams = tuple(sorted(w for w in syllables if len(w) > 1))
    # A term mixing Hangul and other letters is never an index term: it is left out.
    other = {w for w in stems if not w.isascii() and not _INDEX_HANGUL.search(w)}
    return _Matchers(
        _literal(latin),
        _literal(latin, re.IGNORECASE),
        bigrams,
        tuple(sorted(syllables - set(bigrams) | other)),
    )


class _Sentences:
    """The sentences of a text by offset (as :func:`~bot.domain.textfold.split_sentences` cuts them,
    blank ones included here)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts, self.ends = sentence_bounds(text)

    def __getitem__(self, k: int) -> str:
        """Sentence ``k``, stripped ("" when blank); a full stop stays with its sentence."""
        return self.text[self.starts[k] : self.ends[k]].strip()


def best_snippet(texts: list[str], terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """The sentence with most query terms (curator's words preferred on ties), matches in bold.

    ``networks`` finds and highlights ``network``, as search matched it.
    """
    wanted = {stem(t) for t in terms}
    matchers = _matchers(frozenset(wanted))
    best: tuple[int, str, dict[str, str]] | None = None  # hits, sentence, its matched words' stems
    for text in texts:
        found = matchers.find(text)
        if not found and best is not None:
            continue
        sentences = _Sentences(text)
        if best is None:  # the first sentence of all, shown when nothing matches
            first = next((piece for k in range(len(sentences.starts)) if (piece := sentences[k])), None)
            best = (0, first, {}) if first is not None else None
        if not found:
            continue
        stems = stem_words(w for _, w in found)
        by_sentence: dict[int, dict[str, str]] = {}
        for at, word in found:
            by_sentence.setdefault(bisect_right(sentences.starts, at) - 1, {})[word] = stems[word]
        for n in sorted(by_sentence):
            hits = len(wanted.intersection(by_sentence[n].values()))
            if best is None or hits > best[0]:
                best = (hits, sentences[n], by_sentence[n])
    if best is None:
        return ""
    matched = sorted(w for w, t in best[2].items() if t in wanted and w.isascii() and w not in terms)
    return highlight(shorten(best[1], width, [*terms, *matched]), terms)


def shorten(text: str, width: int, terms: list[str]) -> str:
    """Cut ``text`` to about ``width`` characters around the first matched term, on word boundaries."""
    if len(text) <= width:
        return text
    folded = text.casefold()
    first = min((folded.find(t) for t in terms if t in folded), default=0)
    start = max(0, first - width // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    cut = text[start : start + width]
    if start + width < len(text) and " " in cut:
        cut = cut[: cut.rfind(" ")]
    return ("…" if start else "") + cut.strip() + ("…" if start + len(cut) < len(text) else "")


def highlight(text: str, terms: list[str]) -> str:
    """Bold whole words that match the query, without touching Markdown already in the text.

    A Latin word matches when it starts with a query term (``video`` bolds ``videos``) or has the stem
    of one, as the index matched it (``networks`` bolds ``network``); a Hangul word when it contains a
    query word, with or without its last syllable (a particle), so ``비디오를`` is bold as a whole
    rather than as the bigrams it was searched by (``**비디**오``).
    """
    plain = text.replace("*", "\\*").replace("_", "\\_")
    rule = _bold_rule(tuple(dict.fromkeys(terms)))  # in query order: Hangul words are rebuilt from it
    spans: list[tuple[int, int]] = []
    if rule.probes is not None:
        for match in rule.probes.finditer(plain):
            at = match.start()
            if not _starts_word(plain, at, _BOLD_LETTER):
                continue
            end = _BOLD_LETTERS.match(plain, match.end()).end()  # type: ignore[union-attr]
            word = plain[at:end].casefold()
            if word.startswith(rule.latin) or stem_words([word])[word] in rule.stems:
                spans.append((at, end))
    if rule.hangul is not None:
        spans += [m.span() for m in _HANGUL_WORD.finditer(plain) if rule.hangul.search(m.group())]
    if not spans:
        return plain
    out, last = [], 0
    for start, end in sorted(spans):
        out += [plain[last:start], "**", plain[start:end], "**"]
        last = end
    return "".join([*out, plain[last:]])


@dataclass(frozen=True)
class _BoldRule:
    probes: re.Pattern[str] | None  # any case
    latin: tuple[str, ...]
    stems: frozenset[str]
    hangul: re.Pattern[str] | None  # any of the query's Hangul word forms


@lru_cache(maxsize=512)
def _bold_rule(terms: tuple[str, ...]) -> _BoldRule:
    latin = tuple(t for t in terms if len(t) > 1 and not _INDEX_HANGUL.search(t))
    stems = frozenset(stem(t) for t in latin)
    probes = _literal(sorted(set(_probes(stems)) | set(latin), key=len, reverse=True), re.IGNORECASE)
    hangul = _hangul_words([t for t in terms if _HANGUL_WORD.fullmatch(t)])
    return _BoldRule(probes, latin, stems, _literal(sorted(hangul, key=len, reverse=True)))


def _hangul_words(bigrams: list[str]) -> set[str]:
    """The query's Hangul words back from their bigrams (``데이``, ``이터`` → ``데이터``), with each
    word also without its last syllable; one-syllable forms are too short to bold on their own."""
    words: list[str] = []
    for gram in bigrams:
        if words and len(gram) == 2 and words[-1][-1] == gram[0] and len(words[-1]) >= 2:
            words[-1] += gram[1]
        else:
            words.append(gram)
    return {w for w in words if len(w) >= 2} | {w[:-1] for w in words if len(w) >= 3}
