"""Answering without a generative model: the sentence of the retrieved passages that answers best.

Every sentence that overlaps a retrieved chunk is a candidate, taken whole from the
article body (so its span is exact even where a chunk cut a sentence). Candidates are
scored by the dense similarity of the sentence to the question, the score of the passage
it came from, how well the question's words find a counterpart in the sentence (on the
model's contextual word-piece vectors, so across languages), how many of the question's words
stand in it (stemmed; an English question's also as their German translations), whether it
offers the kind of answer a who-, when- or how-many-question asks for, and, for a
who-question, a name next to the question's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from qa.chunking import split_sentences
from qa.consistency import contradiction
from qa.conversation import CONTEXT_WEIGHT
from qa.embedding import Embedder, TokenVectors
from qa.gathering import AnswerGroup, Option, answer_timeline, grouped, published_order
from qa.lexical import NAME_PATTERN, LexicalQuery, document_terms, is_stopword
from qa.question import AnswerKind, Question
from qa.reading import Passage, Reader, Reading
from qa.records import Answer, DatedAnswer, Hit, Span
from qa.spans import tidied
from qa.support import Support, SupportJudge, log_odds
from qa.timing import TimeRelation
from qa.words import prefix_stem, word_matches, words

MIN_RELEVANCE = 0.75
"""Below this similarity of the best passage, nothing relevant was found. Measured by
bench/nothing_found.py (XQuAD, half its subjects left out of the index, English and German
questions): 0.78 kept 99.1 % of answerable questions answered and refused 17 % of unanswerable
ones; higher lines refuse answerable questions, English ones first, as cross-lingual
similarities run lower. Since the support stage (``qa.support``) decides whether an answer is
given, this line only spares the reader passages that cannot answer: at 0.75 to 0.78 the news
dev set's figures are the same (bench/tune_support.py), and 0.75 lets an English question whose
best passage is at 0.76 ("When was the meeting in Berlin?" on the seed) be read and judged."""
SOURCE_GAP = 0.03
"""A source is listed beside an answer when its similarity to the question is at most this much
below the best source's (the answer's own source is always listed). Measured by
bench/source_relevance.py on the XQuAD dev set with news distractors: chosen on one half of its
subjects to keep 98 % of the questions' own paragraphs, it kept 99.6 % of them on the other half
and removed 71 % of the unrelated news; no single threshold on the similarity itself does as well
(0.77 keeps 98 % and removes 25 %), as cross-lingual similarities of one question run in a band
of their own."""
NOTHING_FOUND = "nothing relevant found: no passage in the archive comes close enough to the question"
_PROXIMITY_SCALE = 4.0
READ_PASSAGES = 4
"""How many of the top passages the reader reads, in one batch (its cost grows with them)."""


@dataclass(frozen=True)
class AnswerWeights:
    """How much each signal counts: fitted by a pairwise logistic regression (right sentence
    over each wrong one) on the XQuAD dev set's English and German questions, then rounded.
    Weights refitted on either half of its subjects pick no better on the other half than these
    (bench/tune_answers.py). Name proximity stays above the fit's 0.06-0.09, which XQuAD cannot
    tell apart, so that a name in apposition ("Chefunterhändler Rustem Umjerow") outranks one
    named as the speaker (see bench/RESULTS.md). Word overlap was added to these weights alone,
    its weight chosen on each half of the subjects and checked on the other (0.25 on both)."""

    sentence: float = 1.0
    passage: float = 3.0
    name_proximity: float = 0.25
    answer_kind: float = 0.7
    word_alignment: float = 4.5
    word_overlap: float = 0.25

    SIGNALS: ClassVar[tuple[str, ...]] = (
        "sentence",
        "passage",
        "name_proximity",
        "answer_kind",
        "word_alignment",
        "word_overlap",
    )

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in self.SIGNALS], dtype=np.float32)


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    span: Span
    text: str


def _word_positions(text: str) -> list[tuple[int, str]]:
    return [(m.start(), prefix_stem(m.group())) for m in word_matches(text)]


def answer_proximity(kind: AnswerKind | None, stems: frozenset[str], text: str, aligned: Sequence[int] = ()) -> float:
    """For a who-question, how close a name stands to a word of the question (1 = adjacent).

    A word of the question is one that shares a stem with it, or that stands at one of the
    ``aligned`` character offsets (see :func:`aligned_offsets`). Wire reports put the answer
    in apposition: "der ukrainische Chefunterhändler Rustem Umjerow"; a name far from the
    matched words is more often the speaker than the answer.
    """
    if kind is not AnswerKind.PERSON:
        return 0.0
    words = _word_positions(text)
    ends = [m.end() for m in word_matches(text)]
    matched = [
        i
        for i, (start, stem) in enumerate(words)
        if stem in stems or any(start <= offset < ends[i] for offset in aligned)
    ]
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


_YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d[\d.,]*\b")
_TIME_WORDS = frozenset(
    "januar jänner februar feber märz april mai juni juli august september oktober november dezember "
    "jahrhundert jahrhunderts jahrhunderten jahrzehnt jahrzehnts".split()
)
_NUMBER_WORDS = frozenset(
    "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig hundert tausend "
    "million millionen milliarde milliarden dutzend hälfte drittel viertel prozent".split()
)


def _names(text: str) -> list[str]:
    """Runs of capitalised words ("Präsident Wolodymyr Selenskyj"), less a sentence's first word."""
    names = []
    for match in NAME_PATTERN.finditer(text):
        name = match.group()
        if match.start() == 0:
            name = name.split(" ", 1)[1] if " " in name else ""
        if " " in name or "-" in name:
            names.append(name)
    return names


