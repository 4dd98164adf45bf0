"""Message storage for the fake: create/edit/delete, attachments (served from a tiny CDN) and reactions."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .payloads import (
    FLAG_EPHEMERAL,
    JSON,
    THREAD_TYPES,
    SnowflakeGenerator,
    attachment_payload,
    emoji_key,
    iso_now,
    mentioned_ids,
    number_components,
)
from .records import UploadedFile

if TYPE_CHECKING:
    from .records import Signal

#: Message keys a PATCH may change.
_EDITABLE = ("content", "embeds", "components", "poll")


class MessageStore:
    """Mixin holding every message the fake knows about. ``GuildState`` supplies the guild attributes."""

    # Provided by GuildState
    guild_id: int
    bot_user_id: int
    application_id: int
    users: dict[int, JSON]
    members: dict[int, JSON]
    channels: dict[int, JSON]
    snowflakes: SnowflakeGenerator
    signal: Signal
    cdn_base: str

    def _init_messages(self) -> None:
        self.messages: dict[int, list[JSON]] = {}
        """Channel id -> messages currently in the channel (oldest first; deleted and ephemeral excluded)."""
        self.message_log: list[JSON] = []
        """Snapshot of every message as created (never shrinks)."""
        self.deleted_messages: list[JSON] = []
        self.cdn: dict[str, bytes] = {}
        """Attachment bytes by URL path (``/attachments/...``), served by the fake."""
        self._index: dict[int, JSON] = {}
        self._reactors: dict[int, dict[str, list[int]]] = {}
        self._emoji: dict[str, JSON] = {}

    # -- lookup ----------------------------------------------------------------------------------
    def find_message(self, message_id: int | str) -> JSON | None:
        """Current payload of a (non-deleted) message, ephemeral ones included."""
        return self._index.get(int(message_id))

    def message_guild_id(self, channel_id: int) -> int | None:
        channel = self.channels.get(channel_id)
        if channel is None or channel["type"] == 1:
            return None
        return int(channel.get("guild_id") or self.guild_id)

    # -- create / edit / delete --------------------------------------------------------------------
    def store_attachments(
        self, channel_id: int, body: JSON, files: Sequence[UploadedFile], keep: Sequence[JSON] = ()
    ) -> list[JSON]:
        """Turn uploaded ``files[n]`` parts into attachment objects (plus ``keep``-ed existing ones)."""
        described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        result = list(keep)
        for index, upload in enumerate(files):
            number = upload.field.removeprefix("files[").removesuffix("]") or str(index)
            meta = described.get(number, {})
            attachment_id = self.snowflakes.next()
            filename = str(meta.get("filename") or upload.filename)
            path = f"/attachments/{channel_id}/{attachment_id}/{filename}"
            self.cdn[path] = upload.content
            result.append(
                attachment_payload(
                    attachment_id,
                    filename,
                    len(upload.content),
                    self.cdn_base + path,
                    description=meta.get("description"),
                )
            )
        return result

    def _mentions(self, content: str, allowed: JSON | None) -> tuple[list[JSON], list[str], bool]:
        user_ids, role_ids, everyone = mentioned_ids(content, allowed)
        users: list[JSON] = []
        for user_id in user_ids:
            if user_id in self.users:
                user = dict(self.users[user_id])
                if user_id in self.members:
                    user["member"] = {k: v for k, v in self.members[user_id].items() if k != "user"}
                users.append(user)
        return users, [str(r) for r in role_ids], everyone

    def create_message(
        self,
        channel_id: int,
        author_id: int,
        body: JSON,
        files: Sequence[UploadedFile] = (),
        *,
        msg_type: int = 0,
        interaction: JSON | None = None,
        extra_flags: int = 0,
    ) -> JSON:
        """Store a new message built from a REST body; returns the stored payload."""
        content = str(body.get("content") or "")
        mentions, mention_roles, everyone = self._mentions(content, body.get("allowed_mentions"))
        components = copy.deepcopy(body.get("components") or [])
        number_components(components)
        flags = int(body.get("flags") or 0) | extra_flags
        message: JSON = {
            "id": str(self.snowflakes.next()),
            "channel_id": str(channel_id),
            "author": dict(self.users[author_id]),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self.store_attachments(channel_id, body, files),
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "reactions": [],
            "pinned": False,
            "type": msg_type,
            "flags": flags,
            "components": components,
        }
        guild_id = self.message_guild_id(channel_id)
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
            if author_id in self.members and interaction is None:
                message["member"] = {k: v for k, v in self.members[author_id].items() if k != "user"}
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll"):
            message["poll"] = copy.deepcopy(body["poll"])
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = interaction
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                **({"guild_id": str(guild_id)} if guild_id else {}),
            }
            message["referenced_message"] = copy.deepcopy(self.find_message(reference["message_id"]))
            if msg_type == 0:
                message["type"] = 19
        self._index[int(message["id"])] = message
        if not flags & FLAG_EPHEMERAL:
            self.messages.setdefault(channel_id, []).append(message)
            channel = self.channels.get(channel_id)
            if channel is not None:
                channel["last_message_id"] = message["id"]
                if channel["type"] in THREAD_TYPES:
                    channel["message_count"] = channel.get("message_count", 0) + 1
                    channel["total_message_sent"] = channel.get("total_message_sent", 0) + 1
        self.message_log.append(copy.deepcopy(message))
        self.signal.notify()
        return message

    def edit_message(self, message_id: int, body: JSON, files: Sequence[UploadedFile] = ()) -> JSON:
        """Apply a PATCH body to a stored message (in place) and return it."""
        message = self._index[int(message_id)]
        for key in _EDITABLE:
            if key in body:
                value = copy.deepcopy(body[key])
                if key == "components":
                    number_components(value)
                message[key] = value if value is not None else ([] if key != "content" else "")
        if "content" in body or "allowed_mentions" in body:
            users, roles, everyone = self._mentions(message["content"], body.get("allowed_mentions"))
            message.update(mentions=users, mention_roles=roles, mention_everyone=everyone)
        if "flags" in body and body["flags"] is not None:
            keep = int(message["flags"]) & FLAG_EPHEMERAL
            message["flags"] = (int(body["flags"]) & ~FLAG_EPHEMERAL) | keep
        channel_id = int(message["channel_id"])
        if "attachments" in body and body["attachments"] is not None:
            existing = {a["id"]: a for a in message["attachments"]}
            keep_list = [existing[str(a["id"])] for a in body["attachments"] if str(a.get("id")) in existing]
            message["attachments"] = self.store_attachments(channel_id, body, files, keep_list)
        elif files:
            message["attachments"] = self.store_attachments(channel_id, body, files, message["attachments"])
        message["edited_timestamp"] = iso_now()
        self.signal.notify()
        return message

    def delete_message(self, message_id: int) -> JSON | None:
        message = self._index.pop(int(message_id), None)
        if message is None:
            return None
        channel_messages = self.messages.get(int(message["channel_id"]), [])
        if message in channel_messages:
            channel_messages.remove(message)
        self.deleted_messages.append(message)
        self._reactors.pop(int(message_id), None)
        self.signal.notify()
        return message

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[JSON]:
        """Messages newest-first, like ``GET /channels/{id}/messages``."""
        stored = sorted(self.messages.get(channel_id, []), key=lambda m: int(m["id"]))
        limit = max(1, min(limit, 100))
        if around is not None:
            older = [m for m in stored if int(m["id"]) < around][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in stored if int(m["id"]) >= around][: limit - len(older)]
            return list(reversed(older + newer))
        if after is not None:
            return list(reversed([m for m in stored if int(m["id"]) > after][:limit]))
        if before is not None:
            stored = [m for m in stored if int(m["id"]) < before]
        return list(reversed(stored[-limit:]))

    # -- reactions --------------------------------------------------------------------------------
    def set_reaction(self, message_id: int, emoji: JSON, user_id: int, *, present: bool) -> bool:
        """Add/remove ``user_id``'s reaction; returns whether anything changed."""
        message = self._index[int(message_id)]
        key = emoji_key(emoji)
        self._emoji.setdefault(key, emoji)
        users = self._reactors.setdefault(int(message_id), {}).setdefault(key, [])
        if present == (user_id in users):
            return False
        if present:
            users.append(user_id)
        else:
            users.remove(user_id)
        self._refresh_reactions(message)
        self.signal.notify()
        return True

    def clear_reactions(self, message_id: int) -> None:
        self._reactors.pop(int(message_id), None)
        message = self._index.get(int(message_id))
        if message is not None:
            message["reactions"] = []
        self.signal.notify()

    def reaction_users(self, message_id: int, emoji: JSON) -> list[int]:
        return list(self._reactors.get(int(message_id), {}).get(emoji_key(emoji), []))

    def _refresh_reactions(self, message: JSON) -> None:
        reactions = []
        for key, users in self._reactors.get(int(message["id"]), {}).items():
            if users:
                reactions.append(
                    {
                        "emoji": self._emoji[key],
                        "count": len(users),
                        "count_details": {"burst": 0, "normal": len(users)},
                        "me": self.bot_user_id in users,
                        "me_burst": False,
                        "burst_colors": [],
                    }
                )
        message["reactions"] = reactions
