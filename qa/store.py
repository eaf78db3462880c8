"""The index on disk: a FAISS file and a SQLite metadata store, published as generations.

An index is a directory::

    manifest.json            format version, model, dimension, counts, current files
    vectors-000007.faiss     FAISS index, chunk id -> vector (exact, or IVF when large:
                             see ``qa.vectors``)
    metadata-000007.sqlite   articles, teasers, chunks (ids shared with FAISS), and the
                             chunks' stemmed terms in an FTS5 table for BM25

Files of a generation never change once published. A write copies the current metadata
file, applies its changes to the copy and to an in-memory copy of the vectors, writes both
under new names, fsyncs them, and only then replaces ``manifest.json`` (atomically, with
``os.replace``). A crash at any moment leaves the previous generation in force; readers
always see one whole generation and pick up a newer one on their next query.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from qa.lexical import LexicalQuery, document_terms
from qa.parsing import BERLIN
from qa.records import PARAGRAPH_SEPARATOR, Article, Chunk, ChunkKind, Span, Teaser, WireInfo
from qa.stories import Fingerprint, best_copy
from qa.vectors import (
    FAISS_DESCRIPTION,
    VectorLayout,
    all_vectors,
    build,
    describe,
    layout_of,
    new_flat,
    search_parameters,
    vector_ids,
    wanted_layout,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".write.lock"
LOCK_WAIT_SECONDS = 60.0
"""How long an import waits for another one to finish its commit before it gives up. An import
holds the lock for one batch at a time, and loading the model alone can take 10 s on a busy
machine, so a shorter wait turned two imports started together into a failure."""

_ARTICLE_COLUMNS = "id, title, published, tags, source, url, source_path, body, repairs"
_SCHEMA = """
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


class ArchiveIndexError(RuntimeError):
    """Base class: the index cannot be used as it is."""


class IndexMismatchError(ArchiveIndexError):
    """The index was built by another format version or with another model."""


class IndexCorruptError(ArchiveIndexError):
    """A file of the index is missing, truncated or unreadable."""


class IndexBusyError(ArchiveIndexError):
    """Another process is writing to the index."""


