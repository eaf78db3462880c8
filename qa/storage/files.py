"""The embedded index's files: the manifest that names a generation, written atomically and durably."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.storage.base import IndexCorruptError, IndexCounts
from qa.vectors import FAISS_DESCRIPTION, VectorLayout

FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".write.lock"
LOCK_WAIT_SECONDS = 60.0
"""How long an import waits for another one to finish its commit before it gives up. An import
holds the lock for one batch at a time, and loading the model alone can take 10 s on a busy
machine, so a shorter wait turned two imports started together into a failure."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    generation: int
    vectors_file: str
    metadata_file: str
    vectors_bytes: int
    metadata_bytes: int
    faiss_type: str = FAISS_DESCRIPTION[VectorLayout.FLAT]
    vector_layout: str = VectorLayout.AUTO.value
    counts: IndexCounts = field(default_factory=IndexCounts)
    vectors_sha256: str = ""
    metadata_sha256: str = ""
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw["counts"] = IndexCounts(**raw.get("counts", {}))
            return cls(**raw)
        except (OSError, ValueError, TypeError) as error:
            raise IndexCorruptError(f"{path}: unreadable manifest ({error}); run `qa rebuild` or re-import") from None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


READ_AHEAD_SHARE = 0.25
READ_AHEAD_BLOCK = 4 << 20


def read_ahead(path: Path, budget: int | None = None) -> threading.Thread | None:
    """Read ``path`` once through on a background thread, so that the operating system's page
    cache holds it before queries need it. The metadata file of a freshly opened index is read
    at random by every query (chunk rows, FTS5 doclists): at 1M chunks (1.4 GB), on a cold cache,
    fetching 20 chunks took 6 ms against 0.2 ms warm, and the first BM25 searches after opening
    p95 115-123 ms against 67-77 with this (bench/archive_scale.py --cold). ``posix_fadvise`` and
    ``madvise`` WILLNEED read only the first 8 MB there, so the file is read. Skipped (None) where
    it is larger than ``budget``: by default :data:`READ_AHEAD_SHARE` of the machine's memory, so
    a huge archive never evicts the rest."""
    if budget is None:
        budget = int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * READ_AHEAD_SHARE)
    try:
        if path.stat().st_size > budget:
            return None
    except OSError:
        return None

    def read() -> None:
        with contextlib.suppress(OSError), open(path, "rb", buffering=0) as handle:
            block = bytearray(READ_AHEAD_BLOCK)
            while handle.readinto(block):
                pass

    thread = threading.Thread(target=read, name=f"read-ahead {path.name}", daemon=True)
    thread.start()
    return thread
