"""The query stage: a question and its conversation, read once into a :class:`Question`.

Everything the later stages need to know about what was asked is decided here, in one place:
its language, its terms for BM25 (stems, prefixes, translations), its words for the answer's
signals, the kind of answer it asks for, the time it names and how that was applied, the
filters the caller set, the earlier turns it leans on, and its query vector. Retrieval, the
answer's signals and the reader read that object and take nothing apart again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

import numpy as np

from qa.conversation import CONTEXT_WEIGHT, FollowUp, follow_up
from qa.dates import time_window
from qa.embedding import Embedder
from qa.lexical import LexicalQuery, translations
from qa.parsing import BERLIN
from qa.records import Answer, TimeWindow
from qa.storage import StoreView
from qa.translation import Dictionary
from qa.words import Language, fold, language_of, prefix_stem, words


class RetrievalMode(StrEnum):
    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"


class AnswerKind(StrEnum):
    PERSON = "person"
    TIME = "time"
    NUMBER = "number"


_PERSON_QUESTION = re.compile(r"^\W*(?:and\s+|und\s+)?(?:who|whom|whose|wer|wem|wen|wessen)\b", re.IGNORECASE)
_TIME_QUESTION = re.compile(
    r"^\W*(?:when|wann)\b|\b(?:seit|bis) wann\b"
    r"|\b(?:what|which) (?:year|date|century|decade|month)\b"
    r"|\bwelche[mns]? (?:jahr|datum|jahrhundert|jahrzehnt|monat)\b",
    re.IGNORECASE,
)
_NUMBER_QUESTION = re.compile(
    r"\b(?:how (?:many|much|old|long|far|large|big|tall|high|often)|what (?:percentage|percent|share|proportion)"
    r"|wie (?:viele?|alt|lange|weit|hoch|groß|oft)|wieviele?)\b",
    re.IGNORECASE,
)
_STEM_STOPWORDS = frozenset(
    """
    what which when where does did will with from that this have been their there about into
    over under they them than then also after before while would could should being were wird
    wurde werden sind eine einer eines einem einen dass nach über unter sich nicht auch oder
    aber wenn weil wann warum welche welcher welches dieser diese dieses durch gegen haben
    hatte noch schon sein seine ihre
    """.split()
)
"""Words of four letters or more too common to say what a question is about."""


def now_in_berlin() -> datetime:
    return datetime.now(BERLIN)


def expected_answer_kind(question: str) -> AnswerKind | None:
    """What a who-, when- or how-many-question asks for; None for any other question."""
    if _PERSON_QUESTION.search(question):
        return AnswerKind.PERSON
    if _TIME_QUESTION.search(question):
        return AnswerKind.TIME
    if _NUMBER_QUESTION.search(question):
        return AnswerKind.NUMBER
    return None


def question_stems(question: str) -> frozenset[str]:
    """Prefix stems of the question's content words, which also find their cognates in the
    other language (Ukrainian/ukrainisch, Kremlin/Kreml, Russia/Russland)."""
    return frozenset(prefix_stem(w) for w in words(question) if len(w) >= 4 and fold(w) not in _STEM_STOPWORDS)


@dataclass(frozen=True, eq=False)
class Question:
    """A question as every stage after this one reads it."""

    text: str
    language: Language
    mode: RetrievalMode
    vector: np.ndarray = field(repr=False)
    """The query vector: the question's, blended with its context's for a follow-up."""
    terms: LexicalQuery
    """BM25's terms: the question's words (and a follow-up's context's) with their stems,
    prefixes and German translations."""
    words: LexicalQuery
    """The question's own words, whole stems and translations: what an answer should contain."""
    stems: frozenset[str]
    kind: AnswerKind | None
    translated: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Each English word that BM25 also looks for in German, with its translations."""
    since: datetime | None = None
    until: datetime | None = None
    """The filters applied: the caller's, or those of a time the question names."""
    tags: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    when: TimeWindow | None = None
    """The time the question names, as it was applied."""
    prefer: TimeWindow | None = None
    """A time ranked first without restricting to it (a year on its own)."""
    follow_up: FollowUp | None = None
    collapse: bool = True
    """Show a story printed by several outlets once, its other copies listed with it."""
    asked_at: datetime | None = None
    """When it was asked: stories under an embargo that has not ended by then are not searched."""

    @property
    def context(self) -> str | None:
        """The earlier turns a follow-up was read with."""
        return self.follow_up.context if self.follow_up else None

    @property
    def filtered(self) -> bool:
        return bool(self.since or self.until or self.tags or self.outlets)

    def describe(self) -> list[str]:
        """How the question was read, in words for its asker."""
        lines = []
        if self.follow_up:
            lines.append(f"Read as a follow-up to: {self.follow_up.context}")
        if self.when:
            lines.append(f"Time: {self.when.describe()}")
        language = self.language.label
        if self.translated:
            shown = "; ".join(f"{word} → {', '.join(german)}" for word, german in self.translated)
            lines.append(f"{language}, translated terms: {shown}")
        else:
            lines.append(language)
        if self.kind:
            lines.append(f"Asks for: a {self.kind}")
        return lines


