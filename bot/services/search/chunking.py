"""Chunking: the short texts a paper is embedded as, each labelled with the field it came from.

A paper is embedded as several short chunks (its title, and sentence-packed pieces of the abstract,
the commentary and its English translation); a query is scored against each field of a paper by the
field's best chunk. Measured on the curator's vault (bench/retrieval_questions.json), whole-note vectors
lose to this: one vector per note blurs a paragraph of Korean commentary and an English abstract into a
point near neither.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.domain.textfold import SENTENCE_BREAK

Field = Literal["title", "abstract", "commentary"]
# The fields chunks are labelled with, in the order chunk_fields() emits them.
FIELDS: tuple[Field, ...] = ("title", "abstract", "commentary")

# Chunk sizes in characters. Sentences are packed up to TARGET within a paragraph; nothing exceeds
# MAX (a longer sentence is cut at spaces); a piece shorter than MIN is merged into a neighbour.
CHUNK_TARGET_CHARS = 300
CHUNK_MAX_CHARS = 400
CHUNK_MIN_CHARS = 25


_MD_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_WIKI_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMPTY_PARENS = re.compile(r"\(\s*[,;]?\s*\)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


def _clean(text: str) -> str:
    """Markdown links to their text, wiki links to their target, URLs and the brackets they leave dropped."""
    text = _MD_LINK.sub(lambda m: "" if _URL.match(m.group(1).strip()) else m.group(1), text)
    text = _WIKI_LINK.sub(lambda m: m.group(1).removesuffix(".md"), text)
    text = _URL.sub(" ", text)
    return _EMPTY_PARENS.sub(" ", text)


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while len(word) > max_chars:  # a run with no spaces (a URL-like blob, unspaced CJK)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _pack(sentences: list[str], target: int, max_chars: int, min_chars: int) -> list[str]:
    """Consecutive sentences joined up to ``target`` chars (never past ``max_chars``)."""
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        for piece in _split_long(sentence, max_chars):
            joined = len(current) + 1 + len(piece)
            if current and joined <= max_chars and (joined <= target or len(current) < min_chars):
                current = f"{current} {piece}"
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        if chunks and len(current) < min_chars and len(chunks[-1]) + 1 + len(current) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {current}"
        else:
            chunks.append(current)
    return chunks


def _field_chunks(text: str, target: int, max_chars: int, min_chars: int) -> list[str]:
    """Chunks of one field, packed per paragraph; a tiny paragraph ("흥미롭네요.") joins the previous chunk."""
    chunks: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(_clean(text)):
        sentences = [_SPACES.sub(" ", s).strip() for s in SENTENCE_BREAK.split(paragraph)]
        for chunk in _pack([s for s in sentences if s], target, max_chars, min_chars):
            tiny = bool(chunks) and (len(chunk) < min_chars or len(chunks[-1]) < min_chars)
            if tiny and len(chunks[-1]) + 1 + len(chunk) <= max_chars:
                chunks[-1] = f"{chunks[-1]} {chunk}"
            else:
                chunks.append(chunk)
    return chunks


def chunk_fields(
    title: str,
    abstract: str,
    commentary: str,
    commentary_en: str,
    *,
    target_chars: int = CHUNK_TARGET_CHARS,
    max_chars: int = CHUNK_MAX_CHARS,
    min_chars: int = CHUNK_MIN_CHARS,
) -> list[tuple[Field, str]]:
    """(field, text) of each chunk to embed for one paper: its title, then sentence-packed chunks of
    the abstract and of the commentary (the curator's text, then its English version), in that order.

    Sentences are packed within a paragraph up to ``target_chars``; no chunk is longer than
    ``max_chars``; fragments shorter than ``min_chars`` join a neighbour. Links and URLs are
    dropped, whitespace is collapsed, and empty or repeated chunks (case-insensitive) are skipped;
    a chunk repeated in two fields keeps the first field's label.
    """
    if not 0 < min_chars <= target_chars <= max_chars:
        raise ValueError("need 0 < min_chars <= target_chars <= max_chars")
    candidates: list[tuple[Field, str]] = [("title", _SPACES.sub(" ", _clean(title)).strip()[:max_chars])]
    for field, text in (("abstract", abstract), ("commentary", commentary), ("commentary", commentary_en)):
        if text and text.strip():
            candidates += [(field, c) for c in _field_chunks(text, target_chars, max_chars, min_chars)]  # type: ignore[misc]
    chunks: list[tuple[Field, str]] = []
    seen: set[str] = set()
    for field, chunk in candidates:
        chunk = chunk.strip()
        key = chunk.casefold()
        if not chunk or key in seen or not _HAS_WORD.search(chunk):
            continue
        seen.add(key)
        chunks.append((field, chunk))
    return chunks


def chunk_note(
    title: str,
    abstract: str,
    commentary: str,
    commentary_en: str,
    *,
    target_chars: int = CHUNK_TARGET_CHARS,
    max_chars: int = CHUNK_MAX_CHARS,
    min_chars: int = CHUNK_MIN_CHARS,
) -> list[str]:
    """The texts of :func:`chunk_fields`, without their field labels."""
    return [
        text
        for _, text in chunk_fields(
            title,
            abstract,
            commentary,
            commentary_en,
            target_chars=target_chars,
            max_chars=max_chars,
            min_chars=min_chars,
        )
    ]
