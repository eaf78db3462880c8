"""archive-qa: question answering over a news archive.

>>> from qa import Archive
>>> archive = Archive.open("index")
>>> archive.ask("Who leads the Ukrainian delegation?").sentence
"""

import logging

from qa.archive import Archive, ArchiveStats, RebuildReport
from qa.importing import ImportProgress
from qa.parsing import InvalidInputError
from qa.records import Answer, Article, Chunk, Hit, ImportOutcome, ImportReport, ImportStatus, Span, Teaser
from qa.storage import ArchiveIndexError, IndexBusyError, IndexCorruptError, IndexMismatchError
from qa.uploads import Upload
from qa.vectors import VectorLayout

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
