"""Builders for Discord API v10 JSON payloads, snowflakes and permission constants.

Everything here is pure (no I/O). Shapes follow what discord.py 2.7 parses; fields it reads with
``data[...]`` (required) are always present.
"""

from __future__ import annotations

import datetime as dt
import itertools
import mimetypes
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import discord

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

#: Permission bit sets (ints). ``ALL`` is what the guild owner / administrators get.
ALL_PERMISSIONS: int = discord.Permissions.all().value
ADMINISTRATOR: int = discord.Permissions(administrator=True).value
EVERYONE_PERMISSIONS: int = discord.Permissions(
    view_channel=True,
    create_instant_invite=True,
    change_nickname=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    read_message_history=True,
    use_application_commands=True,
    connect=True,
    speak=True,
).value
MODERATOR_PERMISSIONS: int = discord.Permissions(
    manage_messages=True,
    manage_threads=True,
    kick_members=True,
    moderate_members=True,
    mute_members=True,
).value
BOT_PERMISSIONS: int = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    manage_threads=True,
    manage_messages=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    read_message_history=True,
).value
#: What a "forbidden" channel denies the bot (writes fail with 403 / 50013).
FORBIDDEN_DENY: int = discord.Permissions(
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    add_reactions=True,
    attach_files=True,
    embed_links=True,
).value

#: Gateway intent bits used for event filtering.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15

# Message flags
FLAG_EPHEMERAL = 64
FLAG_LOADING = 128

# Channel types
TEXT, DM, CATEGORY, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 4, 11, 12
THREAD_TYPES = frozenset({10, PUBLIC_THREAD, PRIVATE_THREAD})

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Fixed, readable default ids (valid snowflakes dated 2021), so tests can hard-code them if they like.
DEFAULT_GUILD_ID = 900_000_000_000_000_001
DEFAULT_BOT_USER_ID = 900_000_000_000_000_900
DEFAULT_APPLICATION_ID = 900_000_000_000_000_901


class SnowflakeGenerator:
    """Monotonic snowflakes based on wall-clock milliseconds (ids sort by creation order)."""

    def __init__(self) -> None:
        self._last = 0
        self.offset_ms = 0
        """Added to the wall clock (``FakeDiscord.advance`` moves the fake's time forward)."""

    def next(self) -> int:
        now = (int(time.time() * 1000) + self.offset_ms - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


def iso_now() -> str:
    """Current UTC time in Discord's ISO-8601 format."""
    return dt.datetime.now(dt.UTC).isoformat()


def user_payload(user_id: int, username: str, *, bot: bool = False, global_name: str | None = None) -> JSON:
    return {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": global_name if global_name is not None else (None if bot else username.title()),
        "avatar": None,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "bot": bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
    }


def member_payload(user: JSON, role_ids: list[int], *, nick: str | None = None) -> JSON:
    return {
        "user": user,
        "roles": [str(r) for r in role_ids],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": "2024-01-01T00:00:00+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }


def role_payload(
    role_id: int,
    name: str,
    permissions: int,
    position: int,
    *,
    bot_id: int | None = None,
    color: int = 0,
    hoist: bool = False,
    mentionable: bool = False,
) -> JSON:
    role: JSON = {
        "id": str(role_id),
        "name": name,
        "color": color,
        "hoist": hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": bot_id is not None,
        "mentionable": mentionable,
        "flags": 0,
    }
    if bot_id is not None:
        role["tags"] = {"bot_id": str(bot_id)}
    return role


def channel_payload(
    channel_id: int,
    guild_id: int,
    name: str,
    *,
    type: int = TEXT,
    position: int = 0,
    topic: str | None = None,
    parent_id: int | None = None,
    nsfw: bool = False,
    overwrites: list[JSON] | None = None,
) -> JSON:
    return {
        "id": str(channel_id),
        "type": type,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": overwrites or [],
        "topic": topic,
        "nsfw": nsfw,
        "rate_limit_per_user": 0,
        "parent_id": str(parent_id) if parent_id else None,
        "last_message_id": None,
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }


def thread_payload(
    thread_id: int,
    guild_id: int,
    parent_id: int,
    owner_id: int,
    name: str,
    *,
    type: int = PUBLIC_THREAD,
    auto_archive_duration: int = 1440,
) -> JSON:
    now = iso_now()
    return {
        "id": str(thread_id),
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "type": type,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "invitable": True,
            "create_timestamp": now,
        },
        "member": {"id": str(thread_id), "user_id": str(owner_id), "join_timestamp": now, "flags": 0},
    }


