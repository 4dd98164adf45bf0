from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.ui.limits import shorten_authors, split_text, truncate


def test_truncate_keeps_short_text_and_cuts_long_on_a_word() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("alpha beta gamma delta", 14)
    assert cut == "alpha beta…"
    assert len(truncate("x" * 50, 20, more=" [more](u)")) <= 20


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=20, max_value=500))
def test_split_text_respects_limit_and_loses_no_words(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert "".join(chunks).split() == text.split() or " ".join(chunks).split() == text.split()


def test_split_prefers_paragraphs() -> None:
    text = "first paragraph here.\n\nsecond paragraph that is a bit longer."
    assert split_text(text, 40) == ["first paragraph here.", "second paragraph that is a bit longer."]


def test_shorten_authors() -> None:
    assert shorten_authors(["A", "B"]) == "A, B"
    assert shorten_authors([f"N{i}" for i in range(12)]) == "N0, N1, N2 et al. (12 authors)"
