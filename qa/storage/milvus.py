"""The archive on Milvus: the same :class:`~qa.storage.base.ArchiveStore` on a cluster, or on
milvus-lite in one file.

Three collections, named after the archive (``archive`` below):

- ``archive_chunks``: one row per chunk: its vector, its German-stemmed terms (Milvus's BM25
  function turns them into a sparse vector; the standard analyzer only splits and lowercases,
  so lite and a cluster score alike), the article's id, date, tags and outlet for filters.
- ``archive_owners``: one row per article or teaser version (its record as JSON), plus more
  rows for a body longer than one VARCHAR holds.
- ``archive_writes``: one row per write, and row 0 with what built the archive.

Milvus has no transaction over several rows, so a write is made visible by its last row. Every
row carries the number of the write that made it. A write first records itself as begun, then
adds its chunks, then its article records (a removal is a record too, a tombstone), and only
then marks itself done: that one upsert is the commit. A view reads the writes once and sees
the rows of done writes only, so a query never meets half a write. After the commit the rows
that the write replaced are deleted; until then (or when that cleanup was interrupted) a view
keeps, of each article, the rows of its newest done write only. A write that never got to its
commit (killed, or the machine lost) is invisible, and the next write deletes its rows.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import socket
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from tempfile import gettempdir
from typing import Any

import numpy as np

from qa.lexical import LexicalQuery, bm25_ceiling, document_terms, lucene_idf
from qa.records import PARAGRAPH_SEPARATOR, Article, Chunk, ChunkKind, Span, Teaser, WireInfo
from qa.storage.base import (
    ArchiveIndexError,
    ChunkFilter,
    IndexBusyError,
    IndexCounts,
    IndexMismatchError,
    StoredChunk,
    StoredOwner,
)
from qa.storage.files import FORMAT_VERSION, LOCK_WAIT_SECONDS
from qa.storage.metadata import berlin_time
from qa.stories import Fingerprint, best_copy
from qa.vectors import VectorLayout

logger = logging.getLogger(__name__)

SCHEMES = ("milvus://", "milvus-lite://")
TOKEN_ENV = "QA_MILVUS_TOKEN"
"""``user:password`` or an API key for a cluster that asks for one."""

NO_TIME = -(2**62)
"""What a missing date is stored as: before every real one, so ``>=`` filters leave it out."""
TEXT_LIMIT = 65535
BODY_PART = 16000
"""Characters of a body per row: at most four bytes each in UTF-8, within one VARCHAR."""
ID_LIMIT = 512
TITLE_LIMIT = 4096
SLICE = 512
"""Rows per insert, ids per ``in`` filter."""
TOP_K_LIMIT = 16384
STALE_WRITE_SECONDS = 600.0
"""A begun write this old with no commit is taken for an interrupted one (on a cluster, where
no file lock can tell a running writer from a dead one)."""
META_ROW = 0
BEGUN, DONE, CLEAN = "begun", "done", "clean"
_NAME = re.compile(r"[^A-Za-z0-9_]")


def is_milvus_location(location: str | os.PathLike) -> bool:
    return str(location).startswith(SCHEMES)


@dataclass(frozen=True)
class MilvusLocation:
    """Where an archive lives on Milvus: the client's URI and the collections' name."""

    text: str
    uri: str
    name: str
    file: Path | None = None
    """The milvus-lite database file; ``None`` on a server."""

    @classmethod
    def parse(cls, text: str) -> MilvusLocation:
        """``milvus://host:19530/archive`` (a server; ``milvus://host/archive`` means port 19530)
        or ``milvus-lite:///path/archive.db`` (a file, one process at a time)."""
        if text.startswith("milvus-lite://"):
            file = Path(text.removeprefix("milvus-lite://")).expanduser()
            if file.suffix != ".db":
                raise ArchiveIndexError(f"{text}: a milvus-lite archive is a file ending in .db")
            return cls(text, str(file.resolve()), _collection_name(file.stem), file.resolve())
        rest = text.removeprefix("milvus://")
        host, _, name = rest.partition("/")
        if not host or not name.strip("/"):
            raise ArchiveIndexError(f"{text}: expected milvus://host:port/archive-name")
        if ":" not in host:
            host += ":19530"
        return cls(text, f"http://{host}", _collection_name(name.strip("/")))


def _collection_name(name: str) -> str:
    cleaned = _NAME.sub("_", name)
    return cleaned if cleaned[:1].isalpha() else f"a_{cleaned}"


def _literal(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def _strings(values: Iterable[str]) -> str:
    return "[" + ",".join(_literal(value) for value in values) + "]"


def _numbers(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(value)) for value in values) + "]"


def _slices(items: Sequence, size: int = SLICE) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else NO_TIME


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _signed(key: int) -> int:
    """A band key (an unsigned 64-bit hash) as Milvus's signed INT64."""
    return key - 2**64 if key >= 2**63 else key


def _wire_json(wire: WireInfo | None) -> dict | None:
    if wire is None:
        return None
    facts = asdict(wire)
    for name in ("version_created", "embargoed"):
        facts[name] = _iso(facts[name])
    return facts


def _wire_of(facts: dict | None) -> WireInfo | None:
    if not facts:
        return None
    return WireInfo(
        **{
            **facts,
            "version_created": berlin_time(facts["version_created"]),
            "embargoed": berlin_time(facts["embargoed"]),
        }
    )


@dataclass
class _Head:
    """The first row of an owner's version: its record, without the body."""

    owner: str
    batch: int
    kind: str
    record: dict[str, Any]
    story: str = ""

    @property
    def published(self) -> datetime | None:
        return berlin_time(self.record.get("published"))

    def stored_owner(self) -> StoredOwner:
        if self.kind == ChunkKind.TEASER.value:
            section = self.record.get("section")
            return StoredOwner(
                self.owner, self.record["title"], self.published, (section,) if section else (), ChunkKind.TEASER
            )
        return StoredOwner(
            self.owner,
            self.record["title"],
            self.published,
            tuple(self.record["tags"]),
            ChunkKind.ARTICLE,
            self.record.get("source"),
            _wire_of(self.record.get("wire")),
        )