def offers_answer_kind(kind: AnswerKind | None, question: str, text: str) -> float:
    """1 when ``text`` holds a name (for a person), a year, month or century (for a time) or a
    number that the question does not already name: "prior to 2000" is then not answered by
    the sentence about 2000."""
    if kind is None:
        return 0.0
    asked = question.lower()
    found_words = [w.lower() for w in words(text)]
    if kind is AnswerKind.PERSON:
        found = any(not all(part.lower() in asked for part in re.split(r"[ -]", name)) for name in _names(text))
    elif kind is AnswerKind.TIME:
        found = any(year not in question for year in _YEAR.findall(text)) or any(
            w in _TIME_WORDS and w not in asked for w in found_words
        )
    else:
        found = any(number not in question for number in _NUMBER.findall(text)) or any(
            w in _NUMBER_WORDS and w not in asked for w in found_words
        )
    return float(found)


_WEEKDAYS = frozenset("montag dienstag mittwoch donnerstag freitag samstag sonntag wochenende".split())


def span_offers_kind(kind: AnswerKind | None, question: str, span: str) -> bool:
    """Whether a short answer is of the kind asked for: a capitalised word the question does
    not hold (for a person), a year, month, day or date (for a time), a number or number word
    (for a how-many); any answer for other questions."""
    if kind is None:
        return True
    asked = {w.lower() for w in words(question)}
    found = [w for w in words(span) if w.lower() not in asked]
    lowered = [w.lower() for w in found]
    if kind is AnswerKind.PERSON:
        return any(w[:1].isupper() for w in found)
    if kind is AnswerKind.TIME:
        return any(any(c.isdigit() for c in w) or w in _TIME_WORDS or w in _WEEKDAYS for w in lowered)
    return any(any(c.isdigit() for c in w) or w in _NUMBER_WORDS for w in lowered)


def _content_tokens(question: TokenVectors) -> np.ndarray:
    """The question's word pieces less stopwords and punctuation: what must be found in an answer."""
    keep = [
        i
        for i, piece in enumerate(question.pieces)
        if any(c.isalnum() for c in piece) and not (piece.startswith("▁") and is_stopword(piece[1:]))
    ]
    return question.tokens[keep] if keep else question.tokens


