"""Reading uploads safely, dispatching to the right parser, and expanding folders."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bot.domain.models import Severity
from bot.domain.sources import (
    decode_source,
    iter_source_files,
    note_date_from_filename,
    parse_bytes,
    parse_path,
    parse_text,
    read_source,
)

FIXTURES = Path(__file__).parent / "fixtures"
NOTE = "https://arxiv.org/abs/2401.05123\n\n*A Title* (Ann Author)\n\n코멘트.\n\n#llm\n"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_read_source_strips_bom_and_normalises_line_endings(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.md", b"\xef\xbb\xbffirst\r\nsecond\rthird\n")
    text, issue = read_source(path)
    assert issue is None
    assert text == "first\nsecond\nthird\n"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf\n\n"])
def test_empty_files_are_reported(tmp_path: Path, data: bytes) -> None:
    text, issue = read_source(_write(tmp_path, "empty.md", data))
    assert text is None
    assert issue is not None
    assert issue.message == "file is empty"
    assert issue.severity is Severity.ERROR


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n\x00\x01\x02binary stream",
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x01\x02\x03\x04\x05\x06\x07\x08 text \x0e\x0f\x10\x11\x12\x13",
    ],
)
def test_binary_files_are_reported(tmp_path: Path, data: bytes) -> None:
    text, issue = read_source(_write(tmp_path, "blob.md", data))
    assert text is None
    assert issue is not None
    assert issue.message.startswith("binary file")


def test_non_utf8_names_the_line_and_asks_for_utf8(tmp_path: Path) -> None:
    data = "first line\nsecond line\ncaf\u00e9 au lait\n".encode("latin-1")
    text, issue = read_source(_write(tmp_path, "latin.md", data))
    assert text is None
    assert issue is not None
    assert issue.line == 3
    assert "line 3" in issue.message
    assert "0xE9" in issue.message
    assert "UTF-8" in issue.message


def test_non_utf8_line_counts_crlf_and_cr_once(tmp_path: Path) -> None:
    data = b"one\r\ntwo\rthree\r\n\xff bad\n"
    _, issue = read_source(_write(tmp_path, "mixed.md", data))
    assert issue is not None
    assert issue.line == 4


def test_korean_cp949_is_reported_not_guessed(tmp_path: Path) -> None:
    data = "https://arxiv.org/abs/2401.05123\n\n한국어 코멘트\n".encode("cp949")
    text, issue = read_source(_write(tmp_path, "cp949.md", data))
    assert text is None
    assert issue is not None
    assert issue.line == 3


def test_utf16_is_named(tmp_path: Path) -> None:
    text, issue = read_source(_write(tmp_path, "u16.md", "제목\n".encode("utf-16")))
    assert text is None
    assert issue is not None
    assert "UTF-16" in issue.message
    assert "UTF-8" in issue.message


def test_missing_file_and_directory_report_the_os_reason(tmp_path: Path) -> None:
    text, issue = read_source(tmp_path / "nope.md")
    assert text is None
    assert issue is not None
    assert "No such file or directory" in issue.message
    folder = tmp_path / "folder.md"
    folder.mkdir()
    text, issue = read_source(folder)
    assert text is None
    assert issue is not None
    assert "Is a directory" in issue.message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_reports_permission(tmp_path: Path) -> None:
    path = _write(tmp_path, "secret.md", NOTE.encode())
    path.chmod(0)
    try:
        _, issue = read_source(path)
    finally:
        path.chmod(0o644)
    assert issue is not None
    assert "Permission denied" in issue.message


def test_decode_source_matches_read_source() -> None:
    text, issue = decode_source(b"a\r\nb", "upload.md")
    assert (text, issue) == ("a\nb", None)
    _, issue = decode_source(b"\x00\x00", "upload.md")
    assert issue is not None
    assert issue.path == "upload.md"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("240710 PaliGemma.md", dt.date(2024, 7, 10)),
        ("170629 Do GANs actually learn the distribution.md", dt.date(2017, 6, 29)),
        ("250311.md", dt.date(2025, 3, 11)),
        ("240710 PaliGemma 1.md", dt.date(2024, 7, 10)),
        ("241340 Bad Month.md", None),
        ("240230 Bad Day.md", None),
        ("Reka Core.md", None),
        ("2407101 Seven Digits.md", None),
        ("12345 Five.md", None),
    ],
)
def test_note_date_from_filename(name: str, expected: dt.date | None) -> None:
    assert note_date_from_filename(name) == expected


def test_parse_path_dispatches_txt_to_the_digest_parser() -> None:
    parsed = parse_path(FIXTURES / "digests" / "2024-03-05.txt")
    assert parsed.kind == "digest"
    assert parsed.digest_date == dt.date(2024, 3, 5)
    assert len(parsed.entries) == 3


def test_parse_path_dispatches_md_to_the_note_parser_with_the_file_date() -> None:
    parsed = parse_path(FIXTURES / "notes" / "240105 Sparse Lantern Routing.md")
    assert parsed.kind == "note"
    assert parsed.ok
    assert parsed.entries[0].note_date == dt.date(2024, 1, 5)


def test_markdown_that_opens_with_a_date_is_a_digest() -> None:
    parsed = parse_path(FIXTURES / "digests" / "2024-03-11 digest.md")
    assert parsed.kind == "digest"
    assert parsed.digest_date == dt.date(2024, 3, 11)
    assert [e.title for e in parsed.entries] == ["Digest Saved As Markdown"]


def test_txt_without_a_date_is_still_a_digest_with_a_date_error() -> None:
    parsed = parse_path(FIXTURES / "digests" / "missing-date.txt")
    assert parsed.kind == "digest"
    assert [(i.line, i.field) for i in parsed.errors] == [(1, "date")]


@pytest.mark.parametrize(
    ("name", "suffix"), [("paper.pdf", ".pdf"), ("notes.docx", ".docx"), ("README", None)]
)
def test_unsupported_extension(tmp_path: Path, name: str, suffix: str | None) -> None:
    parsed = parse_path(_write(tmp_path, name, b"%PDF-1.4"))
    assert not parsed.ok
    message = parsed.errors[0].message
    assert message.startswith(f"unsupported file type ({suffix or 'no extension'})")
    assert message.endswith("expected .txt digest or .md note")
    assert parsed.entries == []


def test_parse_path_reports_read_errors_as_parse_errors(tmp_path: Path) -> None:
    parsed = parse_path(_write(tmp_path, "240101 Latin.md", "caf\u00e9\n".encode("latin-1")))
    assert parsed.kind == "note"
    assert not parsed.ok
    assert parsed.errors[0].line == 1
    parsed = parse_path(tmp_path / "missing.txt")
    assert parsed.kind == "digest"
    assert not parsed.ok


def test_parse_text_and_parse_bytes_for_uploads() -> None:
    parsed = parse_text(NOTE, "240105 Upload.md")
    assert parsed.ok
    assert parsed.entries[0].note_date == dt.date(2024, 1, 5)
    assert parsed.entries[0].title == "A Title"
    parsed = parse_bytes(b"\xef\xbb\xbf2024-07-11\r\nT\r\n(A B)\r\nAbs.\r\n#x\r\n", "upload.txt")
    assert parsed.kind == "digest"
    assert parsed.ok
    assert parsed.entries[0].authors == ["A B"]
    assert not parse_bytes(b"\x00\x01", "upload.md").ok
    assert not parse_bytes(NOTE.encode(), "upload.pdf").ok


def test_iter_source_files_expands_folders_and_keeps_explicit_files(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    for rel in [
        "2024/b.md",
        "2024/a.md",
        "2023/c.txt",
        "2023/skip.pdf",
        ".obsidian/workspace.md",
        ".git/HEAD.md",
        "2023/.hidden.md",
        "2022/sub/d.MD",
    ]:
        path = vault / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    explicit = tmp_path / "upload.pdf"
    explicit.write_bytes(b"%PDF")
    found = iter_source_files([explicit, vault, vault / "2024" / "a.md"])
    assert found == [
        explicit,
        vault / "2022" / "sub" / "d.MD",
        vault / "2023" / "c.txt",
        vault / "2024" / "a.md",
        vault / "2024" / "b.md",
    ]


def test_iter_source_files_keeps_missing_paths_for_the_parser_to_report(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    assert iter_source_files([missing]) == [missing]
    assert not parse_path(missing).ok
