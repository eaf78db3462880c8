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
import logging
import math
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import faiss

from qa.durable import fsync_path, write_atomic
from qa.records import Article, Teaser
from qa.storage.base import ArchiveIndexError, IndexBusyError, IndexCorruptError, IndexMismatchError
from qa.storage.batch import WriteBatch
from qa.storage.files import (
    FORMAT_VERSION,
    LOCK_NAME,
    LOCK_WAIT_SECONDS,
    MANIFEST_NAME,
    Manifest,
    read_ahead,
    sha256_of,
)
from qa.storage.metadata import connect_schema
from qa.storage.view import Snapshot
from qa.vectors import VectorLayout, all_vectors, build, describe, layout_of, new_flat, vector_ids, wanted_layout

logger = logging.getLogger(__name__)


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
        self.warming: threading.Thread | None = None
        """Reading the first generation's metadata into the page cache (:func:`read_ahead`);
        later generations are written through the cache and need no such pass."""

    @property
    def location(self) -> str:
        return str(self.path)

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
        return Snapshot(None, new_flat(self.dimension), connect_schema(":memory:"))

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
            elif expected and sha256_of(path) != expected:
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
            for problem, sql in (
                (
                    "chunks whose article or teaser is missing",
                    "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = c.owner_id)"
                    " AND NOT EXISTS (SELECT 1 FROM teasers t WHERE t.id = c.owner_id)",
                ),
                (
                    "articles without chunks",
                    "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.owner_id = a.id)"
                    " AND length(a.body) > 0",
                ),
            ):
                if found := db.execute(sql).fetchone()[0]:
                    problems.append(f"{found} {problem}")
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
                    if manifest and self._snapshot is None:
                        self.warming = read_ahead(self.path / manifest.metadata_file)
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
                db = connect_schema(str(metadata_tmp))
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
                    fsync_path(path)
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
                    vectors_sha256=sha256_of(self.path / vectors_name),
                    metadata_sha256=sha256_of(self.path / metadata_name),
                    faiss_type=describe(vectors),
                    vector_layout=choice.value,
                    counts=counts,
                    created_at=current.created_at if current and not fresh else now,
                    updated_at=now,
                )
                write_atomic(self.manifest_path, manifest.to_json())
                logger.info("Published generation %d of %s: %s", generation, self.path, counts)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            self._remove_stale({vectors_name, metadata_name})
