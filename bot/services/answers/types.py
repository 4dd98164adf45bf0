"""What answering works with: numbered passages in, an answer with citations out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

PassageKind = Literal["commentary", "abstract"]
Lang = Literal["ko", "en"]
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Passage:
    n: int
    paper_id: int
    arxiv_id: str | None
    title: str
    kind: PassageKind
    text: str
    link: str | None


@dataclass(frozen=True)
class Citation:
    n: int
    id: int
    arxiv_id: str | None
    title: str
    kind: PassageKind
    link: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "id": self.id,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "source": self.kind,
            "link": self.link,
        }


@dataclass
class Answer:
    text: str
    mode: Literal["llm", "extractive"]
    language: Lang
    citations: list[Citation] = field(default_factory=list)
    notice: str | None = None
    disagreements: list[tuple[int, int]] = field(default_factory=list)
    cached: bool = False
    covered: bool = True  # False: the stored notes do not cover the question
    cut_off: bool = False  # an LLM answer that stopped early (length limit or timeout)

    def as_json(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "mode": self.mode,
            "language": self.language,
            "notice": self.notice,
            "citations": [c.as_json() for c in self.citations],
            "disagreements": [list(pair) for pair in self.disagreements],
            "covered": self.covered,
            "cut_off": self.cut_off,
        }


def as_lang(value: str | None) -> Lang:
    return "ko" if value and value.startswith("ko") else "en"


def question_language(text: str) -> Lang:
    """Korean when Hangul carries the question (a syllable weighs about four Latin letters)."""
    hangul = len(_HANGUL.findall(text))
    return "ko" if hangul and hangul * 4 >= len(_LATIN.findall(text)) else "en"
