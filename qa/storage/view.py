"""A published generation of the embedded index, read-only: what one query reads."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

import faiss
import numpy as np

from qa.lexical import Bm25Statistics, LexicalQuery, Phrase, bm25_ceiling, fts5_tokens
from qa.records import Article, ChunkKind, Span, Teaser, WireInfo
from qa.storage.base import ChunkFilter, IndexCounts, StoredChunk, StoredOwner
from qa.storage.files import Manifest
from qa.storage.metadata import ARTICLE_COLUMNS, WIRE_COLUMNS, article_from_row, berlin_time, utc_iso, wire_from_row
from qa.vectors import VectorLayout, search_parameters

COMMON_ROWS = 4_000
"""A prefix in more chunks than this is left out of a query where its word's own stem is found
(see :meth:`Snapshot._narrowed`)."""
SELECTIVE_ROWS = 8_000
"""How many chunks the rarest phrases of a query may hold together and still each bring a chunk
into a lexical search's candidates (see :meth:`Snapshot.lexical_search`): FTS5 takes about
1.2 µs to rank each chunk a query matches, and a search ranks these chunks twice at most. An
archive of up to twice as many chunks is ranked whole. Measured at 1M chunks on 430 questions
(bench/bm25_pruning.py, AVX2 Zen 3): p95 56 ms with the top 10 scores identical to FTS5's for
421 questions, as many as with the earlier rule (each phrase in at most 4,000 chunks: p95 79 ms);
4,000 together gave 38 ms and 404, 16,000 72 ms and 428."""
PHRASE_CACHE = 4096


RANKED = "FROM chunk_terms WHERE chunk_terms MATCH ? ORDER BY bm25(chunk_terms) LIMIT ?"


def selective_phrases(
    phrases: Sequence[Phrase], rows: dict[Phrase, int], chunks: int
) -> tuple[list[Phrase], list[Phrase]]:
    """The phrases of a query that occur somewhere, split into the rarest, which hold at most
    :data:`SELECTIVE_ROWS` chunks together (at least one phrase), and the common rest; each in
    the query's order and as often as it stands there, as FTS5's ``bm25()`` counts it. Where
    ranking every match costs no more than the split's two rankings (an archive of up to twice
    as many ``chunks``), every phrase is selective."""
    found = [p for p in phrases if rows.get(p, 0) > 0]
    distinct = set(found)
    if min(chunks, sum(rows[p] for p in distinct)) <= 2 * SELECTIVE_ROWS:
        return found, []
    chosen: set[Phrase] = set()
    total = 0
    for phrase in sorted(distinct, key=lambda p: (rows[p], p.fts5())):
        total += rows[phrase]
        if chosen and total > SELECTIVE_ROWS:
            break
        chosen.add(phrase)
    return [p for p in found if p in chosen], [p for p in found if p not in chosen]


def sqlite_varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at ``data[at:]`` in SQLite's encoding, and the offset after it."""
    value = 0
    for n in range(8):
        byte = data[at + n]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + n + 1
    return (value << 8) | data[at + 8], at + 9


