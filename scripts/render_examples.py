"""Render the README pictures of a digest post and an /ask answer from the bot's real embeds.

The embeds, buttons and answer come from paperbot's own rendering code; this script only lays them
out as a Discord message in dark mode (HTML) and screenshots that page with headless Chromium.

    .venv/bin/python scripts/render_examples.py [--chromium PATH] [--out-dir docs] [--scale 1]

Needs Chromium and a font with Hangul (on Debian: ``apt-get install chromium fonts-noto-cjk``).
Pillow, when importable, trims the blank space below the message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.domain.models import Commentary, Paper  # noqa: E402
from bot.services.answers.types import Answer, Citation  # noqa: E402
from bot.ui.answers import render_answer  # noqa: E402
from bot.ui.embeds import render_paper_embeds  # noqa: E402
from bot.ui.views import paper_view  # noqa: E402

WIDTH = 800
RENDER_HEIGHT = 1600  # generous; the screenshot is trimmed to the message afterwards
BACKGROUND = (0x31, 0x33, 0x38)  # Discord's dark chat background
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DIGEST_DATE = dt.date(2024, 7, 11)
KST = dt.timezone(dt.timedelta(hours=9), "KST")

ABSTRACT = (
    "4DiM is a cascaded diffusion model for 4D novel view synthesis: from one or a few images of a "
    "general scene it generates new views at chosen camera poses and points in time. Because 4D "
    "training data is scarce, it is trained jointly on posed 3D scenes, posed 4D data and unposed "
    "video, and a metric-scale calibration of camera poses lets users steer the camera in real units."
)
COMMENTARY_KO = (
    "Few-shot Novel View Synthesis + Time. "
    "카메라 포즈와 시간 정보를 조건으로 주고 카메라 포즈 없는 비디오 데이터도 같이 학습했군요."
)
COMMENTARY_EN = (
    "Few-shot novel view synthesis plus time: it conditions on camera pose and time, "
    "and also trains on video without poses."
)
ANSWER_TEXT = (
    "4DiM trains jointly on posed 3D scenes, posed 4D data and unposed video [1], "
    "which the abstract frames as a way around scarce 4D training data [2]."
)
QUESTION = "how does 4DiM use video data"


# ---------------------------------------------------------------- data, from the project's own code


def example_paper() -> Paper:
    written = dt.datetime(2024, 7, 11, 8, 30, tzinfo=KST)
    return Paper(
        id=128,
        arxiv_id="2407.07860",
        title="Controlling Space and Time with Diffusion Models",
        authors=["Daniel Watson", "Saurabh Saxena", "Lala Li", "Andrea Tagliasacchi", "David J. Fleet"],
        url=None,
        abstract=ABSTRACT,
        tags=["neural-rendering", "diffusion"],
        commentary=[
            Commentary(
                id=1,
                paper_id=128,
                body=COMMENTARY_KO,
                body_en=COMMENTARY_EN,
                author="curator",
                created_at=written,
                updated_at=written,
            )
        ],
        first_seen=DIGEST_DATE,
    )


def digest_message(paper: Paper) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The embeds and button rows of the paper's post in the 2024-07-11 digest."""
    embeds = render_paper_embeds(paper, language="both", digest_date=DIGEST_DATE)
    components = paper_view(paper.id).to_components()
    return [dict(e.to_dict()) for e in embeds], [dict(row) for row in components]


def ask_message(paper: Paper) -> dict[str, Any]:
    """The embed of an /ask answer citing the paper's commentary [1] and abstract [2]."""
    citations = [
        Citation(
            n=1, id=paper.id, arxiv_id=paper.arxiv_id, title=paper.title, kind="commentary", link=paper.link
        ),
        Citation(
            n=2, id=paper.id, arxiv_id=paper.arxiv_id, title=paper.title, kind="abstract", link=paper.link
        ),
    ]
    answer = Answer(text=ANSWER_TEXT, mode="llm", language="en", citations=citations)
    first, *_rest = render_answer(answer, title=QUESTION)  # a short answer is one embed
    return dict(first.to_dict())


# ---------------------------------------------------------------- HTML in Discord's dark style

_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")


