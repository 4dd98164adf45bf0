"""Handlers behind the `paperbot` subcommands."""

from __future__ import annotations

import argparse
import sys
import time

from bot.cli.common import Handler, cli_settings, fail, open_db, print_json
from bot.domain.models import Paper
from bot.features import build_answering
from bot.services.ingest.pipeline import IngestReport, ingest_paths
from bot.services.search.retrieval import Retriever
from bot.services.search.view import good_match, match_hits, reference
from bot.store.papers import counts, resolve_paper
from bot.store.vectors import drop_models, other_models


class ProgressBar:
    """A one-line progress bar on stderr, drawn only for a terminal and for large jobs."""

    def __init__(self, label: str, *, minimum: int = 200) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.minimum = minimum
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.minimum:
            return
        percent = done * 100 // total
        if percent == self._last and done != total:
            return
        self._last = percent
        filled = percent * 30 // 100
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def report_json(report: IngestReport) -> dict[str, object]:
    return {
        "files": report.files,
        "files_unchanged": report.files_unchanged,
        "files_failed": report.files_failed,
        "papers_new": report.papers_new,
        "papers_updated": report.papers_updated,
        "papers_unchanged": report.papers_unchanged,
        "entries": report.entries,
        "warnings": [str(w) for w in report.warnings],
        "errors": [str(e) for e in report.errors],
    }


async def cmd_ingest(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        report = await ingest_paths(db, args.paths, progress=ProgressBar("ingest"))
        if not args.no_embed:
            retriever, _answerer, client = await build_answering(cli_settings(args), db)
            embedded = await retriever.update(progress=ProgressBar("embed", minimum=50))
            if client is not None:
                await client.close()
            if embedded:
                print(f"embedded {embedded} papers ({retriever.mode} search)")
    for issue in report.errors:
        print(str(issue), file=sys.stderr)
    if args.json:
        print_json(report_json(report))
    else:
        for issue in report.warnings[:20]:
            print(str(issue))
        if len(report.warnings) > 20:
            print(f"… and {len(report.warnings) - 20} more warnings (use --json to see all)")
        print(report.summary())
    return 0 if report.ok else 1


async def cmd_search(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        retriever, _answerer, client = await build_answering(cli_settings(args), db)
        started = time.perf_counter()
        hits = await retriever.search(
            args.query, tag=args.tag, since=args.since, until=args.until, limit=args.limit
        )
        took = time.perf_counter() - started
        matches = await match_hits(db, args.query, hits)
        if client is not None:
            await client.close()
    if getattr(args, "verbose", False):
        print(f"search: {took * 1000:.1f} ms, {search_timing(retriever)}", file=sys.stderr)
    if args.json:
        print_json(
            [
                hit.model_dump(mode="json")
                | {"match": round(matches[hit.id].share, 3) if hit.id in matches else None}
                for hit in hits
            ]
        )
        return 0
    if not hits:
        print("No papers match. Try fewer or different words, or `paperbot stats` to check the database.")
    elif not good_match(matches):
        print(f"No good match for {args.query!r}: these papers share only a few of its words.\n")
    for n, hit in enumerate(hits, start=1):
        tags = " ".join(f"#{t}" for t in hit.tags)
        match = f", {matches[hit.id].percent}% match" if hit.id in matches else ""
        print(f"{n:>2}. {hit.title}  ({reference(hit)}{match}) {tags}")
        if hit.snippet:
            print(f"    {hit.snippet}")
    if hits and matches:
        print(
            "\n(match: how much of the query, weighted by how rare each word is, the paper's notes contain)"
        )
    return 0


def render_paper_text(paper: Paper) -> str:
    lines = [paper.title]
    if paper.authors:
        lines.append(", ".join(paper.authors))
    if paper.link:
        lines.append(paper.link)
    if paper.tags:
        lines.append(" ".join(f"#{t}" for t in paper.tags))
    for note in paper.commentary:
        lines += ["", f"— {note.author} ({note.updated_at:%Y-%m-%d})", note.body]
        if note.body_en:
            lines += ["", note.body_en]
    if paper.abstract:
        lines += ["", "Abstract:", paper.abstract]
    return "\n".join(lines)


async def cmd_show(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        paper = await resolve_paper(db, args.paper)
    if paper is None:
        return fail(f"no paper {args.paper!r}; search for it with `paperbot search`")
    if args.json:
        print_json(paper.model_dump(mode="json") | {"link": paper.link})
    else:
        print(render_paper_text(paper))
    return 0


async def cmd_ask(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        _retriever, answerer, client = await build_answering(cli_settings(args), db)
        try:
            answer = await answerer.ask(args.question, tag=args.tag)
        finally:
            if client is not None:
                await client.close()
    if args.json:
        print_json(answer.as_json())
        return 0
    print(answer.text)
    for c in answer.citations:
        source = "curator's commentary" if c.kind == "commentary" else "abstract"
        where = c.link or (f"arXiv:{c.arxiv_id}" if c.arxiv_id else "no arXiv id")
        print(f"[{c.n}] {c.title} ({where}) · {source}")
    if answer.notice and answer.notice != answer.text:
        print(f"\n({answer.notice})")
    return 0


async def cmd_embed(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        retriever, _answerer, client = await build_answering(cli_settings(args), db)
        if retriever.embedder is None:
            return fail("no embedding backend: set PAPERBOT_EMBEDDINGS and install its package (see README)")
        done = await retriever.update(progress=ProgressBar("embed", minimum=1))
        if client is not None:
            await client.close()
        print(f"embedded {done} papers with {', '.join(s.embedder.name for s in retriever.sources)}")
        if retriever.last_error:
            return fail(
                f"{retriever.last_error}; papers embedded so far are kept, run it again once it works"
            )
        others = await other_models(db, [s.embedder.name for s in retriever.sources])
        if others and args.prune:
            await drop_models(db, list(others))
            print(f"deleted {sum(others.values())} chunks of other models: {', '.join(sorted(others))}")
        elif others:
            print(
                f"{sum(others.values())} chunks of other models remain ({', '.join(sorted(others))}); "
                "paperbot embed --prune deletes them"
            )
    return 0


def search_timing(retriever: Retriever) -> str:
    """What a search cost besides SQL: which models were called and how long they took (for ``-v``)."""
    called = [s for s in retriever.sources if s.model_seconds > 0]
    if not called:
        why = "no stored vectors" if retriever.sources else "no embedder configured"
        return f"keywords only ({why}), no model loaded"
    return "; ".join(
        f"{s.embedder.name} embedded the query in {s.model_seconds * 1000:.0f} ms (model load included)"
        for s in called
    )


async def cmd_stats(args: argparse.Namespace) -> int:
    async with await open_db(args) as db:
        numbers = await counts(db)
    if args.json:
        print_json(numbers)
    else:
        for key, value in numbers.items():
            print(f"{key:>24}: {value}")
    return 0


async def cmd_run(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.runner import run_bot

    settings = cli_settings(args)
    setup_logging(verbose=args.verbose, json_lines=settings.log_json)
    return await run_bot(settings, sync=args.sync)


HANDLERS: dict[str, Handler] = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "show": cmd_show,
    "stats": cmd_stats,
    "ask": cmd_ask,
    "embed": cmd_embed,
    "run": cmd_run,
}
