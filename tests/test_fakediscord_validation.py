"""The fake rejects what Discord rejects (OpenAPI spec + documented limits) and fails the test that sent it."""

from __future__ import annotations

import textwrap
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord
from tests.fakediscord.records import ViolationError
from tests.fakediscord.spec import spec_checker

pytest_plugins = ["pytester"]

needs_spec = pytest.mark.skipif(spec_checker() is None, reason="Discord's OpenAPI spec (../shared) is absent")
HEADERS = {"Authorization": "Bot fake-token"}


async def _post(fake: FakeDiscord, path: str, body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.api_base + path, json=body, headers=HEADERS) as response,
    ):
        return response.status, await response.json()


@needs_spec
async def test_a_body_the_spec_rejects_is_a_400_naming_the_field(fake_discord: FakeDiscord) -> None:
    channel = fake_discord.channel_id("papers")
    # A nonce over 25 characters is in the spec only (validate.py does not check it).
    status, body = await _post(
        fake_discord, f"/channels/{channel}/messages", {"content": "x", "nonce": "n" * 26}
    )
    assert status == 400 and body["code"] == 50035 and "nonce" in body["errors"]
    assert fake_discord.messages_in("papers") == []
    [violation] = fake_discord.violations
    assert violation.source == "spec" and violation.fields[0][0] == "nonce"
    with pytest.raises(ViolationError, match=r"POST /channels/\{channel_id\}/messages \(spec\) -> nonce"):
        fake_discord.check_violations()
    fake_discord.violations.clear()


async def test_a_documented_limit_the_spec_omits_is_enforced(fake_discord: FakeDiscord, run_bot: Any) -> None:
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client):
        channel = client.get_partial_messageable(fake_discord.channel_id("papers"))
        with pytest.raises(discord.HTTPException) as caught:
            await channel.send(embed=discord.Embed(title="t" * 257))
        assert caught.value.status == 400 and caught.value.code == 50035
        # The spec allows 4,000 characters of content; a bot may send 2,000.
        with pytest.raises(discord.HTTPException):
            await channel.send("x" * 2001)
    fields = [f for v in fake_discord.violations for f, _ in v.fields]
    assert fields == ["embeds.0.title", "content"]
    with pytest.raises(ViolationError, match=r"embeds\.0\.title"):
        fake_discord.check_violations()
    fake_discord.violations.clear()


async def test_discord_py_integer_snowflakes_and_embed_flags_are_accepted(
    fake_discord: FakeDiscord, run_bot: Any
) -> None:
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client):
        channel = client.get_partial_messageable(fake_discord.channel_id("papers"))
        first = await channel.send("first")
        await channel.send(embed=discord.Embed(title="ok", description="d"), reference=first)
        await client.create_dm(discord.Object(id=fake_discord.user_id("member")))
    posts = fake_discord.requests_matching("POST /channels/*/messages")
    assert isinstance(posts[1].json["message_reference"]["message_id"], int)
    assert "flags" in posts[1].json["embeds"][0]
    assert fake_discord.violations == []
    assert spec_checker() is None or fake_discord.validated_bodies >= 3


def test_modal_limits(fake_discord: FakeDiscord) -> None:
    from tests.fakediscord.middleware import ApiError
    from tests.fakediscord.validate import validate_commands, validate_modal

    def text_input(**extra: Any) -> dict[str, Any]:
        return {"type": 1, "components": [{"type": 4, "custom_id": "a", "style": 2, "label": "L", **extra}]}

    validate_modal(
        {"title": "ok", "custom_id": "m", "components": [text_input(value="v" * 10, max_length=10)]}
    )
    cases = {
        "data.components.0.components.0.value": text_input(value="v" * 11, max_length=10),
        "data.components.0.components.0.label": text_input(label="l" * 46),
        "data.components.0.components.0.max_length": text_input(max_length=4001),
    }
    for where, component in cases.items():
        with pytest.raises(ApiError) as caught:
            validate_modal({"title": "ok", "custom_id": "m", "components": [component]})
        assert where.split(".")[-1] in str(caught.value.body["errors"]), where
    with pytest.raises(ApiError) as caught:
        validate_commands(
            [{"name": "ask", "description": "d", "name_localizations": {"kr": "질문", "ko": "Bad Name"}}]
        )
    assert set(caught.value.body["errors"]["0"]["name_localizations"]) == {"kr", "ko"}


def test_a_violation_fails_the_test_that_caused_it(pytester: pytest.Pytester) -> None:
    """Run a test that sends a bad body through real discord.py: it fails at teardown, naming the field."""
    pytester.makepyfile(
        test_inner=textwrap.dedent(
            """
            import discord
            import pytest

            pytest_plugins = ["tests.fakediscord.fixtures"]

            async def test_sends_a_long_title(fake_discord, run_bot):
                client = discord.Client(intents=discord.Intents.none())
                async with run_bot(client):
                    channel = client.get_partial_messageable(fake_discord.channel_id("papers"))
                    try:
                        await channel.send(embed=discord.Embed(title="t" * 300))
                    except discord.HTTPException:
                        pass  # a bot that swallows the 400 must still fail its test
            """
        )
    )
    result = pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ViolationError*", "*embeds.0.title*"])


async def test_without_the_spec_validation_is_skipped_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakediscord import fixtures

    monkeypatch.setenv("FAKEDISCORD_OPENAPI", "/nonexistent/openapi.json")
    assert spec_checker() is None
    assert "NOT validated" in fixtures.spec_status()
    async with FakeDiscord() as fake:
        channel = fake.channel_id("papers")
        status, _ = await _post(fake, f"/channels/{channel}/messages", {"content": "x", "nonce": "n" * 26})
    assert status == 200 and fake.validated_bodies == 0 and fake.violations == []
