from __future__ import annotations

from typing import Any

import pytest

from bot.ui.checks import NotModerator
from tests.botenv import BotEnv
from tests.fakediscord import FakeFile
from tests.notes import DIGEST

MODERATOR_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("commentary add", {"paper": "2407.07860"}),
    ("commentary edit", {"paper": "2407.07860"}),
    ("commentary missing", {}),
    ("digest preview", {}),
    ("digest post", {"date": "2024-07-11"}),
    ("digest settings", {"language": "english"}),
    ("route set", {"tag": "llm", "channel": "papers"}),
    ("route remove", {"tag": "llm", "channel": "papers"}),
    ("route list", {}),
    ("route fallback", {"channel": "papers"}),
]


@pytest.mark.parametrize(("command", "options"), MODERATOR_CALLS, ids=[c for c, _ in MODERATOR_CALLS])
async def test_moderator_commands_refuse_members(
    env: BotEnv, run_bot: Any, command: str, options: dict[str, Any]
) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot, expect_errors=True) as handle:
        rec = await env.fake.slash(command, options, user="member")
        assert rec.ephemeral
        assert "Only moderators" in rec.text
        assert all(isinstance(e, NotModerator) for e in handle.errors)
    assert await env.db.fetchval("SELECT count(*) FROM routes") == 0
    assert await env.db.fetchval("SELECT count(*) FROM posts") == 0


@pytest.mark.parametrize(("command", "options"), MODERATOR_CALLS, ids=[c for c, _ in MODERATOR_CALLS])
@pytest.mark.parametrize("user", ["moderator", "admin"])
async def test_moderator_commands_allowed_for_role_and_manage_server(
    env: BotEnv, run_bot: Any, command: str, options: dict[str, Any], user: str
) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        rec = await env.fake.slash(command, options, user=user)
        assert "Only moderators" not in rec.text
        assert rec.callback_type in (4, 5, 9)


async def test_digest_import_refused_for_members(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot):
        rec = await env.fake.slash(
            "digest import", attachments={"file": FakeFile("d.txt", DIGEST.encode())}, user="member"
        )
        assert "Only moderators" in rec.text
    assert await env.db.fetchval("SELECT count(*) FROM papers") == 0


async def test_routes_by_moderator_role_member(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot):
        rec = await env.fake.slash(
            "route set", {"tag": "#Vision_Language", "channel": "vision"}, user="moderator"
        )
        assert "`#vision-language`" in rec.text and rec.ephemeral
        await env.fake.slash("route set", {"tag": "llm", "channel": "papers"}, user="admin")
        await env.fake.slash("route fallback", {"channel": "general"}, user="admin")
        listing = await env.fake.slash("route list", user="admin")
        vision, papers, general = (env.fake.channel_id(n) for n in ("vision", "papers", "general"))
        assert f"`#llm` → <#{papers}>" in listing.text
        assert f"`#vision-language` → <#{vision}>" in listing.text
        assert f"<#{general}>" in listing.text
        removed = await env.fake.slash("route remove", {"tag": "llm", "channel": "papers"}, user="admin")
        assert "Removed" in removed.text
        again = await env.fake.slash("route remove", {"tag": "llm", "channel": "papers"}, user="admin")
        assert "no route" in again.text


async def test_digest_import_report_and_rejection(env: BotEnv, run_bot: Any) -> None:
    async with run_bot(env.make_bot):
        bad = DIGEST + "Dangling title\n#x\n"
        rec = await env.fake.slash(
            "digest import", attachments={"file": FakeFile("bad.txt", bad.encode())}, user="admin"
        )
        assert rec.ephemeral
        assert "rejected; nothing was stored" in rec.text
        assert "bad.txt:" in rec.text
        assert await env.db.fetchval("SELECT count(*) FROM papers") == 0
        wrong = await env.fake.slash(
            "digest import", attachments={"file": FakeFile("x.pdf", b"%PDF")}, user="admin"
        )
        assert ".txt" in wrong.text
        good = await env.fake.slash(
            "digest import", attachments={"file": FakeFile("d.txt", DIGEST.encode())}, user="admin"
        )
        assert "Imported **d.txt**" in good.text and "2 new" in good.text
        assert await env.db.fetchval("SELECT count(*) FROM papers") == 2


async def test_commentary_modal_round_trip_edits_earlier_posts(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        await env.fake.slash("route fallback", {"channel": "papers"}, user="admin")
        posted = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin")
        assert "2 posts sent" in posted.text
        post = next(m for m in env.fake.messages_in("papers") if "Tiny Language" in m["embeds"][0]["title"])
        missing = await env.fake.slash("commentary missing", {"days": 3650}, user="admin")
        assert "Every paper" in missing.text  # both sample papers have commentary

        opened = await env.fake.slash(
            "commentary add", {"paper": "A Tiny Language Model Study"}, user="moderator"
        )
        assert opened.callback_type == 9
        done = await env.fake.submit_modal(
            opened,
            {"Your commentary": "새 코멘트: 작은 모델의 일반화.", "English version (optional)": ""},
            user="moderator",
        )
        assert "updated 1 earlier posts" in done.text
        edited = next(m for m in env.fake.messages_in("papers") if m["id"] == post["id"])
        assert "새 코멘트" in edited["embeds"][0]["description"]
        assert edited["components"], "the buttons stay on the edited post"

        opened = await env.fake.slash(
            "commentary edit", {"paper": "A Tiny Language Model Study"}, user="admin"
        )
        await env.fake.submit_modal(opened, {"Your commentary": "고친 코멘트."}, user="admin")
        edited = next(m for m in env.fake.messages_in("papers") if m["id"] == post["id"])
        assert "고친 코멘트." in edited["embeds"][0]["description"]
    revisions = await env.db.fetchval("SELECT count(*) FROM commentary_revisions")
    assert revisions == 1
    author = await env.db.fetchval("SELECT editor FROM commentary_revisions")
    assert author


async def test_empty_modal_commentary_is_refused_clearly(env: BotEnv, run_bot: Any) -> None:
    await env.ingest_sample()
    async with run_bot(env.make_bot):
        opened = await env.fake.slash("commentary add", {"paper": "2407.07860"}, user="admin")
        done = await env.fake.submit_modal(opened, {"Your commentary": "   "}, user="admin")
        assert done.ephemeral and "commentary is empty" in done.text
