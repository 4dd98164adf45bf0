"""Migrations 1 and 2, the initial schema: papers, commentary, tags, entries and their search index
(``CORE``); guild settings, routes, posts, members' choices and DM deliveries (``COMMUNITY``).
Shipped: never edited; ``bot.store.migrations`` lists them first."""

from __future__ import annotations

CORE = """
CREATE TABLE papers (
    id          INTEGER PRIMARY KEY,
    arxiv_id    TEXT UNIQUE,
    title       TEXT NOT NULL,
    title_key   TEXT NOT NULL,
    authors     TEXT NOT NULL DEFAULT '[]',      -- JSON list
    url         TEXT,
    abstract    TEXT NOT NULL DEFAULT '',
    links       TEXT NOT NULL DEFAULT '[]',      -- JSON list
    first_seen  TEXT,                            -- ISO date of the earliest note
    last_seen   TEXT,                            -- ISO date of the latest note (its fields win)
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX papers_title_key ON papers(title_key);
CREATE INDEX papers_first_seen ON papers(first_seen);

CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,            -- resolved path, or upload:<name>
    kind        TEXT NOT NULL,                   -- digest | note
    sha256      TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);

CREATE TABLE commentary (
    id          INTEGER PRIMARY KEY,
    paper_id    INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    body_en     TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL,                   -- 'curator' for imported notes, else a member
    author_id   INTEGER,                         -- Discord user id when written in Discord
    origin      TEXT,                            -- source key for imported commentary
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (paper_id, origin)
);
CREATE INDEX commentary_paper ON commentary(paper_id);

CREATE TABLE commentary_revisions (
    id            INTEGER PRIMARY KEY,
    commentary_id INTEGER NOT NULL REFERENCES commentary(id) ON DELETE CASCADE,
    body          TEXT NOT NULL,
    body_en       TEXT NOT NULL,
    editor        TEXT NOT NULL,
    editor_id     INTEGER,
    edited_at     TEXT NOT NULL
);

CREATE TABLE tags (
    id       INTEGER PRIMARY KEY,
    key      TEXT NOT NULL UNIQUE,
    display  TEXT NOT NULL
);

CREATE TABLE paper_tags (
    paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (paper_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX paper_tags_tag ON paper_tags(tag_id);

-- A digest is a day's set of entries; an entry is one paper on one day.
CREATE TABLE entries (
    id          INTEGER PRIMARY KEY,
    paper_id    INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    digest_date TEXT NOT NULL,
    source_id   INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    line        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (digest_date, paper_id)
);
CREATE INDEX entries_paper ON entries(paper_id);

CREATE VIRTUAL TABLE paper_fts USING fts5(
    title, authors, abstract, commentary, tags,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers WHEN pb_fts_live() BEGIN
    INSERT INTO paper_fts(rowid, title, authors, abstract, commentary, tags)
    VALUES (new.id, pb_fold(new.title), new.authors, pb_fold(new.abstract), '', '');
END;
CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, authors, abstract ON papers
WHEN pb_fts_live() AND (old.title IS NOT new.title OR old.authors IS NOT new.authors
    OR old.abstract IS NOT new.abstract)
BEGIN
    UPDATE paper_fts SET title = pb_fold(new.title), authors = new.authors,
        abstract = pb_fold(new.abstract) WHERE rowid = new.id;
END;
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
    DELETE FROM paper_fts WHERE rowid = old.id;
END;

CREATE TRIGGER commentary_fts_insert AFTER INSERT ON commentary WHEN pb_fts_live() BEGIN
    UPDATE paper_fts SET commentary = (
        SELECT pb_fold(group_concat(body || ' ' || body_en, ' ')) FROM commentary WHERE paper_id = new.paper_id
    ) WHERE rowid = new.paper_id;
END;
CREATE TRIGGER commentary_fts_update AFTER UPDATE OF body, body_en ON commentary WHEN pb_fts_live() BEGIN
    UPDATE paper_fts SET commentary = (
        SELECT pb_fold(group_concat(body || ' ' || body_en, ' ')) FROM commentary WHERE paper_id = new.paper_id
    ) WHERE rowid = new.paper_id;
END;
CREATE TRIGGER commentary_fts_delete AFTER DELETE ON commentary WHEN pb_fts_live() BEGIN
    UPDATE paper_fts SET commentary = coalesce((
        SELECT pb_fold(group_concat(body || ' ' || body_en, ' ')) FROM commentary WHERE paper_id = old.paper_id
    ), '') WHERE rowid = old.paper_id;
END;

CREATE TRIGGER paper_tags_fts_insert AFTER INSERT ON paper_tags WHEN pb_fts_live() BEGIN
    UPDATE paper_fts SET tags = (
        SELECT pb_fold(group_concat(t.display || ' ' || replace(t.key, '-', ' '), ' '))
        FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id = new.paper_id
    ) WHERE rowid = new.paper_id;
END;
CREATE TRIGGER paper_tags_fts_delete AFTER DELETE ON paper_tags WHEN pb_fts_live() BEGIN
    UPDATE paper_fts SET tags = coalesce((
        SELECT pb_fold(group_concat(t.display || ' ' || replace(t.key, '-', ' '), ' '))
        FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id = old.paper_id
    ), '') WHERE rowid = old.paper_id;
END;
"""

