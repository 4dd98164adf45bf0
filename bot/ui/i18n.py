"""Every user-visible string, in English and Korean, and the command-tree translator."""

from __future__ import annotations

import discord
from discord import app_commands

# Replies, by key. Placeholders use str.format; a missing one is a bug and raises KeyError.
MESSAGES: dict[str, dict[str, str]] = {
    "error.generic": {
        "en": "Something went wrong on our side. It has been logged; please try again in a moment.",
        "ko": "처리 중 문제가 생겼어요. 기록해 두었으니 잠시 후 다시 시도해 주세요.",
    },
    "error.cooldown": {
        "en": "Slow down a little: try again in {seconds:.0f} s.",
        "ko": "조금 천천히요: {seconds:.0f}초 후에 다시 시도해 주세요.",
    },
    "error.not_moderator": {
        "en": "Only moderators can do that (Manage Server permission or the moderator role).",
        "ko": "모더레이터만 사용할 수 있어요 (서버 관리 권한 또는 모더레이터 역할).",
    },
    "error.guild_only": {"en": "Use this command in a server.", "ko": "서버 안에서 사용해 주세요."},
    "error.busy": {
        "en": "The database is busy with another job (an import, a backup). Nothing was changed; "
        "try again in a minute.",
        "ko": "데이터베이스가 다른 작업(가져오기, 백업) 중이에요. 아무것도 바뀌지 않았어요. 1분 후 다시 시도해 주세요.",
    },
    "error.bad_input": {"en": "{reason}", "ko": "{reason}"},
    "error.not_yours": {
        "en": "These buttons belong to whoever ran the command; run it yourself to page.",
        "ko": "이 버튼은 명령을 실행한 사람만 쓸 수 있어요. 직접 실행해 보세요.",
    },
    "paper.not_found": {
        "en": "No paper matches {ref!r}. Try `/search` or pick one from the suggestions.",
        "ko": "{ref!r}에 해당하는 논문이 없어요. `/search`로 찾거나 자동완성에서 골라 주세요.",
    },
    "search.empty": {
        "en": "No papers match **{query}**. Try other words, or one of these tags: {tags}",
        "ko": "**{query}**에 맞는 논문이 없어요. 다른 단어나 이런 태그를 써 보세요: {tags}",
    },
    "search.title": {"en": "Search: {query}", "ko": "검색: {query}"},
    "search.footer": {
        "en": "Page {page}/{pages} · {count} papers",
        "ko": "{page}/{pages} 페이지 · 논문 {count}편",
    },
    "tags.title": {"en": "Tags", "ko": "태그"},
    "tags.empty": {
        "en": "No tags yet: a moderator can import notes with `/digest import`.",
        "ko": "아직 태그가 없어요. 모더레이터가 `/digest import`로 노트를 가져올 수 있어요.",
    },
    "top.title": {"en": "Most-reacted papers this {period}", "ko": "이번 {period} 가장 반응이 많은 논문"},
    "top.empty": {
        "en": "No reactions on paper posts this {period} yet.",
        "ko": "이번 {period}에는 아직 논문 게시물에 반응이 없어요.",
    },
    "top.line": {
        "en": "{reactions} reactions from {members} members",
        "ko": "반응 {reactions}개 · {members}명",
    },
    "sub.done": {"en": "Subscribed to {tags}. You'll get one DM per digest.", "ko": "{tags} 구독했어요."},
    "sub.unknown": {
        "en": "Not subscribed: {tags} (no paper carries it yet, check `/tags`).",
        "ko": "구독하지 않음: {tags} (아직 그 태그의 논문이 없어요. `/tags` 확인).",
    },
    "sub.none_given": {
        "en": "Give at least one tag, e.g. `#diffusion`.",
        "ko": "태그를 하나 이상 적어 주세요. 예: `#diffusion`",
    },
    "unsub.done": {"en": "Unsubscribed from {tags}.", "ko": "{tags} 구독을 해지했어요."},
    "unsub.none": {"en": "You were not subscribed to {tags}.", "ko": "{tags}는 구독 중이 아니었어요."},
    "subs.title": {"en": "Your subscriptions", "ko": "내 구독"},
    "subs.follows": {"en": "Following", "ko": "구독 중"},
    "subs.mutes": {"en": "Muted", "ko": "숨김"},
    "subs.paused": {"en": "DMs are paused.", "ko": "DM이 일시정지되어 있어요."},
    "subs.empty": {
        "en": "You follow no tags yet: try `/subscribe tag:#llm`.",
        "ko": "구독한 태그가 없어요. `/subscribe tag:#llm`을 써 보세요.",
    },
    "mute.done": {"en": "Muted {tags}: entries with it stay out of your DMs.", "ko": "{tags}를 숨겼어요."},
    "dms.paused": {"en": "Digest DMs paused. Resume with `/dms paused:False`.", "ko": "DM을 일시정지했어요."},
    "dms.resumed": {"en": "Digest DMs resumed.", "ko": "DM을 다시 받아요."},
    "saved.added": {
        "en": "Saved **{title}**. See `/saved`.",
        "ko": "**{title}** 저장했어요. `/saved`에서 볼 수 있어요.",
    },
    "saved.removed": {
        "en": "Removed **{title}** from your saved papers.",
        "ko": "**{title}** 저장을 취소했어요.",
    },
    "saved.title": {"en": "Your saved papers", "ko": "저장한 논문"},
    "saved.empty": {
        "en": "Nothing saved yet: press **Save** on a paper post.",
        "ko": "저장한 논문이 없어요. 게시물의 **저장** 버튼을 눌러 보세요.",
    },
    "button.ask": {"en": "Ask about this", "ko": "질문하기"},
    "button.summarise": {"en": "Summarise", "ko": "요약"},
    "button.save": {"en": "Save", "ko": "저장"},
    "button.prev": {"en": "Previous", "ko": "이전"},
    "button.next": {"en": "Next", "ko": "다음"},
    "answers.unavailable": {
        "en": "Answering is not set up on this server yet. Meanwhile, here is the paper: {link}",
        "ko": "아직 이 서버에서는 답변 기능이 설정되지 않았어요. 논문 링크: {link}",
    },
    "answers.modal_title": {"en": "Ask about this paper", "ko": "이 논문에 대해 질문하기"},
    "answers.question": {"en": "Your question", "ko": "질문"},
    "answers.same_paper": {
        "en": "Pick two different papers to compare.",
        "ko": "서로 다른 두 논문을 골라 주세요.",
    },
    "commentary.modal_title": {"en": "Commentary", "ko": "코멘트"},
    "commentary.field": {"en": "Your commentary", "ko": "코멘트"},
    "commentary.field_en": {"en": "English version (optional)", "ko": "영어 번역 (선택)"},
    "commentary.added": {
        "en": "Commentary saved for **{title}**; updated {posts} earlier posts.",
        "ko": "**{title}**에 코멘트를 저장했어요. 이전 게시물 {posts}개를 갱신했어요.",
    },
    "commentary.none_to_edit": {
        "en": "**{title}** has no commentary yet; use `/commentary add`.",
        "ko": "**{title}**에는 아직 코멘트가 없어요. `/commentary add`를 써 주세요.",
    },
    "missing.title": {
        "en": "Papers without commentary (last {days} days)",
        "ko": "코멘트가 없는 논문 (최근 {days}일)",
    },
    "missing.empty": {
        "en": "Every paper from the last {days} days has commentary.",
        "ko": "최근 {days}일의 모든 논문에 코멘트가 있어요.",
    },
    "import.rejected": {
        "en": "**{name}** was rejected; nothing was stored. Fix these lines and upload it again:",
        "ko": "**{name}** 파일을 거부했어요. 아무것도 저장하지 않았어요. 아래 줄을 고쳐 다시 올려 주세요:",
    },
    "import.done": {"en": "Imported **{name}**: {summary}", "ko": "**{name}** 가져옴: {summary}"},
    "import.bad_type": {
        "en": "Upload a `.txt` digest or a `.md` note (got `{name}`).",
        "ko": "`.txt` 다이제스트나 `.md` 노트를 올려 주세요 (받은 파일: `{name}`).",
    },
    "import.too_big": {
        "en": "That file is over {limit} KB; split it.",
        "ko": "파일이 {limit}KB를 넘어요. 나눠서 올려 주세요.",
    },
    "route.set": {
        "en": "Papers tagged `#{tag}` now go to {channel}.",
        "ko": "`#{tag}` 논문은 이제 {channel}에 올라가요.",
    },
    "route.removed": {
        "en": "Removed the route `#{tag}` → {channel}.",
        "ko": "`#{tag}` → {channel} 경로를 지웠어요.",
    },
    "route.missing": {
        "en": "There was no route `#{tag}` → {channel}.",
        "ko": "`#{tag}` → {channel} 경로가 없어요.",
    },
    "route.fallback": {
        "en": "Papers with no routed tag now go to {channel}.",
        "ko": "경로가 없는 논문은 이제 {channel}에 올라가요.",
    },
    "route.title": {"en": "Routes", "ko": "경로"},
    "route.none": {
        "en": "No routes yet: `/route set tag:#llm channel:#papers`.",
        "ko": "경로가 없어요: `/route set tag:#llm channel:#papers`",
    },
    "route.fallback_line": {"en": "Everything else → {channel}", "ko": "그 밖의 논문 → {channel}"},
    "route.no_fallback": {
        "en": "No fallback channel: unrouted papers are not posted. Set one with `/route fallback`.",
        "ko": "기본 채널이 없어 경로 없는 논문은 올라가지 않아요. `/route fallback`으로 정해 주세요.",
    },
    "paper.commentary": {"en": "Commentary", "ko": "코멘트"},
    "paper.english": {"en": "English", "ko": "영어"},
    "paper.abstract": {"en": "Abstract", "ko": "초록"},
    "paper.more": {"en": "read more", "ko": "더 보기"},
    "paper.continued": {"en": "Commentary (continued)", "ko": "코멘트 (계속)"},
    "digest.empty": {"en": "No entries for that day.", "ko": "그날의 항목이 없어요."},
    "digest.posted": {
        "en": "Digest {day}: {entries} papers; {sent} posts sent, {already} already posted, {failed} failed; {dms} DMs.",
        "ko": "{day} 다이제스트: 논문 {entries}편, 게시 {sent}개, 이미 게시됨 {already}개, 실패 {failed}개, DM {dms}개.",
    },
    # issue 12: catch-up after downtime, upload identity
    "import.replaces": {
        "en": "It replaces the earlier upload of the same digest.",
        "ko": "같은 다이제스트의 이전 업로드를 대체해요.",
    },
    "import.new_upload": {
        "en": "It is a new upload: nothing another upload gave was touched.",
        "ko": "새 업로드예요. 다른 업로드가 준 내용은 그대로예요.",
    },
    "import.added": {"en": "Added {count}: {items}", "ko": "추가 {count}개: {items}"},
    "import.changed": {"en": "Changed {count}: {items}", "ko": "변경 {count}개: {items}"},
    "import.removed": {
        "en": "No longer listed, kept (already posted or in another file) {count}: {items}",
        "ko": "목록에서 빠졌지만 유지 (이미 게시됐거나 다른 파일에 있음) {count}개: {items}",
    },
    "import.lost_tags": {
        "en": "{count} papers lost a tag this upload no longer lists.",
        "ko": "논문 {count}편에서 이 업로드에 더는 없는 태그를 뺐어요.",
    },
    "import.pending": {
        "en": "{count} entries are not in this upload any more and were never posted. They stay (and will be "
        "posted) until you confirm their removal: {items}",
        "ko": "항목 {count}개가 이 업로드에서 빠졌고 아직 게시되지 않았어요. 삭제를 확인하기 전까지는 남아 있고 "
        "게시돼요: {items}",
    },
    "import.confirm": {"en": "Remove {count} entries", "ko": "항목 {count}개 삭제"},
    "import.confirmed": {"en": "Removed {count} entries: {items}", "ko": "항목 {count}개 삭제함: {items}"},
    "import.confirm_outdated": {
        "en": "Nothing was removed: {reason}.",
        "ko": "아무것도 삭제하지 않았어요: {reason}.",
    },
    "import.more": {"en": "… and {count} more", "ko": "… 외 {count}개"},
    "digest.caught_up": {
        "en": "Caught up {count} digest day(s): {days}",
        "ko": "다이제스트 {count}일치를 따라잡았어요: {days}",
    },
    "digest.caught_up_day": {
        "en": "{day}: {posts} posts, {dms} DMs, {failed} failed, {left} left to retry",
        "ko": "{day}: 게시 {posts}개, DM {dms}개, 실패 {failed}개, 재시도 대기 {left}개",
    },
    "digest.settings": {
        "en": "Posts show commentary: **{language}**; threads: **{threads}**.",
        "ko": "게시물 코멘트 언어: **{language}**, 스레드: **{threads}**.",
    },
    "dm.title": {"en": "Your papers for {day} · {guild}", "ko": "{day} 구독 논문 · {guild}"},
    "dm.footer": {
        "en": "From your /subscribe tags. /mute a tag or /dms paused:True to stop.",
        "ko": "/subscribe 태그에서 골랐어요. /mute 로 태그를 숨기거나 /dms paused:True 로 멈출 수 있어요.",
    },
    "period.day": {"en": "day", "ko": "오늘"},
    "period.week": {"en": "week", "ko": "주"},
    "period.month": {"en": "month", "ko": "달"},
    # --- search results (issue 13) ---
    "search.weak": {
        "en": "No good match for **{query}**: these papers share only a few of its words.",
        "ko": "**{query}**에 잘 맞는 논문이 없어요. 아래 논문들은 검색어 일부만 담고 있어요.",
    },
    "search.no_arxiv": {"en": "no arXiv id", "ko": "arXiv id 없음"},
    "search.match": {"en": "{percent}% match", "ko": "일치도 {percent}%"},
}


