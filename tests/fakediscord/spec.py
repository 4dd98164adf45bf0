"""Request bodies checked against Discord's official OpenAPI 3.1 spec (read by path, never copied here).

The spec lives beside the repository at ``../shared/reference/discord-api-spec/openapi.json`` (override with
``FAKEDISCORD_OPENAPI``). When it is absent, :func:`spec_checker` returns ``None`` and the fake says so
(see ``fixtures.py``: a warning plus a line in the pytest summary); the hand-written limits in
``validate.py`` still apply.

What Discord accepts although the spec is stricter (so the fake accepts it too):

* snowflakes as JSON integers (discord.py sends ``recipient_id``, ``message_reference.message_id`` ... as
  ints; Discord's parser coerces them) - ``SnowflakeType`` is widened to ``string | integer >= 0``;
* ``embeds[].flags``, which discord.py's ``Embed.to_dict()`` always adds and Discord ignores.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "discord-api-spec" / "openapi.json"
_BODY_METHODS = ("POST", "PUT", "PATCH")
_SNOWFLAKE_INT = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
#: (schema name, property) pairs discord.py always sends that the spec does not list.
_ALWAYS_SENT = {("RichEmbed", "flags"): {"type": ["integer", "null"]}}


def spec_path() -> Path:
    override = os.environ.get("FAKEDISCORD_OPENAPI")
    return Path(override) if override else SPEC_PATH


@dataclass
class SpecStats:
    """How many bodies were checked and how many broke the spec (for the end-of-run summary)."""

    validated: int = 0
    violations: int = 0
    routes: dict[str, int] = field(default_factory=dict)


STATS = SpecStats()


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    literals: int
    operations: dict[str, Any]


class SpecChecker:
    """Finds the spec operation for a concrete path and validates a JSON body against its request schema."""

    def __init__(self, spec: dict[str, Any], source: Path) -> None:
        import jsonschema  # dev dependency; imported lazily so the fake works without it when no spec
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.source = source
        spec = copy.deepcopy(spec)
        schemas = spec["components"]["schemas"]
        snowflake = schemas["SnowflakeType"]
        schemas["SnowflakeType"] = {"anyOf": [snowflake, _SNOWFLAKE_INT]}
        for (name, prop), schema in _ALWAYS_SENT.items():
            schemas[name].setdefault("properties", {}).setdefault(prop, schema)
        self._registry: Any = Registry().with_resource(
            "urn:discord", Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        self._validator_cls: Any = jsonschema.Draft202012Validator
        self._best_match = jsonschema.exceptions.best_match
        self._routes = [self._route(t, ops) for t, ops in spec["paths"].items()]
        # Literal segments first (``/messages/@original`` before ``/messages/{message_id}``).
        self._routes.sort(key=lambda r: -r.literals)
        self._validators: dict[str, Any] = {}

    @staticmethod
    def _route(template: str, operations: dict[str, Any]) -> _Route:
        parts = template.strip("/").split("/")
        regex = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        literals = sum(1 for p in parts if not p.startswith("{"))
        return _Route(template, re.compile(f"^/{regex}$"), literals, operations)

    def operation(self, method: str, path: str) -> tuple[str, Any] | None:
        """``(spec template, operation)`` for a concrete path such as ``/channels/1/messages``."""
        for route in self._routes:
            if route.pattern.match(path) and method.lower() in route.operations:
                return route.template, route.operations[method.lower()]
        return None

    def _validator(self, schema: Any) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = self._validator_cls(schema, registry=self._registry)
        return self._validators[key]

    @staticmethod
    def _request_schema(operation: Any) -> Any | None:
        content = (operation.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        return media.get("schema") if media else None

    def _absolute(self, schema: Any) -> Any:
        """Rewrite local ``#/...`` refs of a schema taken out of the document to the registry's URI."""
        if isinstance(schema, dict):
            return {
                k: ("urn:discord" + v if k == "$ref" and v.startswith("#") else self._absolute(v))
                for k, v in schema.items()
            }
        if isinstance(schema, list):
            return [self._absolute(v) for v in schema]
        return schema

    def _resolve(self, schema: Any) -> Any:
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not ref:
            return schema
        if ref.startswith("#"):
            ref = "urn:discord" + ref
        node: Any = self._registry.resolver().lookup(ref).contents
        return node

    def _pick_union_member(self, schema: Any, body: Any) -> Any:
        """For a union of callback bodies, the member whose ``type`` enum holds the body's type.

        The spec writes such unions as ``anyOf`` (``x-discord-union: oneOf``); validating against the one
        member Discord would pick gives errors that name the real field instead of "not valid under any"."""
        members = schema.get("anyOf") or schema.get("oneOf") if isinstance(schema, dict) else None
        if not members or not isinstance(body, dict) or "type" not in body:
            return schema
        for member in members:
            resolved = self._resolve(member)
            enum = ((resolved.get("properties") or {}).get("type") or {}).get("enum")
            if enum is not None and body["type"] in enum:
                return member
        return schema

    def check(self, method: str, path: str, body: Any) -> tuple[str | None, list[tuple[str, str]]]:
        """Validate ``body``; returns (spec template or None, [(field path, message)])."""
        if method.upper() not in _BODY_METHODS or body is None:
            return None, []
        found = self.operation(method.upper(), path)
        if found is None:
            return None, [("", f"{method} {path}: no such route in Discord's API")]
        template, operation = found
        schema = self._request_schema(operation)
        if schema is None:
            if body in ({}, [], ""):
                return template, []
            return template, [("", f"{method} {template} takes no body")]
        schema = self._absolute(self._pick_union_member(schema, body))
        validator = self._validator(schema)
        STATS.validated += 1
        key = f"{method.upper()} {template}"
        STATS.routes[key] = STATS.routes.get(key, 0) + 1
        problems = [_describe(self._best_match([e]) or e) for e in validator.iter_errors(body)]
        STATS.violations += 1 if problems else 0
        return template, problems


def _describe(error: Any) -> tuple[str, str]:
    """``(field path, short reason)``: the length for size limits, never a 14,000-character value."""
    where = ".".join(str(p) for p in error.absolute_path)
    instance, limit = error.instance, error.validator_value
    if error.validator in ("maxLength", "minLength") and isinstance(instance, str):
        return where, f"{len(instance):,} characters; {error.validator} is {limit}"
    if error.validator in ("maxItems", "minItems") and isinstance(instance, list):
        return where, f"{len(instance)} items; {error.validator} is {limit}"
    shown = repr(instance)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return where, f"{shown} fails {error.validator}={str(limit)[:80]}"


@functools.cache
def _load(path: str) -> SpecChecker | None:
    source = Path(path)
    if not source.is_file():
        return None
    with source.open(encoding="utf-8") as handle:
        return SpecChecker(json.load(handle), source)


def spec_checker() -> SpecChecker | None:
    """The process-wide checker, or ``None`` when the spec file is absent."""
    return _load(str(spec_path()))


def iter_fields(errors: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Flatten Discord's nested ``{"embeds": {"0": {"title": {"_errors": [...]}}}}`` into (path, message)."""
    if not isinstance(errors, dict):
        return
    for key, value in errors.items():
        if key == "_errors":
            for item in value:
                yield prefix, f"{item.get('code', '')}: {item.get('message', '')}".strip(": ")
        else:
            yield from iter_fields(value, f"{prefix}.{key}" if prefix else str(key))
