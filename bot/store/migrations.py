"""Numbered schema migrations; the applied number is the database's ``PRAGMA user_version``.

Never edit a migration that has shipped: append a new one.

The FTS triggers keep ``paper_fts`` in sync for every ordinary write. ``pb_fts_live()`` (a function the
connection registers) lets a bulk ingest switch them off inside its transaction and rebuild each touched
paper's row once, instead of re-tokenising it for every commentary and tag row.
"""

from __future__ import annotations

from bot.store.fts import FTS_TOKENIZE
from bot.store.schema_initial import COMMUNITY, CORE

# Papers' search rows, rebuilt from their tables (append a WHERE on p.id).
_FTS_ROWS = """
INSERT INTO paper_fts (rowid, title, authors, abstract, commentary, tags)
SELECT p.id, pb_fold(p.title), p.authors, pb_fold(p.abstract),
    coalesce((SELECT pb_fold(group_concat(c.body || ' ' || c.body_en, ' '))
              FROM commentary c WHERE c.paper_id = p.id), ''),
    coalesce((SELECT pb_fold(group_concat(t.display || ' ' || replace(t.key, '-', ' '), ' '))
              FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.paper_id = p.id), '')
FROM papers p"""
# One paper's search row; {ids} is a list of bound placeholders.
REBUILD_FTS = _FTS_ROWS + " WHERE p.id IN ({ids})\n"


_ANSWERS = """
-- Embedded chunks of each paper (title, abstract and commentary sentences), per embedding model.
CREATE TABLE chunks (
    id         INTEGER PRIMARY KEY,
    paper_id   INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    ord        INTEGER NOT NULL,
    text       TEXT NOT NULL,
    vector     BLOB NOT NULL                     -- float32, L2-normalised
);
CREATE INDEX chunks_model_paper ON chunks(model, paper_id);

-- Which version of a paper's text each model has embedded (a hash of the text that was chunked).
CREATE TABLE embedded (
    paper_id     INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    model        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (paper_id, model)
) WITHOUT ROWID;

-- LLM answers per guild per day, for the daily budget.
CREATE TABLE llm_usage (
    guild_id INTEGER NOT NULL,
    day      TEXT NOT NULL,
    calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
) WITHOUT ROWID;
"""

_PROVENANCE = """
-- Which source files (sources.key) gave a paper each tag, and each dated entry, so a tag or entry
-- deleted from a file goes once no file gives it any more. Existing tags are credited to every file
-- with an entry for the paper: that can keep a tag longer than needed, never drop one a file lists.
CREATE TABLE tag_sources (
    paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    source   TEXT NOT NULL,
    PRIMARY KEY (source, paper_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX tag_sources_paper ON tag_sources(paper_id, tag_id);
INSERT OR IGNORE INTO tag_sources (paper_id, tag_id, source)
    SELECT pt.paper_id, pt.tag_id, s.key FROM paper_tags pt
    JOIN entries e ON e.paper_id = pt.paper_id JOIN sources s ON s.id = e.source_id;

CREATE TABLE entry_sources (
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    source   TEXT NOT NULL,
    PRIMARY KEY (source, entry_id)
) WITHOUT ROWID;
CREATE INDEX entry_sources_entry ON entry_sources(entry_id);
INSERT OR IGNORE INTO entry_sources (entry_id, source)
    SELECT e.id, s.key FROM entries e JOIN sources s ON s.id = e.source_id;
"""

