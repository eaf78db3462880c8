"""What every storage of an archive offers, whatever holds it: the nouns it hands out, its errors,
and the three roles the rest of the package reads and writes through.

- :class:`ArchiveStore` opens an index, hands out views and batches, checks and lists its content.
- :class:`StoreView` is one consistent state for one query: dense and lexical search with filters,
  chunks, articles and teasers by id, counts and tags.
- :class:`StoreBatch` is one write that becomes visible whole or not at all: put, replace and
  remove articles with their chunks and vectors.

The embedded FAISS + SQLite index (``qa.storage.embedded``) is the default implementation;
``qa.storage.milvus`` keeps the same archive on a Milvus cluster or on milvus-lite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.lexical import LexicalQuery
from qa.records import Article, Chunk, ChunkKind, Span, Teaser, WireInfo
from qa.stories import Fingerprint
from qa.vectors import VectorLayout


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
    """An article, or a teaser of one that the archive does not hold."""
    outlet: str | None = None
    wire: WireInfo | None = None


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a search may return: those of articles (or teasers) published between
    ``since`` and ``until``, carrying one of ``tags`` and given by one of ``outlets`` (teasers
    have none, so an outlet filter leaves them out); an empty field does not filter."""

    since: datetime | None = None
    until: datetime | None = None
    tags: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()


class StoreView(Protocol):
    """One consistent state of the archive, for one query or one page."""

    @property
    def generation(self) -> int: ...

    @property
    def size(self) -> int:
        """How many vectors (chunks and teasers) the view searches."""
        ...

    @property
    def index_type(self) -> str: ...

    @property
    def layout(self) -> str: ...

    def counts(self) -> IndexCounts: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]: ...

    def similarities(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]: ...

    def lexical_search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]: ...

    def lexical_scores(self, query: LexicalQuery, ids: Sequence[int]) -> dict[int, float]: ...

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many chunks each whole term occurs (terms that occur nowhere are absent)."""
        ...

    def present_prefixes(self, prefixes: Sequence[str]) -> set[str]:
        """Those of ``prefixes`` that begin a term of some chunk (where a store cannot tell, all)."""
        ...

    def lexical_ceiling(self, query: LexicalQuery) -> float:
        """The BM25 score a chunk could at best reach for ``query``, on this store's BM25 scale:
        what hybrid retrieval divides BM25 scores by."""
        ...

    def filtered_chunk_ids(self, where: ChunkFilter) -> np.ndarray:
        """The ids of the chunks ``where`` selects, ascending (searches bisect them)."""
        ...

    def embargoed_chunk_ids(self, moment: datetime) -> np.ndarray: ...

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]: ...

    def owners(self, ids: Iterable[str]) -> dict[str, StoredOwner]: ...

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]: ...

    def story_members(
        self, story_ids: Iterable[str], moment: datetime | None = None
    ) -> dict[str, list[StoredOwner]]: ...

    def article(self, article_id: str) -> Article | None: ...

    def articles(self) -> Iterator[Article]: ...

    def teasers(self) -> list[tuple[Teaser, str | None]]: ...

    def outlets(self) -> list[tuple[str, int]]: ...

    def tags(self) -> list[tuple[str, int]]: ...

    def wire_counts(self, moment: datetime) -> tuple[int, int]: ...


class StoreBatch(Protocol):
    """One write: its changes become visible together, when the batch ends without an error."""

    def find_article(self, article_id: str) -> tuple[str, str] | None: ...

    def find_same_story(self, title: str, published: datetime | None) -> tuple[str, str] | None: ...

    def has_teaser(self, teaser_id: str) -> bool: ...

    def reusable_vectors(self, owner_id: str) -> dict[str, np.ndarray]: ...

    def wire_version(self, article_id: str) -> int | None: ...

    def put_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def put_teaser(self, teaser: Teaser, seen_in: str, chunk: Chunk, vector: np.ndarray) -> None: ...

    def join_story(self, article_id: str, fingerprint: Fingerprint) -> str: ...

    def delete_owner(self, owner_id: str) -> None: ...


class ArchiveStore(Protocol):
    """An archive's storage: where it is, what it was built with, and its views and writes."""

    location: str
    """As the user named it: a directory, or a Milvus URI."""
    path: Path
    """A local folder of the archive's own (uploads are staged there)."""
    model: str
    dimension: int

    def exists(self) -> bool: ...

    def snapshot(self) -> StoreView:
        """The newest state; cheap when nothing changed."""
        ...

    def write(self, fresh: bool = False, layout: VectorLayout | None = None) -> AbstractContextManager[StoreBatch]: ...

    def stored_content(self) -> tuple[list[Article], list[tuple[Teaser, str | None]]]: ...

    def check(self) -> list[str]: ...
