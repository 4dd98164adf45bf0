"""`paperbot doctor` against the fake OpenAI-compatible server's real-server behaviours: one real chat
completion with a citation check, one model under any name, an embeddings 404, and ``--offline``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.services.ops.doctor import CheckResult, run_checks
from bot.settings import Settings
from tests.fakeopenai import FakeOpenAI


def settings(fake: FakeOpenAI, tmp_path: Path, **values: Any) -> Settings:
    base = {
        "OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": "local",
        "PAPERBOT_LLM_MODEL": "test-model",
        "PAPERBOT_EMBEDDINGS": "openai",
        "PAPERBOT_EMBEDDINGS_MODEL": "test-model",
        "PAPERBOT_DB": tmp_path / "d.db",
    }
    return Settings(_env_file=None, **(base | values))  # type: ignore[call-arg]


async def checks(fake: FakeOpenAI, tmp_path: Path, **values: Any) -> dict[str, CheckResult]:
    results = await run_checks(settings(fake, tmp_path, **values), discord_http=False)
    return {r.name: r for r in results}


async def test_a_real_chat_completion_with_latency_and_citation(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    found = await checks(fake_openai, tmp_path)
    llm = found["llm"]
    assert llm.ok, llm
    assert llm.detail.startswith(f"{fake_openai.url} serves test-model (1 models); a short answer took ")
    assert llm.detail.endswith(" s and cited [1]")
    chat = [r for r in fake_openai.requests if "messages" in r]
    assert len(chat) == 1 and "Cite every claim" in chat[0]["messages"][-1]["content"]
    assert found["embeddings"].ok and "16-d vectors in" in found["embeddings"].detail


async def test_a_model_that_does_not_cite_fails_the_check(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.reply = fake_openai.uncited
    llm = (await checks(fake_openai, tmp_path))["llm"]
    assert not llm.ok and "cited no passage, so answers would quote the notes" in llm.detail
    assert llm.fix is not None and "instruction-tuned" in llm.fix


async def test_one_model_served_under_any_name_is_not_failed(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.served, fake_openai.any_name = ["gemma-3-270m-it-q4_k_m.gguf"], True
    llm = (await checks(fake_openai, tmp_path, PAPERBOT_LLM_MODEL="gpt-4o-mini"))["llm"]
    assert llm.ok, llm
    assert (
        "lists gemma-3-270m-it-q4_k_m.gguf and answered to the name gpt-4o-mini as gemma-3-270m-it-q4_k_m.gguf"
        in llm.detail
    )
    fake_openai.any_name = False  # OpenAI-like: an unknown name is a 404, reported with the list
    strict = (await checks(fake_openai, tmp_path, PAPERBOT_LLM_MODEL="gpt-4o-mini"))["llm"]
    assert not strict.ok and "gpt-4o-mini is not among the 1 models" in strict.detail


async def test_an_embeddings_404_is_not_blamed_on_the_chat_model(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.embeddings_404 = True
    found = await checks(fake_openai, tmp_path)
    assert found["llm"].ok
    embeddings = found["embeddings"]
    assert not embeddings.ok
    assert embeddings.detail == (
        f"{fake_openai.url}/embeddings answered HTTP 404 for test-model: "
        "no embeddings endpoint there, or no such embedding model"
    )
    assert embeddings.fix is not None and "the chat model is not involved" in embeddings.fix


async def test_a_chat_only_server_failing_embeddings_is_explained(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.embeddings_500 = True
    found = await checks(fake_openai, tmp_path)
    assert found["llm"].ok and not found["embeddings"].ok
    assert found["embeddings"].detail.endswith(
        "the server cannot make embeddings (a chat-only server, e.g. llama.cpp without embeddings)"
    )


async def test_reasoning_models_pass_with_their_parameters(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.served = ["o3-mini"]
    llm = (await checks(fake_openai, tmp_path, PAPERBOT_LLM_MODEL="o3-mini"))["llm"]
    assert llm.ok, llm
    [chat] = [r for r in fake_openai.requests if "messages" in r]
    assert "max_completion_tokens" in chat and "max_tokens" not in chat and "temperature" not in chat


def test_offline_makes_no_endpoint_calls(
    fake_openai: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "OPENAI_BASE_URL": fake_openai.url,
        "OPENAI_API_KEY": "local",
        "PAPERBOT_LLM_MODEL": "test-model",
        "PAPERBOT_EMBEDDINGS": "openai",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env here
    main(["--db", str(tmp_path / "o.db"), "doctor", "--offline"])
    out = capsys.readouterr().out
    assert "[skip] llm: test-model at" in out and "not called (--offline)" in out
    assert "[skip] embeddings:" in out
    assert fake_openai.requests == []