_DELIVERY = """
-- DMs are claimed like posts: a claim older than the lease is reconciled (the DM channel searched
-- before resending), and a DM that keeps failing is given up after a few attempts. Every row that
-- exists was attempted once.
ALTER TABLE dm_deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
UPDATE dm_deliveries SET attempts = 1;
CREATE INDEX dm_deliveries_open ON dm_deliveries(guild_id, digest_date, state);

-- Entries an upload no longer lists that were never posted stay until a moderator confirms their
-- removal; each row is one such confirmation, valid while the upload (source, sha256) is current.
CREATE TABLE upload_removals (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    entry_ids  TEXT NOT NULL,                    -- comma-separated entries.id
    created_at TEXT NOT NULL,
    done_at    TEXT
);

-- Every file that gives a commentary (the same paragraph from a digest, its vault note and a
-- "… 1.md" copy is one row with three sources).
CREATE TABLE commentary_sources (
    commentary_id INTEGER NOT NULL REFERENCES commentary(id) ON DELETE CASCADE,
    source        TEXT NOT NULL,
    PRIMARY KEY (commentary_id, source)
) WITHOUT ROWID;
CREATE INDEX commentary_sources_source ON commentary_sources(source);
INSERT OR IGNORE INTO commentary_sources (commentary_id, source)
    SELECT id, origin FROM commentary WHERE origin IS NOT NULL;

-- Repair imported commentary as ingest now writes it (bot.domain.note_meta):
-- 1. URL-only lines a curator commentary opens with go to the paper's links.
CREATE TEMP TABLE _pb_strip AS
WITH RECURSIVE strip(id, rest, url, n) AS (
    SELECT id, trim(body, ' ' || char(9) || char(10)), NULL, 0 FROM commentary WHERE author = 'curator'
    UNION ALL
    SELECT id, trim(substr(rest, instr(rest || char(10), char(10)) + 1), ' ' || char(9) || char(10)),
        trim(substr(rest, 1, instr(rest || char(10), char(10)) - 1), '<> '), n + 1
    FROM strip
    WHERE n < 10 AND (rest LIKE 'http://%' OR rest LIKE 'https://%' OR rest LIKE '<http%')
        AND instr(trim(substr(rest, 1, instr(rest || char(10), char(10)) - 1)), ' ') = 0
        AND instr(trim(substr(rest, 1, instr(rest || char(10), char(10)) - 1)), char(9)) = 0
)
SELECT id, rest, url, n FROM strip;
CREATE TEMP TABLE _pb_urls AS
    SELECT DISTINCT c.paper_id, s.url, min(s.id * 100 + s.n) AS ord FROM _pb_strip s
    JOIN commentary c ON c.id = s.id WHERE s.url IS NOT NULL AND s.url != '' GROUP BY c.paper_id, s.url;
UPDATE papers SET links = (
    SELECT json_group_array(value) FROM (
        SELECT value FROM (SELECT j.value, 0 AS o, j.key AS k FROM json_each(papers.links) j
            UNION ALL SELECT u.url, 1, u.ord FROM _pb_urls u WHERE u.paper_id = papers.id
                AND u.url NOT IN (SELECT value FROM json_each(papers.links)))
        ORDER BY o, k)
) WHERE id IN (SELECT paper_id FROM _pb_urls);
UPDATE commentary SET body = (
    SELECT s.rest FROM _pb_strip s WHERE s.id = commentary.id ORDER BY s.n DESC LIMIT 1
) WHERE id IN (SELECT id FROM _pb_strip WHERE n > 0);

-- 2. Dated by the note: the earliest digest date any of its files gives the paper, at midnight UTC
--    (the row was dated when it was ingested); an edited row keeps its edit time.
UPDATE commentary SET created_at = (
    SELECT min(e.digest_date) FROM commentary_sources cs JOIN entry_sources es ON es.source = cs.source
    JOIN entries e ON e.id = es.entry_id AND e.paper_id = commentary.paper_id
    WHERE cs.commentary_id = commentary.id
) || 'T00:00:00+00:00',
updated_at = CASE WHEN EXISTS (SELECT 1 FROM commentary_revisions r WHERE r.commentary_id = commentary.id)
    THEN updated_at ELSE (
    SELECT min(e.digest_date) FROM commentary_sources cs JOIN entry_sources es ON es.source = cs.source
    JOIN entries e ON e.id = es.entry_id AND e.paper_id = commentary.paper_id
    WHERE cs.commentary_id = commentary.id
) || 'T00:00:00+00:00' END
WHERE author = 'curator' AND EXISTS (
    SELECT 1 FROM commentary_sources cs JOIN entry_sources es ON es.source = cs.source
    JOIN entries e ON e.id = es.entry_id AND e.paper_id = commentary.paper_id
    WHERE cs.commentary_id = commentary.id
);

-- 3. One paragraph, one commentary: rows of a paper and author whose text differs only in
--    whitespace become the earliest one, with all their sources, revisions and English text.
CREATE TEMP TABLE _pb_key AS SELECT id, paper_id, author, created_at, body_en,
    trim(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(body, char(13), ' '), char(10), ' '), char(9), ' '),
        '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) AS k
    FROM commentary;
CREATE TEMP TABLE _pb_dupe AS
    SELECT d.id AS dupe, (SELECT k2.id FROM _pb_key k2 WHERE k2.paper_id = d.paper_id AND k2.author = d.author
        AND k2.k = d.k ORDER BY k2.created_at, k2.id LIMIT 1) AS keeper
    FROM _pb_key d;
DELETE FROM _pb_dupe WHERE dupe = keeper;
INSERT OR IGNORE INTO commentary_sources (commentary_id, source)
    SELECT d.keeper, cs.source FROM _pb_dupe d JOIN commentary_sources cs ON cs.commentary_id = d.dupe;
UPDATE commentary_revisions SET commentary_id = (SELECT keeper FROM _pb_dupe WHERE dupe = commentary_id)
    WHERE commentary_id IN (SELECT dupe FROM _pb_dupe);
UPDATE commentary SET body_en = (
    SELECT k.body_en FROM _pb_dupe d JOIN _pb_key k ON k.id = d.dupe
    WHERE d.keeper = commentary.id AND k.body_en != '' ORDER BY k.created_at, k.id LIMIT 1
) WHERE body_en = '' AND id IN (
    SELECT d.keeper FROM _pb_dupe d JOIN _pb_key k ON k.id = d.dupe WHERE k.body_en != ''
);
DELETE FROM commentary WHERE id IN (SELECT dupe FROM _pb_dupe);
DROP TABLE _pb_strip;
DROP TABLE _pb_urls;
DROP TABLE _pb_key;
DROP TABLE _pb_dupe;
"""