def lang_of(locale: discord.Locale | str | None) -> str:
    """'ko' for Korean clients, else 'en'."""
    return "ko" if str(locale or "").startswith("ko") else "en"


def t(key: str, locale: discord.Locale | str | None = None, /, **values: object) -> str:
    """The message ``key`` in the client's language, formatted with ``values``."""
    return MESSAGES[key][lang_of(locale)].format(**values)


# Command, option and choice names/descriptions: English is the default, Korean the localisation.
COMMAND_KO: dict[str, str] = {
    "search": "검색",
    "Search papers, commentary and abstracts": "논문, 코멘트, 초록 검색",
    "query": "검색어",
    "Words to look for (Korean or English)": "찾을 단어 (한국어나 영어)",
    "tag": "태그",
    "Only papers with this tag": "이 태그의 논문만",
    "since": "이후",
    "Only papers noted on or after this date (YYYY-MM-DD)": "이 날짜 이후 논문만 (YYYY-MM-DD)",
    "paper": "논문",
    "Show a paper with its commentary": "논문과 코멘트 보기",
    "Title or arXiv id": "제목이나 arXiv id",
    "tags": "태그목록",
    "Known tags and how many papers carry them": "태그와 논문 수",
    "top": "인기",
    "The most-reacted papers": "반응이 가장 많은 논문",
    "period": "기간",
    "Day, week or month": "일, 주, 월",
    "subscribe": "구독",
    "Get a DM when papers with these tags are posted": "이 태그의 논문이 올라오면 DM 받기",
    "One or more tags, e.g. #llm #diffusion": "태그 하나 이상, 예: #llm #diffusion",
    "unsubscribe": "구독해지",
    "Stop DMs for these tags": "이 태그 DM 그만 받기",
    "subscriptions": "내구독",
    "Your subscriptions, mutes and DM setting": "내 구독, 숨긴 태그, DM 설정",
    "mute": "숨기기",
    "Leave papers with these tags out of your DMs": "이 태그의 논문은 DM에서 빼기",
    "dms": "dm설정",
    "Pause or resume digest DMs": "다이제스트 DM 일시정지/재개",
    "paused": "일시정지",
    "True to pause, False to resume": "True면 일시정지, False면 재개",
    "saved": "저장목록",
    "Papers you saved": "저장한 논문",
    "commentary": "코멘트",
    "Add or edit the curator's commentary": "큐레이터 코멘트 추가/수정",
    "add": "추가",
    "Add commentary to a paper": "논문에 코멘트 추가",
    "edit": "수정",
    "Edit a paper's latest commentary": "논문의 최근 코멘트 수정",
    "missing": "누락",
    "Recent papers that still have no commentary": "아직 코멘트가 없는 최근 논문",
    "days": "일수",
    "How many days back to look": "며칠 전까지 볼지",
    "digest": "다이제스트",
    "Import, preview and post digests": "다이제스트 가져오기, 미리보기, 게시",
    "import": "가져오기",
    "Import a digest .txt or note .md": "다이제스트 .txt나 노트 .md 가져오기",
    "file": "파일",
    "The .txt or .md file": ".txt 또는 .md 파일",
    "preview": "미리보기",
    "Show what a day's digest would post where": "하루 다이제스트가 어디에 올라갈지 보기",
    "date": "날짜",
    "Digest date (YYYY-MM-DD, default today)": "다이제스트 날짜 (YYYY-MM-DD, 기본 오늘)",
    "post": "게시",
    "Post a day's digest now": "하루 다이제스트를 지금 게시",
    "ask": "질문",
    "Ask the community's notes a question": "커뮤니티 노트에 질문하기",
    "question": "질문내용",
    "Your question (Korean or English)": "질문 (한국어나 영어)",
    "summarise": "요약",
    "Summarise a paper from its notes": "노트로 논문 요약하기",
    "compare": "비교",
    "Compare two papers from their notes": "노트로 두 논문 비교하기",
    "paper_a": "논문1",
    "paper_b": "논문2",
    "status": "상태",
    "How paperbot is doing (moderators)": "paperbot 상태 (모더레이터)",
    "settings": "설정",
    "How digest posts look on this server": "이 서버의 다이제스트 게시 방식",
    "language": "언어",
    "Which commentary posts show: original, English, or both": "게시물에 보일 코멘트: 원문, 영어, 둘 다",
    "threads": "스레드",
    "Open a discussion thread under each post": "게시물마다 토론 스레드 열기",
    "original": "원문",
    "english": "영어",
    "both": "둘다",
    "route": "경로",
    "Send papers with a tag to a channel": "태그별 논문 채널 지정",
    "set": "설정",
    "Route a tag to a channel": "태그를 채널로 연결",
    "channel": "채널",
    "The channel to post in": "게시할 채널",
    "remove": "삭제",
    "Remove a tag's route to a channel": "태그의 채널 경로 삭제",
    "list": "목록",
    "All routes on this server": "이 서버의 모든 경로",
    "fallback": "기본채널",
    "Where papers with no routed tag go": "경로 없는 논문이 올라갈 채널",
    "sync": "동기화",
    "Sync application commands (owner only)": "애플리케이션 명령 동기화 (소유자 전용)",
}

