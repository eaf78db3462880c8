"""The support stage: whether the archive supports the reader's answer, and how sure to be of it.

Between reading and answering. The reader always finds the likeliest span of a passage; a
wire archive holds many passages of the right type ("neun Menschen", "Portugal") that answer
another question. So a short answer is given only when the evidence around it holds up:

- the reader's own margin of the span over "this passage does not answer";
- the question's words in the answer's article, each weighed by how rare it is in the archive;
- how the answer's passage ranks and how similar it is to the question;
- whether other passages read give the same answer;
- whether the span is of the kind asked for (a name for "who", a number for "how many").

They are combined by a logistic regression (:class:`SupportWeights`, fitted by
``bench/tune_support.py``), so that the confidence is about the share of answers right among
those shown with it. Below :attr:`SupportWeights.threshold` no short answer is given, and the
reason is said in words. A name or number of the question that no article of the archive holds
(a question naming "Brokstedt", which no article names) declines at once, whatever the reader
finds: English acronyms (IMF, IWF in German) and German compounds of known words
("Entlastungs|pakete") are not taken for such names.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from qa.gathering import same_answer
from qa.lexical import matching_terms
from qa.question import KeyTerm, Question
from qa.reading import Reading
from qa.records import Hit, SupportSignals
from qa.words import Language, words

MARGIN_LIMIT = 8.0
"""The reader's margin is clipped to this (its sigmoid is then 0.9997): beyond it, the logits say nothing more."""


@dataclass(frozen=True)
class SupportWeights:
    """The logistic regression from :class:`~qa.records.SupportSignals` to the confidence, and
    the confidence below which no short answer is given.

    Fitted by ``bench/tune_support.py`` on the news dev set's 472 questions (118 in each form and
    language) over all of news_de.jsonl, each weight held to its signal's direction; fitted on
    half of the set's articles, the other half's figures stayed within 0.03 of answerable
    questions declined (0.077-0.105). Three more signals were measured and carry no weight (the
    question's names in the answer's article, its words in the answer's passage and in its
    sentence) and are left out. The threshold is the highest that declines at most 8 % of the answerable questions:
    with it, 84 % of the questions whose names no article holds and 40 % of the near misses are
    declined, and 65 % of the answers given are right (61 % before). See bench/RESULTS.md,
    "Answers a newsroom can trust"."""

    bias: float = -3.09
    reader: float = 0.384
    similarity: float = 0.788
    rank: float = -0.17
    coverage: float = 0.115
    agreement: float = 2.36
    kind: float = 0.499
    threshold: float = 0.2

    SIGNALS: ClassVar[tuple[str, ...]] = tuple(f.name for f in fields(SupportSignals) if f.type in (float, "float"))

    def confidence(self, signals: SupportSignals) -> float:
        return logistic(self.bias + sum(getattr(self, name) * getattr(signals, name) for name in self.SIGNALS))


@dataclass(frozen=True)
class Calibration:
    """How the support stage's probability is shown as the answer's confidence: its log-odds
    scaled, and the question's length counted. The same evidence means more for a question
    that says more: on the news dev set long questions' answers were right more often than their
    probability said and short ones' less often. Only what is shown changes; whether an answer is
    given is decided on the probability (:attr:`SupportWeights.threshold`), since length in
    that decision declined fewer unanswerable questions (near misses are specific questions).

    Fitted by ``bench/tune_support.py --calibrate`` on the answers the shipped weights give,
    on either half of the set's articles and checked on the other: held-out Brier score 0.172 →
    0.156 and 0.185 → 0.177. See bench/RESULTS.md."""

    scale: float = 1.122
    length: float = 1.119
    bias: float = -2.768
    lengths: tuple[int, int] = (5, 35)
    """The question lengths in words it was fitted on (the dev set's fewest and most words); a shorter or
    longer question counts as the nearest of them."""

    def shown(self, probability: float, question_words: int) -> float:
        counted = min(max(question_words, self.lengths[0]), self.lengths[1])
        return logistic(self.scale * log_odds(probability) + self.length * math.log(counted) + self.bias)


def logistic(logit: float) -> float:
    return float(1 / (1 + math.exp(-logit)))


def log_odds(probability: float) -> float:
    clipped = min(max(probability, 1e-4), 1 - 1e-4)
    return math.log(clipped / (1 - clipped))


@dataclass(frozen=True)
class Support:
    """The decision: the confidence shown with the answer, and why it is declined (None: it is
    given). ``probability`` is what the decision was taken on (see :class:`Calibration`)."""

    confidence: float
    declined: str | None
    signals: SupportSignals | None = None
    probability: float = 0.0