def dm_channel_payload(channel_id: int, recipient: JSON) -> JSON:
    return {"id": str(channel_id), "type": DM, "last_message_id": None, "recipients": [recipient], "flags": 0}


def attachment_payload(
    attachment_id: int, filename: str, size: int, url: str, *, description: str | None = None
) -> JSON:
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    payload: JSON = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }
    if description is not None:
        payload["description"] = description
    return payload


_CUSTOM_EMOJI = re.compile(r"^<?(a?):?([\w~-]+):(\d+)>?$")


def parse_emoji(emoji: str) -> JSON:
    """Parse ``"👍"``, ``"name:123"``, ``"<:name:123>"`` or ``"<a:name:123>"`` into an emoji object."""
    match = _CUSTOM_EMOJI.match(emoji.strip())
    if match:
        payload: JSON = {"id": match.group(3), "name": match.group(2)}
        if match.group(1):
            payload["animated"] = True
        return payload
    return {"id": None, "name": emoji.strip()}


def emoji_key(emoji: JSON) -> str:
    """Stable key for an emoji object: ``name:id`` for custom emoji, the character otherwise."""
    return f"{emoji['name']}:{emoji['id']}" if emoji.get("id") else str(emoji["name"])


def walk_components(components: list[JSON] | None) -> Iterator[JSON]:
    """Yield every component in a (possibly nested) component tree, depth first."""
    for component in components or []:
        yield component
        yield from walk_components(component.get("components"))
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from walk_components([child])


def number_components(components: list[JSON] | None) -> None:
    """Assign sequential numeric ``id`` fields like Discord does for components that lack one."""
    counter = itertools.count(1)
    used = {c["id"] for c in walk_components(components) if isinstance(c.get("id"), int)}
    for component in walk_components(components):
        if component.get("id") is None:
            next_id = next(counter)
            while next_id in used:
                next_id = next(counter)
            component["id"] = next_id


def text_of(message: Mapping[str, Any] | None) -> str:
    """Content plus embed author/title/description/fields/footer of a message-like dict, one per line."""
    if not message:
        return ""
    parts: list[str] = []
    if message.get("content"):
        parts.append(str(message["content"]))
    for embed in message.get("embeds") or []:
        if (embed.get("author") or {}).get("name"):
            parts.append(embed["author"]["name"])
        for key in ("title", "description"):
            if embed.get(key):
                parts.append(str(embed[key]))
        for field in embed.get("fields") or []:
            parts.append(f"{field.get('name', '')}: {field.get('value', '')}")
        if (embed.get("footer") or {}).get("text"):
            parts.append(embed["footer"]["text"])
    return "\n".join(parts)


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def mentioned_ids(content: str, allowed: JSON | None) -> tuple[list[int], list[int], bool]:
    """(user ids, role ids, everyone) that *ping*, honouring an ``allowed_mentions`` object."""
    users = [int(x) for x in _USER_MENTION.findall(content)]
    roles = [int(x) for x in _ROLE_MENTION.findall(content)]
    everyone = "@everyone" in content or "@here" in content
    if allowed is not None:
        parse = set(allowed.get("parse") or [])
        allowed_users = {int(x) for x in allowed.get("users") or []}
        allowed_roles = {int(x) for x in allowed.get("roles") or []}
        users = [u for u in users if "users" in parse or u in allowed_users]
        roles = [r for r in roles if "roles" in parse or r in allowed_roles]
        everyone = everyone and "everyone" in parse
    return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone


def message_delete_event(message: JSON) -> JSON:
    data = {"id": message["id"], "channel_id": message["channel_id"]}
    if "guild_id" in message:
        data["guild_id"] = message["guild_id"]
    return data


def reaction_event(message: JSON, emoji: JSON, user_id: int, *, added: bool, member: JSON | None) -> JSON:
    """``MESSAGE_REACTION_ADD`` / ``_REMOVE`` payload (``member`` only for guild adds)."""
    data: JSON = {
        "user_id": str(user_id),
        "channel_id": message["channel_id"],
        "message_id": message["id"],
        "emoji": emoji,
        "burst": False,
        "type": 0,
    }
    if "guild_id" in message:
        data["guild_id"] = message["guild_id"]
    if added:
        data["message_author_id"] = message["author"]["id"]
        data["burst_colors"] = []
        if member is not None:
            data["member"] = member
    return data
