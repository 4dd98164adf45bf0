"""Turning model output into a safe answer: citations mapped to papers, mentions defused, notices."""

from __future__ import annotations

import asyncio
import re

import openai

from bot.services.answers.types import Citation, Passage

_CITE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_DISAGREE = re.compile(r"^\s*DISAGREE:\s*([\d,\s]+)$", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")
# Reasoning that local models (DeepSeek-R1, Qwen3, …) put before the answer; unclosed at a cut-off.
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_STRAY_CLOSE = re.compile(r"^.*?</(?:think|thinking|reasoning)>", re.DOTALL | re.IGNORECASE)
NOT_COVERED = "NOT COVERED"
_NOT_COVERED = re.compile(r"^\W*NOT[ _]COVERED\W*$", re.IGNORECASE)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
ECHO_SHINGLE = 6  # words
ECHO_SHARE = 0.6  # of the answer's word 6-grams found verbatim in the passages

NOTICES = {
    "extractive": {
        "en": "No language model is configured, so this answer quotes the notes directly.",
        "ko": "언어 모델이 설정되어 있지 않아 노트에서 직접 인용한 답변이에요.",
    },
    "fallback": {
        "en": "The language model did not answer ({reason}), so this answer quotes the notes directly.",
        "ko": "언어 모델이 응답하지 않아({reason}) 노트에서 직접 인용한 답변이에요.",
    },
    "ungrounded": {
        "en": "The language model's answer {reason}, so this answer quotes the notes directly.",
        "ko": "언어 모델의 답변이 {reason} 노트에서 직접 인용한 답변이에요.",
    },
    "cut_off": {
        "en": "The language model's answer was cut off ({reason}); what it wrote so far is shown.",
        "ko": "언어 모델의 답변이 중간에 끊겼어요({reason}). 여기까지 쓴 내용이에요.",
    },
    "budget": {
        "en": "This server's daily answer budget is used up, so this answer quotes the notes directly.",
        "ko": "오늘 서버의 답변 한도를 모두 써서 노트에서 직접 인용한 답변이에요.",
    },
    "uncovered": {
        "en": "The community's notes do not cover this question.",
        "ko": "커뮤니티 노트에는 이 질문에 대한 내용이 없어요.",
    },
}
# Why the model did not answer, or why its answer was not used: words, never exception class names.
REASONS = {
    "timeout": {"en": "it took too long", "ko": "시간 초과"},
    "rate_limited": {"en": "the server is rate-limiting requests", "ko": "서버 요청 한도 초과"},
    "server_error": {"en": "the server reported an error", "ko": "서버 오류"},
    "unreachable": {"en": "the server could not be reached", "ko": "서버에 연결할 수 없음"},
    "refused": {"en": "the server refused the API key", "ko": "API 키 거부"},
    "not_found": {"en": "the server does not serve this model", "ko": "모델을 찾을 수 없음"},
    "rejected": {"en": "the server rejected the request", "ko": "요청 거부"},
    "malformed": {"en": "the reply was malformed", "ko": "잘못된 응답"},
    "empty": {"en": "the reply was empty", "ko": "빈 응답"},
    "no_citations": {"en": "cited none of the notes", "ko": "노트를 인용하지 않아"},
    "echo": {"en": "only repeated the notes", "ko": "노트를 그대로 되풀이해서"},
    "length": {"en": "it reached the length limit", "ko": "길이 제한"},
}


def notice(key: str, language: str, **values: object) -> str:
    return NOTICES[key][language].format(**values)


def reason_text(key: str, language: str) -> str:
    return REASONS.get(key, REASONS["malformed"])[language]


def failure_reason(exc: BaseException) -> str:
    """A key of ``REASONS`` for an exception raised while asking the model."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        if status == 429:
            return "rate_limited"
        if status in (401, 403):
            return "refused"
        if status == 404:
            return "not_found"
        return "server_error" if status >= 500 else "rejected"
    return "malformed"


def defuse_mentions(text: str) -> str:
    """Break @everyone/@here and raw user/role/channel mentions so they render as text."""
    return _MENTION.sub(lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<\u200b#"), text)


def strip_reasoning(text: str) -> str:
    """The answer without ``<think>…</think>`` blocks (an unclosed one runs to the end of the text).

    A reply that starts inside the block (the template opened ``<think>`` for the model) loses
    everything up to the stray closing tag.
    """
    return _THINK.sub("", _STRAY_CLOSE.sub("", text, count=1)).strip()


def says_not_covered(text: str) -> bool:
    """The model followed the rule for questions the notes do not answer."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return bool(_NOT_COVERED.match(first))


def is_echo(text: str, passages: list[Passage], also: tuple[str, ...] = ()) -> bool:
    """Most of the answer is copied word for word from the passages, the prompt's markup, or ``also``
    (the rules and the prompt: small models repeat their whole input)."""
    if "<passage" in text or "</passages>" in text:
        return True
    words = [w.casefold() for w in _WORDS.findall(_CITE.sub(" ", text))]
    if len(words) < ECHO_SHINGLE + 2:
        return False
    source: set[tuple[str, ...]] = set()
    for copied in [f"{p.title} {p.text}" for p in passages] + list(also):
        found = [w.casefold() for w in _WORDS.findall(copied)]
        source.update(tuple(found[i : i + ECHO_SHINGLE]) for i in range(len(found) - ECHO_SHINGLE + 1))
    shingles = [tuple(words[i : i + ECHO_SHINGLE]) for i in range(len(words) - ECHO_SHINGLE + 1)]
    return sum(1 for s in shingles if s in source) / len(shingles) >= ECHO_SHARE


def cited_numbers(text: str) -> list[int]:
    """Passage numbers in the order they are first cited."""
    seen: list[int] = []
    for match in _CITE.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            if number not in seen:
                seen.append(number)
    return seen


def finish_answer(
    raw: str, passages: list[Passage], *, per_paper: bool = False
) -> tuple[str, list[Citation], list[tuple[int, int]]]:
    """Strip reasoning and the DISAGREE line, drop citations of passages that do not exist, and number
    the rest 1..n in order of first use (``per_paper``: one number per paper, whichever passage)."""
    by_n = {p.n: p for p in passages}
    raw = strip_reasoning(raw)
    pairs: list[tuple[int, int]] = []
    for match in _DISAGREE.finditer(raw):
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1)) if int(x) in by_n]
        if len(numbers) >= 2:
            pairs.append((numbers[0], numbers[1]))
    text = _DISAGREE.sub("", raw).strip()
    new: dict[object, int] = {}
    cited: list[Passage] = []

    def number(n: int) -> int:
        key: object = by_n[n].paper_id if per_paper else n
        if key not in new:
            new[key] = len(new) + 1
            cited.append(by_n[n])
        return new[key]

    def renumber(match: re.Match[str]) -> str:
        known: list[int] = []
        for part in re.split(r"[,;]", match.group(1)):
            if int(part) in by_n and (m := number(int(part))) not in known:
                known.append(m)
        return "".join(f"[{m}]" for m in known)

    text = defuse_mentions(_CITE.sub(renumber, text))
    disagreements = [(number(a), number(b)) for a, b in pairs]
    citations = [
        Citation(i, p.paper_id, p.arxiv_id, p.title, p.kind, p.link) for i, p in enumerate(cited, start=1)
    ]
    return text, citations, disagreements


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def passages_block(passages: list[Passage], *, max_chars: int = 1200) -> str:
    """Passages as delimited data: note text cannot close a tag, a title cannot add an attribute."""
    blocks = []
    for p in passages:
        body = p.text.strip()[:max_chars].replace("<", "&lt;").replace(">", "&gt;")
        source = "curator's commentary" if p.kind == "commentary" else "abstract"
        blocks.append(
            f'<passage n="{p.n}" paper="{_attribute(p.title)}" source="{source}">\n{body}\n</passage>'
        )
    return "\n".join(blocks)
