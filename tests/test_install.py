"""paperbot as users install it: the package carries its prompts, scripts/run fails fast without a token,
and the suite ignores a developer's `.env` and environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import bot
from bot.services.answers.prompts import check_templates, template_names

ROOT = Path(__file__).resolve().parents[1]


def test_prompt_templates_ship_inside_the_package() -> None:
    assert template_names() == ["ask", "compare", "summarise", "system"]
    assert check_templates() == []
    installed = Path(bot.__file__).resolve().parent
    if installed != ROOT / "bot":  # a regular install (scripts/test): the files are in site-packages
        assert (installed / "prompts" / "ask.md").is_file()


def test_every_package_under_bot_is_listed_for_the_wheel() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "bot").rglob("__init__.py")
    } | {"bot.prompts"}
    assert set(declared["packages"]) == found


def test_ask_works_from_any_folder(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db), "ask", "how does 4DiM use video data", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"mode": "extractive"' in result.stdout


def test_scripts_run_checks_the_token_before_installing(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run", tmp_path / "scripts" / "run")
    (tmp_path / ".env").write_text("# DISCORD_TOKEN=commented out\nDISCORD_TOKEN=\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr and "Reset Token" in result.stderr
    assert not (tmp_path / ".venv").exists(), "nothing is installed before the token is checked"


@pytest.mark.skipif(os.environ.get("PAPERBOT_ISOLATION_CHILD") == "1", reason="already the child run")
def test_suite_ignores_a_developers_env_file_and_variables(tmp_path: Path) -> None:
    """Run settings-sensitive tests with a hostile `.env` in the working folder and variables set."""
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=dev.token.from.env\nPAPERBOT_DB=/nonexistent/dev.db\nPAPERBOT_LLM_MODEL=gpt-dev\n"
        "OPENAI_BASE_URL=http://127.0.0.1:9/v1\nPAPERBOT_EMBEDDINGS=offline\n",
        encoding="utf-8",
    )
    hostile = {
        "DISCORD_TOKEN": "dev.token.from.shell",
        "OPENAI_API_KEY": "sk-developer",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "PAPERBOT_LLM_MODEL": "gpt-dev",
        "PAPERBOT_DB": "/nonexistent/dev.db",
        "PAPERBOT_DEV_GUILD_ID": "1",
        "PAPERBOT_DIGEST_TIME": "03:00",
        "PAPERBOT_ISOLATION_CHILD": "1",
    }
    tests = [
        "tests/test_cli.py::test_export_and_doctor_commands",
        "tests/test_bot_startup.py::test_commands_sync_to_dev_guild_with_permissions_and_korean",
        "tests/test_doctor.py::test_healthy_setup",
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            *(str(ROOT / t) for t in tests),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **hostile},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
