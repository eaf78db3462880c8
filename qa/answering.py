"""Answering without a generative model: the sentence of the retrieved passages that answers best.

Every sentence that overlaps a retrieved chunk is a candidate, taken whole from the
article body (so its span is exact even where a chunk cut a sentence). Candidates are
scored by the dense similarity of the sentence to the question, the score of the
passage it came from, and the names and numbers it shares with the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from qa.chunking import split_sentences
from qa.embedding import Embedder
from qa.records import Answer, Hit, Span

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
NAME_PATTERN = re.compile(r"\b[A-ZÄÖÜ][a-zäöüßéè]+(?:[ -][A-ZÄÖÜ][a-zäöüßéè]+)+\b")
_PERSON_QUESTION = re.compile(r"^\W*(?:and\s+|und\s+)?(?:who|whom|whose|wer|wem|wen|wessen)\b", re.IGNORECASE)
_STOPWORDS = frozenset(
    """
    what which when where does did will with from that this have been their there about into
    over under they them than then also after before while would could should being were wird
    wurde werden sind eine einer eines einem einen dass nach über unter sich nicht auch oder
    aber wenn weil wann warum welche welcher welches dieser diese dieses durch gegen haben
    hatte noch schon sein seine ihre
    """.split()
)
_STEM_LENGTH = 5
MIN_RELEVANCE = 0.78
"""Below this similarity of the best passage, nothing relevant was found. Measured by
bench/nothing_found.py (XQuAD, half its subjects left out of the index, English and German
questions): 0.78 keeps 99.1 % of answerable questions answered and refuses 17 % of unanswerable
ones. Higher thresholds refuse more (0.825: 84 %) but also refuse answerable questions (26 %),
English ones first, as cross-lingual similarities run lower; a wrong refusal hides a real
answer, while a weak answer is still shown with its score and sources."""
_PROXIMITY_SCALE = 4.0


@dataclass(frozen=True)
class AnswerWeights:
    """How much each signal counts. Checked with bench/tune_answers.py on the XQuAD dev set:
    weights chosen on one half of its subjects gain nothing on the other half over these
    (English 0.631 vs 0.627 and 0.679 vs 0.682; German 0.712 vs 0.712 and 0.784 vs 0.781), and
    a signal for whether a sentence holds the number or date a question asks for gained
    nothing either and was left out."""

    sentence: float = 1.0
    passage: float = 0.5
    shared_terms: float = 0.03
    name_proximity: float = 0.02

    SIGNALS: ClassVar[tuple[str, ...]] = ("sentence", "passage", "shared_terms", "name_proximity")

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in self.SIGNALS], dtype=np.float32)


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    span: Span
    text: str


def _fold(word: str) -> str:
    return word.lower().translate(str.maketrans("äöüß", "aous"))


def question_stems(question: str) -> set[str]:
    """Prefix stems of the question's content words; a shared prefix bridges cognates
    across languages (Ukrainian/ukrainisch, Kremlin/Kreml, Russia/Russland)."""
    words = (_fold(w) for w in _WORD.findall(question))
    return {w[:_STEM_LENGTH] for w in words if len(w) >= 4 and w not in _STOPWORDS}


def _word_positions(text: str) -> list[tuple[int, str]]:
    return [(m.start(), _fold(m.group())[:_STEM_LENGTH]) for m in _WORD.finditer(text)]


def lexical_overlap(stems: set[str], text: str) -> float:
    """Share of the question's stems that the text contains."""
    if not stems:
        return 0.0
    found = {stem for _pos, stem in _word_positions(text)}
    return len(stems & found) / len(stems)


def answer_proximity(question: str, stems: set[str], text: str) -> float:
    """For a who-question, how close a name stands to a word of the question (1 = adjacent).

    Wire reports put the answer in apposition: "der ukrainische Chefunterhändler Rustem
    Umjerow"; a name far from the matched words is more often the speaker than the answer.
    """
    if not _PERSON_QUESTION.search(question):
        return 0.0
    words = _word_positions(text)
    matched = [i for i, (_pos, stem) in enumerate(words) if stem in stems]
    if not matched:
        return 0.0
    starts = [pos for pos, _stem in words]
    best = 0.0
    for name in NAME_PATTERN.finditer(text):
        first = next((i for i, pos in enumerate(starts) if pos >= name.start()), len(starts))
        last = next((i for i, pos in enumerate(starts) if pos >= name.end()), len(starts)) - 1
        if any(first <= i <= last for i in matched):
            continue
        distance = min(min(abs(i - first), abs(i - last)) for i in matched)
        best = max(best, float(np.exp(-(distance - 1) / _PROXIMITY_SCALE)))
    return best


