"""arXiv identifiers and title keys: how a paper is recognised across notes."""

from __future__ import annotations

import re
import unicodedata

# New-style ids (0704.0001 onwards; 5-digit numbers since 1501) and old-style archive/YYMMNNN ids.
_NEW_ID = r"(?:\d{2}(?:0[1-9]|1[0-2]))\.\d{4,5}"
_OLD_ID = r"(?:[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3})"
_ID = rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?"

_URL_ID = re.compile(
    rf"(?<![\w.-])(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/{_ID}(?!\d)(?:\.pdf)?",
    re.IGNORECASE,
)
_PREFIXED_ID = re.compile(rf"\barxiv:\s*{_ID}(?!\d)", re.IGNORECASE)
_BARE_ID = re.compile(rf"{_ID}")

_MARKDOWN_EMPHASIS = re.compile(r"[*`~]+")  # "_" is punctuation below: Self_Play == Self Play
_QUOTES = re.compile(r"['’‘`\"“”]")
_NON_WORD = re.compile(r"[\W_]+")


def _canonical(raw_id: str) -> str:
    # Old-style archive names are lower case ("hep-th"); the subject class stays upper ("cs.LG").
    if "/" in raw_id:
        archive, number = raw_id.split("/", 1)
        if "." in archive:
            name, subject = archive.split(".", 1)
            archive = f"{name.lower()}.{subject.upper()}"
        else:
            archive = archive.lower()
        return f"{archive}/{number}"
    return raw_id


def parse_arxiv_id(text: str) -> str | None:
    """The arXiv id referred to by ``text``, without its version suffix, or None.

    Accepts abs/pdf/html URLs (with or without scheme, ``.pdf`` suffix or ``vN``), ``arXiv:ID``
    anywhere in the text, or a bare id when the whole text is one (``2401.02954``, ``hep-th/9901001``).
    """
    match = _URL_ID.search(text) or _PREFIXED_ID.search(text) or _BARE_ID.fullmatch(text.strip())
    if match is None:
        return None
    return _canonical(match.group("id"))


def arxiv_url(arxiv_id: str) -> str:
    """The canonical abstract-page URL for an arXiv id."""
    return f"https://arxiv.org/abs/{arxiv_id}"


def normalise_title(title: str) -> str:
    """Identity key for a paper without an arXiv id: the same title in two notes gives the same key.

    NFKC, casefolded, markdown emphasis and quotes removed, every run of punctuation or whitespace
    collapsed to one space.
    """
    text = unicodedata.normalize("NFKC", title)
    text = _MARKDOWN_EMPHASIS.sub("", text)
    text = _QUOTES.sub("", text).casefold()
    return _NON_WORD.sub(" ", text).strip()
