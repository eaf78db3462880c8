"""``Archive``: the one object that the CLI, the Streamlit app and Python users work with."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from qa.answering import MIN_RELEVANCE, SOURCE_GAP, AnswerFinder, ReadingChoice, relevant_sources
from qa.chunking import Chunker, ChunkingConfig
from qa.embedding import Embedder, shared_embedder
from qa.fanout import PassageEncoder
from qa.importing import DEFAULT_BATCH_ARTICLES, Importer, ImportProgress, ProgressCallback
from qa.question import Question, QuestionAnalyser, RetrievalMode, Scope, now_in_berlin
from qa.reading import Reader, shared_reader
from qa.records import Answer, Article, Hit, ImportOutcome, ImportReport, ImportStatus, Teaser
from qa.retrieval import OVERFETCH, FusionWeights, Retriever, best_per_article
from qa.storage import ArchiveStore, IndexCounts, open_store
from qa.translation import Dictionary, shared_dictionary
from qa.uploads import StagedFile, Upload, stage_uploads
from qa.vectors import VectorLayout

INDEX_ENV = "QA_INDEX"
DEFAULT_INDEX = Path("index")
UPLOADS_FOLDER = "uploads"
ANSWER_PASSAGES = 6
"""How many of the best chunks an answer's sentences are taken from: the ones the retrieval
rerank has just embedded (``FusionWeights.reranked``), so that their sentences are scored
from the cache rather than run through the model again."""
_REBUILD_SLICE = 256


def default_index_location() -> str:
    """``$QA_INDEX`` (a directory or a Milvus URI), else ``./index``."""
    return os.environ.get(INDEX_ENV) or str(DEFAULT_INDEX)


@dataclass(frozen=True)
class WireCounts:
    embargoed: int
    """Wire stories stored under an embargo that has not ended: not searched yet."""
    withdrawn: int
    """Wire stories the agency canceled or withheld: kept on record, not searched."""


@dataclass(frozen=True)
class ArchiveStats:
    location: str
    model: str
    dimension: int
    generation: int
    counts: IndexCounts
    index_type: str
    layout: str
    dictionary: Path | None = None
    """The English-German dictionary that English question words are translated with for BM25."""
    wire: WireCounts = WireCounts(0, 0)


@dataclass(frozen=True)
class RebuildReport:
    articles: int
    teasers: int
    chunks_embedded: int
    seconds: float
    index_type: str


def discard_unread_uploads(staged: Sequence[StagedFile], outcomes: Sequence[ImportOutcome]) -> None:
    """Delete the uploads of which nothing could be read: the import area keeps only files
    that an article of the archive came from."""
    for file in staged:
        source = str(file.path)
        mine = [o for o in outcomes if o.source == source or o.source.startswith(source + ":")]
        if mine and all(o.status in (ImportStatus.FAILED, ImportStatus.SKIPPED) for o in mine):
            file.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                file.path.parent.rmdir()


class Archive:
    """A searchable news archive stored in one index directory.

    >>> archive = Archive.open("index")
    >>> archive.import_paths(["seeds"]).summary()
    >>> archive.ask("Who leads the Ukrainian delegation?").sentence
    """

    def __init__(
        self,
        store: ArchiveStore,
        embedder: Embedder,
        chunker: Chunker,
        fusion: FusionWeights | None = None,
        dictionary: Dictionary | None = None,
        reader: Reader | None = None,
        clock: Callable[[], datetime] = now_in_berlin,
        choice: ReadingChoice | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.embedder = embedder
        self.chunker = chunker
        fusion = fusion or FusionWeights()
        self.dictionary = dictionary if fusion.translate else None
        self.reader = reader
        self._questions = QuestionAnalyser(embedder, self.dictionary, fusion.prefixes, clock)
        self._answers = AnswerFinder(embedder, reader=reader, choice=choice)
        self._retriever = Retriever(store, fusion, self._answers.passage_scores)

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        embedder: Embedder | None = None,
        chunking: ChunkingConfig | None = None,
        fusion: FusionWeights | None = None,
        short_answers: bool = True,
        clock: Callable[[], datetime] = now_in_berlin,
        choice: ReadingChoice | None = None,
    ) -> Archive:
        """Open the index at ``path`` (created on first import); checks format and model now.
        English questions are matched lexically through the installed English-German dictionary
        (see ``qa.translation``), if there is one. With ``short_answers``, answers carry the span
        the reader (``qa.reading``) finds in the top passages. ``clock`` says what time it is:
        a wire story under embargo is searched only once its embargo has ended. ``choice`` says how
        the short answer is chosen among the reader's spans (``qa.answering.ReadingChoice``)."""
        embedder = embedder or shared_embedder()
        store = open_store(path or default_index_location(), embedder.name, embedder.dimension)
        store.snapshot()
        reader = shared_reader() if short_answers else None
        return cls(store, embedder, Chunker(chunking), fusion, shared_dictionary(), reader, clock, choice)

    def warm_up(self, background: bool = False) -> threading.Thread | None:
        """Load the embedding model, the reader and the dictionary now (in a thread with
        ``background``), so the first question does not wait for them; a question asked meanwhile
        waits for the same load.

        The thread is not a daemon: a process that ends while it loads waits for it, because
        interpreter shutdown under a thread still inside native code (ONNX Runtime, torch) aborts
        the process ("terminate called without an active exception")."""
        if not background:
            self._load()
            return None
        thread = threading.Thread(target=self._load, name="qa-warm-up", daemon=False)
        thread.start()
        return thread

    def _load(self) -> None:
        """The reader's session is created in a second thread while the embedder's is: on two
        cores that takes 0.7 s instead of 1.2 s (ONNX Runtime releases the GIL while it loads)."""
        reading = None
        if self.reader is not None:
            reading = threading.Thread(target=self.reader.warm_up, name="qa-reader-warm-up", daemon=False)
            reading.start()
        self.embedder.warm_up()
        if self.dictionary is not None:
            len(self.dictionary)
        if reading is not None:
            reading.join()

    @property
    def path(self) -> Path:
        """The archive's local folder (for Milvus: where uploads are staged)."""
        return self.store.path

    @property
    def location(self) -> str:
        """Where the archive is kept, as it was opened: a directory or a Milvus URI."""
        return self.store.location

    def import_paths(
        self,
        paths: Iterable[Path | str],
        progress: ProgressCallback | None = None,
        batch_articles: int = DEFAULT_BATCH_ARTICLES,
        executor: PassageEncoder | None = None,
    ) -> ImportReport:
        """Import ``.txt`` articles and ``.jsonl`` files (or folders of them).

        Every ``batch_articles`` articles are committed as a new index generation. ``executor``
        embeds the passages instead of this process's model: a :class:`qa.fanout.RayEmbedder`
        fans them out over a Ray cluster (it must embed with the archive's model).
        """
        encoder = executor or self.embedder
        if (encoder.name, encoder.dimension) != (self.embedder.name, self.embedder.dimension):
            raise ValueError(f"the executor embeds with {encoder.name}, the archive with {self.embedder.name}")
        return Importer(self.store, encoder, self.chunker, batch_articles).import_paths(paths, progress)

    def remove(self, article_ids: Iterable[str]) -> list[str]:
        """Remove articles (their chunks, vectors and BM25 entries with them) in one new generation.

        Returns the ids that were removed; ids the archive does not hold are skipped.
        """
        removed = []
        with self.store.write() as batch:
            for article_id in dict.fromkeys(article_ids):
                if batch.find_article(article_id):
                    batch.delete_owner(article_id)
                    removed.append(article_id)
        return removed

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
        discard_unread_uploads(staged, report.outcomes)
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

    def rebuild(self, progress: ProgressCallback | None = None, layout: VectorLayout | None = None) -> RebuildReport:
        """Re-chunk and re-embed every stored article and teaser into a new generation.

        ``layout`` switches the FAISS index type (``flat``, ``ivf-sq8`` or ``auto``, by size);
        without it the index keeps the choice it had.
        """
        started = time.perf_counter()
        articles, teasers = self.store.stored_content()
        chunks_embedded = 0
        with self.store.write(fresh=True, layout=layout) as batch:
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
        index_type = self.store.snapshot().index_type
        return RebuildReport(len(articles), len(teasers), chunks_embedded, time.perf_counter() - started, index_type)

    def analyse(
        self,
        question: str,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        mode: RetrievalMode | str = RetrievalMode.HYBRID,
        history: Sequence[Answer] = (),
        outlets: Sequence[str] | None = None,
        collapse: bool = True,
    ) -> Question:
        """``question`` as :meth:`search` and :meth:`ask` read it: language, terms and their
        translations, the kind of answer asked for, the time named and how it applies, the
        conversation it continues, the query vector (see ``qa.question``)."""
        scope = Scope(since, until, tuple(tags or ()), RetrievalMode(mode), tuple(outlets or ()), collapse)
        return self._questions.analyse(question, self.store.snapshot(), scope, history=history)

    def search(
        self,
        question: str,
        k: int = 5,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        mode: RetrievalMode | str = RetrievalMode.HYBRID,
        outlets: Sequence[str] | None = None,
        collapse: bool = True,
    ) -> list[Hit]:
        """The ``k`` most relevant articles or teasers, each by its best passage.

        ``mode`` is ``hybrid`` (dense and BM25 fused), ``dense`` or ``bm25``. A time the
        question names is applied as :meth:`ask` does; ``outlets`` keeps articles of those outlets only.
        A story printed by several outlets is one hit, its other copies in ``Hit.copies``;
        ``collapse=False`` lists every copy as a hit of its own.
        """
        snapshot = self.store.snapshot()
        scope = Scope(since, until, tuple(tags or ()), RetrievalMode(mode), tuple(outlets or ()), collapse)
        asked = self._questions.analyse(question, snapshot, scope)
        return self._retriever.search(asked, k, snapshot)

    def ask(
        self,
        question: str,
        k: int = 5,
        history: Sequence[Answer] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        min_relevance: float = MIN_RELEVANCE,
        mode: RetrievalMode | str = RetrievalMode.HYBRID,
        source_gap: float = SOURCE_GAP,
        outlets: Sequence[str] | None = None,
        collapse: bool = True,
    ) -> Answer:
        """The short answer to ``question``, the sentence that holds it, where it stands, and the sources.

        ``history`` holds the conversation's earlier answers, oldest first: a follow-up
        ("And who negotiates for Russia?") is then searched in their context, the last answer's
        article ranked up. When even the best passage is less similar than ``min_relevance``,
        the answer says nothing was found. Of the ``k`` sources, only those at most ``source_gap`` less
        similar to the question than the best one are listed (and the answer's own); with nothing
        found, the closest ``k`` are kept, for a reader who wants to see what fell short.
        A time the question names ("im Dezember 2025", "last week", "2024"), read relative to
        the newest article, restricts the search (or, for a bare year, ranks that year first)
        unless ``since``/``until`` are given; ``Answer.when`` says how it was read, and
        ``Answer.analysis`` holds the whole question as it was read. Copies of one story are read
        and listed once, as :meth:`search` shows them, unless ``collapse`` is False.
        """
        snapshot = self.store.snapshot()
        scope = Scope(since, until, tuple(tags or ()), RetrievalMode(mode), tuple(outlets or ()), collapse)
        asked = self._questions.analyse(question, snapshot, scope, history=history)
        passage_count = max(ANSWER_PASSAGES, k)
        fetch = passage_count * OVERFETCH
        ranked = self._retriever.chunks(asked, fetch, snapshot)
        passages = ranked[:passage_count]
        sources = best_per_article(ranked, k)
        if len(sources) < k and len(ranked) == fetch:
            sources = self._retriever.search(asked, k, snapshot)
        elif asked.collapse:
            sources = self._retriever.with_copies(asked, sources, snapshot)
        bodies: dict[str, str] = {}

        def full_text(hit: Hit) -> str:
            if hit.is_teaser:
                return hit.text
            if hit.article_id not in bodies:
                article = snapshot.article(hit.article_id)
                bodies[hit.article_id] = article.body if article else hit.text
            return bodies[hit.article_id]

        answer = self._answers.answer(asked, passages, sources, full_text, min_relevance)
        if answer.found:
            answer = replace(answer, sources=relevant_sources(answer.sources, answer.source, source_gap))
        return answer

    def check(self) -> list[str]:
        """Problems found by reading the whole index (checksums, ids, counts); empty when sound."""
        return self.store.check()

    def article(self, article_id: str) -> Article | None:
        return self.store.snapshot().article(article_id)

    def teasers(self) -> list[Teaser]:
        return [teaser for teaser, _seen_in in self.store.snapshot().teasers()]

    def outlets(self) -> list[tuple[str, int]]:
        """Every outlet (agency or publisher) with how many articles it gave, most first."""
        return self.store.snapshot().outlets()

    def tags(self) -> list[tuple[str, int]]:
        """Every tag (and teaser section) with how many articles or teasers carry it, most used first."""
        return self.store.snapshot().tags()

    def stats(self) -> ArchiveStats:
        snapshot = self.store.snapshot()
        return ArchiveStats(
            location=self.store.location,
            model=self.embedder.name,
            dimension=self.embedder.dimension,
            generation=snapshot.generation,
            counts=snapshot.counts(),
            index_type=snapshot.index_type,
            layout=snapshot.layout,
            dictionary=self.dictionary.path if self.dictionary else None,
            wire=WireCounts(*snapshot.wire_counts(self.clock())),
        )