def markdown(text: str) -> str:
    """Escaped text with the little Markdown embeds use: links, **bold**, *italic*, `code`, line breaks."""
    out = html.escape(text, quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _LINK.sub(r'<a href="\2">\1</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    return out.replace("\n", "<br>")


def plain(text: str) -> str:
    return html.escape(text, quote=True)


def colour_hex(embed: Mapping[str, Any]) -> str:
    value = embed.get("color")
    return f"#{int(value):06x}" if value is not None else "#1e1f22"


def embed_html(embed: Mapping[str, Any]) -> str:
    parts: list[str] = []
    author = embed.get("author")
    if author and author.get("name"):
        name = plain(author["name"])
        if author.get("url"):
            name = f'<a href="{plain(author["url"])}">{name}</a>'
        parts.append(f'<div class="embed-author">{name}</div>')
    if embed.get("title"):
        title = plain(embed["title"])
        if embed.get("url"):
            title = f'<a href="{plain(embed["url"])}">{title}</a>'
        parts.append(f'<div class="embed-title">{title}</div>')
    if embed.get("description"):
        parts.append(f'<div class="embed-description">{markdown(embed["description"])}</div>')
    fields = embed.get("fields") or []
    if fields:
        cells = "".join(
            f'<div class="embed-field{" inline" if field.get("inline") else ""}">'
            f'<div class="embed-field-name">{markdown(field["name"])}</div>'
            f'<div class="embed-field-value">{markdown(field["value"])}</div></div>'
            for field in fields
        )
        parts.append(f'<div class="embed-fields">{cells}</div>')
    footer = embed.get("footer")
    if footer and footer.get("text"):
        parts.append(f'<div class="embed-footer">{plain(footer["text"])}</div>')
    return (
        f'<div class="embed" style="border-left-color: {colour_hex(embed)}">'
        f'<div class="embed-body">{"".join(parts)}</div></div>'
    )


BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}


def components_html(rows: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for row in rows:
        buttons = "".join(
            f'<span class="button {BUTTON_STYLES.get(int(item.get("style", 2)), "secondary")}">'
            f"{plain(str(item.get('label') or ''))}</span>"
            for item in row.get("components", [])
            if item.get("type") == 2
        )
        out.append(f'<div class="button-row">{buttons}</div>')
    return "".join(out)


@dataclass(frozen=True)
class Message:
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    timestamp: str
    command: tuple[str, str] | None = None  # (member, command) for an interaction reply


CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #313338; }
body {
  font-family: "gg sans", "Noto Sans", "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic",
    "Helvetica Neue", "Liberation Sans", "DejaVu Sans", sans-serif;
  color: #dbdee1; font-size: 16px; line-height: 1.375; -webkit-font-smoothing: antialiased;
}
a { color: #00a8fc; text-decoration: none; }
.chat { width: 800px; padding: 20px 16px 20px 0; }
.message { position: relative; padding: 2px 48px 2px 72px; }
.reply { position: relative; display: flex; align-items: center; gap: 4px; height: 22px;
  margin-bottom: 4px; font-size: 14px; color: #b5bac1; }
.reply::before { content: ""; position: absolute; left: -36px; top: 10px; width: 29px; height: 12px;
  border-left: 2px solid #4e5058; border-top: 2px solid #4e5058; border-top-left-radius: 6px; }
.reply .mini-avatar { width: 16px; height: 16px; border-radius: 50%; background: #c27c0e;
  color: #fff; font-size: 10px; font-weight: 700; display: inline-flex; align-items: center;
  justify-content: center; }
.reply .who { color: #f2f3f5; font-weight: 500; }
.reply .cmd { color: #00a8fc; }
.avatar { position: absolute; left: 16px; width: 40px; height: 40px; border-radius: 50%;
  background: #4f7cac; color: #fff; font-weight: 700; font-size: 20px;
  display: flex; align-items: center; justify-content: center; }
.header { display: flex; align-items: center; gap: 4px; height: 22px; }
.name { color: #f2f3f5; font-weight: 600; font-size: 16px; }
.badge { background: #5865f2; color: #fff; font-size: 10px; font-weight: 700; line-height: 15px;
  height: 15px; padding: 0 4px; border-radius: 3px; margin-left: 2px; letter-spacing: 0.02em; }
.time { color: #949ba4; font-size: 12px; margin-left: 4px; }
.embed { max-width: 560px; margin-top: 4px; background: #2b2d31; border-left: 4px solid;
  border-radius: 4px; }
.embed-body { padding: 8px 16px 16px 12px; display: grid; gap: 8px; }
.embed-author { color: #f2f3f5; font-size: 14px; font-weight: 600; margin-top: 8px; }
.embed-title { font-size: 16px; font-weight: 700; color: #f2f3f5; }
.embed-description, .embed-field-value { font-size: 14px; line-height: 1.29; white-space: normal;
  word-break: keep-all; overflow-wrap: anywhere; }
.embed-fields { display: flex; flex-wrap: wrap; gap: 8px; }
.embed-field { flex: 1 0 100%; min-width: 0; }
.embed-field.inline { flex: 1 0 30%; }
.embed-field-name { color: #f2f3f5; font-size: 14px; font-weight: 600; margin-bottom: 2px; }
.embed-footer { color: #dbdee1; font-size: 12px; font-weight: 500; margin-top: 0; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 85%; background: #1e1f22;
  border-radius: 3px; padding: 0 2px; }
.button-row { display: flex; gap: 8px; margin-top: 8px; }
.button { display: inline-flex; align-items: center; height: 32px; padding: 2px 16px;
  border-radius: 3px; color: #fff; font-size: 14px; font-weight: 500; }
.button.primary { background: #5865f2; }
.button.secondary { background: #4e5058; }
.button.success { background: #248046; }
.button.danger { background: #da373c; }
.button.link { background: #4e5058; }
"""


def page_html(message: Message) -> str:
    reply = ""
    if message.command:
        member, command = message.command
        reply = (
            f'<div class="reply"><span class="mini-avatar">{plain(member[:1].upper())}</span>'
            f'<span class="who">{plain(member)}</span> used <span class="cmd">/{plain(command)}</span></div>'
        )
    embeds = "".join(embed_html(e) for e in message.embeds)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>paperbot</title><style>{CSS}</style></head><body>"
        '<div class="chat"><div class="message">'
        f"{reply}"
        '<div class="avatar">P</div>'
        '<div class="header"><span class="name">paperbot</span><span class="badge">APP</span>'
        f'<span class="time">{plain(message.timestamp)}</span></div>'
        f"{embeds}{components_html(message.components)}"
        "</div></div></body></html>"
    )


# ---------------------------------------------------------------- screenshots


def find_chromium(given: str | None) -> str:
    if given:
        path = shutil.which(given) or (given if Path(given).is_file() else None)
        if path is None:
            raise SystemExit(f"error: no Chromium at {given!r}")
        return path
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(
        "error: Chromium not found. Install it (Debian: apt-get install chromium fonts-noto-cjk) "
        "or pass --chromium PATH."
    )


def screenshot(chromium: str, page: str, out: Path, *, scale: float) -> None:
    with tempfile.TemporaryDirectory(prefix="paperbot-render-") as tmp:
        html_path = Path(tmp) / "page.html"
        html_path.write_text(page, encoding="utf-8")
        profile = Path(tmp) / "profile"
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            f"--force-device-scale-factor={scale}",
            f"--window-size={WIDTH},{RENDER_HEIGHT}",
            f"--screenshot={out}",
            html_path.as_uri(),
        ]
        if out.exists():
            out.unlink()
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603
        if result.returncode != 0 or not out.exists():
            raise SystemExit(f"error: Chromium failed ({result.returncode}):\n{result.stderr.strip()}")
    trim(out, padding=round(20 * scale))


def trim(path: Path, *, padding: int) -> None:
    """Cut the empty background below the message, keeping ``padding`` pixels."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        print(f"note: Pillow is not installed; {path} keeps its full height", file=sys.stderr)
        return
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, BACKGROUND)).getbbox()
    if box is None:
        return
    bottom = min(rgb.height, box[3] + padding)
    rgb.crop((0, 0, rgb.width, bottom)).save(path, optimize=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chromium", metavar="PATH", help="Chromium binary (default: found on PATH)")
    parser.add_argument(
        "--out-dir", type=Path, default=ROOT / "docs", help="where the PNGs go (default: docs/)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="device scale factor; 2 gives 1600 px wide images"
    )
    args = parser.parse_args(argv)

    chromium = find_chromium(args.chromium)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    pages = example_pages()
    for name, page in pages.items():
        out = out_dir / name
        screenshot(chromium, page, out, scale=args.scale)
        print(f"wrote {os.path.relpath(out)}")
    (out_dir / DIGESTS).write_text(page_digests(pages), encoding="utf-8")
    print(f"wrote {os.path.relpath(out_dir / DIGESTS)}")
    return 0


# The SHA-256 of each picture's page: tests/test_readme.py fails when the bot's embeds or buttons change
# and the pictures were not rendered again.
DIGESTS = "examples.sha256"


def example_pages() -> dict[str, str]:
    """Each README picture's file name and the HTML page it is a screenshot of."""
    paper = example_paper()
    embeds, components = digest_message(paper)
    digest = Message(embeds=embeds, components=components, timestamp="07/11/2024 9:00 AM")
    ask = Message(
        embeds=[ask_message(paper)], components=[], timestamp="07/11/2024 9:42 AM", command=("minji", "ask")
    )
    return {"digest-post.png": page_html(digest), "ask-answer.png": page_html(ask)}


def page_digests(pages: Mapping[str, str]) -> str:
    return "".join(
        f"{hashlib.sha256(page.encode()).hexdigest()}  {name}\n" for name, page in sorted(pages.items())
    )


if __name__ == "__main__":
    raise SystemExit(main())
