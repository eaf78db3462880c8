"""The import stage: files -> articles -> only the new or changed chunks embedded -> index.

Records are streamed and committed in batches, each batch one new index generation, so a
large import keeps memory flat and an interrupted one keeps what it had committed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chunking import Chunker
from qa.fanout import PassageEncoder
from qa.parsing import (
    DIGITALWIRES_SUFFIXES,
    JSONL_SUFFIXES,
    NEWSML_SUFFIXES,
    InvalidInputError,
    NothingToImport,
    discover,
    read_article_file,
    read_jsonl_file,
)
from qa.records import Article, Chunk, ImportOutcome, ImportReport, ImportStatus, Teaser
from qa.storage import ArchiveStore, StoreBatch
from qa.stories import fingerprint
from qa.wire import parse_record, read_digitalwires_file, read_newsml_file

logger = logging.getLogger(__name__)

DEFAULT_BATCH_ARTICLES = 500


@dataclass(frozen=True)
class ImportProgress:
    """How far an import has come. ``records_done`` counts committed records; the batch being
    embedded (``batch_records`` records, ``batch_chunks`` chunks to embed, ``batch_chunks_done``
    of them done) is counted in :attr:`fraction` by its share of chunks embedded, so a progress
    bar moves while a batch is embedded, not only when it is committed."""

    records_done: int
    records_total: int
    chunks_embedded: int
    current: str
    batch_records: int = 0
    batch_chunks: int = 0
    batch_chunks_done: int = 0

    @property
    def fraction(self) -> float:
        if self.records_total <= 0:
            return 1.0
        within = self.batch_records * self.batch_chunks_done / self.batch_chunks if self.batch_chunks else 0.0
        return min((self.records_done + within) / self.records_total, 1.0)


ProgressCallback = Callable[[ImportProgress], None]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once (``find_library`` runs ``ldconfig``); None elsewhere."""
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


def _return_free_memory() -> None:
    """Hand freed heap pages back to the system (glibc only; elsewhere nothing happens).

    Every model batch allocates buffers of another shape, and glibc may keep the freed
    pieces in its arenas; trimming after each commit keeps a long import's resident size
    from creeping up (``bench/import_throughput.py`` prints it as it goes).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _count_records(files: list[Path]) -> int:
    total = 0
    for path in files:
        if path.suffix.lower() in JSONL_SUFFIXES:
            try:
                with path.open("rb") as handle:
                    total += sum(1 for line in handle if line.strip())
            except OSError:
                total += 1
        else:
            total += 1
    return total


def _records(files: list[Path]) -> Iterator[Article | InvalidInputError]:
    for path in files:
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from read_jsonl_file(path, parse=parse_record)
        elif suffix in DIGITALWIRES_SUFFIXES:
            yield from read_digitalwires_file(path)
        elif suffix in NEWSML_SUFFIXES:
            yield from read_newsml_file(path)
        else:
            try:
                yield read_article_file(path)
            except InvalidInputError as error:
                yield error


def _kept_version(batch: StoreBatch, article: Article) -> str | None:
    """Why a wire story's version changes nothing: the archive holds the same or a newer one."""
    if article.wire is None:
        return None
    stored = batch.wire_version(article.id)
    if stored is None or stored < article.wire.version:
        return None
    if stored > article.wire.version:
        return f"older version {article.wire.version}, kept version {stored}"
    stored_article = batch.find_article(article.id)
    if stored_article is not None and stored_article[1] != article.content_hash:
        return f"version {stored} again with other content, kept the one imported first"
    return None


@dataclass
class _Planned:
    article: Article
    status: ImportStatus
    replaces: str | None
    chunks: list[Chunk]
    vectors: list[np.ndarray | None]