@dataclass
class _Pending:
    """An owner's new version, held until the write commits."""

    kind: str
    record: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    body: str = ""
    published: datetime | None = None
    title: str = ""
    tag_keys: list[str] = field(default_factory=list)
    outlet: str = ""
    embargoed: datetime | None = None
    story: str = ""
    fingerprint: Fingerprint | None = None


class _LiteNoise(logging.Filter):
    """milvus-lite lacks the timestamp call that pymilvus's query iterator tries first; the
    iterator then falls back to the client's clock, as it says, but both sides log the miss."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "mvccTs" in record.getMessage():
            return False
        return not (record.exc_info and "AllocTimestamp" in "".join(traceback.format_exception(*record.exc_info)))


def _quiet_lite() -> None:
    for name in ("grpc._server", "pymilvus.client.iterator.query_iterator"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _LiteNoise) for f in target.filters):
            target.addFilter(_LiteNoise())


class _Collections:
    """The client and the three collections' names; creates them on first write."""

    def __init__(self, location: MilvusLocation, dimension: int) -> None:
        self.location = location
        self.dimension = dimension
        self.chunks = f"{location.name}_chunks"
        self.owners = f"{location.name}_owners"
        self.writes = f"{location.name}_writes"
        self._client = None
        self._loaded = False
        self._exist = False
        self.term_counts: dict[tuple[int, int, tuple[int, ...]], Counter] = {}
        self.embargoes: dict[tuple[int, int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = {}
        """Per state of the writes: every chunk that was ever under an embargo, with its end, so a
        query finds the ones under embargo now without a scan (milvus-lite filters in Python)."""

    @property
    def client(self):
        if self._client is None:
            try:
                from pymilvus import MilvusClient
            except ImportError:
                raise ArchiveIndexError(
                    f"{self.location.text}: Milvus needs the `milvus` extra: pip install 'archive-qa[milvus]'"
                ) from None
            if self.location.file is not None:
                self.location.file.parent.mkdir(parents=True, exist_ok=True)
                _quiet_lite()
            token = os.environ.get(TOKEN_ENV, "")
            try:
                options: dict[str, Any] = {"token": token} if token else {}
                if self.location.file is not None:
                    # The server is in this process: pymilvus's 10 s keepalive pings only get it
                    # told off (gRPC's "too_many_pings" on stderr).
                    options["grpc_options"] = {"grpc.keepalive_time_ms": 600_000}
                self._client = MilvusClient(self.location.uri, **options)
            except Exception as error:
                if self.location.file is not None:
                    raise IndexBusyError(
                        f"{self.location.file}: cannot open it ({error}); milvus-lite opens a database in one "
                        "process at a time: is an import or the app using it? (A server has no such limit.)"
                    ) from None
                raise ArchiveIndexError(f"{self.location.text}: cannot connect to Milvus: {error}") from None
        return self._client

    def exist(self) -> bool:
        if not self._exist:
            self._exist = all(self.client.has_collection(name) for name in (self.chunks, self.owners, self.writes))
        return self._exist

    def load(self) -> None:
        if not self._loaded:
            for name in (self.chunks, self.owners, self.writes):
                self.client.load_collection(name)
            self._loaded = True

    def create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        client = self.client
        if not client.has_collection(self.chunks):
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
            schema.add_field(
                "terms",
                DataType.VARCHAR,
                max_length=TEXT_LIMIT,
                enable_analyzer=True,
                enable_match=True,
                analyzer_params={"type": "standard"},
            )
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_field("batch", DataType.INT64)
            schema.add_field("kind", DataType.VARCHAR, max_length=16)
            schema.add_field("owner", DataType.VARCHAR, max_length=ID_LIMIT)
            schema.add_field("position", DataType.INT64)
            schema.add_field("start", DataType.INT64)
            schema.add_field("end", DataType.INT64)
            schema.add_field("text", DataType.VARCHAR, max_length=TEXT_LIMIT)
            schema.add_field("embed_hash", DataType.VARCHAR, max_length=128)
            schema.add_field("published", DataType.INT64)
            schema.add_field("embargoed", DataType.INT64)
            schema.add_field(
                "tag_keys", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=256, max_length=256
            )
            schema.add_field("outlet", DataType.VARCHAR, max_length=ID_LIMIT)
            schema.add_function(
                Function(
                    name="terms_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["terms"],
                    output_field_names=["sparse"],
                )
            )
            index = client.prepare_index_params()
            index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            client.create_collection(self.chunks, schema=schema, index_params=index, consistency_level="Strong")
        if not client.has_collection(self.owners):
            schema = client.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_LIMIT + 64)
            schema.add_field("owner", DataType.VARCHAR, max_length=ID_LIMIT)
            schema.add_field("batch", DataType.INT64)
            schema.add_field("part", DataType.INT64)
            schema.add_field("kind", DataType.VARCHAR, max_length=16)
            schema.add_field("record", DataType.VARCHAR, max_length=TEXT_LIMIT)
            schema.add_field("body", DataType.VARCHAR, max_length=TEXT_LIMIT)
            schema.add_field("title", DataType.VARCHAR, max_length=TITLE_LIMIT)
            schema.add_field("published", DataType.INT64)
            schema.add_field("story", DataType.VARCHAR, max_length=ID_LIMIT)
            schema.add_field("bands", DataType.ARRAY, element_type=DataType.INT64, max_capacity=256)
            schema.add_field("mark", DataType.FLOAT_VECTOR, dim=2)
            index = client.prepare_index_params()
            index.add_index("mark", index_type="AUTOINDEX", metric_type="L2")
            client.create_collection(self.owners, schema=schema, index_params=index, consistency_level="Strong")
        if not client.has_collection(self.writes):
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("state", DataType.VARCHAR, max_length=16)
            schema.add_field("info", DataType.VARCHAR, max_length=TEXT_LIMIT)
            schema.add_field("mark", DataType.FLOAT_VECTOR, dim=2)
            index = client.prepare_index_params()
            index.add_index("mark", index_type="AUTOINDEX", metric_type="L2")
            client.create_collection(self.writes, schema=schema, index_params=index, consistency_level="Strong")
        self._loaded = False
        self.load()

    def rows(self, collection: str, expression: str, fields: list[str]) -> Iterator[dict]:
        """Every row matching ``expression``, read in pages."""
        iterator = self.client.query_iterator(collection, filter=expression, output_fields=fields, batch_size=1000)
        try:
            while page := iterator.next():
                yield from page
        finally:
            iterator.close()

    def count(self, collection: str, expression: str) -> int:
        found = self.client.query(collection, filter=expression, output_fields=["count(*)"])
        return int(found[0]["count(*)"])

    def delete(self, collection: str, expression: str) -> None:
        self.client.delete(collection, filter=expression)


@dataclass(frozen=True)
class _Writes:
    """What a view knows of the writes: which rows it may see, and the counts of the newest."""

    top: int
    floor: int
    unfinished: tuple[int, ...]
    unclean: bool
    counts: IndexCounts

    @property
    def key(self) -> tuple[int, int, tuple[int, ...]]:
        """What decides which rows are visible: the caches of derived counts are kept by it."""
        return self.top, self.floor, self.unfinished

    def visible(self) -> str:
        expression = f"batch >= {self.floor} and batch <= {self.top}"
        if self.unfinished:
            expression += f" and batch not in {_numbers(self.unfinished)}"
        return expression


def _read_writes(collections: _Collections) -> tuple[dict | None, list[dict]]:
    rows = collections.client.query(collections.writes, filter="id >= 0", output_fields=["id", "state", "info"])
    meta = next((json.loads(row["info"]) for row in rows if row["id"] == META_ROW), None)
    return meta, sorted((row for row in rows if row["id"] != META_ROW), key=lambda row: row["id"])


def _writes_state(rows: list[dict]) -> _Writes:
    committed = [row for row in rows if row["state"] in (DONE, CLEAN)]
    top = committed[-1]["id"] if committed else 0
    floor = max((row["id"] for row in committed if json.loads(row["info"]).get("fresh")), default=0)
    unfinished = tuple(row["id"] for row in rows if row["state"] == BEGUN and row["id"] < top)
    unclean = any(row["state"] == DONE for row in committed)
    counts = IndexCounts(**json.loads(committed[-1]["info"])["counts"]) if committed else IndexCounts()
    return _Writes(top, floor, unfinished, unclean, counts)


HEAD_FIELDS = ["owner", "batch", "kind", "record", "story"]


class MilvusView:
    """One state of the archive on Milvus: the rows of the writes done when it was taken."""

    def __init__(self, collections: _Collections, writes: _Writes) -> None:
        self._c = collections
        self._writes = writes

    @property
    def generation(self) -> int:
        return self._writes.top

    @property
    def size(self) -> int:
        return self._writes.counts.vectors

    @property
    def index_type(self) -> str:
        if self._writes.top == 0:
            return "(empty)"
        described = self._c.client.describe_index(self._c.chunks, "vector")
        return f"Milvus {described.get('index_type', '?')} ({described.get('metric_type', 'IP')})"

    @property
    def layout(self) -> str:
        return "milvus"

    def counts(self) -> IndexCounts:
        return self._writes.counts

    def _filter(self, allowed: np.ndarray | None, hidden: np.ndarray | None) -> str:
        expression = self._writes.visible()
        if allowed is not None:
            expression += f" and id in {_numbers(allowed.tolist())}"
        if hidden is not None and len(hidden):
            expression += f" and id not in {_numbers(hidden.tolist())}"
        return expression

    def _live_rows(self, found: list[dict]) -> list[dict]:
        """Rows of chunks whose article's newest committed version they belong to."""
        if not self._writes.unclean or not found:
            return found
        heads = self._heads({row["entity"]["owner"] for row in found})
        return [
            row
            for row in found
            if row["entity"]["owner"] in heads and heads[row["entity"]["owner"]].batch == row["entity"]["batch"]
        ]

    def _search(self, data: list, field: str, metric: str, k: int, expression: str) -> list[tuple[int, float]]:
        if self._writes.top == 0 or k <= 0:
            return []
        found = self._c.client.search(
            self._c.chunks,
            data=data,
            anns_field=field,
            limit=min(k, TOP_K_LIMIT),
            filter=expression,
            output_fields=["owner", "batch"],
            search_params={"metric_type": metric},
        )[0]
        rows = self._live_rows(list(found))
        # milvus-lite gives BM25 scores negated; a server gives them as they are.
        score = abs if metric == "BM25" else float
        return [(int(row["id"]), float(score(row["distance"]))) for row in rows]

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        if allowed is not None and len(allowed) == 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        return self._search([vector], "vector", "IP", k, self._filter(allowed, hidden))

    def similarities(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        if not ids:
            return {}
        rows = self._c.client.query(self._c.chunks, ids=[int(i) for i in ids], output_fields=["id", "vector"])
        return {int(row["id"]): float(np.dot(np.asarray(row["vector"], dtype=np.float32), query)) for row in rows}

    @staticmethod
    def _words(query: LexicalQuery) -> str:
        """The query's whole terms: Milvus's BM25 matches whole tokens, so prefixes are left out."""
        return " ".join(term for term in query.terms if not term.endswith("*"))

    def lexical_search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        words = self._words(query)
        if not words or (allowed is not None and len(allowed) == 0):
            return []
        return self._search([words], "sparse", "BM25", k, self._filter(allowed, hidden))

    def lexical_scores(self, query: LexicalQuery, ids: Sequence[int]) -> dict[int, float]:
        words = self._words(query)
        if not words or not ids:
            return {}
        chosen = np.array(ids, dtype=np.int64)
        return dict(self._search([words], "sparse", "BM25", len(ids), self._filter(chosen, None)))

    def lexical_ceiling(self, query: LexicalQuery) -> float:
        """:func:`qa.lexical.bm25_ceiling` with Milvus's idf (Lucene's), from the number of
        chunks each whole term occurs in: BM25 weighs in hybrid retrieval as on the embedded
        index, on Milvus's scale."""
        return bm25_ceiling(query, self.term_frequencies(query.terms), self.size, lucene_idf)

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many chunks each whole term occurs. A server counts with ``TEXT_MATCH`` on its
        inverted index; milvus-lite would scan every row for every term, so for it the terms of
        all chunks are counted once per state of the writes (lite holds small archives)."""
        wanted = [term for term in dict.fromkeys(terms) if term.strip() and not term.endswith("*")]
        if self._writes.top == 0 or not wanted:
            return {}
        if self._c.location.file is None:
            counts = {
                term: self._c.count(self._c.chunks, f"{self._writes.visible()} and TEXT_MATCH(terms, {_literal(term)})")
                for term in wanted
            }
        else:
            counts = self._lite_term_counts()
        return {term: counts[term] for term in wanted if counts.get(term)}

    def present_prefixes(self, prefixes: Sequence[str]) -> set[str]:
        """On milvus-lite, from the terms counted once per state of the writes; a server's
        inverted index matches whole terms only, so there every prefix counts as present."""
        if self._c.location.file is None:
            return set(prefixes)
        terms = self._lite_term_counts() if self._writes.top else Counter()
        return {prefix for prefix in prefixes if any(term.startswith(prefix) for term in terms)}

    def _lite_term_counts(self) -> Counter:
        key = self._writes.key
        if key not in self._c.term_counts:
            rows = self._c.rows(self._c.chunks, self._writes.visible(), ["id", "owner", "batch", "terms"])
            counts: Counter = Counter()
            for row in self._live_rows([{"id": row["id"], "entity": row} for row in rows]):
                counts.update(set(row["entity"]["terms"].split()))
            self._c.term_counts = {key: counts}
        return self._c.term_counts[key]

    def filtered_chunk_ids(self, where: ChunkFilter) -> np.ndarray:
        expression = self._writes.visible()
        if where.since:
            expression += f" and published >= {_epoch(where.since)}"
        if where.until:
            expression += f" and published <= {_epoch(where.until)} and published > {NO_TIME}"
        if where.tags:
            expression += f" and array_contains_any(tag_keys, {_strings(tag.casefold() for tag in where.tags)})"
        if where.outlets:
            expression += f" and outlet in {_strings(where.outlets)}"
        return self._ids(expression)

    def _ids(self, expression: str) -> np.ndarray:
        if self._writes.top == 0:
            return np.zeros(0, dtype=np.int64)
        rows = self._c.rows(self._c.chunks, expression, ["id", "owner", "batch"])
        found = self._live_rows([{"id": row["id"], "entity": row} for row in rows])
        return np.array(sorted(int(row["id"]) for row in found), dtype=np.int64)

    def embargoed_chunk_ids(self, moment: datetime) -> np.ndarray:
        key = self._writes.key
        if key not in self._c.embargoes:
            if self._writes.top == 0:
                found: list[dict] = []
            else:
                expression = f"{self._writes.visible()} and kind == 'article' and embargoed > {NO_TIME}"
                rows = self._c.rows(self._c.chunks, expression, ["id", "owner", "batch", "embargoed"])
                found = self._live_rows([{"id": row["id"], "entity": row} for row in rows])
            ids = np.array([row["id"] for row in found], dtype=np.int64)
            ends = np.array([row["entity"]["embargoed"] for row in found], dtype=np.int64)
            self._c.embargoes = {key: (ids, ends)}
        ids, ends = self._c.embargoes[key]
        return np.sort(ids[ends > _epoch(moment)])

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        rows = self._c.client.query(
            self._c.chunks,
            ids=[int(i) for i in ids],
            output_fields=["id", "kind", "owner", "position", "start", "end", "text"],
        )
        return {
            int(row["id"]): StoredChunk(
                int(row["id"]),
                ChunkKind(row["kind"]),
                row["owner"],
                int(row["position"]),
                Span(int(row["start"]), int(row["end"])),
                row["text"],
            )
            for row in rows
        }

    def _newest(self, rows: Iterable[dict]) -> dict[str, _Head]:
        """Each owner's newest version among ``rows`` (head rows of visible writes); removed ones left out."""
        newest: dict[str, _Head] = {}
        for row in rows:
            known = newest.get(row["owner"])
            if known is None or row["batch"] > known.batch:
                newest[row["owner"]] = _Head(
                    row["owner"], int(row["batch"]), row["kind"], json.loads(row["record"] or "{}"), row["story"]
                )
        return {owner: head for owner, head in newest.items() if head.kind != "removed"}

    def _head_rows(self, field_name: str, values: Iterable[str], fields: list[str]) -> list[dict]:
        """The first rows of visible owner versions whose ``field_name`` is one of ``values``."""
        wanted = list(dict.fromkeys(values))
        if not wanted or self._writes.top == 0:
            return []
        rows: list[dict] = []
        for part in _slices(wanted):
            rows += self._c.client.query(
                self._c.owners,
                filter=f"{self._writes.visible()} and part == 0 and {field_name} in {_strings(part)}",
                output_fields=fields,
            )
        return rows

    def _heads(self, owner_ids: Iterable[str]) -> dict[str, _Head]:
        return self._newest(self._head_rows("owner", owner_ids, HEAD_FIELDS))

    def _all_heads(self, kind: str | None = None) -> dict[str, _Head]:
        if self._writes.top == 0:
            return {}
        expression = f"{self._writes.visible()} and part == 0"
        heads = self._newest(self._c.rows(self._c.owners, expression, HEAD_FIELDS))
        return {owner: head for owner, head in heads.items() if kind is None or head.kind == kind}

    def owners(self, ids: Iterable[str]) -> dict[str, StoredOwner]:
        return {owner: head.stored_owner() for owner, head in self._heads(ids).items()}

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(article_ids))
        heads = self._heads(ids)
        return {
            article_id: (heads[article_id].story if article_id in heads else "") or article_id for article_id in ids
        }

    def story_members(self, story_ids: Iterable[str], moment: datetime | None = None) -> dict[str, list[StoredOwner]]:
        ids = list(dict.fromkeys(story_ids))
        heads = self._heads(row["owner"] for row in self._head_rows("story", ids, ["owner"]))
        members: dict[str, list[tuple[str, str, StoredOwner]]] = {}
        for head in heads.values():
            if head.kind != ChunkKind.ARTICLE.value or head.story not in ids:
                continue
            owner = head.stored_owner()
            embargo = owner.wire.embargoed if owner.wire else None
            if moment is not None and embargo is not None and embargo > moment:
                continue
            order = _iso(owner.published) or ""
            members.setdefault(head.story, []).append((order, owner.id, owner))
        return {
            story: [owner for *_key, owner in sorted(found, key=lambda m: m[:2])] for story, found in members.items()
        }

    def _body(self, head: _Head) -> str:
        parts = int(head.record.get("parts", 1))
        keys = [_row_key(head.owner, head.batch, part) for part in range(parts)]
        rows = self._c.client.query(self._c.owners, ids=keys, output_fields=["part", "body"])
        if len(rows) != parts:
            raise ArchiveIndexError(f"{self._c.location.text}: article {head.owner} lacks {parts - len(rows)} part(s)")
        return "".join(row["body"] for row in sorted(rows, key=lambda row: row["part"]))

    def _article(self, head: _Head) -> Article:
        record = head.record
        body = self._body(head)
        return Article(
            id=head.owner,
            title=record["title"],
            published=head.published,
            paragraphs=tuple(body.split(PARAGRAPH_SEPARATOR)) if body else (),
            tags=tuple(record["tags"]),
            source=record.get("source"),
            url=record.get("url"),
            source_path=record.get("source_path") or "",
            repairs=int(record.get("repairs", 0)),
            wire=_wire_of(record.get("wire")),
        )

    def article(self, article_id: str) -> Article | None:
        head = self._heads([article_id]).get(article_id)
        return self._article(head) if head and head.kind == ChunkKind.ARTICLE.value else None

    def articles(self) -> Iterator[Article]:
        heads = sorted(self._all_heads(ChunkKind.ARTICLE.value).values(), key=lambda head: head.record["order"])
        for head in heads:
            yield self._article(head)

    def teasers(self) -> list[tuple[Teaser, str | None]]:
        heads = sorted(self._all_heads(ChunkKind.TEASER.value).values(), key=lambda head: head.record["order"])
        return [
            (
                Teaser(head.record["title"], head.record["text"], head.record.get("section"), head.published),
                head.record.get("first_seen_in"),
            )
            for head in heads
        ]

    def outlets(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for head in self._all_heads(ChunkKind.ARTICLE.value).values():
            if head.record.get("source"):
                counts[head.record["source"]] = counts.get(head.record["source"], 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])

    def tags(self) -> list[tuple[str, int]]:
        counts: dict[str, list] = {}
        for head in self._all_heads().values():
            for tag in head.stored_owner().tags:
                entry = counts.setdefault(tag.casefold(), [tag, 0])
                entry[1] += 1
        return sorted(((tag, count) for tag, count in counts.values()), key=lambda item: (-item[1], item[0]))

    def wire_counts(self, moment: datetime) -> tuple[int, int]:
        embargoed = withdrawn = 0
        for head in self._all_heads(ChunkKind.ARTICLE.value).values():
            wire = _wire_of(head.record.get("wire"))
            if wire is None:
                continue
            embargoed += wire.embargoed is not None and wire.embargoed > moment
            withdrawn += wire.pubstatus in ("canceled", "withheld")
        return embargoed, withdrawn


def _row_key(owner: str, batch: int, part: int) -> str:
    return f"{owner}#{batch}#{part}"


class MilvusBatch:
    """One write to the archive on Milvus, held in memory and applied by :meth:`MilvusStore.write`."""

    def __init__(self, view: MilvusView, fresh: bool) -> None:
        self.view = view
        self.fresh = fresh
        self.pending: dict[str, _Pending | None] = {}
        """Each owner this write changes: its new version, or ``None`` where it is removed."""

    def _stored(self, owner_id: str) -> _Head | None:
        if self.fresh:
            return None
        return self.view._heads([owner_id]).get(owner_id)

    def find_article(self, article_id: str) -> tuple[str, str] | None:
        if article_id in self.pending:
            pending = self.pending[article_id]
            if pending is None or pending.kind != ChunkKind.ARTICLE.value:
                return None
            return article_id, pending.record["content_hash"]
        head = self._stored(article_id)
        if head is None or head.kind != ChunkKind.ARTICLE.value:
            return None
        return article_id, head.record["content_hash"]

    def find_same_story(self, title: str, published: datetime | None) -> tuple[str, str] | None:
        if published is None:
            return None
        for owner, pending in self.pending.items():
            if (
                pending
                and pending.kind == ChunkKind.ARTICLE.value
                and (pending.title, pending.published)
                == (
                    title,
                    published,
                )
            ):
                return owner, pending.record["content_hash"]
        if self.fresh:
            return None
        heads = self.view._heads(
            row["owner"]
            for row in self.view._c.client.query(
                self.view._c.owners,
                filter=f"{self.view._writes.visible()} and part == 0 and kind == 'article'"
                f" and title == {_literal(title[:TITLE_LIMIT])} and published == {_epoch(published)}",
                output_fields=["owner"],
            )
        )
        for owner, head in sorted(heads.items()):
            if owner not in self.pending and head.record["title"] == title:
                return owner, head.record["content_hash"]
        return None

    def has_teaser(self, teaser_id: str) -> bool:
        if teaser_id in self.pending:
            return self.pending[teaser_id] is not None
        head = self._stored(teaser_id)
        return head is not None and head.kind == ChunkKind.TEASER.value

    def reusable_vectors(self, owner_id: str) -> dict[str, np.ndarray]:
        pending = self.pending.get(owner_id)
        if pending is not None:
            return {chunk.text_hash: vector for chunk, vector in zip(pending.chunks, pending.vectors, strict=True)}
        head = self._stored(owner_id)
        if head is None:
            return {}
        rows = self.view._c.client.query(
            self.view._c.chunks,
            filter=f"owner == {_literal(owner_id)} and batch == {head.batch}",
            output_fields=["embed_hash", "vector"],
        )
        return {row["embed_hash"]: np.asarray(row["vector"], dtype=np.float32) for row in rows}

    def wire_version(self, article_id: str) -> int | None:
        pending = self.pending.get(article_id)
        record = pending.record if pending else None
        if record is None and article_id not in self.pending:
            head = self._stored(article_id)
            record = head.record if head else None
        wire = (record or {}).get("wire")
        return int(wire["version"]) if wire else None

    def put_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        record = {
            "title": article.title,
            "published": _iso(article.published),
            "tags": list(article.tags),
            "source": article.source,
            "url": article.url,
            "source_path": article.source_path,
            "repairs": article.repairs,
            "content_hash": article.content_hash,
            "wire": _wire_json(article.wire),
            "chunks": len(chunks),
        }
        self.pending[article.id] = _Pending(
            kind=ChunkKind.ARTICLE.value,
            record=record,
            chunks=list(chunks),
            vectors=np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1),
            body=article.body,
            published=article.published,
            title=article.title,
            tag_keys=[tag.casefold() for tag in article.tags],
            outlet=article.source or "",
            embargoed=article.wire.embargoed if article.wire else None,
        )

    def put_teaser(self, teaser: Teaser, seen_in: str, chunk: Chunk, vector: np.ndarray) -> None:
        record = {
            "title": teaser.title,
            "text": teaser.text,
            "section": teaser.section,
            "published": _iso(teaser.published),
            "first_seen_in": seen_in,
            "chunks": 1,
        }
        self.pending[teaser.id] = _Pending(
            kind=ChunkKind.TEASER.value,
            record=record,
            chunks=[chunk],
            vectors=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            published=teaser.published,
            title=teaser.title,
            tag_keys=[teaser.section.casefold()] if teaser.section else [],
        )

    def join_story(self, article_id: str, fingerprint: Fingerprint) -> str:
        keys = [_signed(key) for key in fingerprint.bands]
        candidates: list[tuple[str, bytes]] = []
        stories: dict[str, str] = {}
        wanted = set(keys)
        for owner, pending in self.pending.items():
            prints = pending.fingerprint if pending else None
            if owner != article_id and prints is not None and wanted & {_signed(key) for key in prints.bands}:
                candidates.append((owner, prints.to_bytes()))
                stories[owner] = pending.story or owner
        if not self.fresh:
            rows = self.view._c.client.query(
                self.view._c.owners,
                filter=f"{self.view._writes.visible()} and part == 0 and kind == 'article'"
                f" and array_contains_any(bands, {_numbers(keys)})",
                output_fields=["owner"],
            )
            for owner, head in self.view._heads(row["owner"] for row in rows).items():
                if owner != article_id and owner not in self.pending and head.record.get("signature"):
                    candidates.append((owner, base64.b64decode(head.record["signature"])))
                    stories[owner] = head.story or owner
        copy_of = best_copy(fingerprint, candidates)
        story = stories[copy_of] if copy_of is not None else article_id
        pending = self.pending[article_id]
        if pending is not None:
            pending.story, pending.fingerprint = story, fingerprint
            pending.record["signature"] = base64.b64encode(fingerprint.to_bytes()).decode()
        return story

    def delete_owner(self, owner_id: str) -> None:
        self.pending[owner_id] = None