class Snapshot:
    """One published generation, read-only: vectors in memory, metadata in SQLite."""

    def __init__(self, manifest: Manifest | None, vectors: faiss.Index, metadata: sqlite3.Connection) -> None:
        self.manifest = manifest
        self.vectors = vectors
        self._db = metadata
        self._lock = threading.Lock()
        self._tables: dict[str, bool] = {}
        self._fts_totals: tuple[int, float] | None = None
        self._phrase_rows: dict[Phrase, int] = {}
        self._statistics_lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self.manifest.generation if self.manifest else 0

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def counts(self) -> IndexCounts:
        return self.manifest.counts if self.manifest else IndexCounts()

    @property
    def size(self) -> int:
        return int(self.vectors.ntotal)

    @property
    def index_type(self) -> str:
        return self.manifest.faiss_type if self.manifest else "(empty)"

    @property
    def layout(self) -> str:
        return self.manifest.vector_layout if self.manifest else VectorLayout.AUTO.value

    def similarities(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """The cosine of ``query`` and each chunk's vector (unit vectors: their inner product)."""
        if not ids:
            return {}
        vectors = np.vstack([self.vectors.reconstruct(int(i)) for i in ids])
        return dict(zip(ids, (vectors @ query).tolist(), strict=True))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest chunk ids by inner product, optionally among ``allowed`` ids only,
        never ``hidden`` ones."""
        if self.vectors.ntotal == 0 or k <= 0:
            return []
        if allowed is not None and len(allowed) == 0:
            return []
        params = search_parameters(self.vectors, allowed, hidden)
        scores, ids = self.vectors.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def lexical_search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, hidden: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best chunk ids by BM25 over their stemmed terms (higher is better), among
        ``allowed`` ones only where given, never ``hidden`` ones.

        FTS5 scores every chunk a query matches before it can sort them, and a common word
        ("Menschen", or the prefix "unter*") matches a tenth of a large archive: 130 ms at 1M
        chunks. So only chunks that hold a selective phrase of the query are ranked (its rarest
        phrases, as many as hold at most :data:`SELECTIVE_ROWS` chunks together, at least one):
        those that hold a common phrase too by FTS5 (``selective AND common``), and the best of
        the rest by their selective phrases, scored again with every phrase as FTS5 would
        (``Bm25Statistics``). Among chunks holding a selective phrase the ranking is FTS5's
        own; a chunk holding only common words is missed, and ``bench/bm25_pruning.py``
        measures how often that changes the ranking."""
        phrases = self._narrowed(query).phrases
        if not phrases or k <= 0:
            return []
        if allowed is not None and len(allowed) == 0:
            return []
        hiding = hidden is not None and len(hidden) > 0
        fetch = (k if allowed is None else max(k * 4, 200)) + (len(hidden) if hiding else 0)
        statistics = self._bm25_statistics(phrases)
        found = {p: n for p, n in statistics.phrase_rows.items() if n > 0}
        if not found:
            return []
        selective, common = selective_phrases(phrases, found, statistics.rows)
        if not common:
            rows = self._query(f"SELECT rowid, -bm25(chunk_terms) {RANKED}", (_expression(phrases), fetch))
        else:
            both = f"({_expression(selective)}) AND ({_expression(common)})"
            scores = dict(self._query(f"SELECT rowid, -bm25(chunk_terms) {RANKED}", (both, fetch)))
            best = [rowid for (rowid,) in self._query(f"SELECT rowid {RANKED}", (_expression(selective), fetch))]
            unscored = [rowid for rowid in best if rowid not in scores]
            for rowid, terms in self._terms(unscored):
                scores[rowid] = statistics.score(phrases, terms)
            rows = sorted(scores.items(), key=lambda row: row[1], reverse=True)[:fetch]
        if allowed is not None and rows:
            permitted = members(np.array([row[0] for row in rows], dtype=np.int64), allowed)
            rows = [row for row, keep in zip(rows, permitted, strict=True) if keep]
        if hiding:
            unseen = set(hidden.tolist())
            rows = [row for row in rows if row[0] not in unseen]
        return [(int(row[0]), float(row[1])) for row in rows[:k]]

    def _bm25_statistics(self, phrases: Sequence[Phrase]) -> Bm25Statistics:
        """The table's row count and average length (FTS5's averages record), and each phrase's
        row count: from the vocabulary for one whole term, else counted (and remembered)."""
        if self._fts_totals is None:
            found = self._query("SELECT block FROM chunk_terms_data WHERE id = 1")
            block = found[0][0] if found else b""
            rows, at = sqlite_varint(block, 0) if block else (0, 0)
            tokens = sqlite_varint(block, at)[0] if rows else 0
            self._fts_totals = (rows, tokens / rows if rows else 1.0)
        with self._statistics_lock:
            known = {p: self._phrase_rows[p] for p in phrases if p in self._phrase_rows}
        unknown = [p for p in dict.fromkeys(phrases) if p not in known]
        single = [p for p in unknown if len(p.tokens) == 1 and not p.prefix]
        if single:
            found = self.term_frequencies([p.tokens[0] for p in single])
            for phrase in single:
                known[phrase] = found.get(phrase.tokens[0], 0)
        for phrase in unknown:
            if phrase not in known:
                sql = "SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?"
                ((count,),) = self._query(sql, (phrase.fts5(),))
                known[phrase] = int(count)
        with self._statistics_lock:
            self._phrase_rows.update((phrase, known[phrase]) for phrase in unknown)
            while len(self._phrase_rows) > PHRASE_CACHE:
                del self._phrase_rows[next(iter(self._phrase_rows))]
        rows, average = self._fts_totals
        return Bm25Statistics(rows, average, {p: known[p] for p in phrases})

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story each article belongs to (articles without a fingerprint are their own)."""
        ids = list(dict.fromkeys(article_ids))
        found = {article_id: article_id for article_id in ids}
        if ids and self._has_table("story_prints"):
            marks = ",".join("?" * len(ids))
            rows = self._query(f"SELECT article_id, story_id FROM story_prints WHERE article_id IN ({marks})", ids)
            found.update({row[0]: row[1] for row in rows})
        return found

    def story_members(self, story_ids: Iterable[str], moment: datetime | None = None) -> dict[str, list[StoredOwner]]:
        """Every article of each story, oldest first; none still under embargo at ``moment``."""
        ids = list(dict.fromkeys(story_ids))
        if not ids or not self._has_table("story_prints"):
            return {}
        marks = ",".join("?" * len(ids))
        embargo, params = "", list(ids)
        if moment is not None and self._keeps_wire_info():
            embargo = " AND NOT EXISTS (SELECT 1 FROM article_wire w WHERE w.article_id = a.id AND w.embargoed > ?)"
            params.append(utc_iso(moment))
        rows = self._query(
            f"SELECT p.story_id, a.id FROM story_prints p JOIN articles a ON a.id = p.article_id"
            f" WHERE p.story_id IN ({marks}){embargo} ORDER BY a.published, a.id",
            params,
        )
        owners = self.owners(row[1] for row in rows)
        members: dict[str, list[StoredOwner]] = {}
        for story, article_id in rows:
            members.setdefault(story, []).append(owners[article_id])
        return members

    def embargoed_chunk_ids(self, moment: datetime) -> np.ndarray:
        """Ids of the chunks of wire stories under an embargo that has not ended at ``moment``.
        The embargoed stories are found first and their chunks by owner (``CROSS JOIN`` fixes
        SQLite's join order): scanning the chunks cost 150 ms at 1M chunks."""
        if not self._keeps_wire_info():
            return np.zeros(0, dtype=np.int64)
        rows = self._query(
            "SELECT c.id FROM article_wire w CROSS JOIN chunks c ON c.owner_id = w.article_id"
            " WHERE w.embargoed > ? AND c.kind = 'article'",
            (utc_iso(moment),),
        )
        return np.array([row[0] for row in rows], dtype=np.int64)

    def wire_counts(self, moment: datetime) -> tuple[int, int]:
        """How many wire stories are under embargo at ``moment``, and how many were withdrawn."""
        if not self._keeps_wire_info():
            return 0, 0
        ((embargoed, withdrawn),) = self._query(
            "SELECT coalesce(sum(embargoed > ?), 0), coalesce(sum(pubstatus IN ('canceled', 'withheld')), 0)"
            " FROM article_wire",
            (utc_iso(moment),),
        )
        return int(embargoed), int(withdrawn)

    def lexical_scores(self, query: LexicalQuery, ids: Sequence[int]) -> dict[int, float]:
        """BM25 scores of the given chunks (absent: no term matched), as FTS5 would give them.
        Computed here from their terms: FTS5 runs the whole query once for every rowid it
        is asked about (9 ms each at 1M chunks)."""
        phrases = self._narrowed(query).phrases
        if not phrases or not ids:
            return {}
        statistics = self._bm25_statistics(phrases)
        scores = {int(rowid): statistics.score(phrases, terms) for rowid, terms in self._terms(ids)}
        return {rowid: score for rowid, score in scores.items() if score > 0}

    def _terms(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        """The stemmed terms of the given chunks, looked up by rowid: asking for them beside
        ``ORDER BY bm25() LIMIT`` made SQLite's sorter read them for every chunk ranked."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._query(f"SELECT rowid, terms FROM chunk_terms WHERE rowid IN ({marks})", list(ids))

    def lexical_ceiling(self, query: LexicalQuery) -> float:
        query = self._narrowed(query)
        return bm25_ceiling(query, self.term_frequencies(query.terms), self.size)

    def _narrowed(self, query: LexicalQuery) -> LexicalQuery:
        """``query`` less the prefixes that match more than :data:`COMMON_ROWS` chunks where a
        whole term of the same word that begins with the prefix is found: "Unterhändler" is
        searched as unterhandl, not also as unter* (120,000 chunks of 1M). Where few chunks
        match a prefix it stays, so a small archive ranks as FTS5 with every prefix does."""
        phrases = [Phrase.of(term) for term in query.terms]
        rows = self._bm25_statistics([phrase for phrase in phrases if phrase.tokens]).phrase_rows

        def idle(prefix: str, term: str) -> bool:
            return rows.get(Phrase.of(prefix), 0) > COMMON_ROWS and rows.get(Phrase.of(term), 0) > 0

        return query.without_idle_prefixes(idle)

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many chunks each term occurs (terms that occur nowhere are absent). FTS5's
        vocabulary holds terms as its tokenizer folds them ("orban" for "orbán"), and so they are
        looked up."""
        if not terms:
            return {}
        folded = {term: tokens[0] for term in terms if not term.endswith("*") and len(tokens := fts5_tokens(term)) == 1}
        wanted = sorted(set(folded.values()))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._query(f"SELECT term, doc FROM chunk_terms_vocabulary WHERE term IN ({marks})", wanted)
        counts = {row[0]: int(row[1]) for row in rows}
        return {term: counts[token] for term, token in folded.items() if counts.get(token)}

    def present_prefixes(self, prefixes: Sequence[str]) -> set[str]:
        """One range lookup in FTS5's vocabulary per prefix (its terms are sorted)."""
        present = set()
        for prefix in dict.fromkeys(prefixes):
            folded = "".join(fts5_tokens(prefix))
            if folded and self._query(
                "SELECT 1 FROM chunk_terms_vocabulary WHERE term >= ? AND term < ? LIMIT 1",
                [folded, folded + "\U0010ffff"],
            ):
                present.add(prefix)
        return present

    def filtered_chunk_ids(self, where: ChunkFilter) -> np.ndarray:
        """The chunks ``where`` selects, found from their owners: the articles of a period by
        their date's index, then their chunks by the owner index alone (an article's id and a
        teaser's, ``teaser:…``, never meet, so a chunk's kind need not be read). Joining every
        chunk to its owner instead took 1.0-1.5 s at 1M chunks, for a month named or the newest
        period; this takes 0.14-0.23 s there (``bench/newest_period_cost.py``)."""
        if not (where.since or where.until or where.tags or where.outlets):
            return np.array([row[0] for row in self._query("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
        selects, params = [], []
        for owners, alias in (("articles", "a"), ("teasers", "t")):
            if owners == "teasers" and where.outlets:
                continue
            clauses, values = [], []
            if where.outlets:
                clauses.append(f"a.source IN ({','.join('?' * len(where.outlets))})")
                values.extend(where.outlets)
            if where.since:
                clauses.append(f"{alias}.published >= ?")
                values.append(utc_iso(where.since))
            if where.until:
                clauses.append(f"{alias}.published <= ?")
                values.append(utc_iso(where.until))
            if where.tags:
                marks = ",".join("?" * len(where.tags))
                tagged = f"EXISTS (SELECT 1 FROM article_tags g WHERE g.article_id = {alias}.id AND g.tag IN ({marks}))"
                values.extend(where.tags)
                if owners == "teasers":
                    tagged = f"({tagged} OR t.section COLLATE NOCASE IN ({marks}))"
                    values.extend(where.tags)
                clauses.append(tagged)
            selects.append(
                f"SELECT c.id FROM {owners} {alias} CROSS JOIN chunks c ON c.owner_id = {alias}.id"
                f" WHERE {' AND '.join(clauses)}"
            )
            params.extend(values)
        rows = self._query(" UNION ALL ".join(selects), params)
        return np.sort(np.array([row[0] for row in rows], dtype=np.int64))

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT id, kind, owner_id, position, start, end, text FROM chunks WHERE id IN ({marks})", list(ids)
        )
        return {
            row[0]: StoredChunk(row[0], ChunkKind(row[1]), row[2], row[3], Span(row[4], row[5]), row[6]) for row in rows
        }

    def owners(self, ids: Iterable[str]) -> dict[str, StoredOwner]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        found = {}
        for row in self._query(f"SELECT id, title, published, tags, source FROM articles WHERE id IN ({marks})", ids):
            found[row[0]] = StoredOwner(
                row[0], row[1], berlin_time(row[2]), tuple(json.loads(row[3])), ChunkKind.ARTICLE, row[4]
            )
        if self._keeps_wire_info():
            for row in self._query(
                f"SELECT article_id, {WIRE_COLUMNS} FROM article_wire WHERE article_id IN ({marks})", ids
            ):
                found[row[0]] = replace(found[row[0]], wire=wire_from_row(row[0], row[1:]))
        for row in self._query(f"SELECT id, title, published, section FROM teasers WHERE id IN ({marks})", ids):
            tags = (row[3],) if row[3] else ()
            found[row[0]] = StoredOwner(row[0], row[1], berlin_time(row[2]), tags, ChunkKind.TEASER)
        return found

    def outlets(self) -> list[tuple[str, int]]:
        """Every outlet (agency or publisher) with how many articles it gave, most first."""
        rows = self._query(
            "SELECT source, count(*) FROM articles WHERE source IS NOT NULL GROUP BY source ORDER BY count(*) DESC"
        )
        return [(row[0], row[1]) for row in rows]

    def tags(self) -> list[tuple[str, int]]:
        rows = self._query(
            "SELECT tag, count(*) FROM (SELECT tag FROM article_tags"
            " UNION ALL SELECT section FROM teasers WHERE section IS NOT NULL)"
            " GROUP BY tag COLLATE NOCASE ORDER BY count(*) DESC, tag"
        )
        return [(row[0], row[1]) for row in rows]

    def article(self, article_id: str) -> Article | None:
        rows = self._query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?",
            (article_id,),
        )
        return article_from_row(rows[0], self.wire_info(article_id)) if rows else None

    def articles(self) -> Iterator[Article]:
        with self._lock:
            rows = self._db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY rowid").fetchall()
        for row in rows:
            yield article_from_row(row, self.wire_info(row[0]))

    def wire_info(self, article_id: str) -> WireInfo | None:
        """The agency's facts of a wire story (an index written before they were kept has none)."""
        if not self._keeps_wire_info():
            return None
        rows = self._query(f"SELECT {WIRE_COLUMNS} FROM article_wire WHERE article_id = ?", (article_id,))
        return wire_from_row(article_id, rows[0]) if rows else None

    def _keeps_wire_info(self) -> bool:
        return self._has_table("article_wire")

    def _has_table(self, name: str) -> bool:
        """Whether this generation has the table (one written by an older version may not)."""
        if name not in self._tables:
            self._tables[name] = bool(self._query("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)))
        return self._tables[name]

    def teasers(self) -> list[tuple[Teaser, str | None]]:
        rows = self._query("SELECT title, text, section, published, first_seen_in FROM teasers ORDER BY rowid")
        return [(Teaser(r[0], r[1], r[2], berlin_time(r[3])), r[4]) for r in rows]


def _expression(phrases: Sequence[Phrase]) -> str:
    return " OR ".join(phrase.fts5() for phrase in phrases)


def members(ids: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Which of ``ids`` are in ``among``, a sorted array of ids (as ``filtered_chunk_ids`` gives
    them): a binary search per id, where a set of a large filter (164k ids) took 30 ms to build."""
    if len(among) == 0:
        return np.zeros(len(ids), dtype=bool)
    at = np.minimum(np.searchsorted(among, ids), len(among) - 1)
    return among[at] == ids