_STEMMING_AND_FIELDS = f"""
-- Porter stemming for Latin words in the search index (Hangul is folded to bigrams before tokenising,
-- which the stemmer leaves alone): the index is rebuilt with the new tokenizer.
DROP TABLE paper_fts;
CREATE VIRTUAL TABLE paper_fts USING fts5(
    title, authors, abstract, commentary, tags,
    tokenize = '{FTS_TOKENIZE}'
);
{_FTS_ROWS};

-- Which field of the paper each embedded chunk came from: 'title', 'abstract' or 'commentary' (the
-- curator's text with its English version), so each field can be ranked on its own. Chunks stored before
-- this are labelled by bot/store/vectors.py label_chunks() on the next embedding update, without
-- re-embedding; '' means not labelled yet.
ALTER TABLE chunks ADD COLUMN field TEXT NOT NULL DEFAULT '';
"""

# Migration 7 (issue 15): discovery.
_DISCOVERY = """
-- /foryou: a member's weekly-DM choice, and what paperbot derived from their activity (deleted by
-- /foryou forget). Saves, reactions and subscriptions stay in their own tables.
CREATE TABLE foryou_prefs (
    user_id    INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,                 -- the server whose subscriptions shape the weekly DM
    weekly_dm  INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

-- A member's taste: the weighted mean of the embeddings of the papers they engaged with, and tag weights.
CREATE TABLE member_profiles (
    user_id     INTEGER PRIMARY KEY,
    model       TEXT,                            -- embedding model of ``vector``; NULL without embeddings
    vector      BLOB,                            -- float32, L2-normalised
    tag_weights TEXT NOT NULL DEFAULT '{}',      -- JSON: tag key -> weight
    basis       TEXT NOT NULL,                   -- hash of the saves/reactions/follows it was built from
    engaged     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Papers already recommended to a member, so the weekly DM brings ones they have not seen.
CREATE TABLE foryou_shown (
    user_id  INTEGER NOT NULL,
    paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    shown_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
) WITHOUT ROWID;

-- The weekly "papers you may have missed" DM: claimed before sending, so each member gets it once a week
-- (kept by /foryou forget, so opting in again the same week cannot bring a second one).
CREATE TABLE foryou_dms (
    user_id    INTEGER NOT NULL,
    week       TEXT NOT NULL,                    -- ISO date of the week's Monday
    state      TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'refused', 'failed', 'empty')),
    message_id INTEGER,
    error      TEXT,
    claimed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, week)
) WITHOUT ROWID;
"""

# 8: query-expansion tables mined from the vault (bot/services/search/lexicon.py), replaced as a whole.
_LEXICON = """
CREATE TABLE lexicon (
    kind       TEXT NOT NULL CHECK (kind IN ('loanword', 'acronym', 'pair')),
    term       TEXT NOT NULL,                    -- consonant key, acronym or phrase, English stem
    expansions TEXT NOT NULL,                    -- JSON list of terms it adds to a query
    PRIMARY KEY (kind, term)
) WITHOUT ROWID;
CREATE TABLE lexicon_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,                   -- of the commentary it was mined from
    mined_at    TEXT NOT NULL
);
"""

# 9: the stored embedding hash also names the fields a model embeds (bot/store/vectors.scoped_hash).
# Before, a model switched from titles to every field (PAPERBOT_E5) kept its title-only chunks. A model
# whose stored chunks are all titles embedded titles only; any other embedded every field.
_SCOPED_HASH = """
CREATE TEMP TABLE model_scope AS
    SELECT model, CASE WHEN max(field <> 'title') THEN 'abstract+commentary+title' ELSE 'title' END AS scope
    FROM chunks GROUP BY model;
UPDATE embedded SET content_hash = content_hash || ':' || coalesce(
    (SELECT scope FROM model_scope WHERE model_scope.model = embedded.model), 'abstract+commentary+title'
);
DROP TABLE model_scope;
"""

MIGRATIONS: list[str] = [
    CORE,
    COMMUNITY,
    _ANSWERS,
    _PROVENANCE,
    _DELIVERY,
    _STEMMING_AND_FIELDS,
    _DISCOVERY,
    _LEXICON,
    _SCOPED_HASH,
]
