"""The query stage: a question and its conversation, read once into a :class:`Question`.

Everything the later stages need to know about what was asked is decided here, in one place:
its language, its terms for BM25 (stems, prefixes, translations), its words for the answer's
signals, the kind of answer it asks for, the time it names and how that was applied, the
filters the caller set, the earlier turns it leans on, and its query vector. Retrieval, the
answer's signals and the reader read that object and take nothing apart again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from qa.conversation import CONTEXT_WEIGHT, FollowUp, follow_up
from qa.dates import time_window
from qa.embedding import Embedder
from qa.lexical import LexicalQuery, document_terms, is_stopword, translations, with_compounds
from qa.parsing import BERLIN
from qa.records import Answer, TimeWindow
from qa.storage import ChunkFilter, StoreView
from qa.timing import TimeRelation, time_relation
from qa.translation import Dictionary
from qa.words import Language, fold, language_of, prefix_stem, without_marks, word_parts, words


class RetrievalMode(StrEnum):
    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class Scope:
    """What the caller asks a question over: a time span, tags and outlets (empty: all), the
    retrieval mode, and whether a story's copies count once. A time the question names itself
    is read into :class:`Question`; a span set here wins over it."""

    since: datetime | None = None
    until: datetime | None = None
    tags: tuple[str, ...] = ()
    mode: RetrievalMode = RetrievalMode.HYBRID
    outlets: tuple[str, ...] = ()
    collapse: bool = True


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


@dataclass(frozen=True)
class KeyTerm:
    """A content word of the question, with the terms it is matched by and how common it is."""

    word: str
    """As the question writes it."""
    terms: tuple[str, ...]
    """Its stems and German translations, as the lexical index holds terms."""
    chunks: int
    """In how many chunks of the archive the commonest of its terms stands (0: in none)."""
    rarity: float
    """Its inverse document frequency in the archive, log((N + 1) / (chunks + 1)) + 1."""
    name: bool
    """A name or a number: a capitalised word that does not open the question and is not the noun
    it asks for ("In welcher Stadt"), or a word with a digit."""
    acronym: bool = False
    """Written in capital letters only ("IMF"): an English question's acronym is often another in
    German ("IWF"). A code with a digit ("A45", "G7") is written alike in both."""
    present: tuple[str, ...] = ()
    """Those of :attr:`terms` that the archive holds."""
    compound: bool = False
    """A word the archive does not hold whose parts it does ("Entlastungs|pakete"): a German
    compound, not a name."""
    prefix: str | None = None
    """For a name the archive holds no term of: the beginning it also matches by, as BM25's
    prefixes match cognates ("kreml" for "Kremlin"), where some term of the archive begins so."""

    @property
    def in_archive(self) -> bool:
        return self.chunks > 0 or self.prefix is not None

    def matches(self, held: frozenset[str]) -> bool:
        """Whether a text whose terms are ``held`` (:func:`qa.lexical.matching_terms`, which holds
        each also without diacritics) holds this word; a hyphenated translation,
        "mecklenburg-vorpomm", where it holds every part."""
        if any(all(part in held or without_marks(part) in held for part in term.split("-")) for term in self.terms):
            return True
        return self.prefix is not None and any(term.startswith(self.prefix) for term in held)


def name_prefix(word: str) -> str | None:
    """The beginning of a name that its inflections and cognates share, all but its last two
    letters and at least four ("Kreml" of "Kremlin", "Indi" of "India"); a name of four letters
    or fewer is matched whole."""
    if not word.isalpha() or len(word) <= 4:
        return None
    return without_marks(fold(word))[: max(4, len(word) - 2)]


COMPOUND_TAIL = 5
"""The shortest end of a word taken for the last noun of a German compound ("preis" of
"Tagesdurchschnittspreis")."""
COMPOUND_HEAD = 3
_LINKS = ("", "s", "es", "n", "en")
"""The linking letters a compound's first part may end in ("Entlastung-s-pakete")."""


def compound_splits(word: str) -> list[tuple[tuple[str, ...], str]]:
    """Each way to read ``word`` as a compound: the stems its first part may have (with or
    without a linking letter) and the stem of its last part."""
    lowered = word.lower()
    if not lowered.isalpha():
        return []
    splits = []
    for cut in range(COMPOUND_HEAD, len(lowered) - COMPOUND_TAIL + 1):
        head, tail = lowered[:cut], lowered[cut:]
        heads = {document_terms(head[: len(head) - len(link)]) for link in _LINKS if head.endswith(link)}
        splits.append((tuple(h for h in heads if len(h) >= COMPOUND_HEAD), document_terms(tail)))
    return splits


