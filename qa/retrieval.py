"""Retrieval: a question -> the best chunks, dense, lexical (BM25) or both fused, with filters.

Hybrid retrieval takes the union of the dense and the lexical candidates and ranks them by

    similarity + lexical_weight * bm25 / ceiling

``similarity`` is the cosine of chunk and question, on the scale the relevance threshold
was measured on; ``ceiling`` is the BM25 score a chunk matching every word of the question
would reach (``StoreView.lexical_ceiling``; on the embedded index ``qa.lexical.bm25_ceiling``).
A German question shares most of its words with German text and BM25 then counts fully; an
English question shares only names, numbers and a few cognates, and BM25 then only nudges the
dense ranking. Plain reciprocal rank fusion gives BM25's poor English rankings the same vote as
the dense one and loses to dense retrieval alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from qa.conversation import CONTINUITY_BONUS
from qa.question import KeyTerm, Question, RetrievalMode
from qa.records import Copy, Hit
from qa.storage import ArchiveStore, StoreView
from qa.support import article_terms, coverage
from qa.timing import TimeRelation, TimeWeights, newest_period, timed

OVERFETCH = 4
PREFERRED_TIME_BONUS = 0.3
"""Added to the score of a chunk published in the time a question names where later reports are
searched too: a year on its own (all the archive), a month (the 92 days after it as well, see
``TimeWindow.reported_days``). On the news dev set's answerable questions (both forms and
languages; ``bench/named_times.py``): of 95 that name a year, right source 57 at 0.03, 58 at 0.1,
60 at 0.3 (F1 summed 53.6, 55.1, 56.2); of 154 that name a month, 110 at 0.03, 113 at 0.15, 115
at 0.3, against 112 with the month alone searched. XQuAD's 86 questions that name a time have
their paragraph first as often at every weight (78)."""


@dataclass(frozen=True)
class FusionWeights:
    """Chosen with bench/tune_fusion.py on the XQuAD dev set with 2,000 news chunks as
    distractors, on each half of its subjects (see bench/RESULTS.md). With English question words
    translated, a lexical weight of 0.2-0.3 is best for English questions on both halves (0.1
    gives 1.5 points less R@1) and German ones do as well at 0.1-0.4; without translation, 0.1
    was best and 0.4 cost English questions. The best-sentence rerank, scored with the answer
    signals, adds about 5 points of English R@1 and under 1 of German; 0.2-0.35 is best on both
    halves, 1 costs up to a point of MRR. The rerank embeds every sentence of the passages it
    reranks (about 30 sentences, 900 tokens for 10 news passages: 130-200 ms on ONNX Runtime
    here), so it reranks the best 6, not 20 (bench/tune_fusion.py --reranked 20 10 8 6): English
    R@1 / R@5 / MRR@10 0.910 / 0.973 / 0.939 with 6 against 0.909 / 0.979 / 0.941 with 20 (10 and
    8 also give R@5 0.973), German 0.936 / 0.981 / 0.957 against 0.934 / 0.981 / 0.955: four
    English questions of 623 leave the top 5, and hybrid search at 1M chunks takes p95 171 ms
    instead of 328 ms with 10 (bench/RESULTS.md, issue 20)."""

    lexical: float = 0.2
    candidates: int = 100
    sentence: float = 0.35
    """Weight of a passage's best sentence as an answer, added for the ``reranked`` best chunks."""
    reranked: int = 6
    coverage: float = 0.2
    """What a passage loses for each share of the question's key terms (by their rarity, see
    :func:`qa.support.coverage`) that its whole article does not hold: among many reports on one
    subject, the one that names what the question names. Hybrid search only, as the sentence
    rerank: dense and BM25 search stay what they are named. On the news dev set
    (``bench/tune_time.py``, variants ``coverage-*``), R@1 / right source / short F1 of the two
    halves of its articles went from .740 / .731 / 67.6 and .737 / .717 / 74.7 without it to
    .769 / .769 / 69.1 and .770 / .730 / 75.7 at 0.2 over the first 10 passages (0.03-0.3 over
    20 gained less on one half or the other); XQuAD's figures are unchanged."""
    coverage_depth: int = 10
    """How many of the best passages are weighed by their article's coverage (each article's
    terms are read from its text: about a millisecond an article)."""
    prefixes: bool = True
    """Let long question words match German terms by their first letters (see ``qa.lexical``)."""
    translate: bool = True
    """Let an English question's words match their German translations, where a dictionary is
    installed (see ``qa.translation``); an archive opened without it does not use the dictionary
    for its answers either."""
    time: TimeWeights = field(default_factory=TimeWeights)
    """How a question's relation to time moves passages (see ``qa.timing``)."""


@dataclass(frozen=True)
class Ranked:
    chunk_id: int
    score: float
    similarity: float


def one_per_story(hits: Sequence[Hit], stories: dict[str, str]) -> list[Hit]:
    """The hits of each story's best-ranked article only: its copies drop out of the ranking."""
    shown: dict[str, str] = {}
    return [
        hit
        for hit in hits
        if shown.setdefault(stories.get(hit.article_id, hit.article_id), hit.article_id) == hit.article_id
    ]


