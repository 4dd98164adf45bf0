"""The pasted daily digest: date line, then title / (authors) / abstract / commentary / #tags entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.models import ParsedFile, Severity
from bot.domain.parse_digest import is_date_line, parse_date_line, parse_digest, split_authors

DIGESTS = Path(__file__).parent / "fixtures" / "digests"


def _parse(name: str) -> ParsedFile:
    return parse_digest((DIGESTS / name).read_text(encoding="utf-8"), name)


def test_full_digest_entries() -> None:
    parsed = _parse("2024-03-05.txt")
    assert parsed.ok
    assert parsed.issues == []
    assert parsed.kind == "digest"
    assert parsed.digest_date == dt.date(2024, 3, 5)
    assert [(e.line, e.title) for e in parsed.entries] == [
        (2, "Lantern: A Versatile 2B Model for Transfer"),
        (9, "Testing on the Training Task"),
        (17, "Quiet Rendering with Diffusion"),
    ]
    first = parsed.entries[0]
    assert first.authors == ["Ana Costa", "Bo Zhang", "Chloé Martin", "Dmitri Ivanov"]
    assert first.tags == ["vision-language"]
    assert all(e.note_date == dt.date(2024, 3, 5) for e in parsed.entries)
    assert all(e.arxiv_id is None and e.url is None for e in parsed.entries)


def test_abstract_runs_until_the_first_korean_line() -> None:
    first, _, third = _parse("2024-03-05.txt").entries
    assert first.abstract == (
        "Lantern is an open model built from a small vision encoder and a 2B language model. "
        "It is trained to transfer well.\nIt reaches strong results on forty tasks."
    )
    assert first.commentary == (
        "Lantern의 테크니컬 리포트가 나왔군요. 작은 인코더와 2B 언어 모델의 조합입니다.\n"
        "이미지에 대해 Bidirectional Attention을 사용한 PrefixLM이 특징이군요."
    )
    # A URL line that continues the abstract stays in the abstract.
    assert third.abstract.endswith("For an overview see\nhttps://quiet-rendering.example.io")
    assert third.commentary.startswith("Few-shot Novel View Synthesis + Time.")


def test_urls_split_onto_their_own_lines_are_joined_back() -> None:
    second = _parse("2024-03-05.txt").entries[1]
    assert "(https://arxiv.org/abs/2401.01234)" in second.commentary
    assert second.commentary.endswith(
        "팟캐스트에서 (https://example.com/podcast/episode-7) Scaling Law를 속일 수는 없다고 했던 것이 생각나네요."
    )
    assert second.tags == ["scaling-law", "benchmark"]


def test_without_korean_the_first_body_line_is_the_abstract() -> None:
    parsed = _parse("iso-date.txt")
    assert parsed.digest_date == dt.date(2024, 3, 6)
    (entry,) = parsed.entries
    assert entry.abstract == "An abstract in English only."
    assert entry.commentary == "A commentary line, also in English."


def test_english_date_and_and_separated_authors() -> None:
    parsed = _parse("english-date.txt")
    assert parsed.digest_date == dt.date(2024, 3, 7)
    assert parsed.entries[0].authors == ["Alan Turing", "Grace Hopper", "Edsger Dijkstra"]
    assert parsed.entries[0].tags == ["computing_history"]


def test_missing_date_is_an_error_on_line_one() -> None:
    parsed = _parse("missing-date.txt")
    assert not parsed.ok
    assert [(i.line, i.field, i.severity) for i in parsed.issues] == [(1, "date", Severity.ERROR)]
    assert parsed.digest_date is None


def test_invalid_calendar_date_is_an_error() -> None:
    parsed = parse_digest("2024-02-30\nT\n(A B)\nAbstract.\n#x\n", "d.txt")
    assert [(i.line, i.field) for i in parsed.errors] == [(1, "date")]
    assert "not a real calendar date" in parsed.errors[0].message


def test_entry_without_authors_is_an_error_pointing_at_the_line() -> None:
    parsed = _parse("missing-authors.txt")
    assert not parsed.ok
    (error,) = parsed.errors
    assert (error.line, error.field) == (8, "authors")
    assert "Entry Without Authors" in error.message
    # The entries around it still parse, so the report can show everything at once.
    assert [e.title for e in parsed.entries] == ["Good Entry", "Another Good Entry"]


def test_text_after_the_last_tag_line_is_an_error() -> None:
    parsed = _parse("trailing-text.txt")
    (error,) = parsed.errors
    assert (error.line, error.field) == (7, "entry")
    assert "Thanks for reading" in error.message
    assert [e.title for e in parsed.entries] == ["Good Entry"]


def test_final_entry_without_tags_is_kept_with_a_warning() -> None:
    parsed = _parse("last-untagged.txt")
    assert parsed.ok
    assert [e.title for e in parsed.entries] == ["Tagged Entry", "Untagged Final Entry"]
    assert parsed.entries[1].tags == []
    assert parsed.entries[1].commentary == "태그를 잊었네요."
    (warning,) = parsed.warnings
    assert (warning.line, warning.field) == (7, "tags")


def test_middle_entry_without_tags_is_split_at_the_next_title() -> None:
    parsed = _parse("middle-untagged.txt")
    assert parsed.ok
    assert [(e.line, e.title, e.tags) for e in parsed.entries] == [
        (2, "First Entry Lost Its Tags", []),
        (6, "Second Entry", ["rl"]),
    ]
    assert [(w.line, w.field) for w in parsed.warnings] == [(2, "tags")]


def test_crlf_bom_blank_lines_and_wrapped_title_are_tolerated() -> None:
    text = (
        "\ufeff2024년 7월 11일 (목)\r\n\r\nA Title That Was\r\nWrapped Once\r\n(A One, B Two)\r\n"
        "Abstract.\r\n\r\n코멘트 첫 문단.\r\n\r\n코멘트 둘째 문단.\r\n#tag_one #Tag-Two\r\n#tag-one\r\n"
    )
    parsed = parse_digest(text, "d.txt")
    assert parsed.ok
    (entry,) = parsed.entries
    assert entry.title == "A Title That Was Wrapped Once"
    assert entry.line == 3
    assert entry.commentary == "코멘트 첫 문단.\n\n코멘트 둘째 문단."
    assert entry.tags == ["tag_one", "Tag-Two"]


def test_date_only_digest_has_no_entries_error() -> None:
    parsed = parse_digest("2024-07-11\n\n", "d.txt")
    assert [(i.field, i.severity) for i in parsed.issues] == [("entry", Severity.ERROR)]


def test_empty_digest_is_an_error() -> None:
    parsed = parse_digest("  \n", "d.txt")
    assert not parsed.ok
    assert parsed.errors[0].message == "file is empty"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024년 7월 11일", dt.date(2024, 7, 11)),
        ("2024 년 7 월 1 일 목요일", dt.date(2024, 7, 1)),
        ("2024-07-11", dt.date(2024, 7, 11)),
        ("2024.7.11", dt.date(2024, 7, 11)),
        ("2024/07/11", dt.date(2024, 7, 11)),
        ("July 11, 2024", dt.date(2024, 7, 11)),
        ("Thursday, July 11, 2024", dt.date(2024, 7, 11)),
        ("Jul. 11 2024", dt.date(2024, 7, 11)),
        ("11 July 2024", dt.date(2024, 7, 11)),
        ("11th Sept 2024", dt.date(2024, 9, 11)),
        ("  2024-07-11  ", dt.date(2024, 7, 11)),
    ],
)
def test_date_lines(line: str, expected: dt.date) -> None:
    assert is_date_line(line)
    assert parse_date_line(line) == expected


@pytest.mark.parametrize(
    "line",
    ["", "PaliGemma: A versatile 3B VLM", "2024", "Julember 11, 2024", "2024-07-11 Title", "#2024-07-11"],
)
def test_not_date_lines(line: str) -> None:
    assert not is_date_line(line)
    assert parse_date_line(line) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A, B, C", ["A", "B", "C"]),
        ("A, B, and C", ["A", "B", "C"]),
        ("A & B", ["A", "B"]),
        ("A and B and C", ["A", "B", "C"]),
        ("Qwen Team", ["Qwen Team"]),
        ("A; B", ["A", "B"]),
        ("A, B, et al.", ["A", "B"]),
        ("A, B, ...", ["A", "B"]),
        ("Alexander Andersen, Mandy Sands", ["Alexander Andersen", "Mandy Sands"]),
        ("", []),
    ],
)
def test_split_authors(raw: str, expected: list[str]) -> None:
    assert split_authors(raw) == expected


_PIECES = st.sampled_from(
    [
        "2024년 7월 11일",
        "2024-02-30",
        "Title Line",
        "(A One, B Two)",
        "()",
        "(",
        ")",
        "https://arxiv.org/abs/2401.02954",
        "English abstract.",
        "한국어 코멘트.",
        "#tag",
        "#tag extra",
        "# Links",
        "",
        "\r",
        "\ufeff",
        "*",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_digest_never_raises_on_arbitrary_text(text: str) -> None:
    parsed = parse_digest(text, "any.txt")
    assert parsed.kind == "digest"
    assert parsed.entries or parsed.issues


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_parse_digest_never_raises_on_digest_like_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    parsed = parse_digest(text, "any.txt")
    total = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    assert parsed.entries or parsed.issues
    assert all(1 <= e.line <= total for e in parsed.entries)
    assert all(i.line is None or 1 <= i.line <= total for i in parsed.issues)


def test_second_date_line_is_an_error() -> None:
    text = "2024-07-11\nT\n(A B)\nAbs.\n#x\n2024-07-12\nU\n(C D)\nAbs.\n#y\n"
    parsed = parse_digest(text, "d.txt")
    assert [(i.line, i.field) for i in parsed.errors] == [(6, "date")]
