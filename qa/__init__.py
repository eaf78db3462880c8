"""archive-qa: question answering over a news archive.

>>> from qa import Archive
>>> archive = Archive.open("index")
>>> archive.ask("Who leads the Ukrainian delegation?").sentence
"""

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.archive import Archive, ArchiveStats, RebuildReport
    from qa.importing import ImportProgress
    from qa.parsing import InvalidInputError
    from qa.records import Answer, Article, Chunk, Hit, ImportOutcome, ImportReport, ImportStatus, Span, Teaser
    from qa.storage import ArchiveIndexError, IndexBusyError, IndexCorruptError, IndexMismatchError
    from qa.uploads import Upload
    from qa.vectors import VectorLayout

from qa.offline import disable_telemetry

disable_telemetry()
logging.getLogger(__name__).addHandler(logging.NullHandler())

_HOMES = {
    "qa.archive": ("Archive", "ArchiveStats", "RebuildReport"),
    "qa.importing": ("ImportProgress",),
    "qa.parsing": ("InvalidInputError",),
    "qa.records": (
        "Answer",
        "Article",
        "Chunk",
        "Hit",
        "ImportOutcome",
        "ImportReport",
        "ImportStatus",
        "Span",
        "Teaser",
    ),
    "qa.storage": ("ArchiveIndexError", "IndexBusyError", "IndexCorruptError", "IndexMismatchError"),
    "qa.uploads": ("Upload",),
    "qa.vectors": ("VectorLayout",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """The public names, imported when first used: ``import qa.serving`` (the ``qa`` command's
    entry) stays free of numpy, FAISS and ONNX Runtime until a command needs them."""
    if name in _HOME_OF:
        value = getattr(importlib.import_module(_HOME_OF[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Archive",
    "ArchiveIndexError",
    "ArchiveStats",
    "Article",
    "Chunk",
    "Hit",
    "ImportOutcome",
    "ImportProgress",
    "ImportReport",
    "ImportStatus",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "InvalidInputError",
    "RebuildReport",
    "Span",
    "Teaser",
    "Upload",
    "VectorLayout",
]
