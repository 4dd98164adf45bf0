"""Expected failures of a command or of start-up, explained in a line or two a person can act on.

The CLI prints :func:`explain`'s text instead of a traceback (the traceback is logged with ``-v``).
Anything not recognised here is a bug and keeps its traceback.
"""

from __future__ import annotations

import asyncio
import errno
import ssl

import aiohttp
import discord
from pydantic import ValidationError

from bot.store.db import DatabaseUnavailable

NEW_CREDENTIALS_FIX = (
    "reset the token in the Developer Portal (your app → Bot → Reset Token) "
    "and put the new one in DISCORD_TOKEN (.env)"
)
NETWORK_FIX = (
    "check the network, DNS, firewall or proxy; with a Discord-compatible server, "
    "check PAPERBOT_DISCORD_API_BASE and PAPERBOT_DISCORD_GATEWAY_URL"
)


def _where(error: aiohttp.ClientConnectorError) -> str:
    return f"{error.host}:{error.port}"


def explain_settings(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'settings'}: {item['msg']}"
        for item in error.errors()
    ]
    return (
        "invalid settings: "
        + "; ".join(problems)
        + "\ncorrect them in .env or the environment (see .env.example)"
    )


def _explain_connection(error: aiohttp.ClientError) -> str | None:
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"cannot reach Discord: the name {error.host} does not resolve (DNS)\n{NETWORK_FIX}"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return (
            f"the TLS certificate of {_where(error)} is not trusted: {error.certificate_error}\n"
            "install the system CA certificates (ca-certificates), check the clock, "
            "or configure the proxy that intercepts HTTPS"
        )
    if isinstance(error, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        return f"the TLS handshake with Discord failed: {error}\n{NETWORK_FIX}"
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake with {_where(error)} failed ({cause.reason})\n{NETWORK_FIX}"
        if cause.errno == errno.ECONNREFUSED or "Connect call failed" in str(cause):
            return f"cannot reach Discord at {_where(error)}: connection refused\n{NETWORK_FIX}"
        return f"cannot reach Discord at {_where(error)}: {cause.strerror or cause}\n{NETWORK_FIX}"
    if isinstance(error, aiohttp.ServerTimeoutError):
        return f"Discord did not answer in time ({error})\n{NETWORK_FIX}"
    return None


def explain(error: BaseException) -> str | None:
    """The message for an expected failure, or None for a bug (which keeps its traceback)."""
    if isinstance(error, discord.LoginFailure):
        return f"Discord rejected DISCORD_TOKEN (401 Unauthorized)\n{NEW_CREDENTIALS_FIX}"
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the gateway connection: it asks for privileged intents this bot is not allowed\n"
            "enable them in the Developer Portal (your app → Bot → Privileged Gateway Intents), "
            "or check the server at PAPERBOT_DISCORD_GATEWAY_URL"
        )
    if isinstance(error, discord.HTTPException) and error.status >= 500:
        return (
            f"Discord answered {error.status} {error.response.reason}: it may be having an outage\n"
            "try again in a few minutes (status: https://discordstatus.com)"
        )
    if isinstance(error, discord.GatewayNotFound):
        return f"Discord did not give a gateway address: it may be having an outage\n{NETWORK_FIX}"
    if isinstance(error, aiohttp.ClientError):
        return _explain_connection(error)
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"Discord did not answer in time\n{NETWORK_FIX}"
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    if isinstance(error, ValidationError):
        return explain_settings(error)
    return None
