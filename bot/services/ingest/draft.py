"""A paper being merged from its stored row and a batch's entries: the value every ingest writer shares."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.domain.arxiv import normalise_title
from bot.domain.models import Entry


@dataclass
class Draft:
    """A paper being merged from the database row and this batch's entries."""

    id: int | None
    arxiv_id: str | None
    title: str
    title_key: str
    authors: list[str]
    url: str | None
    abstract: str
    links: list[str]
    first_seen: str | None
    last_seen: str | None
    tag_keys: set[str] = field(default_factory=set)
    original: tuple[object, ...] = ()

    def columns(self) -> tuple[object, ...]:
        return (
            self.arxiv_id,
            self.title,
            self.title_key,
            json.dumps(self.authors, ensure_ascii=False),
            self.url,
            self.abstract,
            json.dumps(self.links, ensure_ascii=False),
            self.first_seen,
        )

    def merge(self, entry: Entry, day: str | None) -> None:
        newer = self.last_seen is None or day is None or day >= self.last_seen
        if entry.arxiv_id and not self.arxiv_id:
            self.arxiv_id = entry.arxiv_id
        for name in ("title", "abstract", "url"):
            value = getattr(entry, name)
            if value and (newer or not getattr(self, name)):
                setattr(self, name, value)
        if entry.authors and (newer or not self.authors):
            self.authors = list(entry.authors)
        self.title_key = normalise_title(self.title)
        self.links = self.links + [link for link in entry.links if link not in self.links]
        if day is not None:
            self.first_seen = min(filter(None, (self.first_seen, day)))
            self.last_seen = max(filter(None, (self.last_seen, day)))
