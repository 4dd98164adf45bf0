"""Proves the fake Discord server against the real discord.py client with a throwaway bot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import BotError, FakeDiscord, FakeFile, text_of
from tests.fakediscord.payloads import DEFAULT_GUILD_ID, FLAG_EPHEMERAL, FLAG_LOADING
from tests.fakediscord.runner import BotHandle, running_bot

pytest_plugins = ("tests.fakediscord.fixtures",)

TOPICS = ["vision transformers", "diffusion models", "graph networks", "visual grounding"]
RunBot = Callable[..., Any]


@dataclass
class Probe:
    """What the throwaway bot observed, as queues so tests can await events without sleeping."""

    reactions: asyncio.Queue[tuple[str, str, int, int]] = field(default_factory=asyncio.Queue)
    forbidden: list[discord.Forbidden] = field(default_factory=list)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"vote:(?P<paper_id>\d+)"):
    """A persistent button: any bot instance can handle it from its custom_id alone."""

    def __init__(self, paper_id: int) -> None:
        super().__init__(discord.ui.Button(label="Upvote", custom_id=f"vote:{paper_id}"))
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> VoteButton:
        return cls(int(match["paper_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(
            f"{interaction.user.name} voted for {self.paper_id}", ephemeral=True
        )


class NoteModal(discord.ui.Modal, title="Add a note"):
    note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
        label="Note", custom_id="note-text", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"noted: {self.note.value}")


class Picker(discord.ui.View):
    """Select -> type 7 update; "later" -> type 6 defer + @original edit; "why" -> modal -> type 7."""

    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.select(
        custom_id="pick", options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")]
    )
    async def pick(self, interaction: discord.Interaction[Any], select: discord.ui.Select[Picker]) -> None:
        await interaction.response.edit_message(content=f"picked {select.values[0]}", view=None)

    @discord.ui.button(label="Later", custom_id="later")
    async def later(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Picker]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="updated later")

    @discord.ui.button(label="Why?", custom_id="why")
    async def why(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Picker]) -> None:
        modal = discord.ui.Modal(title="Why?")
        reason: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Reason", custom_id="reason")
        modal.add_item(reason)

        async def on_submit(submitted: discord.Interaction[Any]) -> None:
            await submitted.response.edit_message(content=f"because {reason.value}")

        modal.on_submit = on_submit  # type: ignore[method-assign]
        await interaction.response.send_modal(modal)


def make_bot(probe: Probe) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = commands.Bot(command_prefix="!", intents=intents)
    guild = discord.Object(id=DEFAULT_GUILD_ID)

    @bot.tree.command(description="Reply with pong")
    async def ping(interaction: discord.Interaction[Any], loud: bool = False) -> None:
        await interaction.response.send_message("PONG" if loud else "pong", ephemeral=not loud)

    @bot.tree.command(description="Defer, then follow up")
    async def slow(interaction: discord.Interaction[Any], topic: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(embed=discord.Embed(title=f"Report on {topic}", description="done"))

    route = app_commands.Group(name="route", description="Digest routing")

    @route.command(name="set", description="Route digests to a channel")
    async def route_set(
        interaction: discord.Interaction[Any], channel: discord.TextChannel, role: discord.Role | None = None
    ) -> None:
        who = role.name if role else "nobody"
        await interaction.response.send_message(f"routing to {channel.mention} pinging {who}", ephemeral=True)

    bot.tree.add_command(route)

    @bot.tree.command(description="Search papers")
    async def search(interaction: discord.Interaction[Any], query: str) -> None:
        await interaction.response.send_message(f"result: {query}")

    @search.autocomplete("query")
    async def search_query(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if current.lower() in t][:25]

    @bot.tree.command(description="Vote on a paper")
    async def poll(interaction: discord.Interaction[Any]) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(VoteButton(42))
        await interaction.response.send_message("Vote on paper 42", view=view)

    @bot.tree.command(description="Add a note")
    async def note(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(NoteModal())

    @bot.tree.command(description="DM a user")
    async def dm(interaction: discord.Interaction[Any], user: discord.User) -> None:
        try:
            await user.send("hello from the bot")
        except discord.Forbidden as exc:
            probe.forbidden.append(exc)
            await interaction.response.send_message(f"cannot DM {user.name}", ephemeral=True)
            return
        await interaction.response.send_message("sent", ephemeral=True)

    @bot.tree.command(description="Export as CSV")
    async def export(interaction: discord.Interaction[Any], name: str) -> None:
        data = discord.File(io.BytesIO(b"a,b\n1,2\n"), filename=f"{name}.csv")
        await interaction.response.send_message("here you go", file=data)

    @bot.tree.command(description="Inspect an uploaded file")
    async def inspect(interaction: discord.Interaction[Any], file: discord.Attachment) -> None:
        content = await file.read()
        await interaction.response.send_message(
            f"{file.filename}: {len(content)} bytes, starts {content[:4]!r}"
        )

    @bot.tree.command(description="Moderators only")
    @app_commands.guilds(guild)
    @app_commands.default_permissions(manage_messages=True)
    async def purge(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("purged", ephemeral=True)

    @bot.tree.command(description="Pick something")
    async def menu(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("choose", view=Picker())

    @bot.tree.context_menu(name="Save paper")
    async def save(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await interaction.response.send_message(f"saved {message.content!r}", ephemeral=True)

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if message.content.startswith("echo "):
            await message.reply(message.content.upper(), mention_author=False)

    @bot.tree.command(description="Always fails")
    async def broken(interaction: discord.Interaction[Any]) -> None:
        raise RuntimeError("kaput")

    @bot.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        await probe.reactions.put(("add", str(payload.emoji), payload.user_id, payload.message_id))

    @bot.event
    async def on_raw_reaction_remove(payload: discord.RawReactionActionEvent) -> None:
        await probe.reactions.put(("remove", str(payload.emoji), payload.user_id, payload.message_id))

    @bot.event
    async def on_resumed() -> None:
        probe.resumed.set()

    async def setup_hook() -> None:
        bot.add_dynamic_items(VoteButton)
        await bot.tree.sync()
        await bot.tree.sync(guild=guild)

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def bot_factory(probe: Probe) -> Callable[[], commands.Bot]:
    return lambda: make_bot(probe)


def text_channel(handle: BotHandle, fake: FakeDiscord, name: str) -> discord.TextChannel:
    channel = handle.bot.get_channel(fake.channel_id(name))
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- connection & sync ---------------------------------------------------------------------------------


async def test_connects_and_receives_guild(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    async with run_bot(bot_factory) as handle:
        bot = handle.bot
        guild = bot.get_guild(fake_discord.guild_id)
        assert guild is not None and guild.name == "Test Guild"
        assert {c.name for c in guild.text_channels} == {"general", "papers", "vision", "mod-log"}
        assert {r.name for r in guild.roles} >= {"@everyone", "Admin", "Moderator"}
        assert guild.get_member(fake_discord.user_id("admin")) is None  # no members intent: not cached
        admin = await guild.fetch_member(fake_discord.user_id("admin"))
        assert admin.guild_permissions.administrator and guild.me.guild_permissions.manage_threads
        assert bot.user is not None and bot.user.id == fake_discord.bot_user_id
        assert bot.application_id == fake_discord.application_id
        events = [f.t for f in fake_discord.gateway_log if f.direction == "out" and f.op == 0]
        assert events[:2] == ["READY", "GUILD_CREATE"]
        assert [f.op for f in fake_discord.gateway_log if f.direction == "in"][:2] in ([1, 2], [2, 1])
        assert fake_discord.requests_matching("GET /users/@me")
        assert fake_discord.requests_matching("GET /oauth2/applications/@me")


async def test_command_sync_is_recorded(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory):
        global_names = {c["name"] for c in fake_discord.commands[None]}
        assert {
            "ping",
            "slow",
            "route",
            "search",
            "poll",
            "note",
            "dm",
            "export",
            "Save paper",
        } <= global_names
        assert [c["name"] for c in fake_discord.commands[fake_discord.guild_id]] == ["purge"]
        route = next(c for c in fake_discord.commands[None] if c["name"] == "route")
        assert route["options"][0]["name"] == "set" and route["options"][0]["type"] == 1
        assert all(
            c["id"] and c["application_id"] == str(fake_discord.application_id)
            for c in fake_discord.commands[None]
        )
        puts = fake_discord.requests_matching("PUT /applications/*")
        assert [r.route for r in puts] == [
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ]
        purge = await fake_discord.slash("purge", user="moderator")
        assert purge.payload["data"]["guild_id"] == str(fake_discord.guild_id)
        assert purge.text == "purged"


# -- slash commands ----------------------------------------------------------------------------------------


async def test_slash_reply_and_ephemeral_flag(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    async with run_bot(bot_factory):
        loud = await fake_discord.slash("ping", {"loud": True}, user="admin")
        assert loud.callback_type == 4 and loud.text == "PONG" and not loud.ephemeral
        assert loud.message is not None and loud.message["interaction_metadata"]["name"] == "ping"
        assert [m["content"] for m in fake_discord.messages_in("general")] == ["PONG"]
        await fake_discord.wait_for_gateway(lambda f: f.t == "MESSAGE_CREATE" and f.d["content"] == "PONG")

        quiet = await fake_discord.slash("ping")
        assert quiet.ephemeral and quiet.flags & FLAG_EPHEMERAL and quiet.text == "pong"
        assert [m["content"] for m in fake_discord.messages_in("general")] == ["PONG"]
        assert quiet.callback is not None and quiet.callback.request.query == {"with_response": "1"}


async def test_defer_then_followup(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory):
        rec = await fake_discord.slash("slow", {"topic": "vision"})
        assert rec.callback_type == 5
        assert len(rec.followups) == 1 and rec.followups[0]["embeds"][0]["title"] == "Report on vision"
        # Like Discord, the first follow-up replaces the "thinking" message.
        assert rec.message is not None and rec.message["id"] == rec.followups[0]["id"]
        assert not rec.message["flags"] & FLAG_LOADING
        assert "Report on vision\ndone" in rec.text


async def test_subcommand_with_resolved_channel_and_role(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    async with run_bot(bot_factory):
        rec = await fake_discord.slash("route set", {"channel": "papers", "role": "Moderator"}, user="admin")
        assert rec.text == f"routing to <#{fake_discord.channel_id('papers')}> pinging Moderator"
        resolved = rec.payload["data"]["options"][0]["options"]
        assert [o["type"] for o in resolved] == [7, 8]
        with pytest.raises(ValueError, match="missing required"):
            await fake_discord.slash("route set", {"role": "Moderator"})


async def test_autocomplete_choices(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory):
        choices = await fake_discord.autocomplete("search", {"query": "vis"}, focused="query")
        assert [c["name"] for c in choices] == ["vision transformers", "visual grounding"]
        rec = await fake_discord.slash("search", {"query": choices[0]["value"]})
        assert rec.text == "result: vision transformers"


async def test_handler_errors_fail_fast(fake_discord: FakeDiscord, bot_factory: Any) -> None:
    with pytest.raises(BotError, match="kaput"):
        async with running_bot(fake_discord, bot_factory):
            await fake_discord.slash("broken")


# -- components, modals, reactions ---------------------------------------------------------------------------


async def test_button_click(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory):
        rec = await fake_discord.slash("poll")
        assert rec.message is not None and rec.components[0]["components"][0]["custom_id"] == "vote:42"
        click = await fake_discord.click(rec.message, "vote:42", user="admin")
        assert click.text == "admin voted for 42" and click.ephemeral
        assert click.payload["message"]["id"] == rec.message["id"]


async def test_modal_round_trip(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory):
        rec = await fake_discord.slash("note")
        assert rec.callback_type == 9 and rec.modal is not None and rec.modal["title"] == "Add a note"
        submitted = await fake_discord.submit_modal(rec, {"Note": "great paper"})
        assert submitted.text == "noted: great paper"
        with pytest.raises(ValueError, match="no input"):
            await fake_discord.submit_modal(rec, {"note-text": "ok", "Nope": "x"})
        with pytest.raises(ValueError, match="required"):
            await fake_discord.submit_modal(rec, {})


async def test_reactions_reach_raw_listeners(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any, probe: Probe
) -> None:
    async with run_bot(bot_factory) as handle:
        message = await fake_discord.post_message("papers", "a new paper", user="member")
        member_id = fake_discord.user_id("member")
        await fake_discord.add_reaction("papers", int(message["id"]), "👍", "member")
        assert await asyncio.wait_for(probe.reactions.get(), 5) == (
            "add",
            "👍",
            member_id,
            int(message["id"]),
        )
        await fake_discord.remove_reaction("papers", int(message["id"]), "👍", "member")
        assert await asyncio.wait_for(probe.reactions.get(), 5) == (
            "remove",
            "👍",
            member_id,
            int(message["id"]),
        )

        partial = text_channel(handle, fake_discord, "papers").get_partial_message(int(message["id"]))
        await partial.add_reaction("📄")
        bot_event = await asyncio.wait_for(probe.reactions.get(), 5)
        assert bot_event == ("add", "📄", fake_discord.bot_user_id, int(message["id"]))
        assert fake_discord.find_message(message["id"])["reactions"][0]["me"] is True  # type: ignore[index]


async def test_component_updates_context_menu_and_messages(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    async with run_bot(bot_factory):
        menu = await fake_discord.slash("menu")
        assert menu.message is not None
        later = await fake_discord.click(menu.message, "later")
        assert later.callback_type == 6 and later.content == "updated later"
        why = await fake_discord.click(menu.message, "why")
        answered = await fake_discord.submit_modal(why, {"Reason": "it is good"})
        assert answered.callback_type == 7 and answered.content == "because it is good"
        picked = await fake_discord.click(menu.message, "pick", values=["b"])
        assert picked.callback_type == 7 and picked.components == []
        assert [m["content"] for m in fake_discord.messages_in("general")] == ["picked b"]

        since = fake_discord.mark()
        posted = await fake_discord.post_message("papers", "echo hi", user="member")
        reply = await fake_discord.wait_for("POST /channels/*/messages", since=since)
        assert reply.json["message_reference"]["message_id"] == int(posted["id"])
        assert fake_discord.messages_in("papers")[-1]["content"] == "ECHO HI"

        saved = await fake_discord.context_menu("Save paper", posted)
        assert saved.text == "saved 'echo hi'" and saved.ephemeral


# -- files & DMs ------------------------------------------------------------------------------------------------


async def test_file_attachments(fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any) -> None:
    async with run_bot(bot_factory) as handle:
        rec = await fake_discord.slash("export", {"name": "papers"})
        assert rec.callback is not None
        assert [(f.filename, f.content) for f in rec.callback.files] == [("papers.csv", b"a,b\n1,2\n")]
        attachment = rec.message["attachments"][0]  # type: ignore[index]
        async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as response:
            assert await response.read() == b"a,b\n1,2\n"

        sent = await text_channel(handle, fake_discord, "vision").send(
            "figure", file=discord.File(io.BytesIO(b"\x89PNG..."), filename="fig.png")
        )
        request = fake_discord.requests_matching("POST /channels/*/messages")[-1]
        assert request.json["content"] == "figure" and request.files[0].content == b"\x89PNG..."
        assert sent.attachments[0].filename == "fig.png" and sent.attachments[0].content_type == "image/png"

        uploaded = await fake_discord.slash(
            "inspect", attachments={"file": FakeFile("paper.pdf", b"%PDF-1.7 ...")}
        )
        assert uploaded.text == "paper.pdf: 12 bytes, starts b'%PDF'"


async def test_dm_refused_raises_forbidden(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any, probe: Probe
) -> None:
    fake_discord.dm_refused.add(fake_discord.user_id("member"))
    async with run_bot(bot_factory) as handle:
        ok = await fake_discord.slash("dm", {"user": "moderator"})
        assert ok.text == "sent"
        assert [m["content"] for m in fake_discord.dms_to("moderator")] == ["hello from the bot"]

        refused = await fake_discord.slash("dm", {"user": "member"})
        assert refused.text == "cannot DM member"
        assert probe.forbidden[0].code == 50007 and probe.forbidden[0].status == 403

        user = await handle.bot.fetch_user(fake_discord.user_id("member"))
        with pytest.raises(discord.Forbidden) as info:
            await user.send("direct")
        assert info.value.code == 50007
        assert fake_discord.dms_to("member") == []


async def test_channel_errors_and_threads(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    fake_discord.set_forbidden("mod-log")
    async with run_bot(bot_factory) as handle:
        with pytest.raises(discord.Forbidden) as forbidden:
            await text_channel(handle, fake_discord, "mod-log").send("nope")
        assert forbidden.value.code == 50013
        with pytest.raises(discord.NotFound) as missing:
            await handle.bot.fetch_channel(123)
        assert missing.value.code == 10003

        papers = text_channel(handle, fake_discord, "papers")
        first = await papers.send("one")
        second = await papers.send("two")
        await second.edit(content="two (edited)")
        thread = await first.create_thread(name="discussion")
        assert thread.id == first.id and fake_discord.channels[thread.id]["type"] == 11
        history = [m.content async for m in papers.history(limit=10)]
        assert history == ["two (edited)", "one"]
        assert [m.content async for m in papers.history(after=first)] == ["two (edited)"]
        await first.delete()
        assert [m["content"] for m in fake_discord.messages_in("papers")] == ["two (edited)"]
        assert len(fake_discord.message_log) == 2 and fake_discord.deleted_messages[0]["content"] == "one"
        await fake_discord.wait_for_gateway(lambda f: f.t == "MESSAGE_DELETE" and f.d["id"] == str(first.id))
        assert any(f.t == "THREAD_CREATE" for f in fake_discord.gateway_log)


# -- faults, rate limits, reconnects -------------------------------------------------------------------------------


async def test_followup_429_is_retried_once(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    rule = fake_discord.fail_next("POST", "/webhooks/{application_id}/{token}", status=429, retry_after=0.05)
    async with run_bot(bot_factory):
        rec = await fake_discord.slash("slow", {"topic": "graphs"})
        statuses = [r.status for r in fake_discord.requests_matching("POST /webhooks/*")]
        assert statuses == [429, 200] and rule.remaining == 0
        assert len(rec.followups) == 1 and len(rec.followup_payloads) == 1
        delivered = [m for m in fake_discord.messages_in("general") if "Report on graphs" in text_of(m)]
        assert len(delivered) == 1


async def test_channel_send_500_is_retried(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    fake_discord.fail_next("POST", "/channels/*/messages", status=500)
    async with run_bot(bot_factory) as handle:
        await text_channel(handle, fake_discord, "general").send("survives a 500")
        assert [r.status for r in fake_discord.requests_matching("POST /channels/*/messages")] == [500, 200]
        assert [m["content"] for m in fake_discord.messages_in("general")] == ["survives a 500"]


async def test_rate_limit_enforcement_paces_delivery(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any
) -> None:
    fake_discord.rate_limits(per_channel=(3, 0.25), global_per_second=None)
    async with run_bot(bot_factory) as handle:
        channel = text_channel(handle, fake_discord, "general")
        await asyncio.gather(*(channel.send(f"msg {i}") for i in range(7)))
        accepted = [r for r in fake_discord.requests_matching("POST /channels/*/messages") if r.status == 200]
        assert sorted(m["content"] for m in fake_discord.messages_in("general")) == [
            f"msg {i}" for i in range(7)
        ]
        assert len(accepted) == 7
        times = sorted(r.time for r in accepted)
        assert times[-1] - times[0] >= 2 * 0.25  # 7 sends at 3 per window need at least 3 windows
        assert accepted[-1].headers["Authorization"] == "Bot fake-token"


async def test_raw_http_details(fake_discord: FakeDiscord) -> None:
    fake_discord.fail_next("GET", "/users/@me", status=429, retry_after=0.5)
    headers = {"Authorization": "Bot x"}
    async with aiohttp.ClientSession() as session:
        async with session.get(fake_discord.api_base + "/users/@me", headers=headers) as response:
            assert response.status == 429 and response.headers["Content-Type"] == "application/json"
            assert response.headers["Via"] and response.headers["Retry-After"] == "1"
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert (await response.json())["retry_after"] == 0.5
        async with session.get(fake_discord.api_base + "/users/@me") as response:
            assert response.status == 401
        async with session.get(fake_discord.api_base + "/channels/1/messages", headers=headers) as response:
            assert (await response.json())["code"] == 10003
        async with session.get(fake_discord.api_base + "/nope", headers=headers) as response:
            assert response.status == 404
    assert [r.path for r in fake_discord.unhandled] == ["/nope"]


async def test_gateway_resume(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_factory: Any, probe: Probe
) -> None:
    async with run_bot(bot_factory) as handle:
        message = await fake_discord.post_message("general", "react to me", user="member")
        since = len(fake_discord.gateway_log)
        await fake_discord.disconnect()
        # Dispatched while the bot is (probably) away: buffered and replayed on RESUME.
        await fake_discord.add_reaction("general", int(message["id"]), "🔥", "admin")
        await fake_discord.wait_for_gateway(lambda f: f.direction == "in" and f.op == 6, since=since)
        await asyncio.wait_for(probe.resumed.wait(), 5)
        assert (await asyncio.wait_for(probe.reactions.get(), 5))[:2] == ("add", "🔥")
        assert probe.reactions.empty()
        assert sum(1 for f in fake_discord.gateway_log if f.direction == "in" and f.op == 2) == 1
        assert (await fake_discord.slash("ping")).text == "pong"

        async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
            """discord.py sleeps 5 s before every non-initial IDENTIFY; skip that here."""

        handle.bot.before_identify_hook = identify_now  # type: ignore[method-assign]
        await fake_discord.disconnect(resumable=False)
        await fake_discord.wait_for_gateway(lambda f: f.direction == "out" and f.t == "READY", since=since)
        assert (await fake_discord.slash("ping", {"loud": True})).text == "PONG"


async def test_second_bot_instance_handles_old_button(fake_discord: FakeDiscord, probe: Probe) -> None:
    async with running_bot(fake_discord, make_bot(probe)):
        poll = await fake_discord.slash("poll")
    assert poll.message is not None
    async with running_bot(fake_discord, make_bot(Probe())):
        assert fake_discord.find_message(poll.message["id"]) is not None
        click = await fake_discord.click(poll.message, "vote:42", user="moderator")
        assert click.text == "moderator voted for 42"
    identifies = [f for f in fake_discord.gateway_log if f.direction == "in" and f.op == 2]
    assert len(identifies) == 2


async def test_enforce_nonce_returns_the_first_message(fake_discord: FakeDiscord, run_bot: Any) -> None:
    """Discord's idempotent send: a resend with the same nonce does not post twice."""
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client):
        channel = client.get_partial_messageable(fake_discord.channel_id("papers"))
        first = await channel.send("hello", nonce="pb-same")
        again = await channel.send("hello", nonce="pb-same")
        other = await channel.send("hello", nonce="pb-other")
    assert first.id == again.id != other.id
    assert len(fake_discord.messages_in("papers")) == 2
