"""The embedded index's SQLite metadata: its schema, and rows to and from the nouns."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from qa.parsing import BERLIN
from qa.records import PARAGRAPH_SEPARATOR, Article, WireInfo

ARTICLE_COLUMNS = "id, title, published, tags, source, url, source_path, body, repairs"
SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    published TEXT,
    tags TEXT NOT NULL,
    source TEXT,
    url TEXT,
    source_path TEXT,
    body TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    repairs INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_title_published ON articles (title, published);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published);
CREATE TABLE IF NOT EXISTS article_wire (
    article_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    version_created TEXT,
    pubstatus TEXT NOT NULL,
    signal TEXT,
    embargoed TEXT,
    kicker TEXT,
    byline TEXT,
    correction TEXT
);
CREATE INDEX IF NOT EXISTS article_wire_embargoed ON article_wire (embargoed);
CREATE TABLE IF NOT EXISTS story_prints (
    article_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS story_prints_story ON story_prints (story_id);
CREATE TABLE IF NOT EXISTS story_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    article_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS story_bands_key ON story_bands (band, key);
CREATE INDEX IF NOT EXISTS story_bands_article ON story_bands (article_id);
CREATE TABLE IF NOT EXISTS article_tags (
    article_id TEXT NOT NULL,
    tag TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (article_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_tags_tag ON article_tags (tag);
CREATE TABLE IF NOT EXISTS teasers (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    section TEXT,
    published TEXT,
    first_seen_in TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embed_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_owner ON chunks (owner_id);
CREATE INDEX IF NOT EXISTS chunks_embed_hash ON chunks (embed_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms_vocabulary USING fts5vocab(chunk_terms, 'row');
"""


def utc_iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def berlin_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(BERLIN) if value else None


def connect_schema(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.executescript(SCHEMA)
    return connection


WIRE_COLUMNS = "version, version_created, pubstatus, signal, embargoed, kicker, byline, correction"


def wire_from_row(urn: str, row: tuple) -> WireInfo:
    return WireInfo(urn, row[0], berlin_time(row[1]), row[2], row[3], berlin_time(row[4]), row[5], row[6], row[7])


def article_from_row(row: tuple, wire: WireInfo | None = None) -> Article:
    return Article(
        wire=wire,
        id=row[0],
        title=row[1],
        published=berlin_time(row[2]),
        tags=tuple(json.loads(row[3])),
        source=row[4],
        url=row[5],
        source_path=row[6] or "",
        paragraphs=tuple(row[7].split(PARAGRAPH_SEPARATOR)) if row[7] else (),
        repairs=row[8],
    )
