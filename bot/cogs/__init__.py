"""Slash commands, one extension per feature (``bot.app.EXTENSIONS``); thin: they call services."""