COMMUNITY = """
-- Per-guild choices: where unrouted entries go, which commentary language posts show.
CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    fallback_channel_id INTEGER,
    language            TEXT NOT NULL DEFAULT 'both' CHECK (language IN ('original', 'english', 'both')),
    threads             INTEGER NOT NULL DEFAULT 0,
    updated_at          TEXT NOT NULL
);

CREATE TABLE routes (
    guild_id   INTEGER NOT NULL,
    tag_key    TEXT NOT NULL,
    channel_id INTEGER NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, tag_key, channel_id)
) WITHOUT ROWID;

-- Every message the bot posted (or will post) for a paper: the digest outbox and on-demand posts.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    paper_id    INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    digest_date TEXT,                                 -- NULL for on-demand posts
    nonce       TEXT NOT NULL UNIQUE,                 -- sent with enforce_nonce: a resend is not a repost
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    message_id  INTEGER UNIQUE,
    thread_id   INTEGER,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_at  TEXT,                                 -- when a sender took it; stale claims are reconciled
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE UNIQUE INDEX posts_digest_once ON posts(channel_id, paper_id, digest_date) WHERE digest_date IS NOT NULL;
CREATE INDEX posts_paper ON posts(paper_id);
CREATE INDEX posts_pending ON posts(state, digest_date);

CREATE TABLE reactions (
    message_id INTEGER NOT NULL,
    paper_id   INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    emoji      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;
CREATE INDEX reactions_paper ON reactions(paper_id, created_at);

-- kind 'follow' subscribes a member to a tag in a guild; 'mute' keeps a tag out of their DMs.
CREATE TABLE subscriptions (
    user_id    INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    tag_key    TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'follow' CHECK (kind IN ('follow', 'mute')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, guild_id, tag_key)
) WITHOUT ROWID;
CREATE INDEX subscriptions_guild_tag ON subscriptions(guild_id, tag_key);

CREATE TABLE member_prefs (
    user_id    INTEGER PRIMARY KEY,
    dms_paused INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

CREATE TABLE saved (
    user_id    INTEGER NOT NULL,
    paper_id   INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
) WITHOUT ROWID;

-- One row per guild and day: claimed before posting so overlapping runs never both post.
CREATE TABLE digest_runs (
    guild_id    INTEGER NOT NULL,
    digest_date TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('planned', 'posting', 'posted')),
    claimed_by  TEXT,
    claimed_at  TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (guild_id, digest_date)
) WITHOUT ROWID;

CREATE TABLE dm_deliveries (
    user_id     INTEGER NOT NULL,
    guild_id    INTEGER NOT NULL,
    digest_date TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'refused', 'failed')),
    message_id  INTEGER,
    error       TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, guild_id, digest_date)
) WITHOUT ROWID;
"""