ALIGNED = 0.85
"""The cosine of two word pieces' contextual vectors from which they count as the same word:
unrelated pieces of a question and a sentence meet at 0.65-0.8, a word and its translation or
inflection ("verhandelt" and "Unterhändler", "Russia" and "Russland") at 0.85-0.95."""


def aligned_offsets(question_tokens: np.ndarray, sentence: TokenVectors, text: str) -> list[int]:
    """Where in ``text`` the pieces stand that align with a piece of the question."""
    if not len(question_tokens) or not len(sentence.tokens):
        return []
    best = (sentence.tokens.astype(np.float32) @ question_tokens.astype(np.float32).T).max(axis=1)
    offsets, cursor = [], 0
    for piece, similarity in zip(sentence.pieces, best, strict=True):
        found = text.find(piece.lstrip("▁"), cursor)
        if found < 0 or not piece.strip("▁"):
            continue
        cursor = found + len(piece.lstrip("▁"))
        if similarity >= ALIGNED:
            offsets.append(found)
    return offsets


def word_overlap(query: LexicalQuery, text: str) -> float:
    """The share of the question's words that stand in ``text`` as a whole stemmed term: in
    either language's stem, or (for an English question, with a dictionary) as a translation.
    Prefixes do not count here; they serve retrieval, where a near miss still ranks."""
    if not query.groups:
        return 0.0
    terms = set(document_terms(text).split())
    return sum(any(term in terms for term in group) for group in query.groups) / len(query.groups)


def word_alignment(question_tokens: np.ndarray, sentence: TokenVectors) -> float:
    """How well each content piece of the question finds a counterpart in the sentence: the
    best cosine of its contextual vector to one of the sentence's, averaged over the question
    (BERTScore's recall). A multilingual encoder puts "delegation" near "Delegation" and
    "chair" near "Vorsitzender", so this counts shared words across languages."""
    if not len(question_tokens) or not len(sentence.tokens):
        return 0.0
    similarities = question_tokens.astype(np.float32) @ sentence.tokens.astype(np.float32).T
    return float(similarities.max(axis=1).mean())


@dataclass(frozen=True)
class ReadingChoice:
    """How the short answer is chosen among the reader's spans: how many of the top passages
    it reads, the confidence a span must pass, and what besides the reader's span score counts
    (the passage's retrieval score, as its lead over the best passage, and the score of the
    sentence holding the span).

    Chosen by bench/tune_reader.py on the XQuAD dev set with news distractors (grid over 1-8
    passages and both weights, the best of English plus German F1 and answer accuracy): the
    reader's score alone picks worse the more passages it reads (English F1 49.1 with one, 46.0
    with four), so retrieval and today's sentence signals still count; with these weights English
    F1 is 51.8 and answer accuracy 0.748, German 62.7 and 0.836. Chosen on either half of the
    subjects, the weights on the other half gave English F1 51.8 / 50.2. A span is a candidate
    from a reader's confidence of 0.1 (its own line between a span and "no answer" is 0.5, which
    declined German questions the reader had never seen unanswerable examples for): whether the
    archive supports it is decided after, by ``qa.support``, where the reader's margin is one
    signal among others."""

    passages: int = READ_PASSAGES
    threshold: float = 0.1
    passage_weight: float = 12.0
    sentence_weight: float = 2.0
    story_weight: float = 0.0
    """Added to an answer's weight for each further story among the passages read that gives it
    (see ``qa.gathering``). 0: on the news dev set 3 cost right answers on both halves of its
    articles and 1 was even (``bench/tune_time.py``); agreement counts in the support stage."""
    newest_for_current: bool = False
    """Answer a question about the current state with the newest answer the support stage backs
    on its own, over a better-read older one. Off: on the news dev set it changed five answers of
    the short questions read as current (both languages), all five from right to wrong (the
    newer report named the film's directors, not its actress; another street; another person
    with a say), and no answer from wrong to right (``bench/tune_time.py``, variant
    ``newest-for-current``). Where a newer report gives another answer, ``Answer.newer`` says so."""

    support_weight: float = 3.0
    """Added to an answer group's evidence, times the log-odds of the support stage's probability
    that its best span is right (see ``qa.support``): the answer whose article holds the
    question's words, that other passages repeat, is preferred over a better-read span of another
    story. On the news dev set (``bench/tune_time.py``, variants ``support-1`` to
    ``support-30``) short-answer F1 of the two halves of its articles was 64.4 / 73.7 at 0, 65.1
    / 74.4 at 1, 67.6 / 74.4 at 3, 69.3 / 72.7 at 10 and 68.5 / 70.4 at 30: 3, best on the second
    half, gains on the first too, where 10, best on the first, loses on the second."""

    def weigh(self, reader_score: float, passage_lead: float, sentence_score: float) -> float:
        return reader_score + self.passage_weight * passage_lead + self.sentence_weight * sentence_score


