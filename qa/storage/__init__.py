"""Where an archive is kept: the storage interface (``qa.storage.base``) and its implementations."""

import os
from pathlib import Path

from qa.storage.base import (
    ArchiveIndexError,
    ArchiveStore,
    ChunkFilter,
    IndexBusyError,
    IndexCorruptError,
    IndexCounts,
    IndexMismatchError,
    StoreBatch,
    StoredChunk,
    StoredOwner,
    StoreView,
)
from qa.storage.embedded import IndexStore
from qa.storage.files import FORMAT_VERSION
from qa.storage.milvus import MilvusStore, is_milvus_location
from qa.storage.view import Snapshot

__all__ = [
    "FORMAT_VERSION",
    "ArchiveIndexError",
    "ArchiveStore",
    "ChunkFilter",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexCounts",
    "IndexMismatchError",
    "IndexStore",
    "MilvusStore",
    "Snapshot",
    "StoreBatch",
    "StoreView",
    "StoredChunk",
    "StoredOwner",
    "open_store",
]


def open_store(location: str | os.PathLike, model: str, dimension: int) -> ArchiveStore:
    """The storage at ``location``: ``milvus://host:port/name`` or ``milvus-lite:///file.db`` for
    Milvus, anything else an index directory."""
    if is_milvus_location(location):
        return MilvusStore(str(location), model, dimension)
    return IndexStore(Path(location), model, dimension)
