"""Retrieval: a question -> the best chunks, one per article, with date and tag filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from qa.embedding import Embedder
from qa.records import Hit
from qa.store import IndexStore

_OVERFETCH = 4


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def chunks(
        self,
        question: str,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``limit`` best chunks, several per article allowed, best first."""
        if limit <= 0:
            raise ValueError(f"limit must be greater than 0, got {limit}")
        if since and until and since > until:
            raise ValueError(f"since ({since:%Y-%m-%d}) is after until ({until:%Y-%m-%d})")
        snapshot = self.store.snapshot()
        if snapshot.vectors.ntotal == 0:
            return []
        if query_vector is None:
            query_vector = self.embedder.embed_queries([question])[0]
        allowed = snapshot.filtered_chunk_ids(since, until, tags) if (since or until or tags) else None
        ranked = snapshot.search(query_vector, limit, allowed)
        chunks = snapshot.chunks([chunk_id for chunk_id, _ in ranked])
        owners = snapshot.owners(chunk.owner_id for chunk in chunks.values())
        hits = []
        for chunk_id, score in ranked:
            chunk = chunks[chunk_id]
            owner = owners[chunk.owner_id]
            hits.append(
                Hit(
                    chunk_id=chunk_id,
                    article_id=owner.id,
                    title=owner.title,
                    published=owner.published,
                    tags=owner.tags,
                    text=chunk.text,
                    span=chunk.span,
                    score=score,
                    kind=chunk.kind,
                )
            )
        return hits

    def search(
        self,
        question: str,
        k: int = 5,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best-matching articles (or teasers), each by its best chunk."""
        if k <= 0:
            raise ValueError(f"k must be greater than 0, got {k}")
        if query_vector is None:
            query_vector = self.embedder.embed_queries([question])[0]
        fetch = k * _OVERFETCH
        while True:
            ranked = self.chunks(question, fetch, since, until, tags, query_vector)
            best: dict[str, Hit] = {}
            for hit in ranked:
                best.setdefault(hit.article_id, hit)
            if len(best) >= k or len(ranked) < fetch:
                return list(best.values())[:k]
            fetch *= 4
