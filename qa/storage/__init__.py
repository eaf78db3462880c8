"""Where an archive is kept: the storage interface (``qa.storage.base``) and its implementations."""

from qa.storage.base import (
    ArchiveIndexError,
    ArchiveStore,
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
from qa.storage.view import Snapshot

__all__ = [
    "FORMAT_VERSION",
    "ArchiveIndexError",
    "ArchiveStore",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexCounts",
    "IndexMismatchError",
    "IndexStore",
    "Snapshot",
    "StoreBatch",
    "StoreView",
    "StoredChunk",
    "StoredOwner",
]