def best_per_article(ranked: Sequence[Hit], k: int) -> list[Hit]:
    """The first ``k`` articles (or teasers) of a chunk ranking, each by its best chunk."""
    best: dict[str, Hit] = {}
    for hit in ranked:
        best.setdefault(hit.article_id, hit)
    return list(best.values())[:k]


def by_coverage(
    hits: Sequence[Hit], terms: Sequence[KeyTerm], article_text: Callable[[Hit], str], weight: float, depth: int
) -> list[Hit]:
    """``hits`` with the first ``depth`` weighed by how much of the question's key ``terms``
    their whole article holds (:func:`qa.support.coverage`): each loses ``weight`` times the share
    it lacks, and they are reordered among themselves. A passage need not name the subject its
    article names; an article that never names it is another story."""
    top = [
        replace(hit, score=hit.score - weight * (1 - coverage(terms, article_terms(article_text(hit)))))
        for hit in hits[:depth]
    ]
    return sorted(top, key=lambda hit: hit.score, reverse=True) + list(hits[depth:])


PassageScorer = Callable[[Question, Sequence[Hit]], list[float]]
"""How well each passage answers the question, by its best sentence (see ``AnswerFinder.passage_scores``)."""


class Retriever:
    """Ranks the chunks of the archive for an analysed :class:`~qa.question.Question`."""

    def __init__(
        self,
        store: ArchiveStore,
        weights: FusionWeights | None = None,
        passage_scorer: PassageScorer | None = None,
    ) -> None:
        self.store = store
        self.weights = weights or FusionWeights()
        self.passage_scorer = passage_scorer
        self._recent: dict[tuple[object, ...], np.ndarray] = {}
        """The chunk ids of the newest period, for the one generation and filter last asked
        (replaced whole, never changed in place: the app's sessions share one retriever)."""

    def rank(
        self,
        snapshot: StoreView,
        question: Question,
        limit: int,
        allowed: np.ndarray | None,
        hidden: np.ndarray | None = None,
    ) -> list[Ranked]:
        """Chunk ids with their ranking score and cosine similarity, best first; among
        ``allowed`` ids where given, never ``hidden`` ones."""
        query_vector = question.vector
        if question.mode is RetrievalMode.DENSE:
            return [Ranked(i, s, s) for i, s in snapshot.search(query_vector, limit, allowed, hidden)]
        query = question.terms
        if question.mode is RetrievalMode.BM25:
            lexical = snapshot.lexical_search(query, limit, allowed, hidden)
            similarity = snapshot.similarities(query_vector, [i for i, _ in lexical])
            return [Ranked(i, s, similarity[i]) for i, s in lexical]
        fetch = max(limit, self.weights.candidates)
        dense = dict(snapshot.search(query_vector, fetch, allowed, hidden))
        lexical = dict(snapshot.lexical_search(query, fetch, allowed, hidden))
        missing = [i for i in lexical if i not in dense]
        dense.update(snapshot.similarities(query_vector, missing))
        lexical.update(snapshot.lexical_scores(query, [i for i in dense if i not in lexical]))
        ceiling = snapshot.lexical_ceiling(query)
        weight = self.weights.lexical / ceiling if ceiling > 0 else 0.0
        ranked = [Ranked(i, s + weight * lexical.get(i, 0.0), s) for i, s in dense.items()]
        ranked.sort(key=lambda r: r.score, reverse=True)
        return ranked[:limit]

    def chunks(self, question: Question, limit: int, snapshot: StoreView | None = None) -> list[Hit]:
        """The ``limit`` best chunks, several per article allowed, best first; those published
        within ``question.prefer`` ranked up by :data:`PREFERRED_TIME_BONUS`. For a follow-up,
        the earlier turns are searched for with the question (its vector and terms hold both),
        and the last answer's article is ranked up by :data:`CONTINUITY_BONUS`. With
        ``question.collapse``, a story printed several times is searched in its best copy only."""
        if limit <= 0:
            raise ValueError(f"limit must be greater than 0, got {limit}")
        snapshot = snapshot or self.store.snapshot()
        if snapshot.size == 0:
            return []
        allowed = snapshot.filtered_chunk_ids(question.filter) if question.filtered else None
        hidden = snapshot.embargoed_chunk_ids(question.asked_at) if question.asked_at else None
        fetch = limit * OVERFETCH if question.prefer or question.follow_up else limit
        if self._reranks(question):
            fetch = max(fetch, self.weights.reranked)
        while True:
            ranked = self.rank(snapshot, question, fetch, allowed, hidden)
            if question.time_relation is TimeRelation.CURRENT:
                ranked = self._with_newest(snapshot, question, ranked, allowed, hidden)
            hits = self._ordered(snapshot, question, ranked)
            if question.collapse:
                hits = one_per_story(hits, snapshot.stories(hit.article_id for hit in hits if not hit.is_teaser))
            if len(hits) >= limit or len(ranked) < fetch:
                return hits[:limit]
            fetch *= OVERFETCH

    def _with_newest(
        self,
        snapshot: StoreView,
        question: Question,
        ranked: list[Ranked],
        allowed: np.ndarray | None,
        hidden: np.ndarray | None,
    ) -> list[Ranked]:
        """``ranked`` with the best chunks of the newest period added (see ``TimeWeights.newest_period_days``)."""
        weights = self.weights.time
        period = newest_period(question.newest, weights)
        if period is None or weights.newest_candidates <= 0:
            return ranked
        where = replace(question.filter, since=period[0], until=period[1])
        key = (snapshot.generation, where)
        recent = self._recent.get(key)
        if recent is None:
            recent = snapshot.filtered_chunk_ids(where)
            self._recent = {key: recent}
        if allowed is not None:
            recent = np.intersect1d(recent, allowed, assume_unique=True)
        if len(recent) == 0:
            return ranked
        held = {r.chunk_id for r in ranked}
        newest = self.rank(snapshot, question, weights.newest_candidates, recent, hidden)
        return ranked + [r for r in newest if r.chunk_id not in held]

    def _reranks(self, question: Question) -> bool:
        return question.mode is RetrievalMode.HYBRID and self.passage_scorer is not None and self.weights.sentence > 0

    def _ordered(self, snapshot: StoreView, question: Question, ranked: Sequence[Ranked]) -> list[Hit]:
        """The ranked chunks as hits, with the best-sentence rerank and the time and follow-up bonuses."""
        chunks = snapshot.chunks([r.chunk_id for r in ranked])
        owners = snapshot.owners(chunk.owner_id for chunk in chunks.values())
        hits = []
        for r in ranked:
            chunk = chunks[r.chunk_id]
            owner = owners[chunk.owner_id]
            hits.append(
                Hit(
                    chunk_id=r.chunk_id,
                    article_id=owner.id,
                    title=owner.title,
                    published=owner.published,
                    tags=owner.tags,
                    text=chunk.text,
                    span=chunk.span,
                    score=r.score,
                    similarity=r.similarity,
                    kind=chunk.kind,
                    outlet=owner.outlet,
                    wire=owner.wire,
                )
            )
        hits = timed(hits, question.time_relation, question.newest, self.weights.time)
        if self.weights.coverage > 0 and question.key_terms and question.mode is RetrievalMode.HYBRID:
            texts: dict[str, str] = {}

            def article_text(hit: Hit) -> str:
                if hit.article_id not in texts:
                    article = None if hit.is_teaser else snapshot.article(hit.article_id)
                    texts[hit.article_id] = f"{hit.title}\n{article.body if article else hit.text}"
                return texts[hit.article_id]

            hits = by_coverage(
                hits, question.key_terms, article_text, self.weights.coverage, self.weights.coverage_depth
            )
        if self._reranks(question):
            top = hits[: self.weights.reranked]
            lifts = self.passage_scorer(question, top)
            top = [
                replace(hit, score=hit.score + self.weights.sentence * lift)
                for hit, lift in zip(top, lifts, strict=True)
            ]
            hits = sorted(top, key=lambda hit: hit.score, reverse=True) + hits[len(top) :]
        follow_up = question.follow_up
        if question.prefer or (follow_up and follow_up.articles):
            hits = [replace(hit, score=hit.score + self._bonus(hit, question)) for hit in hits]
            hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits

    def with_copies(self, question: Question, hits: Sequence[Hit], snapshot: StoreView | None = None) -> list[Hit]:
        """The hits with the other articles of their stories listed in ``Hit.copies`` (not those
        still under embargo when the question was asked)."""
        snapshot = snapshot or self.store.snapshot()
        stories = snapshot.stories(hit.article_id for hit in hits if not hit.is_teaser)
        members = snapshot.story_members(set(stories.values()), question.asked_at)
        result = []
        for hit in hits:
            others = [m for m in members.get(stories.get(hit.article_id, ""), []) if m.id != hit.article_id]
            copies = tuple(Copy(m.id, m.title, m.outlet, m.published) for m in others)
            result.append(replace(hit, copies=copies) if copies else hit)
        return result

    @staticmethod
    def _bonus(hit: Hit, question: Question) -> float:
        prefer, follow_up = question.prefer, question.follow_up
        bonus = PREFERRED_TIME_BONUS if prefer and prefer.contains(hit.published) else 0.0
        return bonus + (CONTINUITY_BONUS if follow_up and hit.article_id in follow_up.articles else 0.0)

    def search(self, question: Question, k: int = 5, snapshot: StoreView | None = None) -> list[Hit]:
        """The ``k`` best-matching articles (or teasers), each by its best chunk."""
        if k <= 0:
            raise ValueError(f"k must be greater than 0, got {k}")
        snapshot = snapshot or self.store.snapshot()
        fetch = k * OVERFETCH
        while True:
            ranked = self.chunks(question, fetch, snapshot)
            best = best_per_article(ranked, k)
            if len(best) >= k or len(ranked) < fetch:
                return self.with_copies(question, best, snapshot) if question.collapse else best
            fetch *= 4