@dataclass(frozen=True)
class IndexCounts:
    articles: int = 0
    chunks: int = 0
    teasers: int = 0
    vectors: int = 0
    newest_article: str | None = None


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    generation: int
    vectors_file: str
    metadata_file: str
    vectors_bytes: int
    metadata_bytes: int
    faiss_type: str = FAISS_DESCRIPTION[VectorLayout.FLAT]
    vector_layout: str = VectorLayout.AUTO.value
    counts: IndexCounts = field(default_factory=IndexCounts)
    vectors_sha256: str = ""
    metadata_sha256: str = ""
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw["counts"] = IndexCounts(**raw.get("counts", {}))
            return cls(**raw)
        except (OSError, ValueError, TypeError) as error:
            raise IndexCorruptError(f"{path}: unreadable manifest ({error}); run `qa rebuild` or re-import") from None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def _utc(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def _berlin(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(BERLIN) if value else None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync(path.parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _in_layout(vectors: faiss.Index, choice: VectorLayout, dimension: int) -> faiss.Index:
    """``vectors`` as the FAISS index type ``choice`` asks for at their size, converted if need be."""
    current = layout_of(vectors)
    wanted = wanted_layout(choice, int(vectors.ntotal), current)
    outgrown = isinstance(vectors, faiss.IndexIVF) and vectors.nlist < math.sqrt(vectors.ntotal) / 2
    if wanted is current and not outgrown:
        return vectors
    ids, matrix = all_vectors(vectors)
    logger.info("Moving %d vectors from %s to %s", len(ids), describe(vectors), wanted.value)
    return build(wanted, ids, matrix, dimension)


def _connect_schema(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.executescript(_SCHEMA)
    return connection


@dataclass(frozen=True)
class StoredChunk:
    id: int
    kind: ChunkKind
    owner_id: str
    position: int
    span: Span
    text: str


@dataclass(frozen=True)
class StoredOwner:
    """What a hit needs from the article or teaser a chunk belongs to."""

    id: str
    title: str
    published: datetime | None
    tags: tuple[str, ...]
    kind: ChunkKind
    outlet: str | None = None
    wire: WireInfo | None = None


class Snapshot:
    """One published generation, read-only: vectors in memory, metadata in SQLite."""

    def __init__(self, manifest: Manifest | None, vectors: faiss.Index, metadata: sqlite3.Connection) -> None:
        self.manifest = manifest
        self.vectors = vectors
        self._db = metadata
        self._lock = threading.Lock()
        self._tables: dict[str, bool] = {}

    @property
    def generation(self) -> int:
        return self.manifest.generation if self.manifest else 0

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def counts(self) -> IndexCounts:
        return self.manifest.counts if self.manifest else IndexCounts()

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest chunk ids by inner product, optionally among ``allowed`` ids only,
        never ``hidden`` ones."""
        if self.vectors.ntotal == 0 or k <= 0:
            return []
        if allowed is not None and len(allowed) == 0:
            return []
        params = search_parameters(self.vectors, allowed, hidden)
        scores, ids = self.vectors.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def lexical_search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best chunk ids by BM25 over their stemmed terms (higher is better), among
        ``allowed`` ones only where given, never ``hidden`` ones."""
        expression = query.fts5()
        if expression is None or k <= 0:
            return []
        if allowed is not None and len(allowed) == 0:
            return []
        hiding = hidden is not None and len(hidden) > 0
        fetch = k if allowed is None else max(k * 4, 200)
        rows = self._query(
            "SELECT rowid, -bm25(chunk_terms) FROM chunk_terms WHERE chunk_terms MATCH ?"
            " ORDER BY bm25(chunk_terms) LIMIT ?",
            (expression, fetch + (len(hidden) if hiding else 0)),
        )
        if allowed is not None:
            permitted = set(allowed.tolist())
            rows = [row for row in rows if row[0] in permitted]
        if hiding:
            unseen = set(hidden.tolist())
            rows = [row for row in rows if row[0] not in unseen]
        return [(int(row[0]), float(row[1])) for row in rows[:k]]

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story each article belongs to (articles without a fingerprint are their own)."""
        ids = list(dict.fromkeys(article_ids))
        found = {article_id: article_id for article_id in ids}
        if ids and self._has_table("story_prints"):
            marks = ",".join("?" * len(ids))
            rows = self._query(f"SELECT article_id, story_id FROM story_prints WHERE article_id IN ({marks})", ids)
            found.update({row[0]: row[1] for row in rows})
        return found

    def story_members(self, story_ids: Iterable[str], moment: datetime | None = None) -> dict[str, list[StoredOwner]]:
        """Every article of each story, oldest first; none still under embargo at ``moment``."""
        ids = list(dict.fromkeys(story_ids))
        if not ids or not self._has_table("story_prints"):
            return {}
        marks = ",".join("?" * len(ids))
        embargo, params = "", list(ids)
        if moment is not None and self._keeps_wire_info():
            embargo = " AND NOT EXISTS (SELECT 1 FROM article_wire w WHERE w.article_id = a.id AND w.embargoed > ?)"
            params.append(_utc(moment))
        rows = self._query(
            f"SELECT p.story_id, a.id FROM story_prints p JOIN articles a ON a.id = p.article_id"
            f" WHERE p.story_id IN ({marks}){embargo} ORDER BY a.published, a.id",
            params,
        )
        owners = self.owners(row[1] for row in rows)
        members: dict[str, list[StoredOwner]] = {}
        for story, article_id in rows:
            members.setdefault(story, []).append(owners[article_id])
        return members

    def embargoed_chunk_ids(self, moment: datetime) -> np.ndarray:
        """Ids of the chunks of wire stories under an embargo that has not ended at ``moment``."""
        if not self._keeps_wire_info():
            return np.zeros(0, dtype=np.int64)
        rows = self._query(
            "SELECT c.id FROM chunks c JOIN article_wire w ON w.article_id = c.owner_id"
            " WHERE c.kind = 'article' AND w.embargoed > ?",
            (_utc(moment),),
        )
        return np.array([row[0] for row in rows], dtype=np.int64)

    def wire_counts(self, moment: datetime) -> tuple[int, int]:
        """How many wire stories are under embargo at ``moment``, and how many were withdrawn."""
        if not self._keeps_wire_info():
            return 0, 0
        ((embargoed, withdrawn),) = self._query(
            "SELECT coalesce(sum(embargoed > ?), 0), coalesce(sum(pubstatus IN ('canceled', 'withheld')), 0)"
            " FROM article_wire",
            (_utc(moment),),
        )
        return int(embargoed), int(withdrawn)

    def lexical_scores(self, query: LexicalQuery, ids: Sequence[int]) -> dict[int, float]:
        """BM25 scores of the given chunks (absent: no term matched)."""
        expression = query.fts5()
        if expression is None or not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT rowid, -bm25(chunk_terms) FROM chunk_terms WHERE chunk_terms MATCH ? AND rowid IN ({marks})",
            [expression, *ids],
        )
        return {int(row[0]): float(row[1]) for row in rows}

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many chunks each term occurs (terms that occur nowhere are absent)."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        rows = self._query(f"SELECT term, doc FROM chunk_terms_vocabulary WHERE term IN ({marks})", list(terms))
        return {row[0]: int(row[1]) for row in rows}

    def filtered_chunk_ids(
        self,
        since: datetime | None,
        until: datetime | None,
        tags: Sequence[str] | None,
        outlets: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Ids of chunks whose article (or teaser) lies in the date range, has a tag and comes
        from one of the ``outlets`` (teasers have none, so an outlet filter leaves them out)."""
        clauses, params = [], []
        if outlets:
            clauses.append(f"a.source IN ({','.join('?' * len(outlets))})")
            params.extend(outlets)
        date = "coalesce(a.published, t.published)"
        if since:
            clauses.append(f"{date} >= ?")
            params.append(_utc(since))
        if until:
            clauses.append(f"{date} <= ?")
            params.append(_utc(until))
        if tags:
            marks = ",".join("?" * len(tags))
            clauses.append(
                f"(EXISTS (SELECT 1 FROM article_tags g WHERE g.article_id = c.owner_id AND g.tag IN ({marks}))"
                f" OR t.section IN ({marks}) COLLATE NOCASE)"
            )
            params.extend(tags)
            params.extend(tags)
        sql = (
            "SELECT c.id FROM chunks c"
            " LEFT JOIN articles a ON c.kind = 'article' AND a.id = c.owner_id"
            " LEFT JOIN teasers t ON c.kind = 'teaser' AND t.id = c.owner_id"
        )
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return np.array([row[0] for row in self._query(sql, params)], dtype=np.int64)

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT id, kind, owner_id, position, start, end, text FROM chunks WHERE id IN ({marks})", list(ids)
        )
        return {
            row[0]: StoredChunk(row[0], ChunkKind(row[1]), row[2], row[3], Span(row[4], row[5]), row[6]) for row in rows
        }

    def owners(self, ids: Iterable[str]) -> dict[str, StoredOwner]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        found = {}
        for row in self._query(f"SELECT id, title, published, tags, source FROM articles WHERE id IN ({marks})", ids):
            found[row[0]] = StoredOwner(
                row[0], row[1], _berlin(row[2]), tuple(json.loads(row[3])), ChunkKind.ARTICLE, row[4]
            )
        if self._keeps_wire_info():
            for row in self._query(
                f"SELECT article_id, {_WIRE_COLUMNS} FROM article_wire WHERE article_id IN ({marks})", ids
            ):
                found[row[0]] = replace(found[row[0]], wire=_wire_from_row(row[0], row[1:]))
        for row in self._query(f"SELECT id, title, published, section FROM teasers WHERE id IN ({marks})", ids):
            tags = (row[3],) if row[3] else ()
            found[row[0]] = StoredOwner(row[0], row[1], _berlin(row[2]), tags, ChunkKind.TEASER)
        return found

    def outlets(self) -> list[tuple[str, int]]:
        """Every outlet (agency or publisher) with how many articles it gave, most first."""
        rows = self._query(
            "SELECT source, count(*) FROM articles WHERE source IS NOT NULL GROUP BY source ORDER BY count(*) DESC"
        )
        return [(row[0], row[1]) for row in rows]

    def tags(self) -> list[tuple[str, int]]:
        rows = self._query(
            "SELECT tag, count(*) FROM (SELECT tag FROM article_tags"
            " UNION ALL SELECT section FROM teasers WHERE section IS NOT NULL)"
            " GROUP BY tag COLLATE NOCASE ORDER BY count(*) DESC, tag"
        )
        return [(row[0], row[1]) for row in rows]

    def article(self, article_id: str) -> Article | None:
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?",
            (article_id,),
        )
        return _article_from_row(rows[0], self.wire_info(article_id)) if rows else None

    def articles(self) -> Iterator[Article]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY rowid").fetchall()
        for row in rows:
            yield _article_from_row(row, self.wire_info(row[0]))

    def wire_info(self, article_id: str) -> WireInfo | None:
        """The agency's facts of a wire story (an index written before they were kept has none)."""
        if not self._keeps_wire_info():
            return None
        rows = self._query(f"SELECT {_WIRE_COLUMNS} FROM article_wire WHERE article_id = ?", (article_id,))
        return _wire_from_row(article_id, rows[0]) if rows else None

    def _keeps_wire_info(self) -> bool:
        return self._has_table("article_wire")

    def _has_table(self, name: str) -> bool:
        """Whether this generation has the table (one written by an older version may not)."""
        if name not in self._tables:
            self._tables[name] = bool(self._query("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)))
        return self._tables[name]

    def teasers(self) -> list[tuple[Teaser, str | None]]:
        rows = self._query("SELECT title, text, section, published, first_seen_in FROM teasers ORDER BY rowid")
        return [(Teaser(r[0], r[1], r[2], _berlin(r[3])), r[4]) for r in rows]


_WIRE_COLUMNS = "version, version_created, pubstatus, signal, embargoed, kicker, byline, correction"


def _wire_from_row(urn: str, row: tuple) -> WireInfo:
    return WireInfo(urn, row[0], _berlin(row[1]), row[2], row[3], _berlin(row[4]), row[5], row[6], row[7])


def _article_from_row(row: tuple, wire: WireInfo | None = None) -> Article:
    return Article(
        wire=wire,
        id=row[0],
        title=row[1],
        published=_berlin(row[2]),
        tags=tuple(json.loads(row[3])),
        source=row[4],
        url=row[5],
        source_path=row[6] or "",
        paragraphs=tuple(row[7].split(PARAGRAPH_SEPARATOR)) if row[7] else (),
        repairs=row[8],
    )


class WriteBatch:
    """Changes to a private copy of the current generation; published by :meth:`IndexStore.write`."""

    def __init__(self, db: sqlite3.Connection, vectors: faiss.Index) -> None:
        self.db = db
        self.vectors = vectors
        self.changed = False
        self._removed: list[int] = []

    def find_article(self, article_id: str) -> tuple[str, str] | None:
        """``(id, content_hash)`` of a stored article with this id."""
        row = self.db.execute("SELECT id, content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def find_same_story(self, title: str, published: datetime | None) -> tuple[str, str] | None:
        """A stored article with the same title and date: an earlier version of the same story."""
        if published is None:
            return None
        row = self.db.execute(
            "SELECT id, content_hash FROM articles WHERE title = ? AND published = ?", (title, _utc(published))
        ).fetchone()
        return (row[0], row[1]) if row else None

    def has_teaser(self, teaser_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM teasers WHERE id = ?", (teaser_id,)).fetchone() is not None

    def reusable_vectors(self, owner_id: str) -> dict[str, np.ndarray]:
        """Vectors of an article's stored chunks by embedded-text hash, so an update re-embeds only what changed."""
        rows = self.db.execute("SELECT id, embed_hash FROM chunks WHERE owner_id = ?", (owner_id,)).fetchall()
        return {embed_hash: self.vectors.reconstruct(chunk_id) for chunk_id, embed_hash in rows}

    def delete_owner(self, owner_id: str) -> None:
        ids = [row[0] for row in self.db.execute("SELECT id FROM chunks WHERE owner_id = ?", (owner_id,))]
        self.changed = True
        self._removed.extend(ids)
        self.db.execute(
            "DELETE FROM chunk_terms WHERE rowid IN (SELECT id FROM chunks WHERE owner_id = ?)", (owner_id,)
        )
        self.db.execute("DELETE FROM chunks WHERE owner_id = ?", (owner_id,))
        self.db.execute("DELETE FROM article_tags WHERE article_id = ?", (owner_id,))
        self.db.execute("DELETE FROM article_wire WHERE article_id = ?", (owner_id,))
        self.db.execute("DELETE FROM story_prints WHERE article_id = ?", (owner_id,))
        self.db.execute("DELETE FROM story_bands WHERE article_id = ?", (owner_id,))
        self.db.execute("DELETE FROM articles WHERE id = ?", (owner_id,))

    def _add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.changed = True
        ids = []
        for chunk in chunks:
            cursor = self.db.execute(
                "INSERT INTO chunks (kind, owner_id, position, start, end, text, embed_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.kind.value,
                    chunk.owner_id,
                    chunk.position,
                    chunk.span.start,
                    chunk.span.end,
                    chunk.text,
                    chunk.text_hash,
                ),
            )
            ids.append(cursor.lastrowid)
        self.db.executemany(
            "INSERT INTO chunk_terms (rowid, terms) VALUES (?, ?)",
            [(chunk_id, document_terms(chunk.embed_text)) for chunk_id, chunk in zip(ids, chunks, strict=True)],
        )
        if ids:
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.array(ids, dtype=np.int64))

    def put_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        self.db.execute(
            "INSERT INTO articles (id, title, published, tags, source, url, source_path, body, content_hash, repairs,"
            " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                _utc(article.published),
                json.dumps(list(article.tags), ensure_ascii=False),
                article.source,
                article.url,
                article.source_path,
                article.body,
                article.content_hash,
                article.repairs,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO article_tags (article_id, tag) VALUES (?, ?)",
            [(article.id, t) for t in article.tags],
        )
        wire = article.wire
        if wire is not None:
            self.db.execute(
                f"INSERT INTO article_wire (article_id, {_WIRE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    wire.version,
                    _utc(wire.version_created),
                    wire.pubstatus,
                    wire.signal,
                    _utc(wire.embargoed),
                    wire.kicker,
                    wire.byline,
                    wire.correction,
                ),
            )
        self._add_chunks(chunks, vectors)

    def join_story(self, article_id: str, fingerprint: Fingerprint) -> str:
        """Link the article to the stored story whose text it nearly repeats (see ``qa.stories``),
        or start a story of its own; returns the story's id. One indexed lookup per LSH band."""
        marks = " OR ".join("(b.band = ? AND b.key = ?)" for _ in fingerprint.bands)
        params = [value for pair in enumerate(fingerprint.bands) for value in pair]
        candidates = self.db.execute(
            f"SELECT DISTINCT p.article_id, p.signature FROM story_bands b JOIN story_prints p"
            f" ON p.article_id = b.article_id WHERE ({marks}) AND b.article_id != ?",
            [*params, article_id],
        ).fetchall()
        copy_of = best_copy(fingerprint, candidates)
        story = article_id
        if copy_of is not None:
            story = self.db.execute("SELECT story_id FROM story_prints WHERE article_id = ?", (copy_of,)).fetchone()[0]
        self.db.execute(
            "INSERT INTO story_prints (article_id, story_id, signature) VALUES (?, ?, ?)",
            (article_id, story, fingerprint.to_bytes()),
        )
        self.db.executemany(
            "INSERT INTO story_bands (band, key, article_id) VALUES (?, ?, ?)",
            [(band, key, article_id) for band, key in enumerate(fingerprint.bands)],
        )
        return story

    def wire_version(self, article_id: str) -> int | None:
        """The version of the wire story stored under this id, if it is one."""
        row = self.db.execute("SELECT version FROM article_wire WHERE article_id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def put_teaser(self, teaser: Teaser, seen_in: str, chunk: Chunk, vector: np.ndarray) -> None:
        self.db.execute(
            "INSERT INTO teasers (id, title, text, section, published, first_seen_in) VALUES (?, ?, ?, ?, ?, ?)",
            (teaser.id, teaser.title, teaser.text, teaser.section, _utc(teaser.published), seen_in),
        )
        self._add_chunks([chunk], vector.reshape(1, -1))

    def _flush_removals(self) -> None:
        if self._removed:
            removed = np.array(self._removed, dtype=np.int64)
            if isinstance(self.vectors, faiss.IndexIVF):
                # IVF finds ids through its hash table, which takes a plain list of ids.
                self.vectors.remove_ids(faiss.IDSelectorArray(len(removed), faiss.swig_ptr(removed)))
            else:
                self.vectors.remove_ids(faiss.IDSelectorBatch(removed))
            self._removed.clear()

    def counts(self) -> IndexCounts:
        self._flush_removals()

        def scalar(sql: str) -> object:
            return self.db.execute(sql).fetchone()[0]

        newest = _berlin(scalar("SELECT max(published) FROM articles"))
        return IndexCounts(
            articles=scalar("SELECT count(*) FROM articles"),
            chunks=scalar("SELECT count(*) FROM chunks WHERE kind = 'article'"),
            teasers=scalar("SELECT count(*) FROM teasers"),
            vectors=int(self.vectors.ntotal),
            newest_article=newest.isoformat() if newest else None,
        )


class IndexStore:
    """Opens, reads and writes one index directory; one instance per process is enough."""

    def __init__(self, path: Path, model: str, dimension: int, lock_timeout: float = LOCK_WAIT_SECONDS) -> None:
        self.path = Path(path)
        self.model = model
        self.dimension = dimension
        self.lock_timeout = lock_timeout
        self._snapshot: Snapshot | None = None
        self._manifest_stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def _check(self, manifest: Manifest) -> None:
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{self.path}: index format version {manifest.format_version}, this version of qa reads "
                f"{FORMAT_VERSION}; run `qa rebuild --index {self.path}` to rebuild it from its articles"
            )
        if manifest.model != self.model or manifest.dimension != self.dimension:
            raise IndexMismatchError(
                f"{self.path}: index built with model {manifest.model} (dimension {manifest.dimension}), "
                f"but qa embeds with {self.model} (dimension {self.dimension}); "
                f"run `qa rebuild --index {self.path}` to re-embed its articles"
            )

    def _load(self, manifest: Manifest) -> Snapshot:
        vectors_path = self.path / manifest.vectors_file
        metadata_path = self.path / manifest.metadata_file
        for path, expected in ((vectors_path, manifest.vectors_bytes), (metadata_path, manifest.metadata_bytes)):
            if not path.exists():
                raise IndexCorruptError(f"{path}: missing; run `qa rebuild` or re-import")
            actual = path.stat().st_size
            if actual != expected:
                raise IndexCorruptError(
                    f"{path}: {actual:,} bytes, manifest says {expected:,} (truncated or replaced); run `qa rebuild`"
                )
        try:
            vectors = faiss.read_index(str(vectors_path))
            metadata = sqlite3.connect(f"file:{metadata_path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            metadata.execute("SELECT count(*) FROM chunks").fetchone()
        except (RuntimeError, sqlite3.DatabaseError) as error:
            raise IndexCorruptError(f"{self.path}: cannot read generation {manifest.generation}: {error}") from None
        if vectors.ntotal != manifest.counts.vectors:
            raise IndexCorruptError(
                f"{vectors_path}: {vectors.ntotal} vectors, manifest says {manifest.counts.vectors}; run `qa rebuild`"
            )
        return Snapshot(manifest, vectors, metadata)

    def _empty(self) -> Snapshot:
        return Snapshot(None, new_flat(self.dimension), _connect_schema(":memory:"))

    def read_manifest(self, check: bool = True) -> Manifest | None:
        if not self.exists():
            return None
        manifest = Manifest.read(self.manifest_path)
        if check:
            self._check(manifest)
        return manifest

    def stored_content(self) -> tuple[list[Article], list[tuple[Teaser, str | None]]]:
        """Articles and teasers of the current generation, read without its vectors or model check.

        What a rebuild starts from, so it works when the vectors are lost or were made
        by another model.
        """
        manifest = self.read_manifest(check=False)
        if manifest is None:
            return [], []
        path = self.path / manifest.metadata_file
        if not path.exists():
            raise ArchiveIndexError(f"{path}: missing; the stored articles are lost, re-import them")
        metadata = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        snapshot = Snapshot(manifest, new_flat(self.dimension), metadata)
        try:
            return list(snapshot.articles()), snapshot.teasers()
        except sqlite3.DatabaseError as error:
            raise ArchiveIndexError(f"{path}: unreadable ({error}); re-import the archive") from None
        finally:
            snapshot.close()

    def check(self) -> list[str]:
        """Every problem found in the current generation, read in full; empty when it is sound.

        Checks what a reader trusts without looking: the files' checksums, that FAISS, the
        chunk table and the lexical index hold exactly the same chunk ids, that every chunk
        has its article or teaser, and that the counts agree with the manifest.
        """
        manifest = self.read_manifest(check=False)
        if manifest is None:
            return []
        problems = []
        try:
            self._check(manifest)
        except IndexMismatchError as error:
            problems.append(str(error))
        for name, expected in (
            (manifest.vectors_file, manifest.vectors_sha256),
            (manifest.metadata_file, manifest.metadata_sha256),
        ):
            path = self.path / name
            if not path.exists():
                problems.append(f"{path}: missing")
            elif expected and _sha256(path) != expected:
                problems.append(f"{path}: checksum differs from the manifest (changed or damaged)")
        if problems:
            return problems
        try:
            snapshot = self._load(manifest)
        except ArchiveIndexError as error:
            return [str(error)]
        try:
            db = snapshot._db
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                problems.append(f"{manifest.metadata_file}: SQLite reports damage")
            stored_ids = set(vector_ids(snapshot.vectors).tolist())
            chunk_ids = {row[0] for row in db.execute("SELECT id FROM chunks")}
            term_ids = {row[0] for row in db.execute("SELECT rowid FROM chunk_terms")}
            for label, ids in (("vectors", stored_ids), ("lexical entries", term_ids)):
                if ids - chunk_ids:
                    problems.append(f"{len(ids - chunk_ids)} {label} without a chunk")
                if chunk_ids - ids:
                    problems.append(f"{len(chunk_ids - ids)} chunks without {label}")
            orphans = db.execute(
                "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = c.owner_id)"
                " AND NOT EXISTS (SELECT 1 FROM teasers t WHERE t.id = c.owner_id)"
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} chunks whose article or teaser is missing")
            bare = db.execute(
                "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.owner_id = a.id)"
                " AND length(a.body) > 0"
            ).fetchone()[0]
            if bare:
                problems.append(f"{bare} articles without chunks")
            counts = manifest.counts
            actual = (
                db.execute("SELECT count(*) FROM articles").fetchone()[0],
                db.execute("SELECT count(*) FROM teasers").fetchone()[0],
                len(stored_ids),
            )
            if actual != (counts.articles, counts.teasers, counts.vectors):
                problems.append(
                    f"counts (articles, teasers, vectors) are {actual}, manifest says "
                    f"{(counts.articles, counts.teasers, counts.vectors)}"
                )
        finally:
            snapshot.close()
        return problems

    def snapshot(self) -> Snapshot:
        """The newest published generation; cheap when nothing changed (one ``stat``)."""
        with self._lock:
            for _attempt in range(5):
                try:
                    stat = self.manifest_path.stat()
                    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                except FileNotFoundError:
                    stamp = None
                if self._snapshot is not None and stamp == self._manifest_stamp:
                    return self._snapshot
                try:
                    manifest = self.read_manifest()
                    fresh = self._load(manifest) if manifest else self._empty()
                except IndexCorruptError:
                    # A writer may have just replaced the generation we were about to read.
                    if self.read_manifest() != manifest:
                        continue
                    raise
                self._snapshot, self._manifest_stamp = fresh, stamp
                return fresh
            raise IndexCorruptError(f"{self.path}: the index kept changing while it was being opened")

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK_NAME, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise IndexBusyError(
                            f"{self.path}: another import is writing to this index ({holder}, waited "
                            f"{self.lock_timeout:.0f} s); try again when it has finished"
                        ) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_stale(self, keep: set[str]) -> None:
        for path in self.path.iterdir():
            if path.name in keep or path.name in (MANIFEST_NAME, LOCK_NAME):
                continue
            if path.name.startswith(("vectors-", "metadata-", ".building-", f".{MANIFEST_NAME}.")):
                with contextlib.suppress(OSError):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()

    @contextlib.contextmanager
    def write(self, fresh: bool = False, layout: VectorLayout | None = None) -> Iterator[WriteBatch]:
        """Apply changes to a copy of the current generation and publish it atomically.

        Only one writer at a time (an exclusive lock on the directory); ``fresh`` starts
        from an empty generation, as a rebuild does. A batch that changed nothing publishes
        nothing. ``layout`` sets the FAISS index type from now on (kept in the manifest;
        ``auto`` chooses by size); without it the index keeps the choice it was built with.
        """
        with self._write_lock():
            current = self.read_manifest(check=not fresh)
            choice = VectorLayout(layout or (current.vector_layout if current else VectorLayout.AUTO))
            generation = (current.generation if current else 0) + 1
            staging = Path(tempfile.mkdtemp(prefix=".building-", dir=self.path))
            metadata_tmp = staging / "metadata.sqlite"
            vectors_tmp = staging / "vectors.faiss"
            try:
                if current and not fresh:
                    shutil.copyfile(self.path / current.metadata_file, metadata_tmp)
                    vectors = faiss.read_index(str(self.path / current.vectors_file))
                else:
                    vectors = new_flat(self.dimension)
                db = _connect_schema(str(metadata_tmp))
                db.execute("PRAGMA journal_mode = MEMORY")
                db.execute("PRAGMA synchronous = OFF")
                batch = WriteBatch(db, vectors)
                with db:
                    yield batch
                    counts = batch.counts()
                db.close()
                if not batch.changed and not fresh and layout is None:
                    return
                vectors = _in_layout(vectors, choice, self.dimension)
                faiss.write_index(vectors, str(vectors_tmp))
                for path in (metadata_tmp, vectors_tmp):
                    _fsync(path)
                vectors_name = f"vectors-{generation:06d}.faiss"
                metadata_name = f"metadata-{generation:06d}.sqlite"
                os.replace(vectors_tmp, self.path / vectors_name)
                os.replace(metadata_tmp, self.path / metadata_name)
                now = datetime.now(UTC).isoformat(timespec="seconds")
                manifest = Manifest(
                    format_version=FORMAT_VERSION,
                    model=self.model,
                    dimension=self.dimension,
                    generation=generation,
                    vectors_file=vectors_name,
                    metadata_file=metadata_name,
                    vectors_bytes=(self.path / vectors_name).stat().st_size,
                    metadata_bytes=(self.path / metadata_name).stat().st_size,
                    vectors_sha256=_sha256(self.path / vectors_name),
                    metadata_sha256=_sha256(self.path / metadata_name),
                    faiss_type=describe(vectors),
                    vector_layout=choice.value,
                    counts=counts,
                    created_at=current.created_at if current and not fresh else now,
                    updated_at=now,
                )
                _write_atomic(self.manifest_path, manifest.to_json())
                logger.info("Published generation %d of %s: %s", generation, self.path, counts)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            self._remove_stale({vectors_name, metadata_name})
