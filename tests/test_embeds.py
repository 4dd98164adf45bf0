from __future__ import annotations

import datetime as dt

from bot.domain.models import Commentary, Paper
from bot.ui.embeds import render_paper_embeds, within_limits

NOW = dt.datetime(2024, 7, 11, tzinfo=dt.UTC)


def _paper(body: str, body_en: str = "", **fields: object) -> Paper:
    note = Commentary(
        id=1, paper_id=1, body=body, body_en=body_en, author="curator", created_at=NOW, updated_at=NOW
    )
    values: dict[str, object] = {
        "id": 1,
        "arxiv_id": "2407.07860",
        "title": "T" * 400,
        "authors": [f"Author {i}" for i in range(40)],
        "url": None,
        "abstract": "word " * 400,
        "tags": ["diffusion", "neural-rendering"],
        "commentary": [note],
    }
    values.update(fields)
    return Paper(**values)  # type: ignore[arg-type]


def test_long_commentary_continues_in_a_second_embed_at_a_word_boundary() -> None:
    words = [f"단어{i}" for i in range(1200)]
    embeds = render_paper_embeds(_paper(" ".join(words)), digest_date=dt.date(2024, 7, 11))
    assert len(embeds) == 2
    assert within_limits(embeds)
    first, second = embeds[0].description or "", embeds[1].description or ""
    assert first.split()[-1] in words, "the first embed ends on a whole word"
    assert second.split()[0] in words
    assert len(embeds[0].title or "") <= 256
    assert embeds[0].author.name is not None and "et al. (40 authors)" in embeds[0].author.name
    assert embeds[0].fields[0].value.endswith("[read more](https://arxiv.org/abs/2407.07860)")
    assert "2024-07-11" in (embeds[0].footer.text or "")


def test_language_choice() -> None:
    paper = _paper("원문 코멘트.", "English commentary.")
    assert (render_paper_embeds(paper, language="original")[0].description or "") == "원문 코멘트."
    assert (render_paper_embeds(paper, language="english")[0].description or "") == "English commentary."
    both = render_paper_embeds(paper, language="both")[0].description or ""
    assert both.startswith("원문 코멘트.") and both.endswith("English commentary.")
    only_original = _paper("원문만.")
    assert render_paper_embeds(only_original, language="english")[0].description == "원문만."