# -- issue 11: long commentary forms, shared answer cooldown, component errors -----------------------------
MESSAGES.update(
    {
        "commentary.form_pick_one": {
            "en": "This commentary and its English version ({length:,} characters) do not fit in one Discord "
            "form. Edit one at a time: `/commentary edit text:original` or `text:english`.",
            "ko": "이 코멘트와 영어 번역({length:,}자)은 디스코드 양식 하나에 다 들어가지 않아요. "
            "`/commentary edit text:원문` 또는 `text:영어`로 하나씩 고쳐 주세요.",
        },
        "commentary.form_too_long": {
            "en": "This text is {length:,} characters; a Discord form holds {limit:,}. Edit the note file and "
            "import it again (`/digest import` or `paperbot ingest`).",
            "ko": "이 글은 {length:,}자라서 디스코드 양식({limit:,}자)에 들어가지 않아요. 노트 파일을 고친 뒤 "
            "다시 가져와 주세요 (`/digest import` 또는 `paperbot ingest`).",
        },
        "answers.continued": {"en": "(continued {n}/{total})", "ko": "(계속 {n}/{total})"},
        "error.expired": {
            "en": "This has expired (it timed out, or the bot restarted). Run the command again.",
            "ko": "시간이 지나 만료되었어요 (또는 봇이 다시 시작됐어요). 명령을 다시 실행해 주세요.",
        },
    }
)
COMMAND_KO.update(
    {
        "text": "글",
        "Which text to edit when both do not fit in one form": "양식 하나에 다 안 들어갈 때 고칠 글",
    }
)


class PaperbotTranslator(app_commands.Translator):
    """Korean localisations for command names, descriptions and options."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.korean:
            return None
        return COMMAND_KO.get(string.message)


# Discovery (related papers, /foryou) keeps its strings in its own module, merged here.
from bot.ui.i18n_discovery import DISCOVERY_COMMANDS_KO, DISCOVERY_MESSAGES  # noqa: E402

MESSAGES.update(DISCOVERY_MESSAGES)
COMMAND_KO.update(DISCOVERY_COMMANDS_KO)