@functools.lru_cache(maxsize=64)
def article_terms(text: str) -> frozenset[str]:
    """The stemmed terms of an article, as a question's terms are matched against them; kept for
    the last articles, as one question judges the answers of several passages of one article
    (see :func:`qa.lexical.matching_terms`)."""
    return matching_terms(text)


def coverage(terms: Sequence[KeyTerm], held: frozenset[str]) -> float:
    """The share of ``terms`` (by their rarity in the archive) that ``held`` holds; 1 with none.
    Terms that no chunk of the archive holds are left out: nothing could match them, and an
    English word the dictionary does not translate is one of them."""
    present = [term for term in terms if term.in_archive]
    if not present:
        return 1.0
    weights = np.array([term.rarity for term in present])
    found = np.array([term.matches(held) for term in present], dtype=float)
    return float((weights * found).sum() / weights.sum())


def agreement(chosen: Reading, readings: Sequence[Reading]) -> float:
    """The share of the other passages read whose answered span is the same answer."""
    others = [r for r in readings if r is not chosen]
    if not others:
        return 0.0
    return sum(r.answered and same_answer(r.text, chosen.text) for r in others) / len(others)


def margin(reading: Reading) -> float:
    """The reader's log-odds of its span over "no answer"."""
    confidence = min(max(reading.confidence, 1e-6), 1 - 1e-6)
    return float(np.clip(math.log(confidence / (1 - confidence)), -MARGIN_LIMIT, MARGIN_LIMIT))


def listed(words: Sequence[str]) -> str:
    quoted = [f"“{word}”" for word in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class SupportJudge:
    """Decides whether an answer the reader found is supported by the archive."""

    def __init__(
        self, weights: SupportWeights | None = None, decline: bool = True, calibration: Calibration | None = None
    ) -> None:
        """With ``decline`` False every answer the reader finds is given, with its confidence
        (for measuring the signals, ``bench/tune_support.py``)."""
        self.weights = weights or SupportWeights()
        self.decline = decline
        self.calibration = calibration or Calibration()

    def missing(self, question: Question) -> list[str]:
        """The question's names and numbers that no article of the archive holds. An English
        question's acronyms are not counted, as German writes many another way (IMF, IWF); a
        German question's compounds of words the archive holds are not either
        ("Wahlkampf|slogan"). An English question writes no German compounds, so there a word
        that reads as one ("Georgens|gmünd", "Ell|wangen") is a name."""
        english = question.language is Language.ENGLISH
        return [
            term.word
            for term in question.key_terms
            if term.name
            and not term.in_archive
            and not (english and term.acronym)
            and not (term.compound and not english)
        ]

    def unnamed(self, question: Question) -> str | None:
        """Why ``question`` is declined before anything is read: "no article names “Brokstedt”"
        (None where the archive holds all its names, or where nothing is declined)."""
        missing = self.missing(question) if self.decline else []
        return f"no article names {listed(missing)}" if missing else None

    def signals(
        self,
        question: Question,
        chosen: Reading,
        readings: Sequence[Reading],
        passages: Sequence[Hit],
        article_text: str,
        offers_kind: bool,
    ) -> SupportSignals:
        """The signals of the answer ``chosen`` (read in ``passages``), from the article it
        stands in; ``offers_kind``: whether it is the kind of answer the question asks for."""
        held = article_terms(article_text)
        names = [term for term in question.key_terms if term.name]
        hit = passages[chosen.passage]
        return SupportSignals(
            reader=margin(chosen),
            similarity=hit.similarity,
            rank=float(chosen.passage),
            coverage=coverage(question.key_terms, held),
            agreement=agreement(chosen, readings),
            kind=float(offers_kind),
            absent=tuple(term.word for term in names if term.in_archive and not term.matches(held)),
        )

    def judge(self, question: Question, signals: SupportSignals | None, article_title: str = "") -> Support:
        """The confidence of an answer with these ``signals`` (None: the reader found no span),
        and the reason it is declined, if it is."""
        if signals is None:
            return Support(0.0, "the closest passages do not answer it" if self.decline else None, None)
        probability = self.weights.confidence(signals)
        shown = self.calibration.shown(probability, len(words(question.text)))
        if not self.decline or probability >= self.weights.threshold:
            return Support(shown, None, signals, probability)
        if signals.absent:
            where = f"“{article_title}”" if article_title else "the closest article"
            why = f"{where}, the closest match, does not name {listed(signals.absent)}"
            return Support(shown, why, signals, probability)
        return Support(shown, "the closest passages do not answer it", signals, probability)