class Importer:
    def __init__(
        self,
        store: ArchiveStore,
        embedder: PassageEncoder,
        chunker: Chunker,
        batch_articles: int = DEFAULT_BATCH_ARTICLES,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_articles = batch_articles

    def import_paths(self, paths: Iterable[Path | str], progress: ProgressCallback | None = None) -> ImportReport:
        started = time.perf_counter()
        report = ImportReport()
        files, problems = discover([Path(p) for p in paths])
        for problem in problems:
            report.outcomes.append(ImportOutcome(problem.source, ImportStatus.FAILED, reason=problem.reason))
            logger.info("not imported: %s", problem)
        total = _count_records(files)
        done = 0
        pending: list[Article] = []

        def flush() -> None:
            nonlocal done
            if pending:
                self._commit(pending, report, progress, done, total)
                done += len(pending)
                pending.clear()
                _return_free_memory()

        for record in _records(files):
            if isinstance(record, InvalidInputError):
                where = f"{record.source}:{record.line}" if record.line is not None else record.source
                status = ImportStatus.SKIPPED if isinstance(record, NothingToImport) else ImportStatus.FAILED
                report.outcomes.append(ImportOutcome(where, status, reason=record.reason))
                logger.info("%s: %s", status, record)
                done += 1
                continue
            if any(a.id == record.id for a in pending):
                flush()
            pending.append(record)
            if len(pending) >= self.batch_articles:
                flush()
        flush()
        report.seconds = time.perf_counter() - started
        if progress:
            progress(ImportProgress(total, total, report.chunks_embedded, ""))
        return report

    def _plan(self, batch: StoreBatch, article: Article) -> _Planned | None:
        existing = batch.find_article(article.id)
        if existing is None and article.wire is None:
            existing = batch.find_same_story(article.title, article.published)
        if existing and existing[1] == article.content_hash:
            return None
        chunks = [] if article.wire and article.wire.withdrawn else self.chunker.chunk_article(article)
        reusable = batch.reusable_vectors(existing[0]) if existing else {}
        vectors = [reusable.get(chunk.text_hash) for chunk in chunks]
        status = ImportStatus.UPDATED if existing else ImportStatus.IMPORTED
        return _Planned(article, status, existing[0] if existing else None, chunks, vectors)

    def _embed_missing(
        self, planned: list[_Planned], teasers: list[tuple[Teaser, Chunk]], on_slice: Callable[[int, int], None]
    ) -> tuple[list[np.ndarray], int]:
        """Embed every chunk that has no reusable vector, in one call, so the embedder can
        order the whole batch by length before it cuts it into model batches (each of which
        it reports as done)."""
        wanted = [
            chunk.embed_text
            for plan in planned
            for chunk, v in zip(plan.chunks, plan.vectors, strict=True)
            if v is None
        ]
        wanted += [chunk.embed_text for _teaser, chunk in teasers]
        on_slice(0, len(wanted))
        vectors = self.embedder.embed_passages(wanted, on_batch=lambda done: on_slice(done, len(wanted)))
        return list(vectors), len(wanted)

    def _commit(
        self,
        articles: list[Article],
        report: ImportReport,
        progress: ProgressCallback | None,
        done_before: int,
        total: int,
    ) -> None:
        with self.store.write() as batch:
            planned: list[_Planned] = []
            teasers: list[tuple[Teaser, Chunk]] = []
            seen_teasers: set[str] = set()
            for article in articles:
                kept = _kept_version(batch, article)
                plan = None if kept else self._plan(batch, article)
                if plan is None:
                    report.outcomes.append(
                        ImportOutcome(article.source_path, ImportStatus.UNCHANGED, article.id, article.title, kept)
                    )
                else:
                    planned.append(plan)
                for teaser in article.teasers:
                    if teaser.id not in seen_teasers and not batch.has_teaser(teaser.id):
                        seen_teasers.add(teaser.id)
                        teasers.append((teaser, self.chunker.chunk_teaser(teaser)))

            embedded_before = embedded_so_far = report.chunks_embedded

            def on_slice(count: int, wanted: int) -> None:
                nonlocal embedded_so_far
                embedded_so_far += count
                if progress:
                    progress(
                        ImportProgress(
                            done_before,
                            total,
                            embedded_so_far,
                            articles[0].source_path,
                            batch_records=len(articles),
                            batch_chunks=wanted,
                            batch_chunks_done=embedded_so_far - embedded_before,
                        )
                    )

            fresh, count = self._embed_missing(planned, teasers, on_slice)
            fresh_iter = iter(fresh)
            for plan in planned:
                vectors = [v if v is not None else next(fresh_iter) for v in plan.vectors]
                if plan.replaces:
                    batch.delete_owner(plan.replaces)
                matrix = np.vstack(vectors) if vectors else np.zeros((0, self.embedder.dimension), np.float32)
                batch.put_article(plan.article, plan.chunks, matrix)
                story_print = fingerprint(plan.article.body) if plan.chunks else None
                if story_print is not None:
                    batch.join_story(plan.article.id, story_print)
                report.chunks_reused += sum(1 for v in plan.vectors if v is not None)
                report.outcomes.append(
                    ImportOutcome(
                        plan.article.source_path,
                        plan.status,
                        plan.article.id,
                        plan.article.title,
                        repairs=plan.article.repairs,
                    )
                )
            for teaser, chunk in teasers:
                seen_in = next((a.source_path for a in articles if teaser in a.teasers), "")
                batch.put_teaser(teaser, seen_in, chunk, next(fresh_iter))
            report.chunks_embedded += count
            report.teasers_added += len(teasers)
        if progress:
            progress(ImportProgress(done_before + len(articles), total, report.chunks_embedded, ""))