def holding_sentence(candidates: Sequence[_Candidate], hit: Hit, span: Span) -> int | None:
    """The candidate sentence of ``hit``'s article in which ``span`` starts."""
    return next(
        (
            i
            for i, c in enumerate(candidates)
            if c.hit.article_id == hit.article_id and c.span.start <= span.start < c.span.end
        ),
        None,
    )


class AnswerFinder:
    NOT_IN_RERANK: ClassVar[tuple[str, ...]] = ("passage", "word_overlap")
    """Signals the rerank leaves out: the passage's own score, and word overlap, which BM25
    already counts in the passage's score (in the rerank it cost English R@1 half a point)."""

    def __init__(
        self,
        embedder: Embedder,
        weights: AnswerWeights | None = None,
        reader: Reader | None = None,
        choice: ReadingChoice | None = None,
        judge: SupportJudge | None = None,
    ) -> None:
        self.embedder = embedder
        self.weights = weights or AnswerWeights()
        self.reader = reader
        self.choice = choice or ReadingChoice()
        self.judge = judge or SupportJudge()

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
        question: Question,
        passages: Sequence[Hit],
        sources: Sequence[Hit],
        full_text: Callable[[Hit], str],
        min_relevance: float = MIN_RELEVANCE,
    ) -> Answer:
        """The best sentence and the reader's span in it, where the archive supports them (see
        ``qa.support``); no answer when even the best passage scores below ``min_relevance``."""
        nothing = Answer(
            question.text, None, None, None, 0.0, tuple(sources), analysis=question, declined=NOTHING_FOUND
        )
        if not passages:
            return nothing
        unnamed = self.judge.unnamed(question) if self.reader is not None else None
        if unnamed:
            return replace(nothing, declined=unnamed, confidence=0.0)
        if max(hit.similarity for hit in passages) < min_relevance:
            return nothing
        candidates, features = self.features(question, passages, full_text)
        if not candidates:
            return nothing
        scores = features @ self.weights.vector()
        readings = self.readings(question, passages, full_text)
        judged = [
            (
                option,
                contradiction(
                    question,
                    option.reading.text or "",
                    option.hit.published,
                    following(option, full_text),
                    preceding(option, full_text),
                    candidates[option.sentence].text,
                ),
            )
            for option in self.options(passages, candidates, scores, readings)
        ]
        groups = grouped([option for option, why in judged if why is None])

        probabilities: dict[int, float] = {}

        def probability(option: Option) -> float:
            if id(option) not in probabilities:
                probabilities[id(option)] = self.support(question, option, readings, passages, full_text).probability
            return probabilities[id(option)]

        def supported(option: Option) -> bool:
            return probability(option) >= self.judge.weights.threshold

        short = self.short_answer(question, groups, supported, probability)
        dropped = [(option, why) for option, why in judged if why]
        if short is None and dropped and self.reader is not None and self.judge.decline:
            _best, why = max(dropped, key=lambda pair: pair[0].weight)
            return replace(nothing, declined=f"the closest answer does not fit the question: {why}", confidence=0.0)
        support = None
        if self.reader is not None:
            support = self.support(question, short, readings, passages, full_text)
            if support.declined:
                return replace(
                    nothing, declined=support.declined, confidence=support.confidence, signals=support.signals
                )
        chosen = int(np.argmax(scores)) if short is None else short.sentence
        sentence = candidates[chosen]
        return Answer(
            question.text,
            sentence.text,
            sentence.hit,
            sentence.span,
            float(scores[chosen]),
            tuple(sources),
            analysis=question,
            short=short.reading.text if short else None,
            short_span=short.reading.span if short else None,
            short_score=short.reading.confidence if short else None,
            confidence=support.confidence if support else None,
            signals=support.signals if support else None,
            timeline=self.timeline(groups, short, supported) if short else (),
        )

    def support(
        self,
        question: Question,
        short: Option | None,
        readings: Sequence[Reading],
        passages: Sequence[Hit],
        full_text: Callable[[Hit], str],
    ) -> Support:
        """Whether the archive supports ``short`` (the reader's chosen span), and how sure to be."""
        if short is None:
            return self.judge.judge(question, None)
        hit = passages[short.reading.passage]
        offers = span_offers_kind(question.kind, question.text, short.reading.text or "")
        signals = self.judge.signals(
            question, short.reading, readings, passages, f"{hit.title}\n{full_text(hit)}", offers
        )
        return self.judge.judge(question, signals, hit.title)

    def readings(self, question: Question, passages: Sequence[Hit], full_text: Callable[[Hit], str]) -> list[Reading]:
        """The reader's best span in each of the first :attr:`ReadingChoice.passages` passages,
        tidied (see ``qa.spans``; for a who-question, moved to the name in apposition, see
        :func:`appositive_name`)."""
        if self.reader is None:
            return []
        reading_from = passages[: self.choice.passages]
        read = [_passage(hit, full_text) for hit in reading_from]
        readings = [
            tidied(reading, read[reading.passage], full_text(reading_from[reading.passage]), question.kind)
            for reading in self.reader.read(question.text, read)
        ]
        if question.kind is AnswerKind.PERSON:
            readings = [appositive_name(reading, read[reading.passage]) for reading in readings]
        return readings

    def options(
        self,
        passages: Sequence[Hit],
        candidates: Sequence[_Candidate],
        scores: np.ndarray,
        readings: Sequence[Reading],
    ) -> list[Option]:
        """The spans the reader found above :attr:`ReadingChoice.threshold`, weighed by
        :attr:`choice`, each with the candidate sentence that holds it. A span that runs on into
        the next sentence ("Fifth Avenue. Dann hatte Brownie Wise …") is no answer: the reader
        found nothing it could mark in one sentence."""
        best_passage = max((hit.score for hit in passages), default=0.0)
        options = []
        for hit, reading in zip(passages, readings, strict=False):
            if reading.span is None or reading.confidence <= self.choice.threshold:
                continue
            sentence = holding_sentence(candidates, hit, reading.span)
            if sentence is None or reading.span.end > candidates[sentence].span.end:
                continue
            weight = self.choice.weigh(reading.score, hit.score - best_passage, float(scores[sentence]))
            options.append(Option(weight, reading, sentence, hit))
        return options

    def short_answer(
        self,
        question: Question,
        groups: Sequence[AnswerGroup],
        supported: Callable[[Option], bool],
        probability: Callable[[Option], float] | None = None,
    ) -> Option | None:
        """The best-read span of the answer with the most evidence (see ``qa.gathering``), the
        support stage's ``probability`` that it is right counted by
        :attr:`ReadingChoice.support_weight`; for a question about the current state, of the
        newest answer that is ``supported`` on its own. A follow-up is answered from the article
        of the last answer where that article gives a ``supported`` answer: "And who negotiates
        for Russia?" asks about the talks just answered, not about a teaser naming Russia. None
        where no passage answers."""
        if not groups:
            return None
        follow_up = question.follow_up
        if follow_up and follow_up.articles:
            groups = [
                group for group in groups if group.best.hit.article_id in follow_up.articles and supported(group.best)
            ] or groups

        def evidence(group: AnswerGroup) -> float:
            lift = self.choice.support_weight * log_odds(probability(group.best)) if probability else 0.0
            return group.evidence(self.choice.story_weight) + lift

        best = max(groups, key=evidence).best
        if question.time_relation is not TimeRelation.CURRENT or not self.choice.newest_for_current:
            return best
        newer = [
            group
            for group in groups
            if published_order(group.best.hit.published) > published_order(best.hit.published) and supported(group.best)
        ]
        if not newer:
            return best
        return max(newer, key=lambda group: published_order(group.best.hit.published)).best

    @staticmethod
    def timeline(
        groups: Sequence[AnswerGroup], chosen: Option, supported: Callable[[Option], bool]
    ) -> tuple[DatedAnswer, ...]:
        """The answers over time among ``groups``: the chosen one and the others ``supported`` on their own."""
        return answer_timeline([group for group in groups if chosen in group.options or supported(group.best)], chosen)

    def passage_scores(self, question: Question, passages: Sequence[Hit]) -> list[float]:
        """How well each passage answers ``question``: the score of its best sentence, its own
        rank and :attr:`NOT_IN_RERANK` left out. Used to rerank the top passages, so the one that
        states the answer leads."""
        spans = [split_sentences(hit.text) or [Span(0, len(hit.text))] for hit in passages]
        texts = [
            hit.text[span.start : span.end]
            for hit, hit_spans in zip(passages, spans, strict=True)
            for span in hit_spans
        ]
        if not texts:
            return []
        rows = iter(self._signals(question, texts, [0.0] * len(texts)))
        weights = self.weights.vector()
        for left_out in self.NOT_IN_RERANK:
            weights[AnswerWeights.SIGNALS.index(left_out)] = 0.0
        return [max(float(next(rows) @ weights) for _span in hit_spans) for hit_spans in spans]

    def _signals(self, question: Question, texts: Sequence[str], passage: Sequence[float]) -> np.ndarray:
        """One row of signals per sentence, in :attr:`AnswerWeights.SIGNALS` order. A follow-up's
        words are looked for as its query vector is blended: its context counts
        :data:`CONTEXT_WEIGHT` against the question's 1."""
        sentences = self.embedder.embed_sentence_tokens(texts)
        asked = _content_tokens(self.embedder.embed_question_tokens(question.text))
        context = question.context
        earlier = _content_tokens(self.embedder.embed_question_tokens(context)) if context else None

        def alignment(sentence: TokenVectors) -> float:
            if earlier is None:
                return word_alignment(asked, sentence)
            blended = word_alignment(asked, sentence) + CONTEXT_WEIGHT * word_alignment(earlier, sentence)
            return blended / (1 + CONTEXT_WEIGHT)

        kind = question.kind
        who = kind is AnswerKind.PERSON
        return np.array(
            [
                (
                    float(sentence.vector @ question.vector),
                    passage_score,
                    answer_proximity(kind, question.stems, text, aligned_offsets(asked, sentence, text) if who else ()),
                    offers_answer_kind(kind, question.text, text),
                    alignment(sentence),
                    word_overlap(question.words, text),
                )
                for text, sentence, passage_score in zip(texts, sentences, passage, strict=True)
            ],
            dtype=np.float32,
        ).reshape(len(texts), len(AnswerWeights.SIGNALS))

    def features(
        self, question: Question, passages: Sequence[Hit], full_text: Callable[[Hit], str]
    ) -> tuple[list[_Candidate], np.ndarray]:
        """The candidate sentences and their signals, one row each, in :attr:`AnswerWeights.SIGNALS` order."""
        candidates = self.candidates(passages, full_text)
        best_passage = max((hit.score for hit in passages), default=0.0)
        rows = self._signals(question, [c.text for c in candidates], [c.hit.score - best_passage for c in candidates])
        return candidates, rows


