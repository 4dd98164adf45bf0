"""Small notes and digests written for the tests, in the formats curators use."""

from __future__ import annotations

from pathlib import Path

DIGEST = """2024년 7월 11일
Controlling Space and Time with Diffusion Models
(Daniel Watson, Saurabh Saxena, Lala Li)
We present 4DiM, a cascaded diffusion model for 4D novel view synthesis. We advocate joint training on 3D, 4D and video data.
카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요.
#neural-rendering #diffusion
A Tiny Language Model Study
(Ada Lovelace, Alan Turing)
We study tiny language models trained on synthetic stories and find that they generalise.
작은 모델도 데이터만 잘 만들면 꽤 한다는 결과.
#llm #small_models
"""

NOTE_4DIM = """https://arxiv.org/abs/2407.07860

*Controlling Space and Time with Diffusion Models* (Daniel Watson, Saurabh Saxena, Lala Li, Andrea Tagliasacchi)

> We present 4DiM, a cascaded diffusion model for 4D novel view synthesis. We advocate joint training on 3D, 4D and video data.

카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요.

<english>
It conditions on camera pose and time, and also trains on video without poses.
</english>

#neural-rendering #diffusion #video
"""

NOTE_NO_ARXIV = """*Scaling Notes Without Ids* (Grace Hopper)

> A blog post about scaling.

블로그 글인데 재미있네요.

#scaling-law
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_digest(day: str, entries: list[tuple[str, list[str]]]) -> str:
    """A digest for ``day`` (YYYY-MM-DD) with one entry per (title, tags)."""
    lines = [day]
    for n, (title, tags) in enumerate(entries):
        lines += [
            title,
            f"(Author {n}, Another Author)",
            f"We study {title.lower()} and report results on several benchmarks.",
            f"{title}에 대한 큐레이터의 코멘트입니다. 재미있는 결과네요.",
            " ".join(f"#{t}" for t in tags),
        ]
    return "\n".join(lines) + "\n"


SIX_ENTRIES: list[tuple[str, list[str]]] = [
    ("Video Diffusion at Scale", ["diffusion", "video"]),
    ("Sparse Mixture of Experts Revisited", ["llm", "moe"]),
    ("Neural Fields for Robots", ["robotics"]),
    ("Diffusion Language Models", ["diffusion", "llm"]),
    ("A Benchmark for Long Context", ["llm", "benchmark"]),
    ("Point Tracking in the Wild", ["video"]),
]
