"""The real digest and Markdown vault in ../shared/corpus, read in place (never copied here)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from bot.domain.models import ParsedFile
from bot.domain.sources import iter_source_files, parse_path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# Notes with no URL, no title line and no #tags are not paper notes and are refused with an error:
# a scratch file of shell commands, two opinion posts about product launches, and an untagged draft.
ALLOWED_ERRORS = {
    "2023/230714 Code Interpreter.md",
    "2023/231110 GPTs.md",
    "2024/Untitled.md",
    "2025/DeepSeekMath V2.md",
}


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(scope="module")
def vault(corpus: Path) -> dict[str, ParsedFile]:
    root = corpus / "arxiv-today"
    return {path.relative_to(root).as_posix(): parse_path(path) for path in iter_source_files([root])}


def test_real_digest(corpus: Path) -> None:
    parsed = parse_path(corpus / "digests" / "2024-07-11.txt")
    assert parsed.ok
    assert parsed.issues == []
    assert parsed.digest_date == dt.date(2024, 7, 11)
    assert [(e.title, e.tags) for e in parsed.entries] == [
        ("PaliGemma: A versatile 3B VLM for transfer", ["vision-language"]),
        ("Training on the Test Task Confounds Evaluation and Emergence", ["scaling-law", "benchmark"]),
        (
            "Reuse, Don't Retrain: A Recipe for Continued Pretraining of Language Models",
            ["continual-learning", "pretraining"],
        ),
        (
            "MARS: Mixture of Auto-Regressive Models for Fine-grained Text-to-image Synthesis",
            ["autoregressive-model", "text2img", "vq"],
        ),
        ("Transformer Alignment in Large Language Models", ["transformer"]),
        ("Controlling Space and Time with Diffusion Models", ["neural-rendering", "diffusion"]),
    ]
    four_dim = parsed.entries[5]
    assert four_dim.authors[0] == "Daniel Watson"
    assert four_dim.abstract.startswith("We present 4DiM")
    assert four_dim.commentary.startswith("Few-shot Novel View Synthesis + Time.")
    assert all(e.abstract and e.commentary and e.note_date == dt.date(2024, 7, 11) for e in parsed.entries)
    assert "(https://latent.space/p/yitay)" in parsed.entries[1].commentary


def test_every_vault_note_parses(vault: dict[str, ParsedFile]) -> None:
    assert len(vault) > 3800
    failed = {name for name, parsed in vault.items() if not parsed.ok}
    assert failed == ALLOWED_ERRORS
    for name, parsed in vault.items():
        assert parsed.kind == "note"
        assert len(parsed.entries) == (0 if name in ALLOWED_ERRORS else 1)


def test_vault_fields_are_filled(vault: dict[str, ParsedFile]) -> None:
    entries = [p.entries[0] for p in vault.values() if p.entries]
    with_id = [e for e in entries if e.arxiv_id]
    assert len(with_id) > 3500
    assert all(e.url == f"https://arxiv.org/abs/{e.arxiv_id}" for e in with_id)
    assert sum(bool(e.tags) for e in entries) > 3500
    assert sum(bool(e.commentary_en) for e in entries) > 1000
    assert sum(bool(e.links) for e in entries) > 350
    for entry in entries:
        assert entry.title
        assert "<english>" not in entry.commentary
        assert "</english>" not in entry.commentary_en
        assert "# Links" not in entry.commentary


def test_known_notes(vault: dict[str, ParsedFile]) -> None:
    ssm = vault[
        "2024/241226 On the Expressiveness and Length Generalization of Selective State-Space Models"
        " on Regular Languages.md"
    ].entries[0]
    assert ssm.arxiv_id == "2412.19350"
    assert ssm.links == ["240412 The Illusion of State in State-Space Models"]
    assert ssm.commentary_en.startswith("The study on representational capacity")
    wrapped = vault["2021/210922 Scale Efficiently.md"].entries[0]
    assert wrapped.authors[-1] == "Donald Metzler"
    assert vault["2019/190724 MixNet.md"].entries[0].commentary.startswith("Mingxing Tan & Quoc Le")
    typo = "2025/251003 Low-probability Tokens Sustain Exploration in Reinforcement Learning with Verifiable Reward.md"
    assert vault[typo].entries[0].arxiv_id == "2510.03222"  # its URL line starts "zhttps://"
    one, dup = vault["2024/240710 PaliGemma.md"], vault["2024/240710 PaliGemma 1.md"]
    assert one.entries == dup.entries


def test_whole_vault_parses_quickly(corpus: Path) -> None:
    # The budget is well under a second on an idle 2-core machine; this bound only catches blow-ups.
    start = time.perf_counter()
    for path in iter_source_files([corpus / "arxiv-today"]):
        parse_path(path)
    assert time.perf_counter() - start < 4.0
