"""Static checks of deploy/ and .env.example: no Docker or systemd engine runs here.

The Dockerfile and the systemd unit are parsed by small readers below; docker-compose.yml by PyYAML
when it is installed, else by a reader for the YAML subset the file uses (both when PyYAML is there,
to keep that reader honest). `systemd-analyze verify` and `hadolint` run when they are installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.settings import Settings, settings_from

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ALIASES = [str(field.validation_alias) for field in Settings.model_fields.values()]
SECRET_ALIASES = {
    str(field.validation_alias)
    for field in Settings.model_fields.values()
    if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
}
SETTING_NAME = re.compile(r"\b(?:PAPERBOT_[A-Z0-9_]*[A-Z0-9]|DISCORD_TOKEN|OPENAI_[A-Z0-9_]*[A-Z0-9])\b")


# ---- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not (line or pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for item in instructions:
        if item[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(item)
    return found


def env_pairs(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if len(words) >= 2 and "=" not in words[0]:  # legacy "ENV KEY value"
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))


def test_dockerfile_is_multi_stage_and_runs_unprivileged(dockerfile: list[tuple[str, str]]) -> None:
    parts = stages(dockerfile)
    assert len(parts) >= 2
    args = dict(item[1].split("=", 1) for item in dockerfile if item[0] == "ARG" and "=" in item[1])
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[-1][0][1].split()[0])
    assert base == "python:3.11-slim"
    names = {stage[0][1].split()[-1] for stage in parts[:-1] if " AS " in stage[0][1].upper()}
    final = parts[-1]
    for word, rest in final:
        if word == "COPY" and "--from=" in rest:
            assert rest.split("--from=")[1].split()[0] in names
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_runtime_contract(dockerfile: list[tuple[str, str]]) -> None:
    final = stages(dockerfile)[-1]
    env: dict[str, str] = {}
    for word, rest in final:
        if word == "ENV":
            env.update(env_pairs(rest))
    assert env["PAPERBOT_DB"] == "/data/paperbot.db"
    assert env["PAPERBOT_INBOX_DIR"] == "/data/inbox"
    volumes = [rest for word, rest in final if word == "VOLUME"]
    assert any("/data" in (json.loads(v) if v.startswith("[") else v.split()) for v in volumes)
    health = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert len(health) == 1
    command = json.loads(health[0].split(" CMD ", 1)[1])
    assert command[:2] == ["paperbot", "health"] and "--max-age" in command
    assert [json.loads(rest) for word, rest in final if word == "CMD"] == [["paperbot", "run"]]
    assert ("STOPSIGNAL", "SIGTERM") in final


def test_dockerfile_bakes_in_no_secrets(dockerfile: list[tuple[str, str]]) -> None:
    for word, rest in dockerfile:
        if word in {"ENV", "ARG"}:
            keys = env_pairs(rest) if word == "ENV" else {rest.split("=", 1)[0]: ""}
            for key in keys:
                assert not re.search(r"TOKEN|KEY|SECRET|PASSWORD", key, re.I), f"{word} {key}"
        if word in {"COPY", "ADD"}:
            sources = [w for w in shlex.split(rest) if not w.startswith("--")][:-1]
            assert "." not in sources and "./" not in sources, "copying the whole context would copy .env"
            assert all(".env" not in s for s in sources)
            if "--from=" not in rest:
                assert all((ROOT / s).exists() for s in sources), sources


def test_dockerfile_installs_a_wheel_not_the_checkout(dockerfile: list[tuple[str, str]]) -> None:
    """A regular install, as from PyPI: the builder builds and installs a wheel; the runtime gets the venv only."""
    *builders, final = stages(dockerfile)
    runs = [rest for stage in builders for word, rest in stage if word == "RUN"]
    assert not any(re.search(r"(--editable|\s-e)\s", rest) for rest in runs), "no editable install"
    assert any("pip wheel" in rest and "paperbot-*.whl" in rest for rest in runs)
    copied = [shlex.split(rest) for word, rest in final if word == "COPY"]
    assert copied == [["--from=builder", "/opt/paperbot/.venv", "/opt/paperbot/.venv"]], "no source tree"
    # The dependency layer sees pyproject.toml alone, so changing the code does not reinstall dependencies.
    builder = builders[-1]
    first_code = builder.index(("COPY", "bot ./bot"))
    deps = next(i for i, (word, rest) in enumerate(builder) if word == "RUN" and "requirements.txt" in rest)
    assert deps < first_code
    assert [rest for word, rest in builder[:deps] if word == "COPY"] == ["pyproject.toml ./"]


def test_hadolint(dockerfile: list[tuple[str, str]]) -> None:
    hadolint = shutil.which("hadolint") or pytest.skip("hadolint is not installed")
    result = subprocess.run(
        [hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- docker-compose.yml --------------------------------------------------------------------------


def _scalar(text: str) -> Any:
    text = text.strip()
    if text == "{}":
        return {}
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(part) for part in text[1:-1].split(",") if part.strip()]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    return int(text) if text.isdigit() else text


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if ch in "'\"" and not quote:
            quote = ch
        elif ch == quote:
            quote = ""
        elif ch == "#" and not quote and (i == 0 or line[i - 1] == " "):
            return line[:i].rstrip()
    return line.rstrip()


def simple_yaml(text: str) -> Any:
    """The YAML subset docker-compose.yml uses: block mappings, block lists of scalars, `{}`, comments."""
    lines = [
        (len(s) - len(s.lstrip()), s.strip()) for s in map(_strip_comment, text.splitlines()) if s.strip()
    ]

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items: list[Any] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(_scalar(lines[i][1][2:]))
                i += 1
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            key, _, value = lines[i][1].partition(":")
            i += 1
            if value.strip():
                mapping[key.strip()] = _scalar(value)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key.strip()], i = block(i, lines[i][0])
            else:
                mapping[key.strip()] = None
        return mapping, i

    return block(0, 0)[0]


def load_yaml(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return simple_yaml(text)
    data = yaml.safe_load(text)
    assert simple_yaml(text) == data, "the fallback reader disagrees with PyYAML"
    return data


def enable_ollama(text: str) -> str:
    """The compose file with the commented `ollama` service and its volume uncommented."""
    lines = text.splitlines()
    start = lines.index("  # ollama:")
    out = lines[:start]
    i = start
    while i < len(lines) and lines[i].startswith("  #"):
        out.append("  " + lines[i][4:])
        i += 1
    out += [line.replace("  # ollama-models:", "  ollama-models:") for line in lines[i:]]
    return "\n".join(out) + "\n"


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)(s|min|m)?", value.strip())
    assert match, value
    return int(match.group(1)) * (60 if match.group(2) in {"m", "min"} else 1)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")


def test_compose_service(compose_text: str) -> None:
    compose = load_yaml(compose_text)
    assert set(compose["services"]) == {"paperbot"}
    bot = compose["services"]["paperbot"]
    assert (DEPLOY / bot["build"]["context"]).resolve() == ROOT
    assert (ROOT / bot["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert bot["env_file"] in ("../.env", ["../.env"])
    assert bot["restart"] == "unless-stopped"
    assert any(str(v).endswith(":/data") for v in bot["volumes"])
    assert bot["environment"] == {"PAPERBOT_DB": "/data/paperbot.db", "PAPERBOT_INBOX_DIR": "/data/inbox"}
    assert seconds(bot["stop_grace_period"]) >= 60
    unit = dict(unit_sections(UNIT.read_text(encoding="utf-8"))["Service"])
    assert seconds(bot["stop_grace_period"]) == seconds(unit["TimeoutStopSec"]), "one shutdown budget"
    assert compose["networks"]["llm"]["internal"] is True
    assert {str(v).split(":")[0] for v in bot["volumes"]} & set(compose["volumes"]), "a named volume"


def test_compose_ollama_instructions_work(compose_text: str) -> None:
    assert "OPENAI_BASE_URL=http://ollama:11434/v1" in compose_text
    assert "PAPERBOT_LLM_MODEL=" in compose_text
    compose = load_yaml(enable_ollama(compose_text))
    ollama = compose["services"]["ollama"]
    assert "llm" in ollama["networks"]
    assert "ports" not in ollama, "the model server must not be published"
    assert "ollama-models" in compose["volumes"]
    assert ollama["volumes"][0].split(":")[0] == "ollama-models"


def test_compose_file_fits_docker_compose_1_29(compose_text: str) -> None:
    """Debian's docker-compose 1.29 validates against an older Compose schema: no top-level `name`."""
    compose = load_yaml(compose_text)
    assert set(compose) <= {"services", "networks", "volumes", "secrets", "configs"}, set(compose)
    # Without `name:` the project is named after the folder: the volume's own name keeps the data in one place.
    assert compose["volumes"]["paperbot-data"] == {"name": "paperbot_paperbot-data"}


