"""A small vault for discovery tests: notes about mixture-of-experts routing, with curator links."""

from __future__ import annotations

from pathlib import Path

from bot.services.ingest.pipeline import ingest_paths
from bot.store.db import Database
from tests.notes import write

NOTES = {
    "240701 Sparse Expert Routing.md": """https://arxiv.org/abs/2407.00001

*Sparse Expert Routing for Language Models* (Ada Lovelace)

> We route tokens to sparse experts with a learned router and balance the expert load.

라우터가 토큰을 전문가에게 보내고 load balancing loss 로 균형을 맞춥니다. "quoted" AND (NEAR* -x:y

# Links

[[240702 Expert Choice]]

#moe #llm
""",
    "240702 Expert Choice.md": """https://arxiv.org/abs/2407.00002

*Expert Choice Routing* (Alan Turing)

> Experts choose their tokens instead of tokens choosing experts, which balances load by design.

전문가가 토큰을 고르는 방식이라 균형이 저절로 맞습니다.

#moe
""",
    "240703 Scaling Experts.md": """https://arxiv.org/abs/2407.00003

*Scaling Mixture of Experts Routers* (Grace Hopper)

> We scale sparse expert routing to thousands of experts and study router load balance.

라우터와 sparse experts 를 크게 키웠을 때의 load balance 분석.

#moe #scaling
""",
    "240704 Video Diffusion.md": """https://arxiv.org/abs/2407.00004

*Video Diffusion at Scale* (Edsger Dijkstra)

> A cascaded video diffusion model trained on web videos.

비디오 확산 모델을 크게 학습했습니다.

#diffusion #video
""",
    "240705 Router Clone One.md": """https://arxiv.org/abs/2407.00005

*Token Router Clone Alpha* (Clone Author)

> Sparse experts and a router with load balancing for tokens.

토큰 라우터 실험.

#moe
""",
    "240706 Router Clone Two.md": """https://arxiv.org/abs/2407.00006

*Token Router Clone Omega* (Clone Author)

> Sparse experts and a router with load balancing for tokens.

토큰 라우터 실험.

#moe
""",
    "240707 Benchmarks for Routing.md": """https://arxiv.org/abs/2407.00007

*Routing Benchmark Suite* (Barbara Liskov)

> A benchmark of sparse expert routers and their load balance.

라우터 벤치마크.

#moe #benchmark
""",
}

TOPICS = [
    (
        "Protein Folding Models",
        "protein structure prediction from sequences",
        "단백질 구조를 예측합니다",
        "biology",
    ),
    (
        "Speech Recognition Streams",
        "streaming speech recognition with transducers",
        "음성 인식을 스트리밍합니다",
        "speech",
    ),
    (
        "Graph Neural Chemistry",
        "molecular property prediction with graph networks",
        "분자 성질을 예측합니다",
        "chemistry",
    ),
    (
        "Robot Grasping Policies",
        "robot grasping learned from demonstrations",
        "로봇이 물체를 잡습니다",
        "robotics",
    ),
    (
        "Weather Forecast Transformers",
        "global weather forecasting with transformers",
        "날씨를 예측합니다",
        "weather",
    ),
    (
        "Code Generation Benchmarks",
        "evaluating code generation by unit tests",
        "코드 생성을 평가합니다",
        "code",
    ),
    ("Image Segmentation Masks", "promptable image segmentation masks", "이미지를 분할합니다", "vision"),
    ("Music Generation Audio", "text to music audio generation", "음악을 생성합니다", "audio"),
    ("Tabular Data Trees", "gradient boosted trees for tabular data", "표 데이터를 다룹니다", "tabular"),
    (
        "Federated Privacy Learning",
        "federated learning with differential privacy",
        "개인정보를 보호합니다",
        "privacy",
    ),
    ("Reinforcement Game Agents", "game playing agents with self play", "게임 에이전트를 학습합니다", "rl"),
    (
        "Quantum Circuit Compilers",
        "compiling quantum circuits efficiently",
        "양자 회로를 컴파일합니다",
        "quantum",
    ),
]
for n, (title, abstract, korean, tag) in enumerate(TOPICS, start=10):
    NOTES[f"2407{n:02d} {title}.md"] = (
        f"https://arxiv.org/abs/2407.000{n}\n\n*{title}* (Filler Author)\n\n> We study {abstract}.\n\n"
        f"{korean}. 결과가 좋습니다.\n\n#{tag}\n"
    )

TITLES = {
    "a": "Sparse Expert Routing for Language Models",
    "b": "Expert Choice Routing",
    "c": "Scaling Mixture of Experts Routers",
    "d": "Video Diffusion at Scale",
    "clone1": "Token Router Clone Alpha",
    "clone2": "Token Router Clone Omega",
    "bench": "Routing Benchmark Suite",
}


async def ingest_discovery_vault(db: Database, root: Path) -> dict[str, int]:
    """Write and ingest the notes, plus a duplicate row of paper A; returns short name → paper id."""
    for name, text in NOTES.items():
        write(root, f"vault/{name}", text)
    report = await ingest_paths(db, [root / "vault"])
    assert report.ok, report.errors
    rows = await db.fetchall("SELECT id, title FROM papers")
    ids = {title: int(r["id"]) for r in rows for short, title in TITLES.items() if r["title"] == title}
    found = {short: ids[title] for short, title in TITLES.items()}
    # The same paper under another row (no arXiv id, same normalised title): must never be suggested.
    await db.execute(
        "INSERT INTO papers (title, title_key, abstract, created_at, updated_at) VALUES (?,?,?,?,?)",
        (
            "Sparse Expert Routing for Language Models!",
            "sparse expert routing for language models",
            "We route tokens to sparse experts with a learned router and balance the expert load.",
            "2024-07-01T00:00:00+00:00",
            "2024-07-01T00:00:00+00:00",
        ),
    )
    found["dup"] = int(await db.fetchval("SELECT max(id) FROM papers"))
    return found
