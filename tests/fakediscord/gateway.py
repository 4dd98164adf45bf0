"""Fake gateway (v10, JSON text frames): HELLO/IDENTIFY/READY/GUILD_CREATE, heartbeats, RESUME, dispatch.

Frames are queued synchronously per connection (``dispatch_nowait``) and written by one writer task per
connection, so ordering is preserved and sync code (e.g. ``FakeDiscord.add_channel``) can dispatch.
Sessions outlive their connection: events dispatched while the bot is disconnected are buffered and
replayed on RESUME, like the real gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import (
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    JSON,
)
from .records import GatewayFrame

if TYPE_CHECKING:
    from .server import FakeDiscord

HEARTBEAT_INTERVAL_MS = 41_250
_BUFFER = 1000


class Connection:
    """One websocket connection and its ordered outbox."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: Session | None = None
        self.outbox: asyncio.Queue[JSON | None] = asyncio.Queue()

    def send(self, frame: JSON | None) -> None:
        """Queue a frame; ``None`` stops the writer after the frames queued before it."""
        self.outbox.put_nowait(frame)


@dataclass
class Session:
    """A gateway session (survives disconnects until the bot closes it or it is invalidated)."""

    id: str
    intents: int
    identify: JSON
    seq: int = 0
    buffer: deque[JSON] = field(default_factory=lambda: deque(maxlen=_BUFFER))
    connection: Connection | None = None
    alive: bool = True


def _required_intent(event: str, data: JSON) -> int:
    in_guild = "guild_id" in data
    if event.startswith("GUILD_MEMBER") and event != "GUILD_MEMBERS_CHUNK":
        return INTENT_GUILD_MEMBERS
    if event.startswith("MESSAGE_REACTION"):
        return INTENT_GUILD_MESSAGE_REACTIONS if in_guild else INTENT_DIRECT_MESSAGE_REACTIONS
    if event.startswith("MESSAGE_"):
        return INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
    return 0


