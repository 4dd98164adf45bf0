"""Prompt templates, installed as the package data ``bot.prompts`` (see pyproject.toml)."""
