"""Typed records that flow from the parsers into the store and out to adapters."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    WARNING = "warning"
    ERROR = "error"


class ParseIssue(BaseModel):
    """A problem found in a source file, pointing at the line and field at fault."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int | None = None
    field: str | None = None
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.severity.value}: {self.message}"


class CommentaryPart(BaseModel):
    """One of several commentaries an exported note carries, with its author and dates (ISO)."""

    body: str
    body_en: str = ""
    author: str = "curator"
    author_id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Entry(BaseModel):
    """One paper as written in one note or digest entry."""

    title: str
    authors: list[str] = Field(default_factory=list)
    arxiv_id: str | None = None
    url: str | None = None
    abstract: str = ""
    commentary: str = ""
    commentary_en: str = ""
    links: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    note_date: dt.date | None = None
    line: int = 1
    # From an exported note: its commentaries one by one, and exactly the paper's digest dates.
    parts: list[CommentaryPart] = Field(default_factory=list)
    entry_dates: list[dt.date] | None = None


class ParsedFile(BaseModel):
    """What a parser made of one file: its entries plus every warning and error."""

    path: str
    kind: str
    digest_date: dt.date | None = None
    entries: list[Entry] = Field(default_factory=list)
    issues: list[ParseIssue] = Field(default_factory=list)

    @property
    def errors(self) -> list[ParseIssue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[ParseIssue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


class Paper(BaseModel):
    """A paper as stored, with its tags and commentary."""

    id: int
    arxiv_id: str | None
    title: str
    authors: list[str]
    url: str | None
    abstract: str
    links: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    commentary: list[Commentary] = Field(default_factory=list)
    first_seen: dt.date | None = None

    @property
    def link(self) -> str | None:
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        return self.url


class Commentary(BaseModel):
    id: int
    paper_id: int
    body: str
    body_en: str = ""
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime


class SearchHit(BaseModel):
    id: int
    arxiv_id: str | None
    title: str
    tags: list[str]
    score: float
    snippet: str = ""
    first_seen: dt.date | None = None


Paper.model_rebuild()
