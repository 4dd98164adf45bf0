from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.settings import settings_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_configuration_table_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- settings:start -->\n")[1].split("\n<!-- settings:end -->")[0]
    assert table == settings_markdown(), "regenerate the README table from bot.settings.settings_markdown()"


def test_readme_images_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for name in ("docs/digest-post.png", "docs/ask-answer.png"):
        assert name in text
        assert (README.parent / name).stat().st_size > 10_000


def test_readme_images_show_the_current_embeds_and_buttons(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pictures are screenshots of pages built from the bot's own embeds and views; the page digests
    recorded when they were rendered must match today's pages (else: run scripts/render_examples.py)."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the checkout on the path
    spec = importlib.util.spec_from_file_location(
        "render_examples", README.parent / "scripts" / "render_examples.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "render_examples", script)  # its dataclasses look themselves up there
    spec.loader.exec_module(script)
    pages = script.example_pages()
    assert set(pages) == {"digest-post.png", "ask-answer.png"}
    for label in ("Ask about this", "Summarise", "Save", "Related"):
        assert f">{label}<" in pages["digest-post.png"]
    assert "Sources" in pages["ask-answer.png"]
    recorded = (README.parent / "docs" / script.DIGESTS).read_text(encoding="utf-8")
    assert recorded == script.page_digests(pages), (
        "the README pictures are stale: run scripts/render_examples.py"
    )
