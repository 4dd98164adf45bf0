from __future__ import annotations

from pathlib import Path

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
