"""What makes the fake as strict as Discord: body validation results and Discord's clocks.

Mixed into :class:`~tests.fakediscord.server.FakeDiscord`: nonce windows, interaction token lifetimes, the
3 s acknowledgement deadline, a movable clock (:meth:`DiscordStrictness.advance`) and the violations the
``fake_discord`` fixture fails a test on.
"""

from __future__ import annotations

import asyncio

from .payloads import SnowflakeGenerator
from .records import InteractionRecord, RecordedRequest, Signal, Violation, ViolationError


class DiscordStrictness:
    """Settings and records for Discord's rules (see the package docstring, "Faithful to Discord")."""

    snowflakes: SnowflakeGenerator
    signal: Signal

    def _init_strict(self) -> None:
        self.validate_bodies = True
        """Check request bodies against Discord's OpenAPI spec (when the spec file is present)."""
        self.validated_bodies = 0
        """How many request bodies this fake checked against the spec."""
        self.violations: list[Violation] = []
        """Bodies Discord would reject (spec or documented limits); the fixture fails the test on any."""
        self.nonce_window = 300.0
        """Seconds an ``enforce_nonce`` resend returns the first message (Discord: "the past few minutes")."""
        self.token_lifetime = 15 * 60.0
        """Seconds an interaction token accepts follow-ups and edits (Discord: 15 minutes)."""
        self.ack_deadline = 3.0
        """Seconds (real time) the bot has to acknowledge an interaction before the member sees it fail."""
        self.failed_interactions: list[InteractionRecord] = []
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        """(channel id, nonce) -> (message id, ``now()`` when sent), for ``enforce_nonce`` dedupe."""
        self._time_offset = 0.0
        self._ack_timers: list[asyncio.TimerHandle] = []

    # -- time ----------------------------------------------------------------------------------------------
    def now(self) -> float:
        """The fake's clock (event-loop seconds plus :meth:`advance`); nonce windows and tokens use it."""
        return asyncio.get_running_loop().time() + self._time_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward: nonce windows close, interaction tokens expire, snowflakes jump."""
        self._time_offset += seconds
        self.snowflakes.offset_ms += int(seconds * 1000)

    def _ack_expired(self, rec: InteractionRecord) -> None:
        if rec.callback is None and rec.failed is None:
            rec.failed = f"This interaction failed (not acknowledged within {self.ack_deadline:g} s)"
            self.failed_interactions.append(rec)
            self.signal.notify()

    # -- validation ------------------------------------------------------------------------------------
    def record_violation(self, record: RecordedRequest, source: str, fields: list[tuple[str, str]]) -> None:
        self.violations.append(Violation(record.method, record.path, record.route, source, fields))

    def check_violations(self) -> None:
        """Raise :class:`ViolationError` naming every field of every body Discord would have rejected."""
        if self.violations:
            lines = "\n  ".join(str(v) for v in self.violations)
            raise ViolationError(
                f"the bot sent {len(self.violations)} request(s) Discord would reject:\n  {lines}"
            )
