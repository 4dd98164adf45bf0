"""Discord-side validation that discord.py does not do client-side; failures become 400 / 50035 errors.

Only the limits a bot realistically trips over are checked: message/embed/component sizes, autocomplete
choices, modals and command definitions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .middleware import ApiError
from .payloads import ATTACHMENT_SIZE_LIMIT, JSON, walk_components
from .records import UploadedFile

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
#: Discord's documented locales: the only keys ``name_localizations`` / ``description_localizations`` take.
LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)


class _Errors:
    """Collects errors in Discord's nested ``{"a": {"0": {"_errors": [...]}}}`` shape."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_len(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _embed_errors(errors: _Errors, embeds: list[JSON]) -> None:
    if len(embeds) > 10:
        errors.add(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        base: list[str | int] = ["embeds", i]
        errors.max_len([*base, "title"], embed.get("title"), 256)
        errors.max_len([*base, "description"], embed.get("description"), 4096)
        errors.max_len([*base, "footer", "text"], (embed.get("footer") or {}).get("text"), 2048)
        errors.max_len([*base, "author", "name"], (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.add([*base, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            errors.max_len([*base, "fields", j, "name"], fld.get("name"), 256)
            errors.max_len([*base, "fields", j, "value"], fld.get("value"), 1024)
            if not fld.get("name") or not fld.get("value"):
                errors.add([*base, "fields", j], "BASE_TYPE_REQUIRED", "This field is required")
        total += sum(len(str(embed.get(k) or "")) for k in ("title", "description"))
        total += len(str((embed.get("footer") or {}).get("text") or ""))
        total += len(str((embed.get("author") or {}).get("name") or ""))
        total += sum(len(str(f.get("name", ""))) + len(str(f.get("value", ""))) for f in fields)
    if total > 6000:
        errors.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def _component_errors(errors: _Errors, components: list[JSON]) -> None:
    if sum(1 for c in components if c.get("type") == 1) > 5:
        errors.add(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    custom_ids: set[str] = set()
    for i, row in enumerate(components):
        if row.get("type") == 1 and len(row.get("components") or []) > 5:
            errors.add(
                ["components", i, "components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
            )
    for component in walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is not None:
            errors.max_len(["components", "custom_id"], custom_id, 100)
            if custom_id in custom_ids:
                errors.add(
                    ["components", "custom_id"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            custom_ids.add(custom_id)
        if component.get("type") == 2:
            errors.max_len(["components", "label"], component.get("label"), 80)
            if not component.get("custom_id") and not component.get("url") and not component.get("sku_id"):
                errors.add(
                    ["components", "custom_id"], "BASE_TYPE_REQUIRED", "A button needs a custom_id or url"
                )


def validate_message(body: JSON | None, files: Sequence[UploadedFile], *, edit: bool = False) -> JSON:
    """Validate a create/edit message body; returns it (``{}`` for a missing body)."""
    body = body if isinstance(body, dict) else {}
    errors = _Errors()
    errors.max_len(["content"], body.get("content"), 2000)
    _embed_errors(errors, body.get("embeds") or [])
    _component_errors(errors, body.get("components") or [])
    errors.raise_if_any()
    for upload in files:
        if len(upload.content) > ATTACHMENT_SIZE_LIMIT:
            raise ApiError(413, 40005, "Request entity too large")
    if not edit and not (
        body.get("content")
        or body.get("embeds")
        or files
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    return body


def validate_choices(data: JSON) -> None:
    errors = _Errors()
    choices = data.get("choices") or []
    if len(choices) > 25:
        errors.add(["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        errors.max_len(["data", "choices", i, "name"], choice.get("name"), 100)
        if isinstance(choice.get("value"), str):
            errors.max_len(["data", "choices", i, "value"], choice["value"], 100)
    errors.raise_if_any()


def _text_input_errors(errors: _Errors, path: list[str | int], component: JSON) -> None:
    """A text input: label <= 45, custom_id <= 100, min_length <= max_length <= 4000, value within them."""
    errors.max_len([*path, "label"], component.get("label"), 45)
    errors.max_len([*path, "custom_id"], component.get("custom_id"), 100)
    errors.max_len([*path, "placeholder"], component.get("placeholder"), 100)
    max_length = component.get("max_length")
    min_length = component.get("min_length")
    limit = int(max_length) if isinstance(max_length, int) else 4000
    if limit > 4000:
        errors.add(
            [*path, "max_length"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 4000."
        )
    if isinstance(min_length, int) and min_length > limit:
        errors.add([*path, "min_length"], "NUMBER_TYPE_MAX", f"Must be {limit} or less (max_length).")
    value = component.get("value")
    if isinstance(value, str):
        # Discord checks the prefilled value against the input's own max_length, not only 4,000.
        errors.max_len([*path, "value"], value, min(limit, 4000))


def validate_modal(data: JSON) -> None:
    errors = _Errors()
    errors.max_len(["data", "title"], data.get("title"), 45)
    errors.max_len(["data", "custom_id"], data.get("custom_id"), 100)
    components = data.get("components") or []
    if not components or len(components) > 5:
        errors.add(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for i, top in enumerate(components):
        here: list[str | int] = ["data", "components", i]
        if top.get("type") == 1:
            children = top.get("components") or []
            if len(children) != 1:
                errors.add([*here, "components"], "BASE_TYPE_BAD_LENGTH", "Must be 1 in length.")
            for j, child in enumerate(children):
                if child.get("type") == 4:
                    _text_input_errors(errors, [*here, "components", j], child)
        elif top.get("type") == 18:
            errors.max_len([*here, "label"], top.get("label"), 45)
            child = top.get("component") or {}
            if child.get("type") == 4:
                _text_input_errors(errors, [*here, "component"], child)
    errors.raise_if_any()


def validate_commands(payloads: Any) -> list[JSON]:
    """Check a bulk-overwrite body: names, descriptions, option counts and required-first ordering."""
    if not isinstance(payloads, list):
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Must be an array."}]},
        )
    errors = _Errors()
    seen: set[tuple[str, int]] = set()
    for i, command in enumerate(payloads):
        kind = int(command.get("type", 1))
        name = str(command.get("name", ""))
        if kind == 1 and (not _COMMAND_NAME.match(name) or name != name.lower()):
            errors.add([i, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if (name, kind) in seen:
            errors.add(
                [i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
            )
        seen.add((name, kind))
        if kind == 1:
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 100:
                errors.add([i, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        _localisation_errors(errors, [i], command, lowercase=kind == 1)
        _option_errors(errors, [i], command.get("options") or [])
    errors.raise_if_any()
    return payloads


def _localisation_errors(errors: _Errors, path: list[str | int], item: JSON, *, lowercase: bool) -> None:
    """Localisation keys must be Discord locales; localised names follow the name rules."""
    for key, limit in (("name_localizations", 32), ("description_localizations", 100)):
        for locale, text in (item.get(key) or {}).items():
            here = [*path, key, locale]
            if locale not in LOCALES:
                errors.add(here, "LOCALE_INVALID", f"{locale!r} is not a valid locale")
            if not isinstance(text, str) or not 1 <= len(text) <= limit:
                errors.add(here, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")
            elif key == "name_localizations" and (
                not _COMMAND_NAME.match(text) or (lowercase and text != text.lower())
            ):
                errors.add(here, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _option_errors(errors: _Errors, path: list[str | int], options: list[JSON]) -> None:
    if len(options) > 25:
        errors.add([*path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for j, option in enumerate(options):
        here = [*path, "options", j]
        name = str(option.get("name", ""))
        if not _COMMAND_NAME.match(name) or name != name.lower():
            errors.add([*here, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid")
        if not 1 <= len(str(option.get("description", ""))) <= 100:
            errors.add([*here, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        _localisation_errors(errors, here, option, lowercase=True)
        for k, choice in enumerate(option.get("choices") or []):
            errors.max_len([*here, "choices", k, "name"], choice.get("name"), 100)
            if isinstance(choice.get("value"), str):
                errors.max_len([*here, "choices", k, "value"], choice["value"], 100)
        if option.get("type") in (1, 2):
            _option_errors(errors, here, option.get("options") or [])
            continue
        if option.get("required"):
            if seen_optional:
                errors.add(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        if len(option.get("choices") or []) > 25:
            errors.add([*here, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if option.get("choices") and option.get("autocomplete"):
            errors.add(
                [*here, "autocomplete"],
                "AUTOCOMPLETE_WITH_CHOICES",
                "Autocomplete cannot be set with choices",
            )