_PLACE = re.compile(r"\b(?:in|bei|zwischen|nahe|aus|nach)\s+([A-ZÄÖÜ]\w*)")
"""A capitalised word right after a preposition of place, without an article: "in Georgensgmünd",
"bei Lüdenscheid". German puts an article before a common noun there ("in der Talbrücke"), so
such a word is a place's name even where it reads as a compound ("Georgens|gmünd")."""


_ASKED_NOUN = re.compile(r"\b(?:welche[rsmn]?|wie viele|wieviele|wie viel|wessen)\s+([A-ZÄÖÜ][\w-]*)", re.IGNORECASE)
"""The noun a German question asks for ("In welcher Stadt …", "Welches Ministerium …"): the kind
of thing the answer is, which the answer's article need not name, and no name though German
capitalises it (English writes it in lower case)."""


def is_compound(splits: list[tuple[tuple[str, ...], str]], held: dict[str, int]) -> bool:
    """Whether both parts of one of the ``splits`` are terms of the archive (``held``): a compound
    of known words ("Wahlkampf|slogan"), not a name ("Georgens|gmünd", "Iller|kirchberg")."""
    return any(held.get(tail) and any(held.get(head) for head in heads) for heads, tail in splits)


_QUOTATION = re.compile(r"»[^«]*«|«[^»]*»|„[^“”\"]*[“”\"]|“[^”]*”|\"[^\"]*\"|(?:(?<=\s)|^)'[^']+'(?=[\s,.;:?!]|$)")


def without_quotations(text: str) -> str:
    """``text`` less what it quotes: the year in a title ("der Volksentscheid »Berlin 2030
    klimaneutral«") names a thing, not the time the question asks about."""
    return _QUOTATION.sub(" ", text)


def without_phrase(text: str, phrase: str | None) -> str:
    """``text`` less the time it names ("im Dezember 2025"), which is applied as a filter, not
    looked for as words."""
    if not phrase:
        return text
    at = text.lower().find(phrase.lower())
    return text if at < 0 else text[:at] + " " + text[at + len(phrase) :]


