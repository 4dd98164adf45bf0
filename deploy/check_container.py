"""Opt-in check that the container image works for real (not part of CI or the pytest suite).

    .venv/bin/python deploy/check_container.py [--base IMAGE] [--save FILE]

It builds deploy/Dockerfile (a regular wheel install), then, with a fresh bind-mounted /data:
checks the install (wheel, not editable; no source tree; unprivileged user), runs `paperbot doctor
--offline`, `paperbot ingest` (a note written here), `paperbot ask`, starts `paperbot run --sync`
against the loopback fake Discord from tests/fakediscord (started in this process on 127.0.0.1;
the container reaches it over --network host), waits for the commands to sync and the gateway
session, polls the image's HEALTHCHECK until the container is healthy, sends SIGTERM and expects a
clean exit 0 with no traceback, then checks `health` reports the stopped bot and `doctor` passes.

Needs the dev install (aiohttp) for the fake. Exits 0 after printing SKIPPED when Docker is not
running (`../shared/tools/local-docker up` starts it on the project machine), 1 when a step fails.
"""

# Waits take an explicit ``timeout``: a silent container must fail the check, never hang it.
# ruff: noqa: ASYNC109

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakediscord lives in the checkout

if TYPE_CHECKING:
    from tests.fakediscord import FakeDiscord

IMAGE = "paperbot:check"
LOCAL_BASE = "local/python:3.11-bookworm"  # what ../shared/tools/local-docker builds
UID = 10001  # the image's paperbot user (deploy/Dockerfile)
TOKEN = "fake-bot-token"  # noqa: S105 (only the loopback fake sees it)
NOTE_NAME = "240702 Tidal Attention.md"
NOTE = """https://arxiv.org/abs/2407.01234

Tidal Attention: Sparse Transformers That Follow the Moon (Mira Okafor, Jun Park)

Tidal attention schedules sparse attention heads by a periodic gate, cutting long-context memory by
half while keeping perplexity within one point of dense attention.

#attention #efficiency
"""
QUESTION = "How does tidal attention cut long-context memory?"


class CheckFailed(Exception):
    pass


