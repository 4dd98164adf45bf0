"""Records kept by the fake: HTTP requests, gateway frames and interactions, plus event-driven waiting."""

# Waits take an explicit ``timeout`` on purpose: a silent bot must fail fast, never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .payloads import FLAG_EPHEMERAL, JSON, text_of

if TYPE_CHECKING:
    from .state import GuildState


#: Name prefixes of the tasks discord.py runs interaction/event handlers in.
HANDLER_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
    "discord.py: ",
)


def running_handler_tasks() -> list[asyncio.Task[Any]]:
    """discord.py handler tasks that are still running (the fake and the bot share one event loop)."""
    current = asyncio.current_task()
    return [
        t
        for t in asyncio.all_tasks()
        if t is not current and not t.done() and t.get_name().startswith(HANDLER_TASK_PREFIXES)
    ]


class BotError(AssertionError):
    """Raised by a wait when the bot under test logged an exception (see ``run_bot``)."""


class Signal:
    """Change notification: every state change calls :meth:`notify`; waits re-check a predicate.

    It swaps in a fresh ``asyncio.Event`` per generation, so :meth:`notify` is synchronous and waits
    are purely event-driven (no polling). Waits also fail fast when the bot under test reports an
    error through :meth:`report_error` (``run_bot`` wires that up) instead of sitting out the timeout.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.errors: list[BaseException] = []
        self.fail_fast = True

    def notify(self) -> None:
        """Wake every waiter so it re-evaluates its predicate."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    def report_error(self, exc: BaseException) -> None:
        self.errors.append(exc)
        self.notify()

    async def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait until ``predicate()`` returns something truthy and return it."""
        errors_before = len(self.errors)

        async def _loop() -> Any:
            while True:
                event = self._event
                if self.fail_fast and len(self.errors) > errors_before:
                    exc = self.errors[errors_before]
                    raise BotError(f"the bot raised while we waited for {what}: {exc!r}") from exc
                result = predicate()
                if result:
                    return result
                await event.wait()

        try:
            return await asyncio.wait_for(_loop(), timeout)
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None


@dataclass
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str | None

    @property
    def text(self) -> str:
        return self.content.decode()


def route_matches(method: str, pattern: str, req_method: str, path: str, route: str) -> bool:
    """``method`` may be ``*``; ``pattern`` is a glob matched against the concrete path or the route template."""
    if method not in ("*", req_method.upper()) and method.upper() != req_method.upper():
        return False
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(route, pattern) or pattern == route


@dataclass
class RecordedRequest:
    """One HTTP request the bot made to the fake REST API (appended once it has been answered)."""

    method: str
    path: str
    """Concrete path below ``/api/v10``, e.g. ``/channels/123/messages``."""
    route: str
    """Route template, e.g. ``/channels/{channel_id}/messages``."""
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    """Parsed JSON body (or the ``payload_json`` part of a multipart body); ``None`` when absent."""
    files: list[UploadedFile]
    headers: dict[str, str]
    time: float
    """``loop.time()`` when the request arrived."""
    status: int = 0
    response: Any = None
    injected: bool = False
    """True when the response came from ``fail_next`` or rate-limit enforcement, not the handler."""

    @property
    def reason(self) -> str | None:
        """Decoded ``X-Audit-Log-Reason`` header."""
        value = self.headers.get("X-Audit-Log-Reason")
        return unquote(value) if value is not None else None

    def matches(self, method: str, pattern: str) -> bool:
        return route_matches(method, pattern, self.method, self.path, self.route)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


def request_predicate(spec: str | Callable[[RecordedRequest], bool]) -> Callable[[RecordedRequest], bool]:
    """Turn ``"POST /channels/*/messages"`` (or a callable) into a predicate."""
    if callable(spec):
        return spec
    method, _, pattern = spec.partition(" ")
    if not pattern:
        method, pattern = "*", method
    return lambda r: r.matches(method, pattern)


@dataclass
class Violation:
    """A request body Discord would reject (400 / 50035), with the offending fields."""

    method: str
    path: str
    route: str
    source: str
    """``"spec"`` (Discord's OpenAPI schema) or ``"limits"`` (documented limits the spec leaves out)."""
    fields: list[tuple[str, str]]
    """``(field path, message)``, e.g. ``("data.components.0.components.0.value", "... is too long")``."""

    def __str__(self) -> str:
        where = "; ".join(f"{f or '<body>'}: {m}" for f, m in self.fields) or "invalid form body"
        return f"{self.method} {self.route} ({self.source}) -> {where}"


class InteractionFailed(AssertionError):
    """The member would have seen "This interaction failed" (e.g. no acknowledgement within 3 s)."""


class ViolationError(AssertionError):
    """Raised at fixture teardown when the bot sent bodies Discord would have rejected."""


@dataclass
class GatewayFrame:
    """A gateway frame; ``direction`` is ``"out"`` (fake → bot) or ``"in"`` (bot → fake)."""

    direction: str
    op: int
    t: str | None
    s: int | None
    d: Any
    session_id: str | None
    time: float


@dataclass
class CallbackRecord:
    """The initial interaction callback (``POST /interactions/{id}/{token}/callback``)."""

    type: int
    data: JSON
    files: list[UploadedFile]
    request: RecordedRequest


@dataclass
class InteractionRecord:
    """An interaction the fake sent to the bot and everything the bot answered to it."""

    id: int
    token: str
    kind: int
    """Interaction type: 2 command, 3 component, 4 autocomplete, 5 modal submit."""
    payload: JSON
    """The full ``INTERACTION_CREATE`` payload that was dispatched."""
    user_id: int
    channel_id: int
    _state: GuildState = field(repr=False)
    source_message_id: int | None = None
    """For component/modal interactions: the message the component lives on."""
    callback: CallbackRecord | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    followup_payloads: list[JSON] = field(default_factory=list)
    edits: list[JSON] = field(default_factory=list)
    """Bodies of ``PATCH .../messages/@original`` (and of PATCHes to follow-ups)."""
    files: list[UploadedFile] = field(default_factory=list)
    """Every file uploaded for this interaction (callback, follow-ups, edits)."""
    original_deleted: bool = False
    handler_tasks: list[asyncio.Task[Any]] | None = field(default=None, repr=False)
    """For a type-6 defer: the bot's handler tasks running when it deferred."""
    created: float = 0.0
    """``FakeDiscord.now()`` when the interaction was dispatched (its token expires 15 minutes later)."""
    failed: str | None = None
    """Set when the member saw "This interaction failed" (not acknowledged within 3 s)."""

    # -- convenience -----------------------------------------------------------------------------
    @property
    def callback_type(self) -> int | None:
        return self.callback.type if self.callback else None

    @property
    def message(self) -> JSON | None:
        """Current version of the original response message (after edits), if any."""
        if self.original_message_id is None:
            return None
        return self._state.find_message(self.original_message_id)

    @property
    def followups(self) -> list[JSON]:
        """Current versions of follow-up messages (a follow-up that replaced a defer is included)."""
        found = (self._state.find_message(mid) for mid in self.followup_ids)
        return [m for m in found if m is not None]

    def _latest(self) -> JSON:
        if self.message is not None:
            return self.message
        return self.callback.data if self.callback else {}

    @property
    def content(self) -> str | None:
        content = self._latest().get("content")
        return str(content) if content is not None else None

    @property
    def embeds(self) -> list[JSON]:
        return list(self._latest().get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        return list(self._latest().get("components") or [])

    @property
    def flags(self) -> int:
        return int(self._latest().get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the initial response is ephemeral (flag 64), incl. an ephemeral defer."""
        if self.callback and int(self.callback.data.get("flags") or 0) & FLAG_EPHEMERAL:
            return True
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def allowed_mentions(self) -> JSON | None:
        mentions: JSON | None = self.callback.data.get("allowed_mentions") if self.callback else None
        return mentions

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (callback type 8)."""
        if self.callback is None or self.callback.type != 8:
            return []
        return list(self.callback.data.get("choices") or [])

    @property
    def modal(self) -> JSON | None:
        """The modal payload (callback type 9)."""
        return self.callback.data if self.callback and self.callback.type == 9 else None

    @property
    def text(self) -> str:
        """Text of the original response plus all follow-ups, for easy ``in`` asserts."""
        parts: list[str] = []
        if self.callback and self.callback.type == 8:
            parts.extend(str(c.get("name")) for c in self.choices)
        elif self.modal is not None:
            parts.append(str(self.modal.get("title", "")))
        elif self.message is not None:
            parts.append(text_of(self.message))
        elif self.callback is not None and self.callback.type == 4:
            parts.append(text_of(self.callback.data))
        parts.extend(text_of(m) for m in self.followups if m.get("id") != str(self.original_message_id))
        return "\n".join(p for p in parts if p)

    @property
    def done(self) -> bool:
        """Answered: callback received and, if deferred, the deferred work arrived.

        Type 5 (deferred message) needs a follow-up, an ``@original`` edit or its deletion. Type 6
        (deferred update) needs one of those *or* the bot's handler task to finish (an ack-only defer).
        """
        if self.failed is not None:
            return True
        if self.callback is None:
            return False
        if self.callback.type not in (5, 6):
            return True
        if self.followup_ids or self.edits or self.original_deleted:
            return True
        return self.callback.type == 6 and all(t.done() for t in self.handler_tasks or ())

    async def wait_done(self, timeout: float = 5.0) -> InteractionRecord:
        """Wait (event-driven) until :attr:`done`; returns ``self``."""
        await self._state.signal.wait(lambda: self.done, timeout, f"the bot to answer interaction {self.id}")
        if self.failed is not None:
            raise InteractionFailed(f"interaction {self.id}: {self.failed}")
        return self

    async def wait_until(
        self, predicate: Callable[[InteractionRecord], bool], timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until ``predicate(self)`` holds, e.g. ``lambda r: len(r.followups) >= 2``."""
        await self._state.signal.wait(
            lambda: predicate(self), timeout, f"a condition on interaction {self.id}"
        )
        return self

    async def wait_followups(self, count: int, timeout: float = 5.0) -> list[JSON]:
        await self.wait_until(lambda r: len(r.followup_ids) >= count, timeout)
        return self.followups
