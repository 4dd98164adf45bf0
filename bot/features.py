"""Optional features attach themselves to the services here (answering, scheduling, ...)."""

from __future__ import annotations

from bot.app import Services


async def attach_features(services: Services) -> None:
    """Nothing optional yet; later features register their services and shutdown hooks."""
    services.extras.setdefault("on_close", [])