class GatewayHub:
    """All gateway sessions and connections of one fake."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.log: list[GatewayFrame] = []

    # -- dispatch ---------------------------------------------------------------------------------
    @property
    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.alive]

    def dispatch_nowait(self, event: str, data: JSON) -> int:
        """Queue a dispatch to every live session whose intents allow it; returns how many got it."""
        delivered = 0
        for session in self.live_sessions:
            needed = _required_intent(event, data)
            if needed and not session.intents & needed:
                continue
            self._dispatch_to(session, event, self._filter_content(session, event, data))
            delivered += 1
        return delivered

    def _filter_content(self, session: Session, event: str, data: JSON) -> JSON:
        """Without the MESSAGE_CONTENT intent, others' guild messages arrive with content stripped."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & INTENT_MESSAGE_CONTENT:
            return data
        author = str((data.get("author") or {}).get("id"))
        bot_id = str(self.fake.bot_user_id)
        mentioned = any(str(u.get("id")) == bot_id for u in data.get("mentions") or [])
        if author == bot_id or "guild_id" not in data or mentioned:
            return data
        stripped = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        stripped.pop("poll", None)
        return stripped

    def _dispatch_to(self, session: Session, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.connection is not None:
            self._send(session.connection, frame)

    def _send(self, conn: Connection, frame: JSON) -> None:
        session_id = conn.session.id if conn.session else None
        loop_time = asyncio.get_running_loop().time()
        self.log.append(
            GatewayFrame(
                "out", frame["op"], frame.get("t"), frame.get("s"), frame.get("d"), session_id, loop_time
            )
        )
        conn.send(frame)
        self.fake.signal.notify()

    async def flush(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every queued frame was written to its socket (or its connection closed)."""
        joins = [asyncio.ensure_future(c.outbox.join()) for c in list(self.connections)]
        if joins:
            _, pending = await asyncio.wait(joins, timeout=timeout)
            for join in pending:
                join.cancel()

    # -- connection control ---------------------------------------------------------------------
    async def disconnect(self, *, code: int = 4000, resumable: bool = True) -> None:
        """Close every live connection from the server side; sessions stay resumable unless told otherwise."""
        for conn in list(self.connections):
            if conn.session is not None:
                conn.session.connection = None
                conn.session.alive = resumable
            conn.send(None)  # stop the writer after queued frames
            await conn.ws.close(code=code, message=b"fake disconnect")

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes and RESUMEs."""
        for conn in list(self.connections):
            self._send(conn, {"op": 7, "d": None})

    def invalidate(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the bot must IDENTIFY again."""
        for conn in list(self.connections):
            if conn.session is not None and not resumable:
                conn.session.alive = False
            self._send(conn, {"op": 9, "d": resumable})

    async def close(self) -> None:
        await self.disconnect(code=1001, resumable=False)

    # -- websocket handler -----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        writer = asyncio.get_running_loop().create_task(self._writer(conn), name="fakediscord-gateway-writer")
        self._send(conn, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, json.loads(msg.data))
        finally:
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if ws.close_code in (1000, 1001):  # the bot closed cleanly: session is over
                    session.alive = False
            conn.send(None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            while not conn.outbox.empty():  # release flush() waiters for frames never written
                conn.outbox.get_nowait()
                conn.outbox.task_done()
            self.fake.signal.notify()
        return ws

    async def _writer(self, conn: Connection) -> None:
        while True:
            frame = await conn.outbox.get()
            try:
                if frame is None:
                    return
                if not conn.ws.closed:
                    await conn.ws.send_str(json.dumps(frame))
            except (ConnectionError, RuntimeError):
                pass
            finally:
                conn.outbox.task_done()

    async def _on_frame(self, conn: Connection, frame: JSON) -> None:
        op, raw = frame.get("op"), frame.get("d")
        data: JSON = raw if isinstance(raw, dict) else {}
        session_id = conn.session.id if conn.session else None
        now = asyncio.get_running_loop().time()
        self.log.append(GatewayFrame("in", int(op or 0), None, None, raw, session_id, now))
        self.fake.signal.notify()
        if op == 1:
            self._send(conn, {"op": 11})
        elif op == 2:
            self._identify(conn, data)
        elif op == 6:
            self._resume(conn, data)
        elif op == 8:
            self._members_chunk(conn, data)

    def _identify(self, conn: Connection, data: JSON) -> None:
        if not str(data.get("token") or ""):
            asyncio.get_running_loop().create_task(
                conn.ws.close(code=4004, message=b"Authentication failed.")
            )
            return
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), identify=data)
        self.sessions[session.id] = session
        conn.session = session
        session.connection = conn
        fake = self.fake
        ready: JSON = {
            "v": 10,
            "user": {**fake.users[fake.bot_user_id], "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(fake.guild_id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(fake.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        self._dispatch_to(session, "READY", ready)
        guild = fake.guild_payload()
        if not session.intents & INTENT_GUILD_MEMBERS:  # like Discord: only the bot's own member
            guild["members"] = [m for m in guild["members"] if m["user"]["id"] == str(fake.bot_user_id)]
        self._dispatch_to(session, "GUILD_CREATE", guild)

    def _resume(self, conn: Connection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.alive:
            self._send(conn, {"op": 9, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            session.connection.session = None
        conn.session = session
        session.connection = conn
        last_seen = int(data.get("seq") or 0)
        for frame in list(session.buffer):
            if frame["s"] > last_seen:
                self._send(conn, frame)
        self._send(conn, {"op": 0, "t": "RESUMED", "s": None, "d": {}})

    def _members_chunk(self, conn: Connection, data: JSON) -> None:
        if conn.session is None:
            return
        members = list(self.fake.members.values())
        if data.get("user_ids"):
            wanted = {str(u) for u in data["user_ids"]}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif data.get("query"):
            members = [m for m in members if m["user"]["username"].startswith(str(data["query"]))]
        chunk: JSON = {
            "guild_id": str(self.fake.guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(conn.session, "GUILD_MEMBERS_CHUNK", chunk)
