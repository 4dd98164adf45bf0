"""Smaller edges: NUL bytes past the binary sniff, exporting into a file, unsafe exported file names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.services.ingest.pipeline import ingest_paths
from bot.services.ops.export import export_vault, safe_title
from bot.store.db import Database
from tests.botenv import BotEnv
from tests.fakediscord import FakeFile
from tests.notes import make_digest, write


def _digest_with_late_nul() -> bytes:
    padding = [(f"Padding Paper Number {n}", ["llm"]) for n in range(40)]
    text = make_digest("2024-07-11", [*padding, ("Evil\x00Title", ["llm"])])
    data = text.encode()
    assert data.index(b"\x00") > 8192  # past the sample the binary check reads
    return data


async def test_nul_bytes_after_the_first_8kb_are_refused_not_stored(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot):
        rec = await env.fake.slash(
            "digest import",
            attachments={"file": FakeFile("message.txt", _digest_with_late_nul())},
            user="admin",
        )
        assert "rejected; nothing was stored" in rec.text
        assert "NUL byte on line 202" in rec.text
    assert await env.db.fetchval("SELECT count(*) FROM papers") == 0


async def test_nul_bytes_in_a_vault_file_name_the_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "2024-07-11.txt"
    path.write_bytes(_digest_with_late_nul())
    report = await ingest_paths(db, [path])
    assert not report.ok and "NUL byte on line 202" in str(report.errors[0])
    assert await db.fetchval("SELECT count(*) FROM papers WHERE instr(title, char(0)) > 0") == 0


def test_export_into_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    target.write_text("not a folder", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "x.db"), "export", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PAPERBOT_EMBEDDINGS": "none"},
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"paperbot export: {target} is a file; give a folder to export the notes into"
    )
    assert "Traceback" not in done.stderr
    assert target.read_text(encoding="utf-8") == "not a folder"


async def test_exported_names_avoid_windows_reserved_names_and_bidi_overrides(
    db: Database, tmp_path: Path
) -> None:
    assert safe_title("con.txt") == "_con.txt"
    assert safe_title("NUL") == "_NUL"
    assert safe_title("com1.tar.gz") == "_com1.tar.gz"
    assert safe_title("console") == "console"
    assert safe_title("invoice\u202egpj.exe") == "invoicegpj.exe"
    for name, title in (("a.md", "con.txt"), ("b.md", "report\u202etxt.exe"), ("c.md", "\u2066lpt9\u2069")):
        write(tmp_path, f"in/{name}", f"*{title}*\n\n#x\n")
    assert (await ingest_paths(db, [tmp_path / "in"])).ok
    report = await export_vault(db, tmp_path / "out")
    names = sorted(p.name for p in report.paths)
    assert names == ["_con.txt.md", "_lpt9.md", "reporttxt.exe.md"]
    assert not any("\u202e" in p.as_posix() for p in report.paths)