@pytest.mark.parametrize("ollama", [False, True], ids=["as-shipped", "ollama-enabled"])
def test_docker_compose_config(compose_text: str, tmp_path: Path, ollama: bool) -> None:
    tool = shutil.which("docker-compose") or pytest.skip("docker-compose (v1) is not installed")
    (tmp_path / "deploy").mkdir()
    (tmp_path / ".env").write_text("DISCORD_TOKEN=\n", encoding="utf-8")  # env_file ../.env must exist
    compose = tmp_path / "deploy" / "docker-compose.yml"
    compose.write_text(enable_ollama(compose_text) if ollama else compose_text, encoding="utf-8")
    result = subprocess.run(
        [tool, "-f", str(compose), "config", "--services"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr  # the whole file is validated before the services are listed
    assert set(result.stdout.split()) == ({"paperbot", "ollama"} if ollama else {"paperbot"})


# ---- systemd unit --------------------------------------------------------------------------------


def unit_sections(text: str) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"setting outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line}"
        current.append((key.strip(), value.strip()))
    return sections


UNIT = DEPLOY / "paperbot.service"


def test_systemd_unit() -> None:
    sections = unit_sections(UNIT.read_text(encoding="utf-8"))
    assert set(sections) == {"Unit", "Service", "Install"}
    service: dict[str, list[str]] = {}
    for key, value in sections["Service"]:
        service.setdefault(key, []).append(value)
    one = {key: values[-1] for key, values in service.items()}
    exec_start = shlex.split(one["ExecStart"])
    assert exec_start == ["/opt/paperbot/.venv/bin/paperbot", "run"]
    assert Path(exec_start[0]).is_absolute()
    assert seconds(one["RestartSec"]) > 0
    assert seconds(one["TimeoutStopSec"]) >= 60
    expected = {
        "User": "paperbot",
        "EnvironmentFile": "/etc/paperbot/paperbot.env",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/paperbot",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
    }
    assert {key: one.get(key) for key in expected} == expected
    assert "@system-service" in service["SystemCallFilter"]
    assert ("WantedBy", "multi-user.target") in sections["Install"]
    names = {n for values in service.get("Environment", []) for n in re.findall(r"(\w+)=", values)}
    assert {"PAPERBOT_DB", "PAPERBOT_INBOX_DIR"} <= names


@pytest.fixture
def analysis(tmp_path: Path) -> tuple[str, Path]:
    """systemd-analyze, and the unit with ExecStart at an executable that exists here (verify checks it)."""
    tool = shutil.which("systemd-analyze") or pytest.skip("systemd-analyze is not installed")
    text = UNIT.read_text(encoding="utf-8").replace(
        "ExecStart=/opt/paperbot/.venv/bin/paperbot run", f"ExecStart={sys.executable} -m bot run"
    )
    path = tmp_path / "paperbot.service"
    path.write_text(text, encoding="utf-8")
    return tool, path


def test_systemd_analyze_verify(analysis: tuple[str, Path]) -> None:
    tool, unit = analysis
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, check=False)
    # verify exits 0 even for unknown keys or bad values; it only prints them.
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "paperbot.service" in line]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def test_systemd_security_exposure(analysis: tuple[str, Path]) -> None:
    tool, unit = analysis
    command = [tool, "security", "--offline=yes", "--no-pager", str(unit)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Overall exposure level for paperbot\.service: (\d+\.\d)", result.stdout)
    if found is None:
        pytest.skip(f"this systemd-analyze cannot rate a unit file offline: {result.stderr.strip()[:200]}")
    assert float(found.group(1)) <= 2.0, result.stdout


# ---- .env.example --------------------------------------------------------------------------------

ASSIGNMENT = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def env_example() -> list[tuple[str, str, bool, str]]:
    """(name, value, commented out, the comment line above) for each setting line."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    found: list[tuple[str, str, bool, str]] = []
    for i, line in enumerate(lines):
        match = ASSIGNMENT.match(line)
        if match:
            above = lines[i - 1] if i else ""
            found.append((match["name"], match["value"], bool(match["commented"]), above))
    return found


def test_env_example_lists_every_setting_in_order() -> None:
    names = [name for name, *_ in env_example()]
    assert len(names) == len(set(names)), "a setting is listed twice"
    assert set(names) - set(ALIASES) == set(), "not settings"
    assert set(ALIASES) - set(names) == set(), "missing from .env.example"
    assert names == ALIASES, "keep the order of the Settings class"


def test_env_example_describes_each_setting() -> None:
    descriptions = {str(f.validation_alias): f.description for f in Settings.model_fields.values()}
    for name, _value, _commented, above in env_example():
        assert above == f"# {descriptions[name]}", name


def test_env_example_values_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for alias in ALIASES:
        monkeypatch.delenv(alias, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    entries = env_example()
    for name, value, commented, _ in entries:
        if name in SECRET_ALIASES:
            assert value == "", f"{name} must be empty in the example"
        elif not commented:
            assert value, f"{name}: leave optional settings commented out rather than empty"
    # The file as it is loads, and so does every example value uncommented.
    Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    examples = {name: value for name, value, _, _ in entries if value}
    settings = settings_from(**examples)
    assert settings.embeddings in {"offline", "openai", "none"}


def test_deploy_files_name_only_real_settings() -> None:
    files = [DEPLOY / "Dockerfile", DEPLOY / "docker-compose.yml", UNIT, DEPLOY / "README.md"]
    for path in files:
        unknown = set(SETTING_NAME.findall(path.read_text(encoding="utf-8"))) - set(ALIASES)
        assert unknown == set(), f"{path.name} names unknown settings: {sorted(unknown)}"
