"""Extractive answers (no model): numbered 1..n by first use, one number per paper, the paper the
question is about first, markup cleaned, duplicates dropped, and "not covered" when it is not."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.services.answers.answerer import Answerer
from bot.services.answers.extractive import clean_markup
from bot.services.ingest.pipeline import ingest_paths
from bot.services.search.retrieval import Retriever
from bot.store.db import Database
from tests.notes import DIGEST, NOTE_4DIM, write
from tests.test_cli import run_process

SCALING_4D = r"""https://arxiv.org/abs/2412.15212

*Scaling 4D Representations* (João Carreira, Dilara Gokay)

> Scaling has not yet been convincingly demonstrated for pure self-supervised learning from video. We focus on 4D tasks $\unicode{x2013}$ camera pose estimation and point tracking. Video models with **22B** parameters scale well on video data.

비디오 데이터로 4D 표현을 스케일링했네요. 비디오 데이터로 4D 표현을 스케일링했네요.

#video #self-supervised
"""


@pytest.fixture
async def notes(db: Database, tmp_path: Path) -> Database:
    write(tmp_path, "n/241219 Scaling 4D.md", SCALING_4D)
    write(tmp_path, "n/240711 4dim.md", NOTE_4DIM)
    write(tmp_path, "n/d.txt", DIGEST)
    assert (await ingest_paths(db, [tmp_path / "n"])).ok
    return db


async def test_numbered_by_first_use_one_number_per_paper_about_paper_first(notes: Database) -> None:
    answer = await Answerer(notes, Retriever(notes)).ask("how does 4DiM use video data")
    assert answer.mode == "extractive" and answer.covered
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert numbers[0] == 1 and sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1))
    assert [n for i, n in enumerate(numbers) if n not in numbers[:i]] == sorted(set(numbers)), "first use"
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert len({c.id for c in answer.citations}) == len(answer.citations), "one number per paper"
    assert answer.citations[0].arxiv_id == "2407.07860", "the paper the question names comes first"
    assert answer.text.splitlines()[0].startswith("- ") and "4DiM" in answer.text.splitlines()[0]


async def test_markup_is_cleaned_and_duplicates_dropped(notes: Database) -> None:
    answer = await Answerer(notes, Retriever(notes)).ask("Scaling 4D representations video tasks camera pose")
    assert answer.citations[0].arxiv_id == "2412.15212"
    assert "$" not in answer.text and "\\unicode" not in answer.text and "**" not in answer.text
    assert answer.text.count("비디오 데이터로 4D 표현을 스케일링했네요") <= 1
    assert "4D tasks – camera pose estimation" in answer.text


def test_clean_markup() -> None:
    assert clean_markup(r"4D tasks $\unicode{x2013}$ camera, $\times$ 3, \textbf{bold} [12]") == (
        "4D tasks – camera, × 3, bold"
    )
    assert clean_markup("**22B** [link](http://x) <b>tag</b> &amp; `code`") == "22B link tag & code"


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("what is the capital of France", "The community's notes do not cover this question."),
        ("프랑스의 수도는 어디인가요?", "커뮤니티 노트에는 이 질문에 대한 내용이 없어요."),
    ],
)
async def test_questions_the_notes_do_not_cover_say_so(notes: Database, question: str, text: str) -> None:
    answer = await Answerer(notes, Retriever(notes)).ask(question)
    assert (answer.text, answer.covered, answer.citations) == (text, False, [])


def test_ask_json_covered_without_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "v/240711 4dim.md", NOTE_4DIM)
    db = str(tmp_path / "a.db")
    assert main(["--db", db, "ingest", str(tmp_path / "v")]) == 0
    capsys.readouterr()
    assert main(["--db", db, "ask", "how does 4DiM use video data", "--json"]) == 0
    covered = json.loads(capsys.readouterr().out)
    assert covered["covered"] is True and covered["mode"] == "extractive" and covered["citations"]
    assert main(["--db", db, "ask", "what is the capital of France", "--json"]) == 0
    uncovered = json.loads(capsys.readouterr().out)
    assert (uncovered["covered"], uncovered["citations"], uncovered["mode"]) == (False, [], "extractive")
    assert main(["--db", db, "ask", "what is the capital of France"]) == 0
    assert capsys.readouterr().out == "The community's notes do not cover this question.\n"


async def test_ask_json_covered_with_a_model(tmp_path: Path, fake_openai: Any) -> None:
    write(tmp_path, "v/240711 4dim.md", NOTE_4DIM)
    db = str(tmp_path / "l.db")
    env = {"OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "k", "PAPERBOT_LLM_MODEL": "test-model"}
    await run_process(db, env, "ingest", str(tmp_path / "v"))
    answer = json.loads(await run_process(db, env, "ask", "how does 4DiM use video data", "--json"))
    assert (answer["mode"], answer["covered"], answer["cut_off"]) == ("llm", True, False)
    fake_openai.reply = "NOT COVERED"
    said = json.loads(await run_process(db, env, "ask", "4DiM camera pose", "--json"))
    assert (said["mode"], said["covered"], said["citations"]) == ("llm", False, [])
    off = json.loads(await run_process(db, env, "ask", "what is the capital of France", "--json"))
    assert (off["covered"], off["mode"]) == (False, "extractive"), (
        "the notes ruled it out before any model call"
    )
