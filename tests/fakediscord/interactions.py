"""Builders for realistic ``INTERACTION_CREATE`` payloads (slash, autocomplete, components, modals).

Slash options are typed from the command definitions the bot synced (falling back to the Python type of
each value when the command was never synced), and ``data.resolved`` is filled for user, member,
channel, role and attachment options the way Discord does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .payloads import ATTACHMENT_SIZE_LIMIT, DM, JSON, THREAD_TYPES, attachment_payload, walk_components

if TYPE_CHECKING:
    from .state import GuildState

_SUBCOMMAND, _GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11


@dataclass(frozen=True)
class FakeFile:
    """A file a user "uploads" as an attachment option: ``fake.slash("add", {"pdf": FakeFile("a.pdf", b"%PDF")})``."""

    filename: str
    content: bytes
    description: str | None = None


def _guess_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeFile):
        return ATTACHMENT
    return STRING


def resolved_member(state: GuildState, user_id: int, channel_id: int) -> JSON:
    member = {k: v for k, v in state.members[user_id].items() if k != "user"}
    member["permissions"] = str(state.permissions_for(user_id, channel_id))
    return member


def interaction_channel(state: GuildState, channel_id: int, user_id: int) -> JSON:
    return {**state.channels[channel_id], "permissions": str(state.permissions_for(user_id, channel_id))}


class OptionBuilder:
    """Converts ``{"name": value}`` into typed option payloads, collecting ``resolved`` data."""

    def __init__(self, state: GuildState, user_id: int, channel_id: int) -> None:
        self.state, self.user_id, self.channel_id = state, user_id, channel_id
        self.resolved: dict[str, dict[str, JSON]] = {}

    def _resolve(self, kind: str, key: int | str, value: JSON) -> str:
        self.resolved.setdefault(kind, {})[str(key)] = value
        return str(key)

    def _user(self, value: Any) -> str:
        user_id = self.state.user_id(value)
        self._resolve("users", user_id, self.state.users[user_id])
        if user_id in self.state.members:
            self._resolve("members", user_id, resolved_member(self.state, user_id, self.channel_id))
        return str(user_id)

    def _channel(self, value: Any) -> str:
        channel_id = self.state.channel_id(value)
        channel = interaction_channel(self.state, channel_id, self.user_id)
        keep = (
            "id",
            "name",
            "type",
            "permissions",
            "parent_id",
            "guild_id",
            "topic",
            "nsfw",
            "position",
            "last_message_id",
            "rate_limit_per_user",
            "flags",
            "thread_metadata",
            "owner_id",
            "message_count",
            "member_count",
        )
        return self._resolve("channels", channel_id, {k: channel[k] for k in keep if k in channel})

    def _attachment(self, value: Any) -> str:
        if isinstance(value, tuple):
            value = FakeFile(*value)
        if not isinstance(value, FakeFile):
            raise TypeError(f"attachment options take FakeFile or (filename, bytes), got {value!r}")
        attachment_id = self.state.snowflakes.next()
        path = f"/attachments/{self.channel_id}/{attachment_id}/{value.filename}"
        self.state.cdn[path] = value.content
        payload = attachment_payload(
            attachment_id,
            value.filename,
            len(value.content),
            self.state.cdn_base + path,
            description=value.description,
        )
        payload["ephemeral"] = True
        return self._resolve("attachments", attachment_id, payload)

    def convert(self, kind: int, value: Any) -> Any:
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        if kind == USER:
            return self._user(value)
        if kind == CHANNEL:
            return self._channel(value)
        if kind == ROLE:
            role_id = self.state.role_id(value)
            return self._resolve("roles", role_id, self.state.roles[role_id])
        if kind == MENTIONABLE:
            try:
                return self._user(value)
            except KeyError:
                role_id = self.state.role_id(value)
                return self._resolve("roles", role_id, self.state.roles[role_id])
        if kind == ATTACHMENT:
            return self._attachment(value)
        raise ValueError(f"unsupported option type {kind}")

    def build(
        self,
        schema: Sequence[JSON] | None,
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        autocomplete: bool = False,
    ) -> list[JSON]:
        known = {o["name"]: o for o in schema or []}
        if schema is not None:
            unknown = set(options) - set(known)
            if unknown:
                raise ValueError(f"unknown option(s) {sorted(unknown)}; command has {sorted(known)}")
            if not autocomplete:
                missing = [n for n, o in known.items() if o.get("required") and n not in options]
                if missing:
                    raise ValueError(f"missing required option(s) {missing}")
        result = []
        for name, value in options.items():
            spec = known.get(name)
            kind = int(spec["type"]) if spec else _guess_type(value)
            if name == focused:
                if spec is not None and not spec.get("autocomplete"):
                    raise ValueError(f"option {name!r} has no autocomplete")
                result.append({"name": name, "type": kind, "value": str(value), "focused": True})
                continue
            converted = self.convert(kind, value)
            choices = (spec or {}).get("choices")
            if choices and converted not in [c["value"] for c in choices]:
                raise ValueError(f"{value!r} is not a choice of {name!r}: {[c['value'] for c in choices]}")
            result.append({"name": name, "type": kind, "value": converted})
        return result


def command_data(
    state: GuildState,
    path: str,
    options: Mapping[str, Any],
    *,
    user_id: int,
    channel_id: int,
    focused: str | None = None,
) -> JSON:
    """``data`` of a chat-input command (or autocomplete) interaction for ``path`` like ``"route set"``."""
    top, *subs = path.split()
    command = state.find_command(top)
    builder = OptionBuilder(state, user_id, channel_id)
    schema: list[JSON] | None = command.get("options", []) if command is not None else None
    chain: list[JSON] = []
    for sub in subs:
        spec = next(
            (o for o in schema or [] if o["name"] == sub and o["type"] in (_SUBCOMMAND, _GROUP)), None
        )
        if schema is not None and spec is None:
            raise ValueError(f"{path!r}: no subcommand or group {sub!r}")
        kind = int(spec["type"]) if spec else (_SUBCOMMAND if sub == subs[-1] else _GROUP)
        chain.append({"name": sub, "type": kind, "options": []})
        schema = spec.get("options", []) if spec else None
    leaf = builder.build(schema, options, focused=focused, autocomplete=focused is not None)
    for node in reversed(chain):
        node["options"] = leaf
        leaf = [node]
    data: JSON = {"id": command["id"] if command else str(state.snowflakes.next()), "name": top, "type": 1}
    if leaf:
        data["options"] = leaf
    if builder.resolved and focused is None:
        data["resolved"] = builder.resolved
    if command is not None and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return data


def context_menu_data(state: GuildState, name: str, target: Any, *, channel_id: int, user_id: int) -> JSON:
    """``data`` for a user (type 2) or message (type 3) context-menu command."""
    if isinstance(target, Mapping) and "channel_id" in target:
        kind, target_id = 3, str(target["id"])
        resolved: JSON = {
            "messages": {target_id: copy.deepcopy(state.find_message(target_id) or dict(target))}
        }
    else:
        kind = 2
        builder = OptionBuilder(state, user_id, channel_id)
        target_id = builder.convert(USER, target)
        resolved = builder.resolved
    command = state.find_command(name, kind)
    data: JSON = {
        "id": command["id"] if command else str(state.snowflakes.next()),
        "name": name,
        "type": kind,
        "target_id": target_id,
        "resolved": resolved,
    }
    if command is not None and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return data


def find_component(message: JSON, custom_id: str) -> JSON:
    for component in walk_components(message.get("components")):
        if component.get("custom_id") == custom_id:
            return component
    ids = [c["custom_id"] for c in walk_components(message.get("components")) if "custom_id" in c]
    raise LookupError(f"message {message.get('id')} has no component {custom_id!r}; it has {ids}")


def modal_submit_components(modal: JSON, values: Mapping[str, Any]) -> list[JSON]:
    """Echo a modal's structure with the user's values; keys may be custom_ids or labels."""
    used: set[str] = set()

    def value_for(component: JSON, label: str | None) -> Any:
        for key in (component.get("custom_id"), label, component.get("label")):
            if key is not None and key in values:
                used.add(key)
                return values[key]
        if component.get("required", True) and component.get("value") is None and component.get("type") == 4:
            raise ValueError(f"no value for required modal input {component.get('custom_id')!r}")
        return component.get("value") or ""

    def answer(component: JSON, label: str | None = None) -> JSON:
        value = value_for(component, label)
        answered: JSON = {
            "type": component["type"],
            "id": component.get("id"),
            "custom_id": component["custom_id"],
        }
        if component["type"] == 4:
            text = str(value)
            if len(text) > int(component.get("max_length") or 4000) or len(text) < int(
                component.get("min_length") or 0
            ):
                raise ValueError(f"value for {component['custom_id']!r} violates min/max length")
            answered["value"] = text
        else:
            answered["values"] = list(value) if isinstance(value, list | tuple) else [str(value)]
        return answered

    result: list[JSON] = []
    for top in modal.get("components") or []:
        if top.get("type") == 1:
            result.append(
                {"type": 1, "id": top.get("id"), "components": [answer(c) for c in top.get("components", [])]}
            )
        elif top.get("type") == 18 and "custom_id" in top.get("component", {}):
            result.append(
                {"type": 18, "id": top.get("id"), "component": answer(top["component"], top.get("label"))}
            )
    unknown = set(values) - used
    if unknown:
        raise ValueError(f"modal has no input(s) {sorted(unknown)}")
    return result


def interaction_payload(
    state: GuildState,
    *,
    interaction_id: int,
    token: str,
    kind: int,
    data: JSON,
    user_id: int,
    channel_id: int,
    locale: str = "en-US",
    message: JSON | None = None,
) -> JSON:
    """The full ``INTERACTION_CREATE`` payload."""
    channel = state.channels[channel_id]
    payload: JSON = {
        "id": str(interaction_id),
        "application_id": str(state.application_id),
        "type": kind,
        "data": data,
        "token": token,
        "version": 1,
        "locale": locale,
        "channel_id": str(channel_id),
        "channel": interaction_channel(state, channel_id, user_id),
        "app_permissions": str(state.permissions_for(state.bot_user_id, channel_id)),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if channel["type"] == DM or user_id not in state.members:
        payload["user"] = state.users[user_id]
        payload["authorizing_integration_owners"] = {"1": str(user_id)}
        payload["context"] = 1 if channel["type"] == DM else 0
    else:
        payload["guild_id"] = str(state.guild_id)
        payload["guild"] = {"id": str(state.guild_id), "locale": "en-US", "features": []}
        payload["guild_locale"] = "en-US"
        payload["member"] = {**resolved_member(state, user_id, channel_id), "user": state.users[user_id]}
        payload["authorizing_integration_owners"] = {"0": str(state.guild_id)}
        payload["context"] = 0
    if channel["type"] in THREAD_TYPES:
        payload["channel"]["parent_id"] = channel["parent_id"]
    if message is not None:
        payload["message"] = copy.deepcopy(message)
    return payload
