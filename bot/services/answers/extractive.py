"""Answers without a model: the question's coverage by the notes, and the notes' best sentences quoted.

Relevance is a share of the question's words, each weighted by how rare it is among all stored papers
(so ``4DiM`` counts for more than ``video``), found in a paper's title, tags, commentary or abstract.
``bench/answer_eval.py`` measures how often that decides "covered" rightly.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.domain.textfold import SENTENCE_BREAK, STOPWORDS, any_of
from bot.services.answers.text import finish_answer
from bot.services.answers.types import Answer, Passage, as_lang
from bot.store.db import Database

MAX_BULLETS = 4
PER_PAPER = 2
MIN_SENTENCE = 12
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD = re.compile(r"[\uac00-\ud7a3]+|[^\W_\uac00-\ud7a3]+", re.UNICODE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ers", "ies", "ied", "ed", "es", "er", "ly", "s")

# Markup the notes carry from arXiv and Markdown: LaTeX commands, math delimiters, emphasis, links.
_UNICODE = re.compile(r"\\unicode\{x?([0-9a-fA-F]{2,6})\}")
_WRAPPERS = re.compile(
    r"\\(?:textbf|textit|emph|mathrm|mathbf|mathcal|mathit|text|texttt|bf|it|rm)\s*\{([^{}]*)\}"
)
_DROPPED = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote|url)\s*\{[^{}]*\}")
_SYMBOLS = {
    "\\times": "×", "\\approx": "≈", "\\sim": "~", "\\leq": "≤", "\\le": "≤", "\\geq": "≥", "\\ge": "≥",
    "\\pm": "±", "\\infty": "∞", "\\alpha": "α", "\\beta": "β", "\\gamma": "γ", "\\delta": "δ",
    "\\epsilon": "ε", "\\lambda": "λ", "\\mu": "μ", "\\sigma": "σ", "\\theta": "θ", "\\rightarrow": "→",
    "\\to": "→", "\\%": "%", "\\&": "&", "\\_": "_", "\\$": "$", "\\#": "#", "\\,": " ", "\\;": " ",
    "\\ldots": "…", "\\dots": "…", "--": "–", "~": " ",
}  # fmt: skip
_SYMBOL = re.compile("|".join(re.escape(k) for k in sorted(_SYMBOLS, key=len, reverse=True)))
_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
_MATH = re.compile(r"\$\$?([^$]*)\$\$?")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|\[\[(?:[^\]|]*\|)?([^\]]*)\]\]")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(\S(?:.*?\S)?)\1")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_REFERENCE = re.compile(r"\s*\[\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\]")  # "[12]" in a note is not our citation


def clean_markup(text: str) -> str:
    """Plain text for quoting: LaTeX, Markdown emphasis and links, HTML tags and entities removed."""
    text = _UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
    for _ in range(2):  # nested wrappers
        text = _WRAPPERS.sub(r"\1", text)
    text = _DROPPED.sub("", text)
    text = _MATH.sub(lambda m: m.group(1), text)
    text = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = _COMMAND.sub("", text).replace("{", "").replace("}", "")
    text = _LINK.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = html.unescape(_TAG.sub("", _REFERENCE.sub("", text)))
    text = re.sub(r"^\s*(?:>+|[-*+]|#+)\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def stem(word: str) -> str:
    """A light English stem (``adapting`` → ``adapt``), enough to match word forms in short notes."""
    if len(word) > 4 and word.isascii():
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


def _bigrams(word: str) -> Iterable[str]:
    return (word[i : i + 2] for i in range(len(word) - 1)) if len(word) > 1 else (word,)


def text_keys(text: str) -> set[str]:
    """What a question term is looked up in: stems of words, and bigrams of Hangul words."""
    keys: set[str] = set()
    for word in _WORD.findall(text.casefold()):
        if _HANGUL.match(word):
            keys.update(_bigrams(word))
        else:
            keys.add(word)
            keys.add(stem(word))
    return keys


Unit = tuple[frozenset[str], ...]  # a question word: any one of these key sets, all keys present


def _forms(word: str) -> list[str]:
    """A Hangul word with and without its last syllable (a particle such as 는/를/로)."""
    return [word] + ([word[:-1]] if _HANGUL.match(word) and len(word) >= 3 else [])


def _unit(word: str) -> Unit:
    """How a question word is found in text: a Latin word or its stem; a Hangul form as bigrams."""
    if not _HANGUL.match(word):
        return (frozenset({word}), frozenset({stem(word)}))
    return tuple(frozenset(_bigrams(form)) for form in _forms(word))


@dataclass(frozen=True)
class Weights:
    """The question's words and how much each counts (rarer among the stored papers: more)."""

    terms: dict[str, float]
    units: dict[str, Unit] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.terms.values())

    def share(self, keys: set[str]) -> float:
        """The share of the question's weight found among ``keys``."""
        total = self.total
        if not total:
            return 0.0
        return sum(w for word, w in self.terms.items() if self.found(word, keys)) / total

    def found(self, word: str, keys: set[str]) -> bool:
        """A form of the word is among ``keys``; a longer Latin word also inside one (RoBERTa: bert)."""
        if any(form <= keys for form in self.units.get(word, (frozenset({word}),))):
            return True
        return len(word) >= 4 and not _HANGUL.match(word) and any(word in key for key in keys)


def question_words(question: str) -> list[str]:
    words = [w.casefold() for w in _WORD.findall(question)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:24]


