"""Prompt templates shipped as package data (``bot.prompts``, from the top-level ``prompts/`` folder).

Strict: a missing or unknown variable is an error, not a blank. Templates load through
``importlib.resources``, so they are found in a wheel, an editable install or a zip alike.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

TEMPLATE_PACKAGE = "bot.prompts"
# The templates the answer service renders; doctor reports any that is missing.
REQUIRED_TEMPLATES = ("ask", "compare", "summarise", "system")


class PromptError(KeyError):
    """A template was rendered without one of its variables, or with one it does not use."""


def template_names() -> list[str]:
    """Every template that ships with this install (``ask``, ``system``, ...)."""
    root = resources.files(TEMPLATE_PACKAGE)
    return sorted(item.name.removesuffix(".md") for item in root.iterdir() if item.name.endswith(".md"))


@cache
def load_template(name: str) -> str:
    try:
        return resources.files(TEMPLATE_PACKAGE).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"prompt template {name!r} is not in this install ({TEMPLATE_PACKAGE})") from exc


def template_fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def render(name: str, **values: object) -> str:
    """Fill ``prompts/<name>.md``; every placeholder must be given and every value used."""
    template = load_template(name)
    fields = template_fields(template)
    missing = fields - values.keys()
    extra = values.keys() - fields
    if missing or extra:
        raise PromptError(f"prompt {name!r}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return template.format(**values)


def check_templates() -> list[str]:
    """Problems with the installed templates (empty when every one loads and renders), for ``doctor``."""
    problems: list[str] = []
    try:
        names = template_names()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        return [f"no prompt templates in this install: {exc}"]
    for required in REQUIRED_TEMPLATES:
        if required not in names:
            problems.append(f"template {required!r} is missing from {TEMPLATE_PACKAGE}")
    for name in names:
        try:
            template = load_template(name)
            render(name, **dict.fromkeys(template_fields(template), "x"))
        except (PromptError, ValueError, IndexError, UnicodeDecodeError) as exc:
            problems.append(f"template {name!r} does not render: {exc}")
    return problems