class AnswerFinder:
    def __init__(self, embedder: Embedder, weights: AnswerWeights | None = None) -> None:
        self.embedder = embedder
        self.weights = weights or AnswerWeights()

    def candidates(self, hits: Sequence[Hit], full_text: Callable[[Hit], str]) -> list[_Candidate]:
        found: dict[tuple[str, int], _Candidate] = {}
        for hit in hits:
            text = full_text(hit)
            for span in split_sentences(text):
                if span.end <= hit.span.start or span.start >= hit.span.end:
                    continue
                key = (hit.article_id, span.start)
                if key not in found:
                    found[key] = _Candidate(hit, span, text[span.start : span.end])
        return list(found.values())

    def answer(
        self,
        question: str,
        query_vector: np.ndarray,
        passages: Sequence[Hit],
        sources: Sequence[Hit],
        full_text: Callable[[Hit], str],
        min_relevance: float = MIN_RELEVANCE,
    ) -> Answer:
        """The best sentence, or no answer when even the best passage scores below ``min_relevance``."""
        nothing = Answer(question, None, None, None, 0.0, tuple(sources))
        if not passages or max(hit.similarity for hit in passages) < min_relevance:
            return nothing
        candidates, features = self.features(question, query_vector, passages, full_text)
        if not candidates:
            return nothing
        scores = features @ self.weights.vector()
        best = int(np.argmax(scores))
        chosen = candidates[best]
        return Answer(question, chosen.text, chosen.hit, chosen.span, float(scores[best]), tuple(sources))

    def passage_scores(self, question: str, query_vector: np.ndarray, passages: Sequence[Hit]) -> list[float]:
        """How well each passage answers ``question``: the score of its best sentence, its own
        rank left out. Used to rerank the top passages, so the one that states the answer leads."""
        spans = [split_sentences(hit.text) or [Span(0, len(hit.text))] for hit in passages]
        texts = [
            hit.text[span.start : span.end]
            for hit, hit_spans in zip(passages, spans, strict=True)
            for span in hit_spans
        ]
        if not texts:
            return []
        similarity = iter((self.embedder.embed_sentences(texts) @ query_vector).tolist())
        stems = question_stems(question)
        weights = self.weights.vector()
        weights[AnswerWeights.SIGNALS.index("passage")] = 0.0
        scores = []
        for hit, hit_spans in zip(passages, spans, strict=True):
            best = -np.inf
            for span in hit_spans:
                text = hit.text[span.start : span.end]
                best = max(best, float(np.dot(self._signals(question, stems, next(similarity), 0.0, text), weights)))
            scores.append(best)
        return scores

    @staticmethod
    def _signals(question: str, stems: set[str], similarity: float, passage: float, text: str) -> np.ndarray:
        return np.array(
            (
                similarity,
                passage,
                lexical_overlap(stems, text),
                answer_proximity(question, stems, text),
            ),
            dtype=np.float32,
        )

    def features(
        self, question: str, query_vector: np.ndarray, passages: Sequence[Hit], full_text: Callable[[Hit], str]
    ) -> tuple[list[_Candidate], np.ndarray]:
        """The candidate sentences and their signals, one row each, in :attr:`AnswerWeights.SIGNALS` order."""
        candidates = self.candidates(passages, full_text)
        if not candidates:
            return [], np.zeros((0, len(AnswerWeights.SIGNALS)), dtype=np.float32)
        similarity = self.embedder.embed_sentences([c.text for c in candidates]) @ query_vector
        stems = question_stems(question)
        best_passage = max(hit.score for hit in passages)
        rows = [
            self._signals(question, stems, float(sim), candidate.hit.score - best_passage, candidate.text)
            for candidate, sim in zip(candidates, similarity, strict=True)
        ]
        return candidates, np.vstack(rows)


def highlight_html(text: str, mark: Span | None, offset: int = 0) -> str:
    """``text`` as HTML-escaped markup with ``mark`` (in the coordinates ``text`` starts at
    ``offset``) wrapped in ``<mark>``; article text is untrusted and never passed as HTML."""
    import html

    if mark is None:
        return html.escape(text)
    start = min(max(mark.start - offset, 0), len(text))
    end = min(max(mark.end - offset, start), len(text))
    if start == end:
        return html.escape(text)
    return html.escape(text[:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>" + html.escape(text[end:])
