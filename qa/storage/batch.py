"""One write to the embedded index: changes to a private copy of the current generation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

import faiss
import numpy as np

from qa.lexical import document_terms
from qa.records import Article, Chunk, Teaser
from qa.storage.base import IndexCounts
from qa.storage.metadata import WIRE_COLUMNS, berlin_time, utc_iso
from qa.stories import Fingerprint, best_copy


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
            "SELECT id, content_hash FROM articles WHERE title = ? AND published = ?", (title, utc_iso(published))
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
                utc_iso(article.published),
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
                f"INSERT INTO article_wire (article_id, {WIRE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    wire.version,
                    utc_iso(wire.version_created),
                    wire.pubstatus,
                    wire.signal,
                    utc_iso(wire.embargoed),
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
            (teaser.id, teaser.title, teaser.text, teaser.section, utc_iso(teaser.published), seen_in),
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

        newest = berlin_time(scalar("SELECT max(published) FROM articles"))
        return IndexCounts(
            articles=scalar("SELECT count(*) FROM articles"),
            chunks=scalar("SELECT count(*) FROM chunks WHERE kind = 'article'"),
            teasers=scalar("SELECT count(*) FROM teasers"),
            vectors=int(self.vectors.ntotal),
            newest_article=newest.isoformat() if newest else None,
        )
