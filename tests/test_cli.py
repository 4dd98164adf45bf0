from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.notes import DIGEST, NOTE_4DIM, write


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    write(tmp_path, "vault/240711 Controlling.md", NOTE_4DIM)
    write(tmp_path, "vault/2024-07-11.txt", DIGEST)
    return tmp_path / "vault"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_search_show_stats_json_contracts(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    code, out, _ = run(capsys, "--db", db, "ingest", str(vault))
    assert code == 0
    assert "papers 2 new" in out

    code, out, _ = run(capsys, "--db", db, "search", "how does 4DiM use video data", "--json")
    hits = json.loads(out)
    assert code == 0
    assert hits[0]["arxiv_id"] == "2407.07860"
    assert {"id", "arxiv_id", "title", "tags", "score"} <= hits[0].keys()
    assert isinstance(hits[0]["score"], float) and isinstance(hits[0]["tags"], list)

    code, out, _ = run(capsys, "search", "작은 모델", "--tag", "small-models", "--json", "--db", db)
    assert [h["title"] for h in json.loads(out)] == ["A Tiny Language Model Study"]

    code, out, _ = run(capsys, "--db", db, "show", "2407.07860", "--json")
    paper = json.loads(out)
    assert paper["title"] == "Controlling Space and Time with Diffusion Models"
    assert paper["commentary"][0]["body"].startswith("카메라 포즈와")

    code, out, _ = run(capsys, "--db", db, "stats", "--json")
    stats = json.loads(out)
    assert (stats["papers"], stats["commentary"]) == (2, 2)
    assert stats["tags"] == 5 and all(isinstance(v, int) for v in stats.values())


def test_bad_input_exit_status_and_reason(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    (vault / "bad.txt").write_bytes(b"\xff\xfe not utf8")
    code, out, err = run(capsys, "--db", db, "ingest", str(vault))
    assert code == 1
    assert "bad.txt" in err and "UTF-8" in err
    assert "papers 2 new" in out, "the good files still ingest"

    code, _, err = run(capsys, "--db", db, "show", "9999.99999")
    assert code == 2
    assert err.count("\n") == 1 and "no paper" in err


def test_python_dash_m_bot_works(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "m.db"), "stats", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["papers"] == 0
