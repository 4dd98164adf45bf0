"""One-paper Markdown notes in every format the vault has used."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.arxiv import normalise_title
from bot.domain.models import Entry, ParsedFile, Severity
from bot.domain.parse_note import parse_note
from bot.domain.sources import note_date_from_filename

NOTES = Path(__file__).parent / "fixtures" / "notes"


def _parse(name: str) -> ParsedFile:
    return parse_note((NOTES / name).read_text(encoding="utf-8"), name, note_date_from_filename(name))


def _entry(name: str) -> Entry:
    parsed = _parse(name)
    assert parsed.kind == "note"
    assert parsed.ok, parsed.issues
    (entry,) = parsed.entries
    return entry


def _fields(parsed: ParsedFile) -> list[tuple[str | None, Severity]]:
    return [(i.field, i.severity) for i in parsed.issues]


def test_modern_note_with_abstract_english_block_and_links() -> None:
    parsed = _parse("240105 Sparse Lantern Routing.md")
    assert parsed.issues == []
    (entry,) = parsed.entries
    assert entry.title == "Sparse Lantern Routing: Cheap Experts for Long Contexts"
    assert entry.authors == ["Mina Park", "Oliver Grant", "Sofia Reyes"]
    assert entry.arxiv_id == "2401.05123"
    assert entry.url == "https://arxiv.org/abs/2401.05123"
    assert entry.line == 3
    assert entry.note_date == dt.date(2024, 1, 5)
    assert entry.abstract == (
        "We propose Sparse Lantern Routing, a router that sends each token to a single expert chosen by "
        "a hashed lantern key.\nExperiments on three benchmarks show faster training at equal quality."
    )
    assert entry.commentary == (
        "토큰마다 Expert 하나만 고르는 라우터인데 해시 기반이라 로드 밸런싱 손실이 필요 없다는 점이 재미있네요.\n"
        "비슷한 접근으로 (https://arxiv.org/abs/2305.11111) 도 있었죠.\n\n"
        "두 번째 문단입니다. 학습 속도 개선이 주된 결과입니다."
    )
    assert entry.commentary_en == (
        "A router that picks one expert per token. Because it is hash based, no load balancing loss is needed."
        "\n\nSecond paragraph: the main result is faster training."
    )
    assert entry.tags == ["moe", "long_context", "efficient-training"]
    assert entry.links == ["231201 Hash Layers Revisited", "240102 Expert Choice Routing"]
    for leaked in ("<english>", "# Links", "[[", "#moe", "arxiv.org/abs/2401.05123", "> We propose"):
        assert leaked not in entry.commentary


def test_wrapped_plain_title_and_listing_stub() -> None:
    entry = _entry("200514 Folded Title Networks.md")
    assert entry.title == "Folded Title Networks: Learning to Wrap Long Paper Names Across Two Lines of Text"
    assert entry.authors == ["Hana Kim", "Jorge Silva", "Priya Natarajan"]
    assert entry.arxiv_id == "2005.04321"
    assert (
        entry.commentary == "제목이 두 줄로 접힌 옛날 형식의 노트입니다. 저자 목록은 둘째 줄 끝에 있습니다."
    )
    assert entry.tags == ["text_layout", "nlp"]


def test_url_line_followed_by_commentary_on_the_same_line() -> None:
    parsed = _parse("190801 QuickNet.md")
    (entry,) = parsed.entries
    assert entry.arxiv_id == "1908.01234"
    assert entry.commentary == "Dana Lee & Ravi Kumar가 또 백본을 깎았다...ILSVRC Top 1 80.1"
    assert entry.title == "QuickNet"
    assert _fields(parsed) == [("title", Severity.WARNING)]


@pytest.mark.parametrize(
    ("name", "title", "arxiv_id", "commentary"),
    [
        (
            "210318 PaintMix.md",
            "PaintMix: Mixing Brush Strokes for Data Augmentation",
            "2103.05555",
            "붓 터치 단위로 이미지를 섞는 augmentation. 재미있네요.",
        ),
        (
            "200103 BlendLite.md",
            "BlendLite",
            "2001.01111",
            "FCOS 계열에서 마스크를 조합하는 또 다른 방법. 충분히 재미있는 접근 같다.",
        ),
    ],
)
def test_old_title_url_style(name: str, title: str, arxiv_id: str, commentary: str) -> None:
    parsed = _parse(name)
    assert parsed.issues == []
    (entry,) = parsed.entries
    assert (entry.title, entry.arxiv_id, entry.commentary) == (title, arxiv_id, commentary)
    assert entry.line == 1


def test_non_arxiv_url_is_kept_as_the_url() -> None:
    entry = _entry("230501 Lantern Blog.md")
    assert entry.arxiv_id is None
    assert entry.url == "https://example.org/blog/lantern-models"
    assert entry.title == "Lantern Models: What We Learned Training Them"
    assert entry.authors == ["Lantern Team"]


def test_lone_title_line_under_a_non_arxiv_url() -> None:
    entry = _entry("231018 Lone Title.md")
    assert entry.url == "https://openreview.net/forum?id=Lantern42"
    assert entry.title == "Lantern: Linear-Time Sequence Modeling with Quiet States"
    assert entry.authors == []
    assert entry.commentary.startswith("State Space Model 기반")


def test_heading_link_title_with_team_author() -> None:
    entry = _entry("250523 Introducing Lantern 2.md")
    assert (entry.title, entry.authors, entry.url) == (
        "Introducing Lantern 2",
        ["Lantern Labs"],
        "https://example.com/news/lantern-2",
    )
    assert entry.commentary == "Lantern 2가 나왔군요. 코딩 에이전트로서의 능력에 집중한 것 같네요."


def test_no_url_note_falls_back_to_the_file_name() -> None:
    parsed = _parse("191022 VoiceGAN.md")
    (entry,) = parsed.entries
    assert (entry.title, entry.url, entry.arxiv_id) == ("VoiceGAN", None, None)
    assert entry.tags == ["tts", "gan"]
    assert entry.commentary.count("\n\n") == 1
    (warning,) = parsed.issues
    assert (warning.field, warning.severity, warning.line) == ("title", Severity.WARNING, 1)


def test_note_with_nothing_identifying_is_an_error() -> None:
    parsed = _parse("230601 Loose Thoughts.md")
    assert not parsed.ok
    assert parsed.entries == []
    assert parsed.errors[0].field == "url"


def test_duplicate_file_gives_the_same_paper() -> None:
    first = _entry("240710 Quiet Gradients.md")
    copy = _entry("240710 Quiet Gradients 1.md")
    assert first.arxiv_id == copy.arxiv_id == "2407.01234"
    assert normalise_title(first.title) == normalise_title(copy.title)
    assert first.model_dump() == copy.model_dump()


def test_duplicate_suffix_is_dropped_from_fallback_titles() -> None:
    text = "https://arxiv.org/abs/2407.01234\n\n#optimization\n"
    one = parse_note(text, "vault/2024/240710 Quiet Gradients.md", None).entries[0]
    two = parse_note(text, "vault/2024/240710 Quiet Gradients 1.md", None).entries[0]
    assert one.title == two.title == "Quiet Gradients"


def test_untagged_english_translation_goes_to_commentary_en() -> None:
    entry = _entry("250301 Dual Language Notes.md")
    assert entry.commentary == "한국어로 쓴 코멘트입니다. 번역이 뒤따릅니다.\n\n두 번째 한국어 문단입니다."
    assert entry.commentary_en == (
        "This is the commentary in Korean, followed by a translation.\n\n"
        "The second paragraph, in English this time."
    )


def test_translation_after_the_tag_line() -> None:
    entry = _entry("240130 Tags In The Middle.md")
    assert entry.tags == ["synthetic-data"]
    assert entry.commentary == "태그 뒤에 영어 번역이 붙은 노트입니다."
    assert entry.commentary_en == "This note adds its English translation after the tag line."


def test_tags_at_the_end_of_a_commentary_line() -> None:
    parsed = _parse("200714 TagTail.md")
    assert parsed.issues == []
    (entry,) = parsed.entries
    assert entry.tags == ["quantization", "object_detection"]
    assert entry.commentary.endswith("(https://github.com/example/tagtail)")


def test_unclosed_english_block_ends_at_the_tags_with_a_warning() -> None:
    parsed = _parse("241212 Open Block.md")
    (entry,) = parsed.entries
    assert entry.commentary_en == "A note that forgot its closing tag."
    assert entry.tags == ["moe", "sparsity"]
    assert entry.links == ["241104 Another Note"]
    assert [(i.field, i.line) for i in parsed.issues] == [("commentary_en", 9)]


def test_pdf_and_schemeless_urls() -> None:
    assert _entry("250225 PDF Link.md").url == "https://arxiv.org/abs/2502.01234"
    schemeless = _parse("201016 Schemeless.md").entries[0]
    assert schemeless.arxiv_id == "2010.01234"
    assert schemeless.commentary == "스킴 없이 붙여넣은 링크. causality로 self supervision!"
    assert _entry("240710 Quiet Gradients.md").arxiv_id == "2407.01234"  # written with v2


def test_url_and_tags_only() -> None:
    parsed = _parse("200201 Bare Link.md")
    (entry,) = parsed.entries
    assert (entry.title, entry.commentary, entry.abstract) == ("Bare Link", "", "")
    assert entry.tags == ["generative_model"]


def test_truncated_author_list() -> None:
    entry = _entry("211020 Cut Authors.md")
    assert entry.title == "Cut Authors: A Study of Truncated Author Lists"
    assert entry.authors == ["Nora Blake", "Felix Wong", "Irene Adler"]


def test_stray_word_after_tags_is_a_warning() -> None:
    parsed = _parse("240805 Stray Letter.md")
    assert parsed.entries[0].tags == ["text-to-image", "vision-language"]
    assert "F" not in parsed.entries[0].commentary
    assert [(i.field, i.line, i.severity) for i in parsed.issues] == [("tags", 9, Severity.WARNING)]


def test_title_starting_with_a_quote_and_date_only_file_name() -> None:
    entry = _entry("250311.md")
    assert entry.title == '"Quoted Words" Enable A New Kind of Title'
    assert entry.note_date == dt.date(2025, 3, 11)


def test_note_without_tags_warns() -> None:
    text = "https://arxiv.org/abs/2401.00001\n\n*A Paper* (Ann Author)\n\n코멘트.\n"
    parsed = parse_note(text, "240101 A Paper.md", None)
    assert parsed.ok
    assert [(i.field, i.severity) for i in parsed.issues] == [("tags", Severity.WARNING)]


def test_crlf_and_bom_notes_parse_like_lf() -> None:
    text = (NOTES / "240105 Sparse Lantern Routing.md").read_text(encoding="utf-8")
    crlf = parse_note("\ufeff" + text.replace("\n", "\r\n"), "x.md", None)
    lf = parse_note(text, "x.md", None)
    assert crlf.entries == lf.entries


def test_empty_note_is_an_error() -> None:
    parsed = parse_note(" \n\n", "240101 Empty.md", None)
    assert not parsed.ok
    assert parsed.entries == []


_PIECES = st.sampled_from(
    [
        "https://arxiv.org/abs/2401.02954",
        "https://arxiv.org/abs/2401.02954 코멘트",
        "*Title* (A One, B Two)",
        "*Title",
        "Title (A One,",
        "  B Two)",
        "Title (https://arxiv.org/abs/2401.02954) 를 구현",
        "## [Title](https://example.com)",
        "> abstract",
        ">",
        "<english>",
        "</english>",
        "<english>inline</english>",
        "#tag #other",
        "#tag F",
        "# Links",
        "[[Some Note.md]]",
        "[[]]",
        "| 2005.05650",
        "한국어 문단.",
        "English paragraph with the words.",
        "(",
        ")",
        "",
        "\r",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_note_never_raises_on_arbitrary_text(text: str) -> None:
    parsed = parse_note(text, "240101 Any.md", None)
    assert parsed.kind == "note"
    assert len(parsed.entries) == 1 or parsed.errors


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=25))
def test_parse_note_never_raises_on_note_like_text(lines: list[str]) -> None:
    parsed = parse_note("\n".join(lines), "240101 Any 1.md", None)
    assert (len(parsed.entries) == 1 and parsed.ok) or (not parsed.entries and parsed.errors)
    for entry in parsed.entries:
        assert entry.title
        assert "<english>" not in entry.commentary


@pytest.mark.parametrize(
    "text",
    [
        "*" + "*(" * 50_000,
        "Title " + "(" * 50_000 + ")" * 50_000,
        "T (" * 50_000 + "A, B)",
        "x " + "#a " * 50_000 + "z #b",
        "T " * 50_000 + "https://example.org/" + "a" * 50_000,
        "<english>\n" * 50_000,
        ">\n" * 50_000,
    ],
    ids=["stars", "nested-parens", "open-parens", "tags-then-word", "title-url", "english", "quotes"],
)
def test_pathological_lines_parse_in_linear_time(text: str) -> None:
    # Each case is quadratic for a naive backtracking regex: minutes instead of milliseconds.
    start = time.perf_counter()
    parsed = parse_note(text, "240101 Big.md", None)
    assert time.perf_counter() - start < 5.0
    assert parsed.entries or parsed.errors
