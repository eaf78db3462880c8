"""Files handed in through the app: checked, named safely and kept in the import area.

An uploaded file's name and bytes are untrusted. Only ``.txt`` and ``.jsonl`` are
accepted, within a size and count limit; the name is reduced to a plain file name of
safe characters (an article's id is its file name, so the name is kept otherwise), and
the file lands in ``<import area>/<content hash>/<name>``: never outside the area, and
the same upload twice is the same file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.parsing import (
    DEFAULT_MAX_ARTICLE_BYTES,
    DIGITALWIRES_SUFFIXES,
    JSONL_SUFFIXES,
    MAX_WIRE_FILE_BYTES,
    NEWSML_SUFFIXES,
    SUPPORTED_SUFFIXES,
)

ACCEPTED_SUFFIXES = SUPPORTED_SUFFIXES
MAX_UPLOAD_FILES = 100
MAX_JSONL_BYTES = 50 * 1024 * 1024


def upload_limits() -> str:
    """The size limits per kind of file, in words."""
    megabytes = 1024 * 1024
    return (
        f"{DEFAULT_MAX_ARTICLE_BYTES // 1_000_000} MB per article page, "
        f"{MAX_WIRE_FILE_BYTES // 1_000_000} MB per digitalwires or NewsML-G2 file, "
        f"{MAX_JSONL_BYTES // megabytes} MB per JSON Lines file"
    )


_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass(frozen=True)
class StagedFile:
    """An accepted upload: where it was stored, and the name its sender gave it."""

    path: Path
    name: str


@dataclass(frozen=True)
class RejectedUpload:
    name: str
    reason: str


def safe_file_name(name: str) -> str:
    """A plain file name: no folders, no control or shell characters, no leading dot."""
    base = Path(unicodedata.normalize("NFC", name.replace("\\", "/")).rsplit("/", 1)[-1])
    stem = _UNSAFE.sub("_", base.stem).lstrip("._")[:120] or "upload"
    return stem + _UNSAFE.sub("_", base.suffix.lower())


def _rejection(upload: Upload) -> str | None:
    suffix = Path(upload.name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        return f"only {', '.join(ACCEPTED_SUFFIXES)} files are accepted, not {suffix or 'a file without suffix'}"
    if suffix in JSONL_SUFFIXES:
        limit = MAX_JSONL_BYTES
    elif suffix in DIGITALWIRES_SUFFIXES + NEWSML_SUFFIXES:
        limit = MAX_WIRE_FILE_BYTES
    else:
        limit = DEFAULT_MAX_ARTICLE_BYTES
    if len(upload.data) > limit:
        return f"file too large ({len(upload.data) / 1e6:.1f} MB, limit {limit / 1e6:.0f} MB for {suffix})"
    return None


def stage_uploads(uploads: Iterable[Upload], area: Path) -> tuple[list[StagedFile], list[RejectedUpload]]:
    """Store the acceptable uploads under ``area``; say why each other one was refused."""
    staged: list[StagedFile] = []
    rejected: list[RejectedUpload] = []
    root = area.resolve()
    for number, upload in enumerate(uploads):
        if number >= MAX_UPLOAD_FILES:
            rejected.append(RejectedUpload(upload.name, f"more than {MAX_UPLOAD_FILES} files in one import"))
            continue
        if reason := _rejection(upload):
            rejected.append(RejectedUpload(upload.name, reason))
            continue
        folder = root / hashlib.sha256(upload.data).hexdigest()[:16]
        target = (folder / safe_file_name(upload.name)).resolve()
        if target.parent != folder:
            rejected.append(RejectedUpload(upload.name, "file name is not acceptable"))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(upload.data)
        partial.replace(target)
        staged.append(StagedFile(target, upload.name))
    return staged, rejected
