"""REST routes for users, the application, commands, the guild, channels, messages, reactions and threads."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web

from .middleware import API_PREFIX, RECORD_KEY, ApiError, json_response, no_content
from .payloads import DM, JSON, PRIVATE_THREAD, PUBLIC_THREAD, iso_now, parse_emoji, thread_payload
from .records import RecordedRequest
from .validate import validate_commands, validate_message

if TYPE_CHECKING:
    from .server import FakeDiscord


def record_of(request: web.Request) -> RecordedRequest:
    record: RecordedRequest = request[RECORD_KEY]
    return record


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(
            400, 50035, "Invalid Form Body", {name: {"_errors": [{"code": "NUMBER_TYPE_COERCE"}]}}
        ) from None


class RestApi:
    """Handlers for the bot-token authenticated part of the API."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        apps = p + "/applications/{application_id}"
        msg = p + "/channels/{channel_id}/messages/{message_id}"
        return [
            web.get(p + "/users/@me", self.get_me),
            web.get(p + "/users/@me/guilds", self.my_guilds),
            web.post(p + "/users/@me/channels", self.create_dm),
            web.get(p + "/users/{user_id}", self.get_user),
            web.get(p + "/oauth2/applications/@me", self.application_info),
            web.get(p + "/applications/@me", self.application_info),
            web.get(p + "/gateway", self.get_gateway),
            web.get(p + "/gateway/bot", self.get_gateway),
            web.put(apps + "/commands", self.put_commands),
            web.get(apps + "/commands", self.get_commands),
            web.put(apps + "/guilds/{guild_id}/commands", self.put_commands),
            web.get(apps + "/guilds/{guild_id}/commands", self.get_commands),
            web.get(p + "/guilds/{guild_id}", self.get_guild),
            web.get(p + "/guilds/{guild_id}/channels", self.get_guild_channels),
            web.get(p + "/guilds/{guild_id}/roles", self.get_roles),
            web.get(p + "/guilds/{guild_id}/members", self.list_members),
            web.get(p + "/guilds/{guild_id}/members/{user_id}", self.get_member),
            web.put(p + "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.member_role),
            web.delete(p + "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.member_role),
            web.get(p + "/channels/{channel_id}", self.get_channel),
            web.post(p + "/channels/{channel_id}/typing", self.typing),
            web.get(p + "/channels/{channel_id}/messages", self.list_messages),
            web.post(p + "/channels/{channel_id}/messages", self.create_message),
            web.post(p + "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            web.get(p + "/channels/{channel_id}/messages/pins", self.list_pins),
            web.put(p + "/channels/{channel_id}/messages/pins/{message_id}", self.pin),
            web.delete(p + "/channels/{channel_id}/messages/pins/{message_id}", self.pin),
            web.get(msg, self.get_message),
            web.patch(msg, self.edit_message),
            web.delete(msg, self.delete_message),
            web.put(msg + "/reactions/{emoji}/@me", self.add_own_reaction),
            web.delete(msg + "/reactions/{emoji}/@me", self.remove_reaction),
            web.delete(msg + "/reactions/{emoji}/{user_id}", self.remove_reaction),
            web.get(msg + "/reactions/{emoji}", self.reaction_users),
            web.delete(msg + "/reactions", self.clear_reactions),
            web.post(msg + "/threads", self.thread_from_message),
            web.post(p + "/channels/{channel_id}/threads", self.thread_without_message),
        ]

    # -- users & application ---------------------------------------------------------------------------
    async def get_me(self, request: web.Request) -> web.Response:
        user = self.fake.users[self.fake.bot_user_id]
        return json_response(
            {**user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        )

    async def my_guilds(self, request: web.Request) -> web.Response:
        """The bot's guilds (partial guild objects); ``after`` pages past the one guild."""
        after = int(request.query.get("after", "0") or 0)
        fake = self.fake
        guilds = [
            {
                "id": str(fake.guild_id),
                "name": fake.guild_name,
                "icon": None,
                "owner": False,
                "permissions": "0",
                "features": [],
            }
        ]
        return json_response([g for g in guilds if int(g["id"]) > after])

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.fake.users.get(_int(request, "user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user)

    async def application_info(self, request: web.Request) -> web.Response:
        fake = self.fake
        bot_user = fake.users[fake.bot_user_id]
        owner = fake.users.get(fake.owner_id) or bot_user
        return json_response(
            {
                "id": str(fake.application_id),
                "name": bot_user["username"],
                "icon": None,
                "description": "Fake application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner,
                "team": None,
                "flags": 0,
                "bot": bot_user,
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    async def create_dm(self, request: web.Request) -> web.Response:
        body = record_of(request).json or {}
        try:
            user_id = int(str(body.get("recipient_id")))
        except (TypeError, ValueError):
            raise ApiError(400, 50035, "Invalid Form Body") from None
        if user_id not in self.fake.users:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return json_response(self.fake.ensure_dm_channel(user_id))

    # -- commands ----------------------------------------------------------------------------------
    def _command_scope(self, request: web.Request) -> int | None:
        if _int(request, "application_id") != self.fake.application_id:
            raise ApiError(403, 50001, "Missing Access")
        guild = request.match_info.get("guild_id")
        if guild is not None and int(guild) != self.fake.guild_id:
            raise ApiError(403, 50001, "Missing Access")
        return int(guild) if guild is not None else None

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        payloads = validate_commands(record_of(request).json)
        return json_response(self.fake.store_commands(scope, payloads))

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.fake.commands.get(self._command_scope(request), []))

    # -- guild -----------------------------------------------------------------------------------------
    def _guild(self, request: web.Request) -> None:
        if _int(request, "guild_id") != self.fake.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")

    async def get_guild(self, request: web.Request) -> web.Response:
        self._guild(request)
        payload = self.fake.guild_payload()
        for key in ("members", "channels", "threads", "presences", "voice_states"):
            payload.pop(key)
        return json_response(payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        self._guild(request)
        return json_response(self.fake.guild_payload()["channels"])

    async def get_roles(self, request: web.Request) -> web.Response:
        self._guild(request)
        return json_response(list(self.fake.roles.values()))

    async def list_members(self, request: web.Request) -> web.Response:
        self._guild(request)
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 1))
        members = sorted(self.fake.members.items())
        return json_response([m for uid, m in members if uid > after][:limit])

    async def get_member(self, request: web.Request) -> web.Response:
        self._guild(request)
        member = self.fake.members.get(_int(request, "user_id"))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(member)

    async def member_role(self, request: web.Request) -> web.Response:
        self._guild(request)
        member = self.fake.members.get(_int(request, "user_id"))
        role_id = request.match_info["role_id"]
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        if int(role_id) not in self.fake.roles:
            raise ApiError(404, 10011, "Unknown Role")
        roles = [r for r in member["roles"] if r != role_id]
        member["roles"] = [*roles, role_id] if request.method == "PUT" else roles
        self.fake.dispatch_nowait("GUILD_MEMBER_UPDATE", {**member, "guild_id": str(self.fake.guild_id)})
        return no_content()

    # -- channels & messages -------------------------------------------------------------------------
    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.fake.channels[_int(request, "channel_id")])

    async def typing(self, request: web.Request) -> web.Response:
        return no_content()

    async def list_messages(self, request: web.Request) -> web.Response:
        query = request.query
        optional = {k: int(query[k]) for k in ("before", "after", "around") if k in query}
        history = self.fake.history(
            _int(request, "channel_id"), limit=int(query.get("limit", 50)), **optional
        )
        return json_response(history)

    def _message(self, request: web.Request) -> JSON:
        message = self.fake.find_message(_int(request, "message_id"))
        if message is None or int(message["channel_id"]) != _int(request, "channel_id"):
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def create_message(self, request: web.Request) -> web.Response:
        record = record_of(request)
        channel_id = _int(request, "channel_id")
        channel = self.fake.channels[channel_id]
        if channel["type"] == DM and int(channel["recipients"][0]["id"]) in self.fake.dm_refused:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        body = validate_message(record.json, record.files)
        reference = body.get("message_reference")
        if (
            reference
            and reference.get("fail_if_not_exists", True)
            and not self.fake.find_message(reference["message_id"])
        ):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "message_reference": {
                        "_errors": [
                            {"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}
                        ]
                    }
                },
            )
        nonce_key = (
            (channel_id, str(body["nonce"])) if body.get("enforce_nonce") and body.get("nonce") else None
        )
        if nonce_key is not None:
            # Discord: the same author, channel and nonce "within the past few minutes" returns the first
            # message; after that window a resend is a new message.
            seen = self.fake.nonces.get(nonce_key)
            earlier = self.fake.find_message(seen[0]) if seen else None
            if seen and earlier is not None and self.fake.now() - seen[1] <= self.fake.nonce_window:
                return json_response(earlier)
        message = self.fake.create_message(channel_id, self.fake.bot_user_id, body, record.files)
        if nonce_key is not None:
            self.fake.nonces[nonce_key] = (int(message["id"]), self.fake.now())
        self.fake.dispatch_nowait("MESSAGE_CREATE", message)
        return json_response(message)

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message(request))

    async def edit_message(self, request: web.Request) -> web.Response:
        record = record_of(request)
        message = self._message(request)
        if int(message["author"]["id"]) != self.fake.bot_user_id and set(record.json or {}) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = validate_message(record.json, record.files, edit=True)
        message = self.fake.edit_message(int(message["id"]), body, record.files)
        self.fake.dispatch_nowait("MESSAGE_UPDATE", message)
        return json_response(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.delete_message(int(message["id"]))
        self.fake.dispatch_message_delete(message)
        return no_content()

    async def bulk_delete(self, request: web.Request) -> web.Response:
        ids = [str(i) for i in (record_of(request).json or {}).get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise ApiError(400, 50016, "You must provide at least 2 and fewer than 100 messages to delete.")
        for message_id in ids:
            self.fake.delete_message(int(message_id))
        channel_id = request.match_info["channel_id"]
        data: JSON = {"ids": ids, "channel_id": channel_id, "guild_id": str(self.fake.guild_id)}
        self.fake.dispatch_nowait("MESSAGE_DELETE_BULK", data)
        return no_content()

    async def list_pins(self, request: web.Request) -> web.Response:
        pinned = [m for m in self.fake.messages.get(_int(request, "channel_id"), []) if m["pinned"]]
        items = [{"pinned_at": m["timestamp"], "message": m} for m in reversed(pinned)]
        return json_response({"items": items, "has_more": False})

    async def pin(self, request: web.Request) -> web.Response:
        message = self._message(request)
        message["pinned"] = request.method == "PUT"
        self.fake.dispatch_nowait("MESSAGE_UPDATE", message)
        return no_content()

    # -- reactions -----------------------------------------------------------------------------------
    def _emoji(self, request: web.Request) -> JSON:
        return parse_emoji(unquote(request.match_info["emoji"]))

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        emoji = self._emoji(request)
        if self.fake.set_reaction(int(message["id"]), emoji, self.fake.bot_user_id, present=True):
            self.fake.dispatch_reaction(message, emoji, self.fake.bot_user_id, added=True)
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        emoji = self._emoji(request)
        user_param = request.match_info.get("user_id")
        user_id = int(user_param) if user_param else self.fake.bot_user_id
        if self.fake.set_reaction(int(message["id"]), emoji, user_id, present=False):
            self.fake.dispatch_reaction(message, emoji, user_id, added=False)
        return no_content()

    async def reaction_users(self, request: web.Request) -> web.Response:
        message = self._message(request)
        users = self.fake.reaction_users(int(message["id"]), self._emoji(request))
        return json_response([self.fake.users[u] for u in users if u in self.fake.users])

    async def clear_reactions(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.clear_reactions(int(message["id"]))
        data = {
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": str(self.fake.guild_id),
        }
        self.fake.dispatch_nowait("MESSAGE_REACTION_REMOVE_ALL", data)
        return no_content()

    # -- threads -------------------------------------------------------------------------------------
    async def thread_from_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.get("thread"):
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body = record_of(request).json or {}
        thread = self._new_thread(_int(request, "channel_id"), int(message["id"]), body, PUBLIC_THREAD)
        message["thread"] = thread
        self.fake.dispatch_nowait("MESSAGE_UPDATE", message)
        return json_response(thread, 201)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        body = record_of(request).json or {}
        kind = int(body.get("type") or PRIVATE_THREAD)
        thread = self._new_thread(_int(request, "channel_id"), self.fake.snowflakes.next(), body, kind)
        return json_response(thread, 201)

    def _new_thread(self, parent_id: int, thread_id: int, body: JSON, kind: int) -> JSON:
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "name": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_BAD_LENGTH",
                                "message": "Must be between 1 and 100 in length.",
                            }
                        ]
                    }
                },
            )
        thread = thread_payload(
            thread_id,
            self.fake.guild_id,
            parent_id,
            self.fake.bot_user_id,
            name,
            type=kind,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        thread["rate_limit_per_user"] = int(body.get("rate_limit_per_user") or 0)
        thread["thread_metadata"]["create_timestamp"] = iso_now()
        self.fake.channels[thread_id] = thread
        self.fake.dispatch_nowait("THREAD_CREATE", {**thread, "newly_created": True})
        self.fake.signal.notify()
        return thread
