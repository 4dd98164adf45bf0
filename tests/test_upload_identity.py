"""Upload identity through /digest import: uploads of the same name never undo each other, an edited
digest replaces its earlier upload, and entries it drops go only when a moderator confirms."""

from __future__ import annotations

from typing import Any

from tests.botenv import BotEnv
from tests.fakediscord import FakeFile
from tests.notes import SIX_ENTRIES, make_digest

FIRST, SECOND = SIX_ENTRIES[:3], SIX_ENTRIES[3:]


async def _import(env: BotEnv, text: str, user: str = "admin", name: str = "message.txt") -> Any:
    return await env.fake.slash(
        "digest import", attachments={"file": FakeFile(name, text.encode())}, user=user
    )


async def _entries(env: BotEnv) -> set[tuple[str, str]]:
    rows = await env.db.fetchall(
        "SELECT e.digest_date, p.title FROM entries e JOIN papers p ON p.id = e.paper_id"
    )
    return {(r["digest_date"], r["title"]) for r in rows}


def _button(rec: Any) -> str | None:
    ids = [c["custom_id"] for row in rec.components for c in row["components"] if "custom_id" in c]
    return next((i for i in ids if i.startswith("paperbot:upload-remove:")), None)


async def test_two_digests_both_named_message_txt_keep_everything(env: BotEnv, run_bot: Any) -> None:
    await env.fallback("general")
    async with run_bot(env.make_bot):
        one = await _import(env, make_digest("2024-07-10", FIRST))
        assert "Added 3" in one.text
        two = await _import(env, make_digest("2024-07-11", SECOND))
        assert "new upload" in two.text and "Added 3" in two.text
        assert "removed" not in two.text.lower() and _button(two) is None
        # a second batch for the same day, pasted again as message.txt: also new, removes nothing
        extra = await _import(env, make_digest("2024-07-11", [("Yet Another Paper", ["llm"])]))
        assert "new upload" in extra.text and _button(extra) is None
        assert len(await _entries(env)) == 7
        tags = await env.db.fetchval(
            "SELECT count(*) FROM paper_tags pt JOIN papers p ON p.id = pt.paper_id WHERE p.title = ?",
            (FIRST[0][0],),
        )
        assert tags == 2  # the first upload's tags survived the later ones
        # 2024-07-10's slot has passed, so the outbox drain may post that day before the command does:
        # either way each entry of both uploads is posted exactly once.
        first_day = await env.fake.slash("digest post", {"date": "2024-07-10"}, user="admin", timeout=15)
        assert "3 papers" in first_day.text and "0 failed" in first_day.text
        assert len(env.fake.messages_in("general")) == 3
        second_day = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        assert "4 posts sent" in second_day.text
        assert len(env.fake.messages_in("general")) == 7


async def test_edited_digest_replaces_its_upload_and_removal_needs_a_moderator(
    env: BotEnv, run_bot: Any
) -> None:
    await env.fallback("general")
    original = make_digest("2024-07-11", SIX_ENTRIES)
    kept = [
        (t, tags if t != "Neural Fields for Robots" else []) for t, tags in SIX_ENTRIES if "Point" not in t
    ]
    edited = make_digest("2024-07-11", [*kept, ("Brand New Paper", ["llm"])])
    edited = edited.replace("Video Diffusion at Scale에 대한", "Video Diffusion at Scale 수정된")
    async with run_bot(env.make_bot):
        await _import(env, original)
        rec = await _import(env, edited)
        text = rec.text
        assert "replaces the earlier upload" in text
        assert "Added 1: 2024-07-11 Brand New Paper" in text
        assert "Changed" in text and "Video Diffusion at Scale" in text.split("Changed")[1]
        assert "1 papers lost a tag" in text  # Neural Fields; Point Tracking keeps its tags while pending
        assert "1 entries are not in this upload any more" in text and "Point Tracking in the Wild" in text
        button = _button(rec)
        assert button is not None
        # not yet confirmed: the dropped entry is still there, so it would still be posted
        assert ("2024-07-11", "Point Tracking in the Wild") in await _entries(env)

        refused = await env.fake.click(rec.message, button, user="member")
        assert "Only moderators" in refused.text
        assert ("2024-07-11", "Point Tracking in the Wild") in await _entries(env)

        confirmed = await env.fake.click(rec.message, button, user="moderator")
        assert "Removed 1 entries: 2024-07-11 Point Tracking in the Wild" in confirmed.text
        assert confirmed.components == []  # the button is gone with the confirmation
        tags = await env.db.fetchval(
            "SELECT count(*) FROM paper_tags pt JOIN papers p ON p.id = pt.paper_id WHERE p.title = ?",
            ("Point Tracking in the Wild",),
        )
        assert tags == 0  # the removed entry's tags went with it (no other file gave them)
        posted = await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        assert "6 posts sent" in posted.text
    titles = {m["embeds"][0]["title"] for m in env.fake.messages_in("general")}
    assert "Point Tracking in the Wild" not in titles and "Brand New Paper" in titles


async def test_dropping_a_posted_entry_keeps_it_and_stale_confirmations_do_nothing(
    env: BotEnv, run_bot: Any
) -> None:
    await env.fallback("general")
    async with run_bot(env.make_bot):
        await _import(env, make_digest("2024-07-11", SIX_ENTRIES))
        await env.fake.slash("digest post", {"date": "2024-07-11"}, user="admin", timeout=15)
        posted_drop = await _import(env, make_digest("2024-07-11", SIX_ENTRIES[:5]))
        assert "kept (already posted" in posted_drop.text and _button(posted_drop) is None
        assert len(await _entries(env)) == 6

        await _import(env, make_digest("2024-07-12", SIX_ENTRIES))
        pending = await _import(env, make_digest("2024-07-12", SIX_ENTRIES[:4]))
        button = _button(pending)
        assert button is not None
        await _import(env, make_digest("2024-07-12", SIX_ENTRIES[:5]))  # edited again before confirming
        stale = await env.fake.click(pending.message, button, user="admin")
        assert "Nothing was removed" in stale.text and "replaced since" in stale.text
    assert sum(1 for day, _ in await _entries(env) if day == "2024-07-12") == 6


async def test_an_edited_note_uploaded_under_another_name_replaces_the_first(
    env: BotEnv, run_bot: Any
) -> None:
    from tests.notes import NOTE_4DIM

    async with run_bot(env.make_bot):
        first = await _import(env, NOTE_4DIM, name="240711 4DiM.md")
        assert "new upload" in first.text and "Added 1: 2024-07-11 Controlling Space and Time" in first.text
        edited = NOTE_4DIM.replace(" #video", "").replace("학습했군요.", "학습했군요. 고쳐 썼어요.")
        rec = await _import(env, edited, name="240711 Controlling Space and Time (edited).md")
        assert "replaces the earlier upload" in rec.text
        assert "Changed 1: Controlling Space and Time with Diffusion Models" in rec.text
        assert "1 papers lost a tag" in rec.text and _button(rec) is None
    rows = await env.db.fetchall("SELECT body FROM commentary")
    assert [r["body"] for r in rows] == [
        "카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요. 고쳐 썼어요."
    ]
    assert await env.db.fetchval("SELECT count(*) FROM commentary_revisions") == 1
    assert await env.db.fetchval("SELECT count(*) FROM sources") == 1
