"""The curator's own links between notes: ``[[wiki links]]`` (``# Links`` sections) resolved to papers.

A link names a note file (``230711 Generative Pretraining in Multimodality``, with or without ``.md``).
It resolves to the paper ingested from that file (``entry_sources``), else to the paper whose title is
the file name without its ``YYMMDD`` prefix. Links count in both directions: a paper's notes link out,
and other notes may link to it. The resolved graph is cached and rebuilt when the notes change.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.domain.arxiv import normalise_title
from bot.store.db import Database

_DATE_PREFIX = re.compile(r"^\d{6}\s+")
_DUPLICATE_SUFFIX = re.compile(r"\s+1$")
# In-place edits on this connection (same counts) are picked up at most this often.
EDIT_RECHECK_SECONDS = 60.0


def _stem(name: str) -> str:
    return name.strip().removesuffix(".md").strip()


def _title_of(name: str) -> str:
    return _DUPLICATE_SUFFIX.sub("", _DATE_PREFIX.sub("", _stem(name)))


def _source_stem(source: str) -> str:
    return _stem(os.path.basename(source.removeprefix("upload:")))


@dataclass
class NotesVersion:
    """Tells when the stored notes changed, without scanning them (counts and max ids are O(1))."""

    _key: tuple[object, ...] | None = None
    _changes: int = -1
    _checked: float = 0.0

    papers: int = 0

    async def changed(self, db: Database) -> bool:
        """Whether the notes changed since the last call (always True on the first); updates ``papers``."""
        row = await db.fetchone(
            "SELECT (SELECT count(*) FROM papers), (SELECT max(id) FROM papers), "
            "(SELECT count(*) FROM commentary), (SELECT max(id) FROM commentary), "
            "(SELECT count(*) FROM paper_tags), (SELECT count(*) FROM entry_sources), "
            "(SELECT data_version FROM pragma_data_version), total_changes()"
        )
        assert row is not None
        key, changes = tuple(row)[:-1], int(row[-1])
        self.papers = int(row[0])
        now = time.monotonic()
        edited = changes != self._changes and now - self._checked > EDIT_RECHECK_SECONDS
        if key == self._key and not edited:
            return False
        self._key, self._changes, self._checked = key, changes, now
        return True


@dataclass
class LinkGraph:
    """Every resolved curator link, both ways: paper id → linked paper ids in the curator's order."""

    outgoing: dict[int, list[int]] = field(default_factory=dict)
    incoming: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    async def load(cls, db: Database) -> LinkGraph:
        stems: dict[str, int] = {}
        rows = await db.fetchall(
            "SELECT es.source, e.paper_id FROM entry_sources es JOIN entries e ON e.id = es.entry_id "
            "ORDER BY e.id"
        )
        for row in rows:
            stems.setdefault(_source_stem(str(row["source"])), int(row["paper_id"]))
        titles: dict[str, int] = {}
        for row in await db.fetchall("SELECT id, title_key FROM papers ORDER BY id"):
            titles.setdefault(str(row["title_key"]), int(row["id"]))
        graph = cls()
        for row in await db.fetchall("SELECT id, links FROM papers WHERE links != '[]' ORDER BY id"):
            source = int(row["id"])
            for target in resolve_names(json.loads(row["links"]), stems, titles):
                if target == source:
                    continue
                out = graph.outgoing.setdefault(source, [])
                if target not in out:
                    out.append(target)
                back = graph.incoming.setdefault(target, [])
                if source not in back:
                    back.append(source)
        return graph

    def links_of(self, paper_id: int) -> list[int]:
        """The papers this paper's notes link to, then the papers whose notes link to it."""
        both = self.outgoing.get(paper_id, []) + self.incoming.get(paper_id, [])
        return [p for p in dict.fromkeys(both) if p != paper_id]


def resolve_names(names: Iterable[str], stems: dict[str, int], titles: dict[str, int]) -> list[int]:
    """Paper ids of the link names that resolve (by note file, then by title), in order."""
    found: list[int] = []
    for name in names:
        stem = _stem(name)
        pid = stems.get(stem)
        if pid is None:
            pid = titles.get(normalise_title(_title_of(stem)))
        if pid is not None:
            found.append(pid)
    return found


async def resolve_links(db: Database, names: Iterable[str]) -> dict[str, int]:
    """Link name → paper id for the names that resolve (used by the benchmark's answer key)."""
    graph_stems: dict[str, int] = {}
    rows = await db.fetchall(
        "SELECT es.source, e.paper_id FROM entry_sources es JOIN entries e ON e.id = es.entry_id ORDER BY e.id"
    )
    for row in rows:
        graph_stems.setdefault(_source_stem(str(row["source"])), int(row["paper_id"]))
    titles = {
        str(r["title_key"]): int(r["id"]) for r in await db.fetchall("SELECT id, title_key FROM papers")
    }
    found = {}
    for name in names:
        ids = resolve_names([name], graph_stems, titles)
        if ids:
            found[_stem(name)] = ids[0]
    return found
