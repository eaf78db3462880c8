"""``Archive``: the one object that the CLI, the Streamlit app and Python users work with."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from qa.answering import MIN_RELEVANCE, AnswerFinder
from qa.chunking import Chunker, ChunkingConfig
from qa.conversation import conversation_context
from qa.embedding import Embedder, shared_embedder
from qa.importing import Importer, ImportProgress, ProgressCallback
from qa.records import Answer, Article, Hit, ImportOutcome, ImportReport, ImportStatus, Teaser
from qa.retrieval import Retriever
from qa.store import IndexCounts, IndexStore
from qa.uploads import Upload, stage_uploads

INDEX_ENV = "QA_INDEX"
DEFAULT_INDEX = Path("index")
UPLOADS_FOLDER = "uploads"
ANSWER_PASSAGES = 8
CONTEXT_WEIGHT = 0.6
"""How much the earlier turns count in a follow-up's retrieval query (the question counts 1)."""
_REBUILD_SLICE = 256


def default_index_path() -> Path:
    return Path(os.environ.get(INDEX_ENV, DEFAULT_INDEX))


@dataclass(frozen=True)
class ArchiveStats:
    path: Path
    model: str
    dimension: int
    generation: int
    counts: IndexCounts
    index_type: str


@dataclass(frozen=True)
class RebuildReport:
    articles: int
    teasers: int
    chunks_embedded: int
    seconds: float