_GOVERNED = re.compile(r"\b(?:von|des|der|of)\s+(?:\S+\s+){0,2}$")
_APPOSITION = re.compile(r"^,\s+(" + NAME_PATTERN.pattern + r")\s*,")


def appositive_name(reading: Reading, passage: Passage) -> Reading:
    """The name in apposition right after the reader's name, where the reader's stands in a
    genitive: in "der Unterhändler von Kremlchef Wladimir Putin, Kirill Dmitrijew, wird erwartet"
    the negotiator is Dmitrijew, the name the noun before "von" is explained by; the reader,
    finding both names beside "Unterhändler", takes the first. Two names in apposition are not
    one person, so the second names the governing noun."""
    if reading.span is None:
        return reading
    start, end = reading.span.start - passage.offset, reading.span.end - passage.offset
    if not NAME_PATTERN.fullmatch(passage.text[start:end]) or not _GOVERNED.search(
        passage.text[max(0, start - 60) : start]
    ):
        return reading
    following = _APPOSITION.match(passage.text[end : end + 80])
    if following is None:
        return reading
    first, last = end + following.start(1), end + following.end(1)
    return replace(reading, span=Span(passage.offset + first, passage.offset + last), text=passage.text[first:last])


def following(option: Option, full_text: Callable[[Hit], str]) -> str:
    """The few characters of the article after an option's span."""
    if option.reading.span is None:
        return ""
    end = option.reading.span.end
    return full_text(option.hit)[end : end + 24]


