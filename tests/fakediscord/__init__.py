"""A loopback fake Discord (REST + gateway) that the real discord.py 2.7 client runs against unmodified.

Quick start
-----------
Enable the fixtures with ``pytest_plugins = ["tests.fakediscord.fixtures"]`` in the root conftest, then::

    async def test_ping(fake_discord: FakeDiscord, run_bot) -> None:
        async with run_bot(make_bot):                     # factory or a discord.Client instance
            rec = await fake_discord.slash("ping", {"loud": True}, user="admin")
            assert rec.callback_type == 4 and "pong" in rec.text and not rec.ephemeral

Without fixtures::

    async with FakeDiscord() as fake, running_bot(fake, make_bot()) as handle:
        ...

The default guild
-----------------
``FakeDiscord(guild_id=..., channels=..., roles=..., members=..., bot_user_id=..., application_id=...)``
defaults to guild "Test Guild" with text channels ``general``, ``papers``, ``vision``, ``mod-log``; roles
``@everyone``, ``Admin`` (administrator) and ``Moderator``; members ``admin`` (Admin role, guild owner),
``member`` and ``moderator``; plus the bot (``PaperBot``, with a managed role). ``channels`` is a list of
names or a ``{name: id}`` mapping, ``roles`` a ``{name: permission_int}`` mapping, ``members`` a
``{username: [role names]}`` mapping. Ids are fixed and readable (``fake.channel_id("papers")``,
``fake.user_id("admin")``, ``fake.role_id("Moderator")``). ``forbidden_channels=["mod-log"]`` makes bot
writes there fail with 403 / 50013; ``dm_refused=["member"]`` makes DMs fail with 403 / 50007.
``add_channel``, ``add_member``, ``add_role`` and ``set_forbidden`` work before or while a bot runs
(a running bot gets CHANNEL_CREATE / GUILD_MEMBER_ADD / ... events).

Driving the bot (all ``user=`` / ``channel=`` arguments take ids or names)
--------------------------------------------------------------------------
* ``await fake.slash("route set", {"channel": "papers", "pdf": FakeFile("a.pdf", b"...")}, user="admin")``
  - options are typed from the synced command definitions (user/channel/role/attachment options get
  ``data.resolved``); unknown/missing-required options and invalid choices raise ``ValueError``.
* ``await fake.autocomplete("search", {"query": "vis"}, focused="query")`` returns the choices list.
* ``await fake.click(message, "custom-id", values=[...])`` presses a button/select on a stored message.
* ``await fake.submit_modal(rec, {"custom_id or label": "value"})`` answers the modal ``rec`` opened.
* ``await fake.context_menu("Save paper", message_or_user)``.
* ``await fake.add_reaction(channel, message_id, "👍", user)`` / ``remove_reaction``,
  ``await fake.post_message(channel, "hello", user="member")``.

Each returns an :class:`InteractionRecord` (``wait=True`` by default waits until the bot answered):
``callback_type`` (4 message, 5 defer, 6/7 update, 8 autocomplete, 9 modal), ``callback.data``/
``callback.files``, ``message`` (current original response), ``followups``, ``edits``, ``files``,
``content``/``embeds``/``components``/``flags``, ``ephemeral``, ``allowed_mentions``, ``choices``,
``modal``, ``text`` (content + embed text of the response and follow-ups) and
``await rec.wait_done()`` / ``wait_until(pred)`` / ``wait_followups(n)``. "Answered" means: the callback
arrived and, for a type-5 defer, a follow-up/``@original`` edit too; for a type-6 defer, an edit/follow-up
or the end of the bot's handler task (ack-only defers don't hang).

Inspecting
----------
``fake.requests`` (:class:`RecordedRequest`: ``method``, ``path``, ``route`` template, ``params``,
``query``, ``json``, ``files`` (:class:`UploadedFile`), ``headers``, ``status``, ``response``,
``injected``), ``fake.requests_matching("POST /channels/*/messages")``, ``await fake.wait_for(spec,
since=fake.mark(), count=n)``; ``fake.messages[channel_id]`` (current), ``fake.message_log`` (every
create), ``fake.deleted_messages``, ``fake.messages_in("papers")``, ``fake.dms_to("member")``,
``fake.commands[None | guild_id]`` (as last synced), ``fake.interactions``, ``fake.gateway_log`` /
``await fake.wait_for_gateway(pred)``, ``fake.unhandled`` (requests to unimplemented routes).

Faults and reconnects
---------------------
``fake.fail_next("POST", "/channels/*/messages", status=500, times=1)`` (429s carry ``Via`` and
rate-limit headers so discord.py retries); ``fake.rate_limits(per_channel=(5, 5.0),
global_per_second=50)`` enforces real buckets; ``await fake.disconnect()`` drops the socket (the bot
RESUMEs; events dispatched meanwhile are replayed), ``disconnect(resumable=False)`` forces a new
IDENTIFY, ``request_reconnect()`` sends op 7, ``invalidate_session()`` op 9. Stored messages survive bot
restarts, so a second bot can click buttons on messages the first one sent.

Faithful to Discord where the bot's logic depends on it
-------------------------------------------------------
* Every REST and interaction-callback body is validated against Discord's OpenAPI spec
  (``../shared/reference/discord-api-spec/openapi.json``, see :mod:`.spec`) and the documented limits the spec
  leaves out (:mod:`.validate`). A violation is answered 400 / 50035 like Discord and recorded in
  ``fake.violations``; the ``fake_discord`` fixture fails the test at teardown naming each field. Without
  the spec file the schema check is skipped, with a warning and a line in the pytest summary.
* ``enforce_nonce`` dedupes only within ``fake.nonce_window`` seconds (default 300); interaction tokens
  expire after ``fake.token_lifetime`` (15 min, 401 / 50027); an interaction not acknowledged within
  ``fake.ack_deadline`` (3 s, real time) is marked ``rec.failed`` ("This interaction failed"), its late
  callback gets 404 / 10062 and ``wait_done`` raises :class:`~.records.InteractionFailed`.
  ``fake.advance(seconds)`` moves the fake's clock (nonce windows, tokens, snowflakes) forward.

discord.py facts this relies on
-------------------------------
* There is no URL option: :func:`point_discord_at` sets ``Route.BASE`` and
  ``DiscordWebSocket.DEFAULT_GATEWAY`` (process-wide; ``run_bot`` does it for you).
* JSON responses must be ``Content-Type: application/json`` exactly, else discord.py sees a string.
* Interaction callbacks are sent with ``?with_response=1`` and need an ``{"interaction", "resource"}``
  body; ``interaction.response_message_id`` is where views get stored.
* A 429 without ``Via`` is treated as a Cloudflare ban (no retry). 5xx are retried after 1 s, 3 s, ...
* ``guild_ready_timeout`` defaults to 2 s (``run_bot`` lowers it). Handler errors are only logged;
  ``run_bot`` collects them, makes pending waits fail fast and raises :class:`BotError` at exit.
* Every non-initial IDENTIFY (after ``disconnect(resumable=False)``/op 9) is delayed 5 s by
  ``Client.before_identify_hook``; override it on the bot in tests that force a re-IDENTIFY.
* Gateway events honour the IDENTIFY intents: MESSAGE_* need (DIRECT_)MESSAGES, reactions need the
  reaction intents, GUILD_MEMBER_* and the member list in GUILD_CREATE need GUILD_MEMBERS, and other
  users' guild messages arrive without content unless MESSAGE_CONTENT is on (or the bot is mentioned).
* After a type-5 defer the first follow-up *replaces* the "thinking" message and keeps the defer's
  ephemerality (Discord behaviour); later follow-ups are new messages.
"""

from .interactions import FakeFile
from .payloads import text_of
from .records import (
    BotError,
    CallbackRecord,
    GatewayFrame,
    InteractionRecord,
    RecordedRequest,
    UploadedFile,
)
from .runner import BotHandle, point_discord_at, running_bot
from .server import FakeDiscord

__all__ = [
    "BotError",
    "BotHandle",
    "CallbackRecord",
    "FakeDiscord",
    "FakeFile",
    "GatewayFrame",
    "InteractionRecord",
    "RecordedRequest",
    "UploadedFile",
    "point_discord_at",
    "running_bot",
    "text_of",
]
