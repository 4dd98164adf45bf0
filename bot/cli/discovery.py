"""`paperbot related`: the papers related to each given paper, as text or one JSON object."""

from __future__ import annotations

import argparse

from bot.cli.common import Handler, fail, print_json, resolve_db
from bot.domain.models import Paper
from bot.features import build_answering
from bot.services.discovery.related import RelatedFinder, RelatedPaper
from bot.settings import load_settings
from bot.store.db import Database
from bot.store.papers import resolve_paper


def add_discovery_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    db_default: argparse.ArgumentParser,
    positive: object,
) -> None:
    p = sub.add_parser("related", parents=[db_default], help="papers related to each PAPER")
    p.add_argument("papers", nargs="+", metavar="PAPER", help="arXiv id, URL, internal id or exact title")
    p.add_argument("--limit", type=positive, default=5, help="related papers per PAPER (default 5)")  # type: ignore[arg-type]
    p.add_argument("--json", action="store_true", help="one object: each PAPER as given -> its list")


def related_text(paper: Paper, items: list[RelatedPaper]) -> str:
    """Plain-text rendering: numbered, the curator's links starred, each with its reason."""
    lines = [f"Related to: {paper.title}"]
    if not items:
        lines.append("    (nothing related yet)")
    for n, item in enumerate(items, start=1):
        ref = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id}"
        star = "★ " if item.curator else ""
        lines.append(f"{n:>2}. {star}{item.title}  ({ref}, score {item.score:.3f})")
        lines.append(f"    {item.reason}")
    return "\n".join(lines)


async def cmd_related(args: argparse.Namespace) -> int:
    async with await Database.open(resolve_db(args)) as db:
        papers: dict[str, Paper] = {}
        for ref in args.papers:
            paper = await resolve_paper(db, ref)
            if paper is None:
                return fail(f"no paper {ref!r}; find its id or arXiv id with `paperbot search`")
            papers[ref] = paper
        retriever, _answerer, client = await build_answering(load_settings(), db)
        try:
            finder = RelatedFinder(db, retriever)
            found = {ref: await finder.related(p.id, limit=args.limit) for ref, p in papers.items()}
        finally:
            if client is not None:
                await client.close()
    if args.json:
        print_json({ref: [item.as_json() for item in items] for ref, items in found.items()})
        return 0
    print("\n\n".join(related_text(papers[ref], items) for ref, items in found.items()))
    return 0


DISCOVERY_HANDLERS: dict[str, Handler] = {"related": cmd_related}
