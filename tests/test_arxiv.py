"""arXiv ids from every way curators wrote them, and the title key used when there is no id."""

from __future__ import annotations

import pytest

from bot.domain.arxiv import arxiv_url, normalise_title, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.02954", "2401.02954"),
        ("2401.02954v3", "2401.02954"),
        ("0704.0001", "0704.0001"),
        ("1501.00001", "1501.00001"),
        ("arXiv:2401.02954", "2401.02954"),
        ("see arXiv: 2401.02954v2 for details", "2401.02954"),
        ("https://arxiv.org/abs/2401.02954", "2401.02954"),
        ("https://arxiv.org/abs/2401.02954v2", "2401.02954"),
        ("http://www.arxiv.org/abs/2401.02954", "2401.02954"),
        ("https://export.arxiv.org/abs/2010.07922", "2010.07922"),
        ("arxiv.org/abs/2010.07922", "2010.07922"),
        ("https://arxiv.org/pdf/2401.02954", "2401.02954"),
        ("https://arxiv.org/pdf/2401.02954v1.pdf", "2401.02954"),
        ("https://arxiv.org/pdf/2401.02954.pdf", "2401.02954"),
        ("https://arxiv.org/html/2401.02954v2", "2401.02954"),
        ("zhttps://arxiv.org/abs/2510.03222", "2510.03222"),
        ("[https://arxiv.org/abs/1911.09737](https://l.facebook.com/l.php?u=x)", "1911.09737"),
        ("BYOL(https://arxiv.org/abs/2006.07733)이 동작하는 이유", "2006.07733"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("cs.LG/0102001", "cs.LG/0102001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math.GT/0309136"),
        ("https://arxiv.org/abs/HEP-TH/9901001", "hep-th/9901001"),
    ],
)
def test_parse_arxiv_id_accepts_every_written_form(text: str, expected: str) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no id here",
        "2413.02954",  # month 13
        "2401.029",  # too few digits
        "2401.0295412",  # too many digits
        "version 2401.02954 inside a sentence",  # bare ids only count when they are the whole text
        "https://github.com/org/repo",
        "https://notarxiv.org/abs/2401.02954",
        "https://openreview.net/forum?id=AL1fq05o7H",
    ],
)
def test_parse_arxiv_id_rejects_non_ids(text: str) -> None:
    assert parse_arxiv_id(text) is None


def test_arxiv_url_is_the_abstract_page() -> None:
    assert arxiv_url("2401.02954") == "https://arxiv.org/abs/2401.02954"
    assert arxiv_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"
    assert parse_arxiv_id(arxiv_url("cs.LG/0102001")) == "cs.LG/0102001"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Reuse, Don't Retrain: A Recipe", "reuse dont retrain a recipe"),
        ("*Reuse, Don’t Retrain:*  A  Recipe", "Reuse Dont Retrain — a recipe"),
        ("Attention Is All You Need", "attention is all you need."),
        ("ＦＵＬＬＷＩＤＴＨ Title", "fullwidth title"),
        ("Self_Play **Fine-Tuning**", "self play fine tuning"),
        ("TÜLU 3: Pushing Frontiers", "tülu 3 pushing frontiers"),
    ],
)
def test_normalise_title_gives_one_key_for_the_same_title(a: str, b: str) -> None:
    assert normalise_title(a) == normalise_title(b)


def test_normalise_title_keeps_different_titles_apart() -> None:
    assert normalise_title("Phi-2") != normalise_title("Phi-3")
    assert normalise_title("Gemma 2") != normalise_title("Gemma")
    assert normalise_title("  *Mamba*  ") == "mamba"
