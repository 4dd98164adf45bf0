"""The fake guild: users, members, roles, channels, DMs, permissions and synced application commands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .messages import MessageStore
from .payloads import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    BOT_PERMISSIONS,
    DEFAULT_APPLICATION_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_GUILD_ID,
    EVERYONE_PERMISSIONS,
    FORBIDDEN_DENY,
    JSON,
    MODERATOR_PERMISSIONS,
    TEXT,
    THREAD_TYPES,
    SnowflakeGenerator,
    channel_payload,
    dm_channel_payload,
    member_payload,
    role_payload,
    user_payload,
)
from .records import InteractionRecord, Signal

DEFAULT_CHANNELS: tuple[str, ...] = ("general", "papers", "vision", "mod-log")
DEFAULT_ROLES: Mapping[str, int] = {"Admin": ADMINISTRATOR, "Moderator": MODERATOR_PERMISSIONS}
DEFAULT_MEMBERS: Mapping[str, Sequence[str]] = {"admin": ["Admin"], "member": [], "moderator": ["Moderator"]}

UserRef = int | str
ChannelRef = int | str


class GuildState(MessageStore):
    """A single guild plus DMs. Pure state; :class:`~tests.fakediscord.server.FakeDiscord` adds I/O."""

    def __init__(
        self,
        *,
        guild_id: int = DEFAULT_GUILD_ID,
        guild_name: str = "Test Guild",
        channels: Sequence[str] | Mapping[str, int] | None = None,
        roles: Mapping[str, int] | None = None,
        members: Mapping[str, Sequence[str]] | None = None,
        owner: str | None = "admin",
        bot_user_id: int = DEFAULT_BOT_USER_ID,
        bot_name: str = "PaperBot",
        bot_permissions: int = BOT_PERMISSIONS,
        application_id: int = DEFAULT_APPLICATION_ID,
        forbidden_channels: Iterable[str] = (),
        dm_refused: Iterable[UserRef] = (),
        default_user: str = "member",
    ) -> None:
        self._before_populate()
        self.guild_id = guild_id
        self.guild_name = guild_name
        self.bot_user_id = bot_user_id
        self.application_id = application_id
        self.snowflakes = SnowflakeGenerator()
        self.signal = Signal()
        self.cdn_base = "http://127.0.0.1"
        self.users: dict[int, JSON] = {}
        self.members: dict[int, JSON] = {}
        self.roles: dict[int, JSON] = {}
        self.channels: dict[int, JSON] = {}
        self.dm_channels: dict[int, int] = {}
        """Recipient user id -> DM channel id."""
        self.forbidden_channels: set[int] = set()
        self.dm_refused: set[int] = set()
        """User ids whose DMs fail with 403 / 50007."""
        self.commands: dict[int | None, list[JSON]] = {}
        """Synced command payloads (as echoed back) keyed by guild id; ``None`` = global."""
        self.interactions: list[InteractionRecord] = []
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._init_messages()

        everyone_perms = dict(roles or {}).pop("@everyone", EVERYONE_PERMISSIONS)
        self.roles[guild_id] = role_payload(guild_id, "@everyone", everyone_perms, 0)
        for name, perms in (roles if roles is not None else DEFAULT_ROLES).items():
            if name != "@everyone":
                self.add_role(name, permissions=perms, id=guild_id + 200 + len(self.roles))
        self.bot_role_id = guild_id + 299
        self.roles[self.bot_role_id] = role_payload(
            self.bot_role_id, bot_name, bot_permissions, len(self.roles), bot_id=bot_user_id
        )
        self.users[bot_user_id] = user_payload(bot_user_id, bot_name, bot=True)
        self.members[bot_user_id] = member_payload(self.users[bot_user_id], [self.bot_role_id])
        for index, (name, role_names) in enumerate(
            (members if members is not None else DEFAULT_MEMBERS).items()
        ):
            self.add_member(name, roles=role_names, id=guild_id + 300 + index)
        self.owner_id = self.users_by_name().get(owner or "", guild_id + 399)
        channel_items = channels.items() if isinstance(channels, Mapping) else None
        if channel_items is None:
            names = DEFAULT_CHANNELS if channels is None else channels
            channel_items = {n: guild_id + 100 + i for i, n in enumerate(names)}.items()
        for name, channel_id in channel_items:
            self.add_channel(name, id=channel_id, forbidden=name in set(forbidden_channels))
        for user in dm_refused:
            self.dm_refused.add(self.user_id(user))
        self.default_user = default_user if default_user in self.users_by_name() else None
        """Username used when a driving method gets no ``user=``."""

    # -- hooks for the server ------------------------------------------------------------------------
    def _before_populate(self) -> None:
        """Called first in ``__init__`` (the server sets up its gateway here)."""

    def dispatch_nowait(self, event: str, data: JSON) -> None:
        """Queue a gateway dispatch; overridden by the server (no-op without a gateway)."""

    # -- building the guild -------------------------------------------------------------------------
    def add_role(self, name: str, *, permissions: int = 0, id: int | None = None, color: int = 0) -> JSON:
        role_id = id or self.snowflakes.next()
        role = role_payload(role_id, name, permissions, len(self.roles), color=color)
        self.roles[role_id] = role
        self.dispatch_nowait("GUILD_ROLE_CREATE", {"guild_id": str(self.guild_id), "role": role})
        return role

    def set_role_permissions(self, role: int | str, permissions: int, *, notify: bool = True) -> None:
        """Change a role's permissions; ``notify=False`` skips GUILD_ROLE_UPDATE (the bot's cache goes stale,
        as after a missed event), while interactions still carry the true ``permissions``."""
        role_payload_ = self.roles[self.role_id(role)]
        role_payload_["permissions"] = str(permissions)
        if notify:
            self.dispatch_nowait("GUILD_ROLE_UPDATE", {"guild_id": str(self.guild_id), "role": role_payload_})

    def set_member_roles(self, user: UserRef, roles: Iterable[str | int], *, notify: bool = True) -> None:
        """Replace a member's roles (by name or id); dispatches GUILD_MEMBER_UPDATE unless ``notify=False``."""
        member = self.members[self.user_id(user)]
        member["roles"] = [str(self.role_id(r)) for r in roles]
        if notify:
            self.dispatch_nowait("GUILD_MEMBER_UPDATE", {**member, "guild_id": str(self.guild_id)})

    def add_member(
        self,
        username: str,
        *,
        roles: Iterable[str | int] = (),
        id: int | None = None,
        nick: str | None = None,
        bot: bool = False,
        dm_refused: bool = False,
    ) -> JSON:
        """Add a guild member (``roles`` by name or id); returns the member payload (with ``user``)."""
        user_id = id or self.snowflakes.next()
        self.users[user_id] = user_payload(user_id, username, bot=bot)
        member = member_payload(self.users[user_id], [self.role_id(r) for r in roles], nick=nick)
        self.members[user_id] = member
        if dm_refused:
            self.dm_refused.add(user_id)
        self.dispatch_nowait("GUILD_MEMBER_ADD", {**member, "guild_id": str(self.guild_id)})
        return member

    def add_channel(
        self,
        name: str,
        *,
        id: int | None = None,
        type: int = TEXT,
        topic: str | None = None,
        parent: ChannelRef | None = None,
        nsfw: bool = False,
        forbidden: bool = False,
    ) -> JSON:
        """Add a guild channel. ``forbidden`` denies the bot writes: REST writes answer 403 / 50013."""
        channel_id = id or self.snowflakes.next()
        parent_id = self.channel_id(parent) if parent is not None else None
        position = sum(1 for c in self.channels.values() if c["type"] == type)
        channel = channel_payload(
            channel_id,
            self.guild_id,
            name,
            type=type,
            position=position,
            topic=topic,
            parent_id=parent_id,
            nsfw=nsfw,
        )
        self.channels[channel_id] = channel
        if forbidden:
            self._apply_forbidden(channel_id, True)
        self.dispatch_nowait("CHANNEL_CREATE", channel)
        return channel

    def set_forbidden(self, channel: ChannelRef, forbidden: bool = True) -> None:
        """Mark a channel read-only for the bot (permission overwrite + 403 / 50013 on REST writes)."""
        channel_id = self.channel_id(channel)
        self._apply_forbidden(channel_id, forbidden)
        self.dispatch_nowait("CHANNEL_UPDATE", self.channels[channel_id])

    def _apply_forbidden(self, channel_id: int, forbidden: bool) -> None:
        payload = self.channels[channel_id]
        overwrites = [o for o in payload["permission_overwrites"] if o["id"] != str(self.bot_user_id)]
        if forbidden:
            self.forbidden_channels.add(channel_id)
            overwrites.append(
                {"id": str(self.bot_user_id), "type": 1, "allow": "0", "deny": str(FORBIDDEN_DENY)}
            )
        else:
            self.forbidden_channels.discard(channel_id)
        payload["permission_overwrites"] = overwrites

    def ensure_dm_channel(self, user_id: int) -> JSON:
        if user_id not in self.dm_channels:
            channel_id = self.snowflakes.next()
            self.channels[channel_id] = dm_channel_payload(channel_id, self.users[user_id])
            self.dm_channels[user_id] = channel_id
        return self.channels[self.dm_channels[user_id]]

    # -- name resolution ------------------------------------------------------------------------------
    def users_by_name(self) -> dict[str, int]:
        return {u["username"]: uid for uid, u in self.users.items()}

    def user_id(self, user: UserRef | Mapping[str, Any]) -> int:
        """Resolve a user id, username or user/member payload to an id."""
        if isinstance(user, Mapping):
            return int((user.get("user") or user)["id"])
        if isinstance(user, int) or user.isdigit():
            if int(user) not in self.users:
                raise KeyError(f"unknown user id {user}")
            return int(user)
        try:
            return self.users_by_name()[user]
        except KeyError:
            raise KeyError(f"unknown user {user!r}; known: {sorted(self.users_by_name())}") from None

    def channel_id(self, channel: ChannelRef | Mapping[str, Any]) -> int:
        """Resolve a channel id, name (``"papers"`` or ``"#papers"``) or payload to an id."""
        if isinstance(channel, Mapping):
            return int(channel["id"])
        if isinstance(channel, int) or channel.isdigit():
            return int(channel)
        name = channel.removeprefix("#")
        for channel_id, payload in self.channels.items():
            if payload.get("name") == name:
                return channel_id
        raise KeyError(f"unknown channel {channel!r}")

    def role_id(self, role: int | str) -> int:
        if isinstance(role, int) or role.isdigit():
            return int(role)
        for role_id, payload in self.roles.items():
            if payload["name"] == role:
                return role_id
        raise KeyError(f"unknown role {role!r}; known: {[r['name'] for r in self.roles.values()]}")

    def messages_in(self, channel: ChannelRef) -> list[JSON]:
        """Messages currently in a channel (by id or name), oldest first."""
        return list(self.messages.get(self.channel_id(channel), []))

    def dms_to(self, user: UserRef) -> list[JSON]:
        """Messages the bot sent to ``user``'s DM channel."""
        channel_id = self.dm_channels.get(self.user_id(user))
        return list(self.messages.get(channel_id, [])) if channel_id else []

    # -- permissions -------------------------------------------------------------------------------
    def permissions_for(self, user_id: int, channel_id: int | None = None) -> int:
        """Discord's permission algorithm (owner/administrator, roles, then channel overwrites)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        if member is None:
            return 0
        role_ids = [int(r) for r in member["roles"]]
        perms = int(self.roles[self.guild_id]["permissions"])
        for role_id in role_ids:
            perms |= int(self.roles[role_id]["permissions"]) if role_id in self.roles else 0
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        channel = self.channels.get(channel_id) if channel_id is not None else None
        if channel is not None and channel["type"] in THREAD_TYPES:
            channel = self.channels.get(int(channel["parent_id"]))
        if channel is None or channel["type"] == 1:
            return perms
        overwrites = {o["id"]: o for o in channel.get("permission_overwrites", [])}
        everyone = overwrites.get(str(self.guild_id))
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in role_ids:
            overwrite = overwrites.get(str(role_id))
            if overwrite:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        perms = (perms & ~deny) | allow
        own = overwrites.get(str(user_id))
        if own:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms

    # -- guild payload -------------------------------------------------------------------------------
    def guild_payload(self) -> JSON:
        """A full ``GUILD_CREATE`` payload (all members included, so no chunking is needed)."""
        guild_channels = [
            c for c in self.channels.values() if c["type"] not in THREAD_TYPES and c["type"] != 1
        ]
        threads = [c for c in self.channels.values() if c["type"] in THREAD_TYPES]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": list(self.members.values()),
            "channels": guild_channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # -- application commands -----------------------------------------------------------------------
    def store_commands(self, guild_id: int | None, payloads: list[JSON]) -> list[JSON]:
        """Replace the command set for ``guild_id`` (None = global), assigning stable ids."""
        stored = []
        for payload in payloads:
            key = (guild_id, payload["name"], int(payload.get("type", 1)))
            command_id = self._command_ids.setdefault(key, self.snowflakes.next())
            command = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **payload,
                "id": str(command_id),
                "application_id": str(self.application_id),
                "version": str(self.snowflakes.next()),
            }
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            stored.append(command)
        self.commands[guild_id] = stored
        self.signal.notify()
        return stored

    def find_command(self, name: str, command_type: int = 1) -> JSON | None:
        """The synced command called ``name`` (guild commands shadow global ones)."""
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == command_type:
                    return command
        return None