class MilvusStore:
    """An archive on Milvus (see the module's docstring for how a write becomes visible)."""

    def __init__(self, location: str, model: str, dimension: int, lock_timeout: float = LOCK_WAIT_SECONDS) -> None:
        self.where = MilvusLocation.parse(location)
        self.location = location
        self.model = model
        self.dimension = dimension
        self.lock_timeout = lock_timeout
        self._c = _Collections(self.where, dimension)
        self._lock_handle = None

    @property
    def path(self) -> Path:
        """Where uploads are staged before they are imported."""
        if self.where.file is not None:
            return self.where.file.with_suffix(".files")
        return Path(gettempdir()) / "archive-qa" / self.where.name

    def exists(self) -> bool:
        return self._c.exist() and _read_writes(self._c)[0] is not None

    def _check_meta(self, meta: dict) -> None:
        if meta.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{self.location}: archive format version {meta.get('format_version')}, this version of qa reads "
                f"{FORMAT_VERSION}; run `qa rebuild --index {self.location}` to rebuild it from its articles"
            )
        if meta.get("model") != self.model or meta.get("dimension") != self.dimension:
            raise IndexMismatchError(
                f"{self.location}: archive built with model {meta.get('model')} (dimension {meta.get('dimension')}), "
                f"but qa embeds with {self.model} (dimension {self.dimension}); "
                f"run `qa rebuild --index {self.location}` to re-embed its articles"
            )

    def snapshot(self, check: bool = True) -> MilvusView:
        if not self._c.exist():
            return MilvusView(self._c, _writes_state([]))
        self._c.load()
        meta, rows = _read_writes(self._c)
        if meta is not None and check:
            self._check_meta(meta)
        return MilvusView(self._c, _writes_state(rows))

    def stored_content(self) -> tuple[list[Article], list[tuple[Teaser, str | None]]]:
        if not self._c.exist():
            return [], []
        view = self.snapshot(check=False)
        return list(view.articles()), view.teasers()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """milvus-lite: a lock file beside the database, which also says what the write is doing.
        A server: none (see :data:`STALE_WRITE_SECONDS`)."""
        if self.where.file is None:
            yield
            return
        self.where.file.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.where.file}.write.lock", "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise IndexBusyError(
                            f"{self.location}: another import is writing to this archive; try again when it is done"
                        ) from None
                    time.sleep(0.2)
            self._lock_handle = handle
            try:
                yield
            finally:
                self._lock_handle = None
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _say(self, state: str) -> None:
        if self._lock_handle is not None:
            self._lock_handle.seek(0)
            self._lock_handle.truncate()
            self._lock_handle.write(f"pid {os.getpid()}: {state}\n")
            self._lock_handle.flush()

    def _recover(self, rows: list[dict]) -> None:
        """Delete what interrupted writes left, and finish the cleanup of committed ones."""
        now = time.time()
        for row in rows:
            info = json.loads(row["info"])
            if row["state"] == BEGUN:
                if self.where.file is None and now - info.get("started", 0) < STALE_WRITE_SECONDS:
                    raise IndexBusyError(
                        f"{self.location}: write {row['id']} begun by {info.get('writer')} is still running; "
                        "try again when it has finished"
                    )
                logger.info("%s: removing the rows of interrupted write %d", self.location, row["id"])
                self._c.delete(self._c.chunks, f"batch == {row['id']}")
                self._c.delete(self._c.owners, f"batch == {row['id']}")
                self._c.client.delete(self._c.writes, ids=[row["id"]])
            elif row["state"] == DONE:
                self._clean(row["id"], bool(info.get("fresh")))

    def _clean(self, batch: int, fresh: bool) -> None:
        """Delete the rows that write ``batch`` replaced, then mark it clean."""
        if fresh:
            self._c.delete(self._c.chunks, f"batch < {batch}")
            self._c.delete(self._c.owners, f"batch < {batch}")
        else:
            owners = sorted({row["owner"] for row in self._c.rows(self._c.owners, f"batch == {batch}", ["owner"])})
            for part in _slices(owners):
                older = f"batch < {batch} and owner in {_strings(part)}"
                self._c.delete(self._c.chunks, older)
                self._c.delete(self._c.owners, older)
        self._c.delete(self._c.owners, f"batch == {batch} and kind == 'removed'")
        info = json.loads(self._c.client.query(self._c.writes, ids=[batch], output_fields=["info"])[0]["info"])
        self._put_write(batch, CLEAN, info)

    def _put_write(self, batch: int, state: str, info: dict) -> None:
        self._c.client.upsert(
            self._c.writes, [{"id": batch, "state": state, "info": json.dumps(info), "mark": [0.0, 0.0]}]
        )

    @contextlib.contextmanager
    def write(self, fresh: bool = False, layout: VectorLayout | None = None) -> Iterator[MilvusBatch]:
        """A write held in memory while the caller fills it, then applied (see the module's docstring).
        ``layout`` has no say here: Milvus chooses its own index (``AUTOINDEX``)."""
        if layout not in (None, VectorLayout.AUTO):
            logger.info("%s: the vector layout is Milvus's to choose; %s ignored", self.location, layout)
        with self._write_lock():
            self._c.create()
            meta, rows = _read_writes(self._c)
            if meta is None:
                meta = {
                    "format_version": FORMAT_VERSION,
                    "model": self.model,
                    "dimension": self.dimension,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                self._put_write(META_ROW, CLEAN, meta)
            elif not fresh:
                self._check_meta(meta)
            self._recover(rows)
            meta, rows = _read_writes(self._c)
            view = MilvusView(self._c, _writes_state(rows))
            batch = MilvusBatch(view, fresh)
            yield batch
            if not batch.pending and not fresh:
                return
            self._apply(batch, max((row["id"] for row in rows), default=0) + 1)
            rebuilt = {"format_version": FORMAT_VERSION, "model": self.model, "dimension": self.dimension}
            if fresh and any(meta.get(key) != value for key, value in rebuilt.items()):
                self._put_write(META_ROW, CLEAN, {**meta, **rebuilt})

    def _apply(self, batch: MilvusBatch, number: int) -> None:
        view = batch.view
        writer = f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        started = {"started": time.time(), "writer": writer, "fresh": batch.fresh}
        self._put_write(number, BEGUN, started)
        (claimed,) = self._c.client.query(self._c.writes, ids=[number], output_fields=["info"])
        if json.loads(claimed["info"]).get("writer") != writer:
            raise IndexBusyError(f"{self.location}: another writer took write {number} at the same moment; try again")
        self._say(f"write {number} begun")
        previous = {} if batch.fresh else view._heads(batch.pending)
        chunk_rows, owner_rows = [], []
        order = number << 32
        for owner, pending in batch.pending.items():
            order += 1
            if pending is None:
                owner_rows.append(self._owner_row(owner, number, 0, "removed", {}, "", "", NO_TIME, "", []))
                continue
            for chunk, vector in zip(pending.chunks, pending.vectors, strict=True):
                chunk_rows.append(
                    {
                        "id": (number << 32) + len(chunk_rows) + 1,
                        "vector": vector.tolist(),
                        "terms": document_terms(chunk.embed_text)[:TEXT_LIMIT],
                        "batch": number,
                        "kind": chunk.kind.value,
                        "owner": owner,
                        "position": chunk.position,
                        "start": chunk.span.start,
                        "end": chunk.span.end,
                        "text": chunk.text,
                        "embed_hash": chunk.text_hash,
                        "published": _epoch(pending.published),
                        "embargoed": _epoch(pending.embargoed),
                        "tag_keys": pending.tag_keys,
                        "outlet": pending.outlet,
                    }
                )
            parts = [pending.body[i : i + BODY_PART] for i in range(0, len(pending.body), BODY_PART)] or [""]
            record = {**pending.record, "parts": len(parts), "order": order}
            bands = [_signed(key) for key in pending.fingerprint.bands] if pending.fingerprint else []
            for part, text in reversed(list(enumerate(parts))):
                owner_rows.append(
                    self._owner_row(
                        owner,
                        number,
                        part,
                        pending.kind,
                        record if part == 0 else {},
                        text,
                        pending.title,
                        _epoch(pending.published),
                        pending.story if part == 0 else "",
                        bands if part == 0 else [],
                    )
                )
        for rows in _slices(chunk_rows):
            self._c.client.insert(self._c.chunks, list(rows))
        for rows in _slices(owner_rows, 64):
            self._c.client.upsert(self._c.owners, list(rows))
        counts = self._counts(view, batch, previous)
        self._put_write(number, DONE, {**started, "finished": time.time(), "counts": asdict(counts)})
        logger.info("%s: write %d committed: %s", self.location, number, counts)
        self._say(f"write {number} committed")
        self._clean(number, batch.fresh)
        self._say(f"write {number} clean")

    @staticmethod
    def _owner_row(
        owner: str,
        batch: int,
        part: int,
        kind: str,
        record: dict,
        body: str,
        title: str,
        published: int,
        story: str,
        bands: list[int],
    ) -> dict:
        return {
            "key": _row_key(owner, batch, part),
            "owner": owner,
            "batch": batch,
            "part": part,
            "kind": kind,
            "record": json.dumps(record, ensure_ascii=False) if record else "",
            "body": body,
            "title": title[:TITLE_LIMIT],
            "published": published,
            "story": story,
            "bands": bands,
            "mark": [0.0, 0.0],
        }

    def _counts(self, view: MilvusView, batch: MilvusBatch, previous: dict[str, _Head]) -> IndexCounts:
        before = IndexCounts() if batch.fresh else view.counts()
        articles, chunks, teasers = before.articles, before.chunks, before.teasers
        newest = berlin_time(before.newest_article) if before.newest_article else None
        lost_newest = False
        for head in previous.values():
            if head.kind == ChunkKind.ARTICLE.value:
                articles -= 1
                chunks -= int(head.record.get("chunks", 0))
                lost_newest |= newest is not None and head.published == newest
            elif head.kind == ChunkKind.TEASER.value:
                teasers -= 1
        for pending in batch.pending.values():
            if pending is None:
                continue
            if pending.kind == ChunkKind.ARTICLE.value:
                articles += 1
                chunks += len(pending.chunks)
                if pending.published and (newest is None or pending.published > newest):
                    newest, lost_newest = pending.published, False
            else:
                teasers += 1
        if lost_newest:
            kept = [
                head.published
                for owner, head in view._all_heads(ChunkKind.ARTICLE.value).items()
                if owner not in batch.pending
            ]
            kept += [p.published for p in batch.pending.values() if p and p.kind == ChunkKind.ARTICLE.value]
            newest = max((moment for moment in kept if moment), default=None)
        return IndexCounts(
            articles=articles,
            chunks=chunks,
            teasers=teasers,
            vectors=chunks + teasers,
            newest_article=newest.isoformat() if newest else None,
        )

    def check(self) -> list[str]:
        """Every problem found, read in full: what built the archive, that every visible chunk
        has its article's committed record and every article its chunks and body, and the counts."""
        if not self._c.exist():
            return []
        self._c.load()
        meta, rows = _read_writes(self._c)
        if meta is None:
            return [f"{self.location}: the record of what built the archive is missing; run `qa rebuild`"]
        problems = []
        try:
            self._check_meta(meta)
        except IndexMismatchError as error:
            problems.append(str(error))
        view = MilvusView(self._c, _writes_state(rows))
        heads = view._all_heads()
        chunk_owners: dict[str, int] = {}
        strays = 0
        for row in self._c.rows(self._c.chunks, view._writes.visible(), ["owner", "batch"]):
            head = heads.get(row["owner"])
            if head is None or head.batch != row["batch"]:
                strays += 1
            else:
                chunk_owners[row["owner"]] = chunk_owners.get(row["owner"], 0) + 1
        if strays and not view._writes.unclean:
            problems.append(f"{strays} chunks whose article or teaser is missing")
        for owner, head in heads.items():
            expected = int(head.record.get("chunks", 0))
            if chunk_owners.get(owner, 0) != expected:
                problems.append(f"{owner}: {chunk_owners.get(owner, 0)} chunks stored, its record says {expected}")
            if head.kind == ChunkKind.ARTICLE.value:
                try:
                    view._body(head)
                except ArchiveIndexError as error:
                    problems.append(str(error))
        counts = view.counts()
        actual = (
            sum(head.kind == ChunkKind.ARTICLE.value for head in heads.values()),
            sum(head.kind == ChunkKind.TEASER.value for head in heads.values()),
            sum(chunk_owners.values()),
        )
        if actual != (counts.articles, counts.teasers, counts.vectors):
            problems.append(
                f"counts (articles, teasers, vectors) are {actual}, the last write says "
                f"{(counts.articles, counts.teasers, counts.vectors)}"
            )
        return problems

    def close(self) -> None:
        """Let go of the database (milvus-lite: so that another process may open it)."""
        if self._c._client is not None:
            self._c._client.close()
            self._c._client = None
            self._c._loaded = False
            if self.where.file is not None:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.where.uri)

    def drop(self) -> None:
        """Delete the archive's collections (and close the client)."""
        if self._c._client is not None:
            for name in (self._c.chunks, self._c.owners, self._c.writes):
                if self._c.client.has_collection(name):
                    self._c.client.drop_collection(name)
            self._c._exist = False
            self.close()

    def leftovers(self) -> list[str]:
        """Writes begun and never committed (their rows are invisible; the next write removes them)."""
        if not self._c.exist():
            return []
        self._c.load()
        _meta, rows = _read_writes(self._c)
        return [
            f"write {row['id']} by {json.loads(row['info']).get('writer')} was interrupted before its commit"
            for row in rows
            if row["state"] == BEGUN
        ]
