"""Durable, atomic file writes, on the standard library alone: the index's manifest and the
records the model builds leave beside the models are written with these (importing them loads
neither FAISS nor the storage package)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """``text`` in ``path``, written aside, flushed to disk and renamed in: a reader finds the old
    file or the new one, never part of either."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_path(path.parent)
