"""Turning model output into a safe answer: citations mapped to papers, mentions defused, notices."""

from __future__ import annotations

import re

from bot.services.answer_types import Citation, Passage

_CITE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_DISAGREE = re.compile(r"^\s*DISAGREE:\s*([\d,\s]+)$", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")

NOTICES = {
    "extractive": {
        "en": "No language model is configured, so this answer quotes the notes directly.",
        "ko": "언어 모델이 설정되어 있지 않아 노트에서 직접 인용한 답변이에요.",
    },
    "fallback": {
        "en": "The language model did not answer ({reason}), so this answer quotes the notes directly.",
        "ko": "언어 모델이 응답하지 않아({reason}) 노트에서 직접 인용한 답변이에요.",
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


def notice(key: str, language: str, **values: object) -> str:
    return NOTICES[key][language].format(**values)


def defuse_mentions(text: str) -> str:
    """Break @everyone/@here and raw user/role/channel mentions so they render as text."""
    return _MENTION.sub(lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<\u200b#"), text)


def cited_numbers(text: str) -> list[int]:
    """Passage numbers in the order they are first cited."""
    seen: list[int] = []
    for match in _CITE.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            if number not in seen:
                seen.append(number)
    return seen


def finish_answer(raw: str, passages: list[Passage]) -> tuple[str, list[Citation], list[tuple[int, int]]]:
    """Strip the DISAGREE line, drop citations of passages that do not exist, map the rest to papers."""
    by_n = {p.n: p for p in passages}
    disagreements: list[tuple[int, int]] = []
    for match in _DISAGREE.finditer(raw):
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1)) if int(x) in by_n]
        if len(numbers) >= 2:
            disagreements.append((numbers[0], numbers[1]))
    text = _DISAGREE.sub("", raw).strip()

    def keep_known(match: re.Match[str]) -> str:
        known = [p.strip() for p in re.split(r"[,;]", match.group(1)) if int(p.strip()) in by_n]
        return f"[{', '.join(known)}]" if known else ""

    text = defuse_mentions(_CITE.sub(keep_known, text))
    citations = [
        Citation(n, by_n[n].paper_id, by_n[n].arxiv_id, by_n[n].title, by_n[n].kind, by_n[n].link)
        for n in cited_numbers(text)
    ]
    return text, citations, disagreements


def passages_block(passages: list[Passage], *, max_chars: int = 1200) -> str:
    """Passages as delimited data; angle brackets in note text are escaped so they cannot close a tag."""
    blocks = []
    for p in passages:
        body = p.text.strip()[:max_chars].replace("<", "&lt;").replace(">", "&gt;")
        title = p.title.replace("<", "&lt;").replace(">", "&gt;")
        source = "curator's commentary" if p.kind == "commentary" else "abstract"
        blocks.append(f'<passage n="{p.n}" paper="{title}" source="{source}">\n{body}\n</passage>')
    return "\n".join(blocks)
