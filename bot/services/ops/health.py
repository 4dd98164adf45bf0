"""Keeping paperbot healthy: backups with retention, the heartbeat file, status and metrics figures."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

from bot.services.clock import Clock, utc_now
from bot.store.db import Database

HEARTBEAT_NAME = "paperbot.heartbeat"


class BackupError(ValueError):
    """A backup target that would lose data or is probably a typo; the message says what to do."""


def _backup_target(target: Path, *, force: bool, create_folders: bool) -> tuple[Path, Path]:
    if target.is_dir() or str(target).endswith("/"):
        if not target.is_dir():
            if not create_folders:
                raise BackupError(f"the folder {target} does not exist: create it first (mkdir -p {target})")
            target.mkdir(parents=True)
        target = target / f"paperbot-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.db"
    elif not target.parent.is_dir():
        if not create_folders:
            raise BackupError(
                f"the folder {target.parent} does not exist: check the path, "
                f"or create it (mkdir -p {target.parent})"
            )
        target.parent.mkdir(parents=True)
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another name, or pass --force to replace it")
    partial = target.with_suffix(target.suffix + ".partial")
    partial.unlink(missing_ok=True)
    return target, partial


async def backup_to(db: Database, target: Path, *, force: bool = False, create_folders: bool = True) -> Path:
    """Online backup of the live database to ``target`` (a file, or a folder for a dated file).

    An existing file is replaced only with ``force``; ``create_folders=False`` (the CLI) refuses a
    missing folder instead of creating it.
    """
    final, partial = _backup_target(target, force=force, create_folders=create_folders)
    await db.backup(partial)
    partial.replace(final)  # a reader never sees a half-written backup
    return final


def _file_size(path: str) -> int:
    return Path(path).stat().st_size if path != ":memory:" and Path(path).exists() else 0


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` dated backups in ``folder``; returns what was removed."""
    backups = sorted(folder.glob("paperbot-*.db"))
    doomed = backups[:-keep] if keep > 0 else backups
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def heartbeat_path(db_path: str | Path) -> Path:
    return Path(db_path).parent / HEARTBEAT_NAME


def write_heartbeat(path: Path, *, connected: bool, latency: float | None, stopped: bool = False) -> None:
    """Record the bot's state for `paperbot health`; ``stopped`` marks a clean shutdown."""
    data = {"time": time.time(), "connected": connected, "latency": latency, "stopped": stopped}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def read_heartbeat(path: Path, *, max_age: float) -> tuple[bool, str]:
    """(healthy, reason): fresh, and the gateway was connected when it was written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, (
            f"no heartbeat file at {path}: the bot is not running with this database "
            "(start it with `paperbot run`, or check PAPERBOT_DB / --db)"
        )
    except OSError as exc:
        return False, f"cannot read the heartbeat file {path}: {exc.strerror}"
    except ValueError:
        return (
            False,
            f"the heartbeat file {path} is damaged; it is rewritten within a minute by a running bot",
        )
    age = time.time() - float(data.get("time", 0))
    if data.get("stopped"):
        return False, f"the bot stopped {_ago(age)} (a clean shutdown): start it with `paperbot run`"
    if age > max_age:
        return False, f"heartbeat is {age:.0f} s old (limit {max_age:.0f} s): the bot is not running"
    if not data.get("connected"):
        return False, "the bot is running but not connected to the Discord gateway"
    return True, f"connected, heartbeat {age:.0f} s ago"


@dataclass(frozen=True)
class StoreFigures:
    papers: int
    commentary: int
    posts_sent: int
    posts_queued: int
    posts_failed: int
    reactions: int
    llm_calls_today: int
    db_bytes: int


async def store_figures(db: Database, *, clock: Clock = utc_now) -> StoreFigures:
    async def count(sql: str, params: tuple[object, ...] = ()) -> int:
        return int(await db.fetchval(sql, params) or 0)

    size = _file_size(db.path)
    return StoreFigures(
        papers=await count("SELECT count(*) FROM papers"),
        commentary=await count("SELECT count(*) FROM commentary"),
        posts_sent=await count("SELECT count(*) FROM posts WHERE state = 'sent'"),
        posts_queued=await count("SELECT count(*) FROM posts WHERE state IN ('pending', 'sending')"),
        posts_failed=await count("SELECT count(*) FROM posts WHERE state = 'failed'"),
        reactions=await count("SELECT count(*) FROM reactions"),
        llm_calls_today=await count(
            "SELECT coalesce(sum(calls), 0) FROM llm_usage WHERE day = ?", (clock().date().isoformat(),)
        ),
        db_bytes=size,
    )


def metrics_text(figures: StoreFigures, *, uptime: float, latency: float | None, connected: bool) -> str:
    """The Prometheus text exposition format, version 0.0.4."""
    rows = [
        ("paperbot_up", "gauge", "1 when the gateway is connected", int(connected)),
        ("paperbot_uptime_seconds", "gauge", "seconds since start", round(uptime, 1)),
        (
            "paperbot_gateway_latency_seconds",
            "gauge",
            "heartbeat latency",
            latency if latency is not None else "NaN",
        ),
        ("paperbot_papers", "gauge", "papers stored", figures.papers),
        ("paperbot_commentary", "gauge", "commentary stored", figures.commentary),
        ("paperbot_posts_sent_total", "counter", "paper posts sent", figures.posts_sent),
        ("paperbot_posts_queued", "gauge", "posts waiting in the outbox", figures.posts_queued),
        ("paperbot_posts_failed_total", "counter", "posts that failed for good", figures.posts_failed),
        ("paperbot_reactions", "gauge", "reactions on paper posts", figures.reactions),
        ("paperbot_llm_calls_today", "gauge", "LLM answers today, all guilds", figures.llm_calls_today),
        ("paperbot_db_bytes", "gauge", "database file size", figures.db_bytes),
    ]
    lines = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(lines) + "\n"