def key_terms(text: str, translated: dict[str, tuple[str, ...]], snapshot: StoreView) -> tuple[KeyTerm, ...]:
    """The question's content words as :class:`KeyTerm`, counted in the archive."""
    found: dict[str, tuple[str, tuple[str, ...], bool]] = {}
    asked = {match.group(1) for match in _ASKED_NOUN.finditer(text)}
    for position, part in enumerate(word_parts(text)):
        lowered = part.lower()
        if is_stopword(lowered) or len(lowered) < 2 or lowered in found:
            continue
        (group,) = LexicalQuery.of(part, prefixes=False, translated=translated).groups or ((),)
        if not group:
            continue
        name = any(c.isdigit() for c in part) or (position > 0 and part[:1].isupper() and part not in asked)
        found[lowered] = (part, tuple(term for term in group if " " not in term), name)
    frequencies = snapshot.term_frequencies([term for _w, terms, _n in found.values() for term in terms])
    counted = [
        (word, terms, name, max((frequencies.get(term, 0) for term in terms), default=0))
        for word, terms, name in found.values()
    ]
    wanted = {word: name_prefix(word) for word, _t, name, chunks in counted if name and not chunks}
    present = snapshot.present_prefixes([prefix for prefix in wanted.values() if prefix])
    places = {match.group(1) for match in _PLACE.finditer(text)}
    splits = {word: compound_splits(word) for word in wanted if word not in places}
    parts = {part for found in splits.values() for heads, tail in found for part in (*heads, tail) if part}
    held_parts = snapshot.term_frequencies(sorted(parts))
    return tuple(
        KeyTerm(
            word=word,
            terms=terms,
            chunks=chunks,
            rarity=math.log((snapshot.size + 1) / (chunks + 1)) + 1.0,
            name=name,
            acronym=word.isalpha() and word.isupper() and len(word) > 1,
            present=tuple(term for term in terms if frequencies.get(term)),
            compound=is_compound(splits.get(word, []), held_parts),
            prefix=wanted.get(word) if wanted.get(word) in present else None,
        )
        for word, terms, name, chunks in counted
    )


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
    key_terms: tuple[KeyTerm, ...] = ()
    """The question's own content words and how common they are in the archive (see ``qa.support``)."""
    time_relation: TimeRelation = TimeRelation.TIMELESS
    """Whether it names a time, asks for the current state or about a past event (see ``qa.timing``)."""
    newest: datetime | None = None
    """The publication time of the archive's newest article when it was asked: what "current" and
    "last week" are read against."""

    @property
    def context(self) -> str | None:
        """The earlier turns a follow-up was read with."""
        return self.follow_up.context if self.follow_up else None

    @property
    def filtered(self) -> bool:
        return bool(self.since or self.until or self.tags or self.outlets)

    @property
    def filter(self) -> ChunkFilter:
        """The filters applied, as the store takes them."""
        return ChunkFilter(self.since, self.until, self.tags, self.outlets)

    def essentials(self) -> list[str]:
        """What helps a reader trust the answer: the conversation a follow-up was read in, the
        time the question named, its language."""
        lines = []
        if self.follow_up:
            lines.append(f"Read as a follow-up to: {self.follow_up.context}")
        if self.when:
            lines.append(f"Time: {self.when.describe()}")
        elif self.time_relation in (TimeRelation.CURRENT, TimeRelation.EVENT):
            lines.append(f"Time: {self.time_relation.label}")
        lines.append(self.language.label)
        return lines

    def describe(self, matched_only: bool = False) -> list[str]:
        """How the question was read, in words for its asker: :meth:`essentials`, the German
        words an English question's words were also searched as (with ``matched_only``, those
        the archive holds), and the kind of answer asked for."""
        lines = self.essentials()
        translated = self.translated
        if matched_only:
            held = {term for key in self.key_terms for term in key.present}
            translated = tuple(
                (word, kept)
                for word, german in translated
                if (kept := tuple(g for g in german if set(document_terms(g).split()) & held))
            )
        if translated:
            shown = "; ".join(f"{word} → {', '.join(german)}" for word, german in translated)
            lines[-1] = f"{lines[-1]}, translated terms: {shown}"
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
        scope: Scope | None = None,
        *,
        history: Sequence[Answer] = (),
        vector: np.ndarray | None = None,
    ) -> Question:
        """``text`` read in the conversation ``history`` (earlier answers, oldest first), over
        the archive as ``snapshot`` holds it, within ``scope``; ``vector`` is the question's query
        vector where the caller has already embedded it (alone, not blended)."""
        scope = scope or Scope()
        since, until, tags = scope.since, scope.until, scope.tags
        if since and until and since > until:
            raise ValueError(f"since ({since:%Y-%m-%d}) is after until ({until:%Y-%m-%d})")
        continued = follow_up(text, history)
        context = continued.context if continued else None
        searched = f"{text} {context}" if context else text
        language = language_of(text)
        translated = (
            with_compounds(searched, translations(searched, self.dictionary), snapshot.term_frequencies)
            if language is Language.ENGLISH
            else {}
        )
        newest_article = snapshot.counts().newest_article
        newest = datetime.fromisoformat(newest_article) if newest_article else None
        unquoted = without_quotations(text)
        since, until, prefer, when = self._read_time(unquoted, snapshot, newest, since, until, tags)
        named = when is not None or since is not None or until is not None
        return Question(
            text=text,
            language=language,
            mode=scope.mode,
            vector=self._vector(text, context, vector),
            terms=LexicalQuery.of(searched, self.prefixes, translated),
            words=LexicalQuery.of(text, prefixes=False, translated=translated),
            stems=question_stems(text),
            kind=expected_answer_kind(text),
            translated=tuple(translated.items()),
            since=since,
            until=until,
            tags=tags,
            outlets=scope.outlets,
            when=when,
            prefer=prefer,
            follow_up=continued,
            collapse=scope.collapse,
            asked_at=self.clock(),
            key_terms=key_terms(without_phrase(text, when.phrase if when else None), translated, snapshot),
            time_relation=time_relation(unquoted, language, named),
            newest=newest,
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
        text: str,
        snapshot: StoreView,
        newest: datetime | None,
        since: datetime | None,
        until: datetime | None,
        tags: tuple[str, ...],
    ) -> tuple[datetime | None, datetime | None, TimeWindow | None, TimeWindow | None]:
        """``since``, ``until``, the window to prefer, and the window as applied, for a question
        that names a time. Filters the caller set win; a window whose own days hold no article is
        reported and not applied, so a question is never answered from an empty archive, nor
        from later reports alone on a time the archive does not cover."""
        if since or until:
            return since, until, None, None
        window = time_window(text, newest)
        if window is None:
            return None, None, None, None
        if not window.restrict:
            return None, None, window, window
        if len(snapshot.filtered_chunk_ids(ChunkFilter(window.since, window.until, tags))) == 0:
            label = f"nothing was published {window.label}; searched the whole archive"
            return None, None, None, replace(window, label=label, restrict=False)
        if not window.reported_days or window.until is None:
            return window.since, window.until, None, window
        return window.since, window.until + timedelta(days=window.reported_days), window, window
