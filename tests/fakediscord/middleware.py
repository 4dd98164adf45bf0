"""HTTP plumbing: JSON responses, request recording, multipart parsing, fault injection, rate limits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Middleware

from .records import RecordedRequest, UploadedFile, route_matches
from .spec import iter_fields, spec_checker

if TYPE_CHECKING:
    from .server import FakeDiscord

API_PREFIX = "/api/v10"
_HEADERS_OF_INTEREST = ("Authorization", "Content-Type", "X-Audit-Log-Reason", "User-Agent")
#: Routes authenticated by the token in the URL rather than the bot token.
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Where the middleware stores the RecordedRequest on the aiohttp request.
RECORD_KEY: Any = web.RequestKey("record", RecordedRequest) if hasattr(web, "RequestKey") else "record"


class ApiError(Exception):
    """Raise from a handler to answer with a Discord-style JSON error."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly (discord.py ignores bodies with a charset)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def bucket_hash(method: str, route: str) -> str:
    return hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:16]


@dataclass
class FaultRule:
    """One ``fail_next`` rule; consumed by the first ``times`` matching requests."""

    method: str
    pattern: str
    status: int
    times: int
    retry_after: float
    code: int
    message: str | None
    is_global: bool = False
    hits: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.hits

    def response(self, record: RecordedRequest) -> web.Response:
        if self.status == 429:
            return rate_limited(record, self.retry_after, is_global=self.is_global, limit=1)
        return json_response(
            {"message": self.message or f"{self.status}: injected failure", "code": self.code}, self.status
        )


def rate_limited(
    record: RecordedRequest, retry_after: float, *, is_global: bool = False, limit: int = 1
) -> web.Response:
    """A genuine-looking 429 (``Via`` header included, so discord.py retries instead of bailing out)."""
    retry_after = math.ceil(retry_after * 1000) / 1000
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": bucket_hash(record.method, record.route),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
        "code": 0,
    }
    return json_response(body, 429, headers)


class RateLimiter:
    """Optional enforcement: fixed windows per (method, route, channel) bucket plus a global per-second cap."""

    def __init__(self) -> None:
        self.per_channel: tuple[int, float] | None = None
        self.global_per_second: int | None = None
        self._buckets: dict[tuple[str, str, str], list[float]] = {}
        self._global: list[float] = [0.0, 0.0]

    def configure(self, per_channel: tuple[int, float] | None, global_per_second: int | None) -> None:
        self.per_channel, self.global_per_second = per_channel, global_per_second
        self._buckets.clear()
        self._global = [0.0, 0.0]

    def check(self, record: RecordedRequest) -> tuple[web.Response | None, dict[str, str]]:
        """Return (429 response or None, rate-limit headers to add to a successful response)."""
        now = asyncio.get_running_loop().time()
        if self.global_per_second and not record.path.startswith("/interactions/"):
            window_end, count = self._global
            if now >= window_end:
                window_end, count = now + 1.0, 0
            if count >= self.global_per_second:
                return rate_limited(record, window_end - now, is_global=True), {}
            self._global = [window_end, count + 1]
        channel_id = record.params.get("channel_id")
        if not self.per_channel or channel_id is None:
            return None, {}
        limit, window = self.per_channel
        key = (record.method, record.route, channel_id)
        window_end, count = self._buckets.get(key, (0.0, 0.0))
        if now >= window_end:
            window_end, count = now + window, 0
        if count >= limit:
            return rate_limited(record, window_end - now, limit=limit), {}
        count += 1
        self._buckets[key] = [window_end, count]
        reset_after = math.ceil((window_end - now) * 1000) / 1000
        return None, {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(int(limit - count)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(record.method, record.route),
        }


async def parse_request(request: web.Request) -> RecordedRequest:
    """Read the body (JSON or multipart with ``payload_json`` + ``files[n]``) into a record."""
    body: Any = None
    files: list[UploadedFile] = []
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # nested multipart: not used by Discord
                continue
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                content = bytes(await part.read(decode=False))
                files.append(
                    UploadedFile(
                        part.name or "", part.filename or "", content, part.headers.get("Content-Type")
                    )
                )
    elif request.can_read_body:
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
    resource = request.match_info.route.resource
    route = resource.canonical.removeprefix(API_PREFIX) if resource is not None else request.path
    return RecordedRequest(
        method=request.method,
        path=request.path.removeprefix(API_PREFIX),
        route=route or "/",
        params=dict(request.match_info),
        query=dict(request.query),
        json=body,
        files=files,
        headers={h: request.headers[h] for h in _HEADERS_OF_INTEREST if h in request.headers},
        time=asyncio.get_running_loop().time(),
    )


def _preflight(fake: FakeDiscord, record: RecordedRequest) -> tuple[web.Response | None, dict[str, str]]:
    """Auth, injected faults, unknown/forbidden channels and rate limits.

    Returns (early response or None, rate-limit headers for the eventual response).
    """
    if not record.path.startswith(_TOKEN_ROUTES) and not record.headers.get("Authorization", "").startswith(
        "Bot "
    ):
        return json_response({"message": "401: Unauthorized", "code": 0}, 401), {}
    for rule in fake.fault_rules:
        if rule.remaining > 0 and route_matches(
            rule.method, rule.pattern, record.method, record.path, record.route
        ):
            rule.hits += 1
            record.injected = True
            return rule.response(record), {}
    channel_param = record.params.get("channel_id")
    if channel_param is not None:
        channel_id = int(channel_param)
        if channel_id not in fake.channels:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404), {}
        if channel_id in fake.forbidden_channels and record.method != "GET":
            return json_response({"message": "Missing Permissions", "code": 50013}, 403), {}
    limited, headers = fake.rate_limiter.check(record)
    if limited is not None:
        record.injected = True
    return limited, headers


def check_body(fake: FakeDiscord, record: RecordedRequest) -> web.Response | None:
    """Validate the body against Discord's OpenAPI spec; a violation is answered 400 / 50035, as Discord does."""
    checker = spec_checker() if fake.validate_bodies else None
    if checker is None:
        return None
    template, problems = checker.check(record.method, record.path, record.json)
    if template is not None:
        fake.validated_bodies += 1
    if not problems:
        return None
    fake.record_violation(record, "spec", problems)
    errors: dict[str, Any] = {}
    for where, message in problems:
        node = errors
        for part in [p for p in where.split(".") if p]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": "OPENAPI_SCHEMA", "message": message})
    return json_response({"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400)


def make_middleware(fake: FakeDiscord) -> Middleware:
    @web.middleware
    async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        record = await parse_request(request)
        request[RECORD_KEY] = record
        early, ratelimit_headers = _preflight(fake, record)
        if early is None:
            early = check_body(fake, record)
        response: web.StreamResponse
        if early is not None:
            response = early
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                if exc.body.get("code") == 50035:
                    fake.record_violation(record, "limits", list(iter_fields(exc.body.get("errors"))))
                response = json_response(exc.body, exc.status)
            except web.HTTPException as exc:
                response = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
                fake.unhandled.append(record)
            response.headers.update(ratelimit_headers)
        record.status = response.status
        if (
            isinstance(response, web.Response)
            and response.body
            and response.content_type == "application/json"
        ):
            record.response = json.loads(bytes(response.body))  # type: ignore[arg-type]
        fake.requests.append(record)
        fake.signal.notify()
        return response

    return record_requests