async def term_weights(db: Database, question: str) -> Weights:
    """IDF of each question word over all papers, counted through the full-text index itself.

    A Hangul word found in no paper, even without its last syllable, is a verb ending or a question
    form (``쓰였나요``) more often than a topic: it counts for a third.
    """
    papers = int(await db.fetchval("SELECT count(*) FROM papers")) or 1
    weights: dict[str, float] = {}
    units: dict[str, Unit] = {}
    for word in question_words(question):
        found = 0
        for form in _forms(word):
            phrase = " ".join(_bigrams(form)) if _HANGUL.match(form) else form
            count = await db.fetchval(
                "SELECT count(*) FROM paper_fts WHERE paper_fts MATCH ?", (any_of([phrase]),)
            )
            found = max(found, int(count))
        idf = math.log((papers + 1) / (found + 0.5))
        weights[word] = idf / 3 if found == 0 and _HANGUL.match(word) else idf
        units[word] = _unit(word)
    return Weights(weights, units)


def _paper_keys(passages: list[Passage], tags: dict[int, list[str]] | None) -> dict[int, set[str]]:
    texts: dict[int, list[str]] = {}
    for p in passages:
        texts.setdefault(p.paper_id, [p.title, *(tags or {}).get(p.paper_id, [])]).append(p.text)
    return {pid: text_keys(" ".join(parts)) for pid, parts in texts.items()}


def coverage(
    weights: Weights, passages: list[Passage], tags: dict[int, list[str]] | None = None
) -> dict[int, float]:
    """Per paper, the share of the question's weight its passages, title (and tags) contain."""
    return {pid: weights.share(keys) for pid, keys in _paper_keys(passages, tags).items()}


def is_covered(weights: Weights, passages: list[Passage], tags: dict[int, list[str]] | None = None) -> bool:
    """One retrieved paper (or two, each holding two of its words: a question about both) holds three
    of the question's words carrying 15% of its weight, two carrying 60%, or all of them. A rare word
    alone (a place name in a field's notes) is a coincidence; a long paraphrase shares few of its
    words with the note it describes (bench/answer_eval.py measures both)."""
    if not passages:
        return False
    if not weights.terms:
        return True
    papers = list(_paper_keys(passages, tags).values())
    pairs = [
        a | b
        for i, a in enumerate(papers)
        for b in papers[i + 1 :]
        if min(_found(weights, a), _found(weights, b)) >= 2
    ]
    return any(passes(weights, keys) for keys in papers + pairs)


def passes(weights: Weights, keys: set[str]) -> bool:
    """The coverage test for one text's keys (see :func:`is_covered`)."""
    if not weights.terms:
        return True
    share, found = weights.share(keys), _found(weights, keys)
    return (found >= 3 and share >= 0.15) or (found >= 2 and share >= 0.6) or found == len(weights.terms)


def _found(weights: Weights, keys: set[str]) -> int:
    return sum(weights.found(word, keys) for word in weights.terms)


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.8


def extractive_answer(
    weights: Weights, passages: list[Passage], language: str, mode_notice: str, *, covered: bool = True
) -> Answer:
    """The sentences most relevant to the question across all the papers, the paper it is about first.

    Citations are numbered 1..n in order of first use, one number per paper.
    """
    lang = as_lang(language)
    order = {pid: rank for rank, pid in enumerate(dict.fromkeys(p.paper_id for p in passages))}
    papers = coverage(weights, passages)
    titles = {p.paper_id: weights.share(text_keys(p.title)) for p in passages}
    paper_score = {pid: papers[pid] + 0.5 * titles[pid] + 0.15 / (1 + order[pid]) for pid in order}
    scored: list[tuple[float, float, str, set[str], Passage]] = []
    for passage in passages:
        for position, raw in enumerate(SENTENCE_BREAK.split(passage.text)):
            sentence = clean_markup(raw).removeprefix("(English)").strip()
            if len(sentence) < MIN_SENTENCE:
                continue
            keys = text_keys(sentence)
            relevance = weights.share(keys) if weights.terms else 0.0
            # the curator's words and earlier sentences break ties
            tie = (0.02 if passage.kind == "commentary" else 0.0) - 0.001 * position
            scored.append(
                (relevance + paper_score[passage.paper_id] + tie, relevance, sentence, keys, passage)
            )
    scored.sort(key=lambda item: -item[0])
    if weights.terms and any(item[1] > 0 for item in scored):
        scored = [item for item in scored if item[1] > 0]
    top = max(paper_score, key=lambda pid: paper_score[pid], default=None)
    first = next((item for item in scored if item[4].paper_id == top), None)
    if first is not None:
        scored.remove(first)
        scored.insert(0, first)
    chosen: list[tuple[str, Passage]] = []
    kept: list[set[str]] = []
    used: dict[int, int] = {}
    for _score, _relevance, sentence, keys, passage in scored:
        if used.get(passage.paper_id, 0) >= PER_PAPER or any(_similar(keys, k) for k in kept):
            continue
        used[passage.paper_id] = used.get(passage.paper_id, 0) + 1
        kept.append(keys)
        chosen.append((sentence, passage))
        if len(chosen) == MAX_BULLETS:
            break
    raw = "\n".join(f"- {_clip(sentence)} [{passage.n}]" for sentence, passage in chosen)
    body, citations, _ = finish_answer(raw, passages, per_paper=True)
    return Answer(body, "extractive", lang, citations, mode_notice, covered=covered)


def _clip(sentence: str, limit: int = 400) -> str:
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"