class Archive:
    """A searchable news archive stored in one index directory.

    >>> archive = Archive.open("index")
    >>> archive.import_paths(["seeds"]).summary()
    >>> archive.ask("Who leads the Ukrainian delegation?").sentence
    """

    def __init__(self, store: IndexStore, embedder: Embedder, chunker: Chunker) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self._answers = AnswerFinder(embedder)
        self._retriever = Retriever(store, embedder)

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        embedder: Embedder | None = None,
        chunking: ChunkingConfig | None = None,
    ) -> Archive:
        """Open the index at ``path`` (created on first import); checks format and model now."""
        embedder = embedder or shared_embedder()
        store = IndexStore(Path(path) if path else default_index_path(), embedder.name, embedder.dimension)
        store.snapshot()
        return cls(store, embedder, Chunker(chunking))

    @property
    def path(self) -> Path:
        return self.store.path

    def import_paths(self, paths: Iterable[Path | str], progress: ProgressCallback | None = None) -> ImportReport:
        """Import ``.txt`` articles and ``.jsonl`` files (or folders of them)."""
        return Importer(self.store, self.embedder, self.chunker).import_paths(paths, progress)

    def seed(self, paths: Iterable[Path | str]) -> ImportReport | None:
        """Import ``paths`` into an index that has never been written; leave an existing one alone."""
        if self.store.exists():
            return None
        return self.import_paths(paths)

    def import_uploads(self, uploads: Iterable[Upload], progress: ProgressCallback | None = None) -> ImportReport:
        """Import files handed in by a user (name and bytes): each is checked and kept in the
        index's import area first; outcomes name the files as their sender did."""
        staged, rejected = stage_uploads(uploads, self.path / UPLOADS_FOLDER)
        report = self.import_paths([file.path for file in staged], progress)
        names = {str(file.path): file.name for file in staged}

        def as_uploaded(outcome: ImportOutcome) -> ImportOutcome:
            path, separator, line = outcome.source.rpartition(":")
            if outcome.source in names:
                return replace(outcome, source=names[outcome.source])
            if separator and path in names and line.isdigit():
                return replace(outcome, source=f"{names[path]}:{line}")
            return outcome

        failed = [ImportOutcome(item.name, ImportStatus.FAILED, reason=item.reason) for item in rejected]
        report.outcomes = failed + [as_uploaded(outcome) for outcome in report.outcomes]
        return report

    def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Re-chunk and re-embed every stored article and teaser into a new generation."""
        started = time.perf_counter()
        articles, teasers = self.store.stored_content()
        chunks_embedded = 0
        with self.store.write(fresh=True) as batch:
            pending: list[tuple[Article, list]] = []
            done = 0

            def flush() -> None:
                nonlocal chunks_embedded, done
                texts = [chunk.embed_text for _article, chunks in pending for chunk in chunks]
                vectors = iter(self.embedder.embed_passages(texts))
                for article, chunks in pending:
                    batch.put_article(article, chunks, np.array([next(vectors) for _ in chunks], dtype=np.float32))
                chunks_embedded += len(texts)
                done += len(pending)
                if progress:
                    progress(ImportProgress(done, len(articles), chunks_embedded, pending[-1][0].source_path))
                pending.clear()

            for article in articles:
                pending.append((article, self.chunker.chunk_article(article)))
                if sum(len(chunks) for _article, chunks in pending) >= _REBUILD_SLICE:
                    flush()
            if pending:
                flush()
            teaser_chunks = [self.chunker.chunk_teaser(teaser) for teaser, _seen_in in teasers]
            teaser_vectors = self.embedder.embed_passages([chunk.embed_text for chunk in teaser_chunks])
            for (teaser, seen_in), chunk, vector in zip(teasers, teaser_chunks, teaser_vectors, strict=True):
                batch.put_teaser(teaser, seen_in or "", chunk, vector)
            chunks_embedded += len(teaser_chunks)
        return RebuildReport(len(articles), len(teasers), chunks_embedded, time.perf_counter() - started)

    def search(
        self,
        question: str,
        k: int = 5,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` most relevant articles or teasers, each by its best passage."""
        return self._retriever.search(question, k, since, until, tags)

    def ask(
        self,
        question: str,
        k: int = 5,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        history: Sequence[Answer] = (),
        min_relevance: float = MIN_RELEVANCE,
    ) -> Answer:
        """The sentence that best answers ``question``, where it stands, and the sources.

        ``history`` holds the conversation's earlier answers, oldest first: a follow-up
        ("And who negotiates for Russia?") is then searched in their context. When even the
        best passage is less similar than ``min_relevance``, the answer says nothing was found.
        """
        context = conversation_context(question, history)
        if context:
            question_vector, context_vector = self.embedder.embed_queries([question, context])
            query_vector = question_vector + CONTEXT_WEIGHT * context_vector
            query_vector /= np.linalg.norm(query_vector)
        else:
            query_vector = self.embedder.embed_queries([question])[0]
        passages = self._retriever.chunks(question, max(ANSWER_PASSAGES, k), since, until, tags, query_vector)
        sources = self._retriever.search(question, k, since, until, tags, query_vector)
        snapshot = self.store.snapshot()
        bodies: dict[str, str] = {}

        def full_text(hit: Hit) -> str:
            if hit.is_teaser:
                return hit.text
            if hit.article_id not in bodies:
                article = snapshot.article(hit.article_id)
                bodies[hit.article_id] = article.body if article else hit.text
            return bodies[hit.article_id]

        answer = self._answers.answer(question, query_vector, passages, sources, full_text, min_relevance)
        return replace(answer, context=context)

    def article(self, article_id: str) -> Article | None:
        return self.store.snapshot().article(article_id)

    def teasers(self) -> list[Teaser]:
        return [teaser for teaser, _seen_in in self.store.snapshot().teasers()]

    def tags(self) -> list[tuple[str, int]]:
        """Every tag (and teaser section) with how many articles or teasers carry it, most used first."""
        return self.store.snapshot().tags()

    def stats(self) -> ArchiveStats:
        snapshot = self.store.snapshot()
        manifest = snapshot.manifest
        return ArchiveStats(
            path=self.path,
            model=self.embedder.name,
            dimension=self.embedder.dimension,
            generation=snapshot.generation,
            counts=snapshot.counts(),
            index_type=manifest.faiss_type if manifest else "(empty)",
        )
