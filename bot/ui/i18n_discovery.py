"""User-visible text for discovery (related papers, /foryou), English and Korean; merged into i18n."""

from __future__ import annotations

DISCOVERY_MESSAGES: dict[str, dict[str, str]] = {
    "button.related": {"en": "Related", "ko": "관련 논문"},
    "related.title": {"en": "Related to: {title}", "ko": "관련 논문: {title}"},
    "related.empty": {
        "en": "No related papers yet for **{title}**. Try `/search` with a few of its words.",
        "ko": "**{title}**의 관련 논문이 아직 없어요. `/search`로 몇 단어를 검색해 보세요.",
    },
    "related.footer": {
        "en": "★ = the curator's own link · others ranked by content, shared tags and reactions",
        "ko": "★ = 큐레이터가 직접 연결한 논문 · 나머지는 내용, 공통 태그, 반응 순",
    },
    "related.curator": {"en": "★ curator link", "ko": "★ 큐레이터 연결"},
    "related.tags": {"en": "shared tags: {tags}", "ko": "공통 태그: {tags}"},
    "related.terms": {"en": "also about {terms}", "ko": "공통 주제: {terms}"},
    "related.similar": {"en": "similar notes", "ko": "비슷한 노트"},
    "foryou.title": {"en": "For you", "ko": "추천 논문"},
    "foryou.footer": {
        "en": "Only you can see this. From your saves, reactions and /subscribe tags · /foryou forget",
        "ko": "나만 볼 수 있어요. 저장, 반응, /subscribe 태그에서 골랐어요 · /foryou forget",
    },
    "foryou.fallback": {
        "en": "You haven't saved or reacted to any papers yet, so here are the community's top papers. "
        "Press **Save** on posts or react to them, and this list becomes yours.",
        "ko": "아직 저장하거나 반응한 논문이 없어서 커뮤니티 인기 논문을 보여 드려요. "
        "게시물에서 **저장**을 누르거나 반응하면 나만의 추천이 돼요.",
    },
    "foryou.empty": {
        "en": "Nothing new to recommend right now: you have seen everything close to your interests.",
        "ko": "지금은 새로 추천할 논문이 없어요. 관심사에 가까운 논문은 모두 보셨어요.",
    },
    "foryou.because.saved": {"en": "because you saved “{subject}”", "ko": "“{subject}”을(를) 저장해서"},
    "foryou.because.reacted": {
        "en": "because you reacted to “{subject}”",
        "ko": "“{subject}”에 반응해서",
    },
    "foryou.because.follow": {"en": "because you follow #{subject}", "ko": "#{subject}을(를) 구독해서"},
    "foryou.because.tag": {"en": "because you read about #{subject}", "ko": "#{subject} 논문을 봐서"},
    "foryou.because.popular": {
        "en": "popular this {subject}: {count} reactions",
        "ko": "이번 {subject} 인기: 반응 {count}개",
    },
    "foryou.because.new": {"en": "new in the community", "ko": "새로 올라온 논문"},
    "foryou.settings": {
        "en": "Weekly “papers you may have missed” DM: **{state}**. Change it with `/foryou settings weekly_dm:`.",
        "ko": "주간 “놓친 논문” DM: **{state}**. `/foryou settings weekly_dm:`로 바꿀 수 있어요.",
    },
    "foryou.on": {"en": "on", "ko": "켜짐"},
    "foryou.off": {"en": "off", "ko": "꺼짐"},
    "foryou.paused_note": {
        "en": " Your DMs are paused (`/dms`), so none is sent until you resume them.",
        "ko": " DM이 일시정지되어 있어서(`/dms`) 다시 켤 때까지 보내지 않아요.",
    },
    "foryou.forgotten": {
        "en": "Deleted what paperbot derived about you: your taste profile, {shown} past recommendations "
        "and your weekly-DM choice. Your saves and reactions are kept.",
        "ko": "paperbot이 만든 내 정보를 지웠어요: 취향 프로필, 지난 추천 {shown}개, 주간 DM 설정. "
        "저장과 반응은 그대로예요.",
    },
    "foryou.forgotten_all": {
        "en": "Deleted your taste profile, {shown} past recommendations, your weekly-DM choice, "
        "{saved} saves and {reactions} recorded reactions. (Emoji reactions on Discord messages stay; "
        "remove them in Discord if you like.)",
        "ko": "취향 프로필, 지난 추천 {shown}개, 주간 DM 설정, 저장 {saved}개, 기록된 반응 {reactions}개를 "
        "지웠어요. (디스코드 메시지의 이모지 반응은 그대로니 원하면 디스코드에서 지워 주세요.)",
    },
    "foryou.confirm": {
        "en": "This also deletes your saves and recorded reactions, and cannot be undone. Delete them?",
        "ko": "저장과 기록된 반응도 지워지고 되돌릴 수 없어요. 지울까요?",
    },
    "foryou.confirm_button": {"en": "Delete everything", "ko": "모두 지우기"},
    "foryou.cancelled": {"en": "Nothing was deleted.", "ko": "아무것도 지우지 않았어요."},
    "foryou.dm_title": {
        "en": "Papers you may have missed · {guild}",
        "ko": "놓쳤을 수도 있는 논문 · {guild}",
    },
    "foryou.dm_footer": {
        "en": "Weekly, because you turned it on. /foryou settings weekly_dm:False to stop.",
        "ko": "주간 추천을 켜 두셔서 보내요. /foryou settings weekly_dm:False 로 끌 수 있어요.",
    },
}

DISCOVERY_COMMANDS_KO: dict[str, str] = {
    "related": "관련논문",
    "Papers related to a paper": "어떤 논문과 관련된 논문",
    "foryou": "추천",
    "Recommendations from what you read (only you see them)": "내가 읽은 것으로 고른 추천 (나만 보임)",
    "papers": "논문",
    "Papers you may like, from your saves, reactions and tags": "저장, 반응, 태그로 고른 추천 논문",
    "Turn the weekly recommendations DM on or off": "주간 추천 DM 켜기/끄기",
    "weekly_dm": "주간dm",
    "Send me a weekly DM of papers I may have missed": "놓친 논문을 주간 DM으로 받기",
    "forget": "잊기",
    "Delete what paperbot derived about you": "paperbot이 만든 내 정보 지우기",
    "also_saves_and_reactions": "저장반응도",
    "Also delete your saves and recorded reactions": "저장과 기록된 반응도 지우기",
}
