"""``FakeDiscord``: the loopback server plus the methods tests use to drive the bot."""

# Waits take an explicit ``timeout`` on purpose: a silent bot must fail fast, never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .gateway import GatewayHub
from .interactions import (
    FakeFile,
    command_data,
    context_menu_data,
    find_component,
    interaction_payload,
    modal_submit_components,
)
from .middleware import API_PREFIX, FaultRule, RateLimiter, make_middleware
from .payloads import JSON, message_delete_event, parse_emoji, reaction_event
from .records import (
    GatewayFrame,
    InteractionRecord,
    RecordedRequest,
    request_predicate,
)
from .rest import RestApi
from .rest_interactions import InteractionApi
from .state import ChannelRef, GuildState, UserRef
from .strict import DiscordStrictness


class FakeDiscord(GuildState, DiscordStrictness):
    """A fake Discord (REST + gateway) on 127.0.0.1 for one guild. See the package docstring."""

    def _before_populate(self) -> None:
        self.gateway = GatewayHub(self)
        self.requests: list[RecordedRequest] = []
        """Every answered REST request, in completion order."""
        self.unhandled: list[RecordedRequest] = []
        """Requests to routes the fake does not implement (answered 404/405)."""
        self.fault_rules: list[FaultRule] = []
        self.rate_limiter = RateLimiter()
        self._init_strict()
        self.api_base = ""
        """``http://127.0.0.1:PORT/api/v10`` once started."""
        self.gateway_url = ""
        """``ws://127.0.0.1:PORT/gateway`` once started."""
        self._runner: web.AppRunner | None = None
        self._interaction_index: dict[int, InteractionRecord] = {}
        self._token_index: dict[str, InteractionRecord] = {}

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(middlewares=[make_middleware(self)], client_max_size=64 * 1024 * 1024)
        app.add_routes(RestApi(self).routes())
        app.add_routes(InteractionApi(self).routes())
        app.add_routes([web.get("/gateway", self.gateway.handle), web.get("/", self.gateway.handle)])
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        base = f"http://127.0.0.1:{port}"
        self.cdn_base = base
        self.api_base = base + API_PREFIX
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"

    async def close(self) -> None:
        for timer in self._ack_timers:
            timer.cancel()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- gateway ----------------------------------------------------------------------------------------
    def dispatch_nowait(self, event: str, data: JSON) -> None:
        hub = getattr(self, "gateway", None)
        if hub is not None:
            hub.dispatch_nowait(event, data)

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send a raw gateway event to the bot and wait until it was written to the socket."""
        self.dispatch_nowait(event, data)
        await self.gateway.flush()

    def dispatch_message_delete(self, message: JSON) -> None:
        self.dispatch_nowait("MESSAGE_DELETE", message_delete_event(message))

    def dispatch_reaction(self, message: JSON, emoji: JSON, user_id: int, *, added: bool) -> None:
        member = self.members.get(user_id) if added and "guild_id" in message else None
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        self.dispatch_nowait(event, reaction_event(message, emoji, user_id, added=added, member=member))

    @property
    def gateway_log(self) -> list[GatewayFrame]:
        return self.gateway.log

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], timeout: float = 5.0, *, since: int = 0
    ) -> GatewayFrame:
        """Wait for a gateway frame (e.g. ``lambda f: f.direction == "in" and f.op == 6`` for RESUME)."""
        log = self.gateway.log

        def find() -> GatewayFrame | None:
            return next((f for f in log[since:] if predicate(f)), None)

        frame: GatewayFrame = await self.signal.wait(find, timeout, "a gateway frame")
        return frame

    async def wait_for_session(self, timeout: float = 5.0) -> None:
        """Wait until a bot has identified (or resumed) and is connected."""
        await self.signal.wait(
            lambda: any(s.connection is not None for s in self.gateway.live_sessions),
            timeout,
            "a bot session",
        )

    async def disconnect(self, *, code: int = 4000, resumable: bool = True) -> None:
        """Drop the bot's websocket. discord.py reconnects and RESUMEs (or re-IDENTIFYs if not resumable)."""
        await self.gateway.disconnect(code=code, resumable=resumable)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT."""
        self.gateway.request_reconnect()

    def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION."""
        self.gateway.invalidate(resumable=resumable)

    # -- requests -------------------------------------------------------------------------------------------
    def mark(self) -> int:
        """Current position in :attr:`requests`; pass as ``since=`` to only consider later requests."""
        return len(self.requests)

    def requests_matching(
        self, spec: str | Callable[[RecordedRequest], bool], *, since: int = 0
    ) -> list[RecordedRequest]:
        """``fake.requests_matching("POST /channels/*/messages")`` (glob on path or route template)."""
        predicate = request_predicate(spec)
        return [r for r in self.requests[since:] if predicate(r)]

    async def wait_for(
        self,
        spec: str | Callable[[RecordedRequest], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
        count: int = 1,
    ) -> RecordedRequest:
        """Wait until ``count`` answered requests match (already-recorded ones count); returns the last."""
        predicate = request_predicate(spec)

        def find() -> RecordedRequest | None:
            found = [r for r in self.requests[since:] if predicate(r)]
            return found[count - 1] if len(found) >= count else None

        what = spec if isinstance(spec, str) else "a matching request"
        request: RecordedRequest = await self.signal.wait(find, timeout, f"{count}x {what}")
        return request

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: float = 0.05,
        code: int = 0,
        message: str | None = None,
        is_global: bool = False,
    ) -> FaultRule:
        """Answer the next ``times`` matching requests with ``status`` instead of handling them.

        ``path_pattern`` is a glob on the concrete path (``/channels/*/messages``) or the route template
        (``/webhooks/{application_id}/{token}``). 429s carry ``Via``/``Retry-After``/``X-RateLimit-*``
        headers and a ``retry_after`` body so discord.py retries them.
        """
        rule = FaultRule(method.upper(), path_pattern, status, times, retry_after, code, message, is_global)
        self.fault_rules.append(rule)
        return rule

    def rate_limits(
        self, *, per_channel: tuple[int, float] | None = (5, 5.0), global_per_second: int | None = 50
    ) -> None:
        """Enforce rate limits (off by default). ``per_channel=(limit, window_seconds)`` applies per
        (method, route, channel) bucket; responses carry bucket headers so discord.py paces itself.
        Call with both ``None`` to switch enforcement off again."""
        self.rate_limiter.configure(per_channel, global_per_second)

    # -- interactions ------------------------------------------------------------------------------------------
    def interaction_by_id(self, interaction_id: int) -> InteractionRecord | None:
        return self._interaction_index.get(interaction_id)

    def interaction_by_token(self, token: str) -> InteractionRecord | None:
        return self._token_index.get(token)

    def _user(self, user: UserRef | None) -> int:
        if user is None:
            if self.default_user is None:
                raise ValueError("no default user: pass user=")
            user = self.default_user
        return self.user_id(user)

    async def _interact(
        self,
        kind: int,
        data: JSON,
        user_id: int,
        channel_id: int,
        *,
        locale: str = "en-US",
        message: JSON | None = None,
    ) -> InteractionRecord:
        await self.wait_for_session()
        interaction_id = self.snowflakes.next()
        token = "itok_" + secrets.token_urlsafe(24)
        payload = interaction_payload(
            self,
            interaction_id=interaction_id,
            token=token,
            kind=kind,
            data=data,
            user_id=user_id,
            channel_id=channel_id,
            locale=locale,
            message=message,
        )
        rec = InteractionRecord(
            interaction_id,
            token,
            kind,
            payload,
            user_id,
            channel_id,
            self,
            source_message_id=int(message["id"]) if message is not None else None,
            created=self.now(),
        )
        self._ack_timers.append(
            asyncio.get_running_loop().call_later(self.ack_deadline, self._ack_expired, rec)
        )
        self.interactions.append(rec)
        self._interaction_index[interaction_id] = rec
        self._token_index[token] = rec
        await self.dispatch("INTERACTION_CREATE", payload)
        return rec

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: UserRef | None = None,
        channel: ChannelRef = "general",
        locale: str = "en-US",
        attachments: Mapping[str, FakeFile | tuple[str, bytes]] | None = None,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Invoke ``/name`` (``name`` may be a path like ``"route set"``). Waits for the answer unless
        ``wait=False``. ``attachments`` maps attachment option names to files."""
        user_id, channel_id = self._user(user), self.channel_id(channel)
        merged = {**(options or {}), **(attachments or {})}
        data = command_data(self, name, merged, user_id=user_id, channel_id=channel_id)
        rec = await self._interact(2, data, user_id, channel_id, locale=locale)
        return await rec.wait_done(timeout) if wait else rec

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user: UserRef | None = None,
        channel: ChannelRef = "general",
        locale: str = "en-US",
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Send an autocomplete interaction for option ``focused`` and return the bot's choices."""
        user_id, channel_id = self._user(user), self.channel_id(channel)
        options = {**options} if focused in options else {**options, focused: ""}
        data = command_data(self, name, options, user_id=user_id, channel_id=channel_id, focused=focused)
        rec = await self._interact(4, data, user_id, channel_id, locale=locale)
        await rec.wait_done(timeout)
        return rec.choices

    async def context_menu(
        self,
        name: str,
        target: UserRef | JSON,
        *,
        user: UserRef | None = None,
        channel: ChannelRef | None = None,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Invoke a user (target = user) or message (target = message dict) context-menu command."""
        user_id = self._user(user)
        if channel is None:
            channel = int(target["channel_id"]) if isinstance(target, Mapping) else "general"
        channel_id = self.channel_id(channel)
        data = context_menu_data(self, name, target, channel_id=channel_id, user_id=user_id)
        rec = await self._interact(2, data, user_id, channel_id)
        return await rec.wait_done(timeout) if wait else rec

    async def click(
        self,
        message: JSON | int,
        custom_id: str,
        *,
        user: UserRef | None = None,
        values: list[str] | None = None,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Press a button (or choose select ``values``) on a stored message (dict or id)."""
        message_id = int(message if isinstance(message, int) else message["id"])
        current = self.find_message(message_id)
        if current is None:
            raise LookupError(f"message {message_id} does not exist (deleted?)")
        component = find_component(current, custom_id)
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        rec = await self._interact(3, data, self._user(user), int(current["channel_id"]), message=current)
        return await rec.wait_done(timeout) if wait else rec

    async def submit_modal(
        self,
        interaction: InteractionRecord,
        values: Mapping[str, Any],
        *,
        user: UserRef | None = None,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Fill in and submit the modal the bot opened in answer to ``interaction``.

        ``values`` keys are the inputs' custom_ids or labels."""
        modal = interaction.modal
        if modal is None:
            raise ValueError(
                f"interaction {interaction.id} was not answered with a modal (callback {interaction.callback_type})"
            )
        data = {"custom_id": modal["custom_id"], "components": modal_submit_components(modal, values)}
        source = self.find_message(interaction.source_message_id) if interaction.source_message_id else None
        user_id = self._user(user) if user is not None else interaction.user_id
        rec = await self._interact(5, data, user_id, interaction.channel_id, message=source)
        return await rec.wait_done(timeout) if wait else rec

    # -- users acting ------------------------------------------------------------------------------------------
    async def post_message(
        self, channel: ChannelRef, content: str, *, user: UserRef | None = None, **extra: Any
    ) -> JSON:
        """A user posts a message (stored and dispatched as MESSAGE_CREATE)."""
        channel_id = self.channel_id(channel)
        message = self.create_message(channel_id, self._user(user), {"content": content, **extra})
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def add_reaction(
        self, channel: ChannelRef, message_id: int, emoji: str, user: UserRef | None = None
    ) -> None:
        """``user`` reacts with ``emoji`` ("👍", "name:id" or "<:name:id>"); dispatches MESSAGE_REACTION_ADD."""
        await self._react(channel, message_id, emoji, user, added=True)

    async def remove_reaction(
        self, channel: ChannelRef, message_id: int, emoji: str, user: UserRef | None = None
    ) -> None:
        await self._react(channel, message_id, emoji, user, added=False)

    async def _react(
        self, channel: ChannelRef, message_id: int, emoji: str, user: UserRef | None, *, added: bool
    ) -> None:
        message = self.find_message(message_id)
        if message is None or int(message["channel_id"]) != self.channel_id(channel):
            raise LookupError(f"no message {message_id} in channel {channel!r}")
        user_id, parsed = self._user(user), parse_emoji(emoji)
        if self.set_reaction(int(message_id), parsed, user_id, present=added):
            self.dispatch_reaction(message, parsed, user_id, added=added)
            await self.gateway.flush()
