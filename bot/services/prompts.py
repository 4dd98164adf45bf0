"""Prompt templates from `prompts/`: strict, so a missing or unknown variable is an error, not a blank."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


class PromptError(KeyError):
    """A template was rendered without one of its variables, or with one it does not use."""


@cache
def load_template(name: str) -> str:
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")


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