class QuestionAnalyser:
    """Reads questions: the one place where language, terms, time and follow-up are decided."""

    def __init__(
        self,
        embedder: Embedder,
        dictionary: Dictionary | None = None,
        prefixes: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.embedder = embedder
        self.dictionary = dictionary
        self.prefixes = prefixes
        self.clock = clock or now_in_berlin

    def analyse(
        self,
        text: str,
        snapshot: StoreView,
        since: datetime | None = None,
        until: datetime | None = None,
        tags: Sequence[str] | None = None,
        mode: RetrievalMode | str = RetrievalMode.HYBRID,
        history: Sequence[Answer] = (),
        vector: np.ndarray | None = None,
        outlets: Sequence[str] | None = None,
        collapse: bool = True,
    ) -> Question:
        """``text`` read in the conversation ``history`` (earlier answers, oldest first), over
        the archive as ``snapshot`` holds it; ``vector`` is the question's query vector where the
        caller has already embedded it (alone, not blended)."""
        if since and until and since > until:
            raise ValueError(f"since ({since:%Y-%m-%d}) is after until ({until:%Y-%m-%d})")
        continued = follow_up(text, history)
        context = continued.context if continued else None
        searched = f"{text} {context}" if context else text
        language = language_of(text)
        translated = translations(searched, self.dictionary) if language is Language.ENGLISH else {}
        tags = tuple(tags or ())
        since, until, prefer, when = self._read_time(text, snapshot, since, until, tags)
        return Question(
            text=text,
            language=language,
            mode=RetrievalMode(mode),
            vector=self._vector(text, context, vector),
            terms=LexicalQuery.of(searched, self.prefixes, translated),
            words=LexicalQuery.of(text, prefixes=False, translated=translated),
            stems=question_stems(text),
            kind=expected_answer_kind(text),
            translated=tuple(translated.items()),
            since=since,
            until=until,
            tags=tags,
            outlets=tuple(outlets or ()),
            when=when,
            prefer=prefer,
            follow_up=continued,
            collapse=collapse,
            asked_at=self.clock(),
        )

    def _vector(self, text: str, context: str | None, vector: np.ndarray | None) -> np.ndarray:
        if not context:
            return vector if vector is not None else self.embedder.embed_queries([text])[0]
        question_vector, context_vector = self.embedder.embed_queries([text, context])
        if vector is not None:
            question_vector = vector
        blended = question_vector + CONTEXT_WEIGHT * context_vector
        return blended / np.linalg.norm(blended)

    @staticmethod
    def _read_time(
        text: str, snapshot: StoreView, since: datetime | None, until: datetime | None, tags: tuple[str, ...]
    ) -> tuple[datetime | None, datetime | None, TimeWindow | None, TimeWindow | None]:
        """``since``, ``until``, the window to prefer, and the window as applied, for a question
        that names a time. Filters the caller set win; a window that holds no article is
        reported and not applied, so a question is never answered from an empty archive."""
        if since or until:
            return since, until, None, None
        newest = snapshot.counts().newest_article
        window = time_window(text, datetime.fromisoformat(newest) if newest else None)
        if window is None:
            return None, None, None, None
        if not window.restrict:
            return None, None, window, window
        if len(snapshot.filtered_chunk_ids(window.since, window.until, tags or None)) == 0:
            label = f"nothing was published {window.label}; searched the whole archive"
            return None, None, None, replace(window, label=label, restrict=False)
        return window.since, window.until, None, window