def preceding(option: Option, full_text: Callable[[Hit], str]) -> str:
    """The few characters of the article before an option's span."""
    if option.reading.span is None:
        return ""
    start = option.reading.span.start
    return full_text(option.hit)[max(0, start - 40) : start]


def relevant_sources(sources: Sequence[Hit], answer_source: Hit | None, gap: float = SOURCE_GAP) -> tuple[Hit, ...]:
    """The sources at most ``gap`` less similar to the question than the best one, and the answer's own."""
    if not sources:
        return ()
    own = answer_source.article_id if answer_source else None
    floor = max(hit.similarity for hit in sources) - gap
    return tuple(hit for hit in sources if hit.similarity >= floor or hit.article_id == own)


def _passage(hit: Hit, full_text: Callable[[Hit], str]) -> Passage:
    """A hit's text as the reader reads it, with its offset in the text ``full_text`` gives."""
    body = full_text(hit)
    if body[hit.span.start : hit.span.end] == hit.text:
        return Passage(hit.text, hit.span.start)
    return Passage(hit.text, 0)


def highlight_html(text: str, mark: Span | None, offset: int = 0, short: Span | None = None) -> str:
    """``text`` as HTML-escaped markup with ``mark`` (in the coordinates ``text`` starts at
    ``offset``) wrapped in ``<mark>``, and ``short`` (the short answer, inside ``mark``) in
    ``<strong class="qa-short">``; article text is untrusted and never passed as HTML."""
    import html

    def clamp(position: int, low: int, high: int) -> int:
        return min(max(position - offset, low), high)

    if mark is None:
        return html.escape(text)
    start = clamp(mark.start, 0, len(text))
    end = clamp(mark.end, start, len(text))
    if start == end:
        return html.escape(text)
    inside = html.escape(text[start:end])
    if short is not None:
        short_start = clamp(short.start, start, end)
        short_end = clamp(short.end, short_start, end)
        if short_start < short_end:
            inside = (
                html.escape(text[start:short_start])
                + "<strong class='qa-short'>"
                + html.escape(text[short_start:short_end])
                + "</strong>"
                + html.escape(text[short_end:end])
            )
    return html.escape(text[:start]) + "<mark>" + inside + "</mark>" + html.escape(text[end:])