@dataclass
class Transcript:
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def say(self, text: str = "") -> None:
        for line in text.splitlines() or [""]:
            print(line, flush=True)
            self.lines.append(line)

    def step(self, title: str) -> None:
        self.say(f"\n== [{time.monotonic() - self.started:6.1f} s] {title}")

    def output(self, text: str, limit: int = 40) -> None:
        rows = text.rstrip().splitlines()
        if len(rows) > limit:
            rows = [*rows[: limit // 2], f"... ({len(rows) - limit} lines) ...", *rows[-limit // 2 :]]
        for row in rows:
            self.say(f"   | {row}")


@dataclass
class Result:
    rc: int
    out: str


async def run(*argv: str, timeout: float = 120.0) -> Result:
    """Run a command (stdout and stderr together); a timeout kills it and fails the check."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise CheckFailed(f"{' '.join(argv[:4])} ... did not finish within {timeout:.0f} s") from None
    return Result(proc.returncode or 0, out.decode("utf-8", "replace"))


def expect(ok: bool, what: str, t: Transcript) -> None:
    t.say(f"   {'ok' if ok else 'FAILED'}: {what}")
    if not ok:
        raise CheckFailed(what)


@contextlib.contextmanager
def data_folders() -> Iterator[tuple[Path, Path]]:
    """A fresh, empty /data owned by the image's user, and a folder with the note to ingest."""
    top = Path(tempfile.mkdtemp(prefix="paperbot-container-check-"))
    data, notes = top / "data", top / "notes"
    data.mkdir()
    notes.mkdir()
    (notes / NOTE_NAME).write_text(NOTE, encoding="utf-8")
    if os.geteuid() == 0:
        os.chown(data, UID, UID)
    else:
        data.chmod(0o777)  # the container's uid 10001 must write here
    notes.chmod(0o755)
    try:
        yield data, notes
    finally:
        shutil.rmtree(top, ignore_errors=True)


class Check:
    def __init__(self, base: str, t: Transcript, *, no_cache: bool = False) -> None:
        self.base = base
        self.no_cache = no_cache
        self.t = t
        self.container = f"paperbot-check-{os.getpid()}"
        self.build_seconds = 0.0

    def docker_run(
        self, data: Path, notes: Path, *command: str, env: dict[str, str] | None = None
    ) -> list[str]:
        argv = ["docker", "run", "--rm", "--network", "host"]
        argv += ["-v", f"{data}:/data", "-v", f"{notes}:/notes:ro"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        return [*argv, IMAGE, *command]

    async def build(self) -> None:
        t = self.t
        t.step(f"build deploy/Dockerfile (base {self.base}) as {IMAGE}")
        argv = ["docker", "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={self.base}"]
        argv += ["-f", "deploy/Dockerfile", "-t", IMAGE, *(["--no-cache"] if self.no_cache else [])]
        argv.append(str(ROOT))
        t.say("   $ " + " ".join(argv))
        started = time.monotonic()
        result = await run(*argv, timeout=900)
        self.build_seconds = time.monotonic() - started
        steps = [line for line in result.out.splitlines() if line.startswith("Step ")]
        t.output("\n".join(steps) if steps and result.rc == 0 else result.out, limit=60)
        cached = result.out.count("Using cache")
        expect(
            result.rc == 0, f"image built in {self.build_seconds:.0f} s ({cached} steps from the cache)", t
        )
        size = await run("docker", "image", "inspect", "--format", "{{.Size}}", IMAGE)
        t.say(f"   image size {int(size.out.strip()) / 1e6:.0f} MB")

    async def install(self, data: Path, notes: Path) -> None:
        t = self.t
        t.step("the install inside the image: a wheel, no source tree, an unprivileged user")
        probe = (
            "import json, os, bot, importlib.metadata as m; d = m.distribution('paperbot'); "
            "print(json.dumps({'uid': os.getuid(), 'module': bot.__file__, "
            "'direct_url': json.loads(d.read_text('direct_url.json') or 'null'), "
            "'opt_paperbot': sorted(os.listdir('/opt/paperbot')), "
            "'prompts': sorted(p.name for p in __import__('importlib.resources').resources"
            ".files('bot.prompts').iterdir() if p.name.endswith('.md'))}))"
        )
        result = await run(*self.docker_run(data, notes, "python", "-c", probe))
        t.output(result.out)
        expect(result.rc == 0, "probe ran", t)
        facts = json.loads(result.out.strip().splitlines()[-1])
        direct = facts["direct_url"] or {}
        expect("/site-packages/bot/" in facts["module"], "bot is imported from site-packages", t)
        expect(
            not direct.get("dir_info", {}).get("editable") and str(direct.get("url", "")).endswith(".whl"),
            "installed from a wheel, not editable",
            t,
        )
        expect(facts["opt_paperbot"] == [".venv"], "/opt/paperbot holds only the venv", t)
        expect(bool(facts["prompts"]), f"prompt templates ship in the package: {facts['prompts']}", t)
        expect(facts["uid"] == UID, f"runs as uid {UID}", t)

    async def cli(self, data: Path, notes: Path) -> None:
        t = self.t
        env = {"DISCORD_TOKEN": TOKEN}
        t.step("paperbot doctor --offline on the fresh, empty /data (before the bot ever ran)")
        fresh = await run(*self.docker_run(data, notes, "paperbot", "doctor", "--offline", env=env))
        t.output(fresh.out)
        expect(fresh.rc == 0, "doctor passes before the first start (the inbox is the bot's to create)", t)
        t.step(f"paperbot ingest /notes ({NOTE_NAME})")
        ingest = await run(*self.docker_run(data, notes, "paperbot", "ingest", "/notes", env=env))
        t.output(ingest.out)
        expect(ingest.rc == 0, "ingest exited 0", t)
        expect((data / "paperbot.db").exists(), "the database was created in the bind-mounted /data", t)
        t.step(f'paperbot ask "{QUESTION}"')
        ask = await run(*self.docker_run(data, notes, "paperbot", "ask", QUESTION, env=env))
        t.output(ask.out)
        expect(ask.rc == 0, "ask exited 0", t)
        expect("Tidal Attention" in ask.out, "the answer cites the ingested note", t)
        expect("Traceback" not in ingest.out + ask.out, "no traceback", t)

    async def bot(self, data: Path, notes: Path) -> None:
        from tests.fakediscord import FakeDiscord  # needs the dev install (aiohttp)

        t = self.t
        async with FakeDiscord() as fake:
            t.step(f"paperbot run --sync against the loopback fake Discord at {fake.api_base}")
            env = {"DISCORD_TOKEN": TOKEN, "PAPERBOT_DISCORD_API_BASE": fake.api_base}
            env["PAPERBOT_DISCORD_GATEWAY_URL"] = fake.gateway_url
            argv = ["docker", "run", "-d", "--name", self.container, "--network", "host"]
            argv += ["-v", f"{data}:/data", "--health-interval", "2s", "--health-start-period", "60s"]
            argv += [f"--env={key}={value}" for key, value in env.items()]
            argv += [IMAGE, "paperbot", "run", "--sync"]
            t.say("   $ " + " ".join(argv))
            t.say("   (--health-interval 2s only shortens the wait; the command is the image's HEALTHCHECK)")
            started = await run(*argv)
            expect(started.rc == 0, "container started", t)
            try:
                await self._bot_checks(fake)
            finally:
                await run("docker", "rm", "--force", self.container)

    async def _bot_checks(self, fake: FakeDiscord) -> None:
        t = self.t
        ready = asyncio.create_task(self._synced_and_connected(fake))
        exited = asyncio.create_task(run("docker", "wait", self.container, timeout=240))
        done, _ = await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done or ready.exception() is not None:
            ready.cancel()
            exited.cancel()
            logs = await run("docker", "logs", self.container)
            t.output(logs.out)
            why = (
                f"the container exited ({exited.result().out.strip()})"
                if exited in done
                else ready.exception()
            )
            raise CheckFailed(f"the bot did not sync and connect: {why}")
        exited.cancel()
        names = sorted(str(c["name"]) for c in fake.commands.get(None, []))
        expect(bool(names), f"{len(names)} global commands synced: {', '.join(names)}", t)
        expect(bool(fake.gateway_log), "the bot identified on the gateway and got READY", t)

        t.step("poll the HEALTHCHECK until the container is healthy")
        config = await run(
            "docker", "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", IMAGE
        )
        t.say(f"   image HEALTHCHECK: {config.out.strip()}")
        health = await self._wait_healthy(timeout=90)
        expect(health["Status"] == "healthy", f"healthy after {len(health['Log'])} probe(s)", t)

        t.step("docker kill --signal SIGTERM; the bot must exit 0 by itself")
        sent = time.monotonic()
        await run("docker", "kill", "--signal", "SIGTERM", self.container)
        waited = await run("docker", "wait", self.container, timeout=95)
        seconds = time.monotonic() - sent
        logs = await run("docker", "logs", self.container)
        t.output(logs.out)
        code = waited.out.strip()
        expect(code == "0", f"exit code {code} after {seconds:.1f} s", t)
        expect("shutting down" in logs.out, "it logged the graceful shutdown", t)
        expect("Traceback" not in logs.out, "no traceback in the log", t)
        expect(
            not fake.violations,
            f"request bodies checked against Discord's OpenAPI spec: {fake.validated_bodies}, "
            f"violations: {len(fake.violations)} {fake.violations[:3]!r}",
            t,
        )
        expect(not fake.unhandled, f"no requests to routes the fake lacks {fake.unhandled[:3]!r}", t)

    @staticmethod
    async def _synced_and_connected(fake: FakeDiscord) -> None:
        await fake.wait_for("PUT /applications/*/commands", timeout=120)
        await fake.wait_for_session(timeout=60)

    async def _wait_healthy(self, timeout: float) -> dict[str, Any]:
        t = self.t
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            inspect = await run("docker", "inspect", "--format", "{{json .State.Health}}", self.container)
            health = json.loads(inspect.out)
            for probe in health["Log"][seen:]:
                t.say(f"   probe exit {probe['ExitCode']}: {probe['Output'].strip()}")
            seen = len(health["Log"])
            if health["Status"] != "starting" or time.monotonic() > deadline:
                t.say(f"   status: {health['Status']}")
                return dict(health)
            await asyncio.sleep(1)  # polling docker's state, not synchronising with the bot

    async def after(self, data: Path, notes: Path) -> None:
        t = self.t
        env = {"DISCORD_TOKEN": TOKEN}
        t.step("after the stop: the same health command reports the bot gone")
        health = await run(*self.docker_run(data, notes, "paperbot", "health", "--max-age", "120", env=env))
        t.output(health.out)
        expect(health.rc != 0, f"health exits {health.rc} once the bot stopped", t)
        t.step("paperbot doctor --offline on the same /data after the bot ran")
        doctor = await run(*self.docker_run(data, notes, "paperbot", "doctor", "--offline", env=env))
        t.output(doctor.out)
        listing = sorted(await asyncio.to_thread(os.listdir, data))
        t.say(f"   /data now holds: {', '.join(listing)}")
        expect(doctor.rc == 0, "doctor passes", t)


async def compose_config(t: Transcript) -> None:
    """Debian's docker-compose (1.29) validates deploy/docker-compose.yml, as shipped and with Ollama."""
    tool = shutil.which("docker-compose")
    t.step("docker-compose config (Compose v1, as Debian ships it)")
    if tool is None:
        t.say("   skipped: docker-compose is not installed (apt-get install docker-compose)")
        return
    from tests.test_deploy import enable_ollama

    version = await run(tool, "version", "--short")
    text = (ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as top:  # a copy beside an empty ../.env, which env_file needs
        (Path(top) / "deploy").mkdir()
        (Path(top) / ".env").write_text("", encoding="utf-8")
        for label, body in (
            ("as shipped", text),
            ("with the ollama service uncommented", enable_ollama(text)),
        ):
            compose = Path(top) / "deploy" / "docker-compose.yml"
            compose.write_text(body, encoding="utf-8")
            result = await run(tool, "-f", str(compose), "config", "--services")
            t.output(result.out)
            expect(result.rc == 0, f"docker-compose {version.out.strip()} accepts it {label}", t)


async def docker_available() -> str | None:
    """The server version, or None when there is no docker client or daemon."""
    if shutil.which("docker") is None:
        return None
    with contextlib.suppress(CheckFailed):
        info = await run("docker", "version", "--format", "{{.Server.Version}}", timeout=20)
        if info.rc == 0:
            return info.out.strip()
    return None


async def main_async(args: argparse.Namespace, t: Transcript) -> int:
    version = await docker_available()
    if version is None:
        t.say("SKIPPED: Docker is not running (`docker version` cannot reach a daemon).")
        t.say("On the project machine `../shared/tools/local-docker up` starts it; then run this again.")
        return 0
    base = args.base
    if base is None:
        local = await run("docker", "image", "inspect", LOCAL_BASE)
        base = LOCAL_BASE if local.rc == 0 else "python:3.11-slim"
    t.say(f"paperbot container check: docker server {version}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    check = Check(base, t, no_cache=args.no_cache)
    try:
        await compose_config(t)
        await check.build()
        with data_folders() as (data, notes):
            t.say(f"   fresh /data: {data} (empty, owned by uid {UID})")
            await check.install(data, notes)
            await check.cli(data, notes)
            await check.bot(data, notes)
            await check.after(data, notes)
    except CheckFailed as exc:
        t.say(f"\nCONTAINER CHECK FAILED: {exc}")
        return 1
    t.say(
        f"\nCONTAINER CHECK PASSED in {time.monotonic() - t.started:.0f} s (build {check.build_seconds:.0f} s)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--base", help=f"base image (default: {LOCAL_BASE} if present, else python:3.11-slim)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="build every layer afresh (a full build time)"
    )
    parser.add_argument(
        "--save", type=Path, help="also write the transcript to this file when the check passes"
    )
    args = parser.parse_args()
    t = Transcript()
    rc = asyncio.run(main_async(args, t))
    if args.save is not None and rc == 0:
        args.save.write_text("\n".join(t.lines) + "\n", encoding="utf-8")
        print(f"transcript saved to {args.save}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
