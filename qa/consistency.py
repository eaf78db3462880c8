"""Whether a short answer contradicts the question it answers.

The reader finds the likeliest span of a passage, and a passage near the question often holds a
span of the right type and the wrong meaning: "etwa 640 Euro" for "How heavy was the stolen
coin?", "12. Januar 2025" from a 2024 report for "When did the museum open?". Such an answer
is dropped, whatever its score, and another passage's answer is taken, or none:

- a measure in another dimension than the one asked: a sum of money for a weight, a distance
  for a sum of money; a bare number contradicts nothing, but where a percentage is asked for,
  a number without "Prozent" or "%" ("442 000" for "Wie viel Prozent stimmten mit Ja?") is a
  count: a report gives a share as a percentage or in words ("die Hälfte", "ein Drittel");
- for a question about a past event, a year after the report the answer stands in: a report
  does not date a past event after its own publication;
- for a question asking who holds an office ("Who was Israel's army chief in February 2024?",
  "Wer ist Österreichs Gesundheitsminister?"), a name the report gives another office
  ("Ministerpräsident Benjamin Netanyahu", "Bundeskanzler Karl Nehammer"): the title right
  before the name shares no word with the question (its words, their stems and translations);
- for a question naming a time with its year ("… in August 2023?", "im Jahr 2010"), an answer
  whose sentence dates what it says to other years only ("Im August 2021 unterlag man Bayer
  Leverkusen mit 0:3"): a year after a month, a day, "im", "Jahr", "Ende" …, not one after
  "seit", "bis", "nach" (a state that lasts into the time asked);
- an answer the question itself names: "Whom did the Raiders hire after Jon Gruden resigned?"
  is not answered by "Jon Gruden", nor "Which ministry does Katja Wolf lead in the Thüringer
  government?" by "Thüringen" (words matched as the index stems them). A question that offers
  a choice ("… between the Broncos and the Steelers?", "… oder …") is answered by one of its
  own names, so the rule leaves it alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from qa.dates import MONTHS
from qa.lexical import document_terms, matching_terms
from qa.question import AnswerKind, Question
from qa.timing import TimeRelation
from qa.words import fold


class Dimension(StrEnum):
    MONEY = "a sum of money"
    WEIGHT = "a weight"
    LENGTH = "a distance or length"
    DURATION = "a span of time"
    PERCENT = "a percentage"


_UNITS: dict[Dimension, str] = {
    Dimension.MONEY: r"euro|eur|€|\$|dollar|us-dollar|franken|rubel|yen|yuan|cent|pfund|pound|pounds",
    Dimension.WEIGHT: r"kg|kilo|kilogramm|kilogram|kilograms|gramm|grams?|g|tonnen|tonne|tons?|t|pfund|pounds?",
    Dimension.LENGTH: r"km|kilometer|kilometern|kilometres?|kilometers?|m|meter|metern|metres?|meters?|cm|zentimeter|"
    r"mm|millimeter|meilen|miles?",
    Dimension.DURATION: r"sekunden|minuten|stunden|tage|tagen|wochen|monate|monaten|jahre|jahren|jahrzehnte|"
    r"seconds?|minutes?|hours?|days?|weeks?|months?|years?",
    Dimension.PERCENT: r"%|prozent|prozentpunkte|percent|per cent",
}
_SIGNS = {Dimension.MONEY: r"[$€]", Dimension.PERCENT: r"%"}
"""The units that may follow a number without a space: "55,1%", "100€" (a letter may not: "2G")."""
_UNIT_PATTERNS = {
    dimension: re.compile(
        rf"(?:(?<![\w$€%])(?:{units})|(?<=\d){_SIGNS.get(dimension, '(?!)')})(?![\w$€%])", re.IGNORECASE
    )
    for dimension, units in _UNITS.items()
}
_ASKED: list[tuple[re.Pattern[str], frozenset[Dimension]]] = [
    (
        re.compile(r"\bhow heavy\b|\bweigh(?:s|ed)?\b|\bwie schwer\b|\bwiegt\b|\bwog\b|\bgewicht\b", re.IGNORECASE),
        frozenset({Dimension.WEIGHT}),
    ),
    (re.compile(r"\bhow far\b|\bwie weit\b|\bhow tall\b", re.IGNORECASE), frozenset({Dimension.LENGTH})),
    (re.compile(r"\bhow long\b|\bwie lang\b", re.IGNORECASE), frozenset({Dimension.LENGTH, Dimension.DURATION})),
    (re.compile(r"\bwie lange\b|\bfor how long\b", re.IGNORECASE), frozenset({Dimension.DURATION})),
    (
        re.compile(
            r"\bhow much (?:money|did \S+ cost|does \S+ cost)|\bhow expensive\b|\bwie teuer\b|\bwie viel geld\b"
            r"|\bwhat (?:price|salary|fine)\b|\bwie viel kostet\b|\bwie viel kostete\b",
            re.IGNORECASE,
        ),
        frozenset({Dimension.MONEY}),
    ),
    (
        re.compile(
            r"\bwhat (?:percentage|percent|share|proportion)\b|\bwie viel prozent\b|\bwelchen anteil\b",
            re.IGNORECASE,
        ),
        frozenset({Dimension.PERCENT}),
    ),
    (
        re.compile(
            r"\bwie (?:hoch|groß) (?:war|ist|lag|liegt|sei|wäre)\b[^?]*\banteil\b"
            r"|\bhow (?:high|large|big) (?:was|is)\b[^?]*\bshare\b",
            re.IGNORECASE,
        ),
        frozenset({Dimension.PERCENT, Dimension.MONEY}),
    ),
]
_NEXT_WORD = re.compile(r"^\s*([\w$€%]+)")
_DIGIT = re.compile(r"\d")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_OFFICE_QUESTION = re.compile(
    r"^\s*(?:who['’]s\s|(?:who|wer)\s+(?:is|was|were|are|has been|had been|became|becomes|will be|ist|war|wird|wurde|"
    r"sind|waren)\b)",
    re.IGNORECASE,
)
_TITLE = re.compile(
    r"(?:minister|präsident|kanzler|senator|bürgermeister|chef|vorsitzende|vorsitzender|sprecher|trainer|"
    r"direktor|leiter|botschafter|kommissar|gouverneur|premier|intendant)(?:in)?$",
    re.IGNORECASE,
)
_WORD_BEFORE = re.compile(r"([\w-]+)\s+$")
_FIRST_WORD = re.compile(r"^\s*([\w-]+)\s+\S")
_MONTH_WORDS = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATED_YEAR = re.compile(
    rf"(?:\b(?:im|in|jahr|jahres|year|ende|anfang|mitte|frühjahr|sommer|herbst|winter|spring|summer|autumn|"
    rf"{_MONTH_WORDS})\.?\s+|\b\d{{1,2}}\.\s?)((?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_TIME_PHRASE = re.compile(rf"(?:in|im|during|während|ende|anfang|mitte|am|on|{_MONTH_WORDS})\b", re.IGNORECASE)
_LASTING = re.compile(r"\b(?:seit|since|bis|until|till|ab|from|nach|after|vor|before)\b[^.;]{0,20}$", re.IGNORECASE)
_CHOICE = re.compile(r"\b(?:or|either|between|against|versus|vs|oder|entweder|zwischen|gegen)\b", re.IGNORECASE)


def asked_dimensions(question: str) -> frozenset[Dimension]:
    """The dimensions a measure answering ``question`` may have; empty where it does not ask for one."""
    asked: frozenset[Dimension] = frozenset()
    for pattern, dimensions in _ASKED:
        if pattern.search(question):
            asked |= dimensions
    return asked


def span_dimensions(span: str) -> frozenset[Dimension]:
    return frozenset(dimension for dimension, pattern in _UNIT_PATTERNS.items() if pattern.search(span))


def contradiction(
    question: Question,
    span: str,
    published: datetime | None,
    after: str = "",
    before: str = "",
    sentence: str = "",
) -> str | None:
    """Why ``span`` (read in a report ``published`` then, ``after`` the text that follows it,
    ``before`` the text that precedes it, in ``sentence``) cannot answer ``question`` (see the
    module's docstring), or None. A measure's unit may follow the span: "3,75 Millionen" Euro."""
    asked = asked_dimensions(question.text)
    unit = _NEXT_WORD.match(after)
    found = span_dimensions(f"{span} {unit.group(1)}" if unit else span)
    if asked and found and not asked & found:
        return f"“{span}” is {sorted(found)[0]}, not {' or '.join(sorted(asked))}"
    if Dimension.PERCENT in asked and not found and _DIGIT.search(span):
        return f"“{span}” is a number, not {Dimension.PERCENT}"
    title = office_title(span, before) if question.kind is AnswerKind.PERSON else None
    if title and _OFFICE_QUESTION.search(question.text) and not title_fits(question, title):
        return f"the report names “{span}” as {title}, which is not the office asked for"
    asked, dated = asked_years(question), years_dated(sentence)
    if asked and dated and not dated & asked and question.when is not None:
        return f"its sentence speaks of {min(dated)}, not of the time asked ({question.when.label})"
    if repeats_question(question.text, span):
        return f"“{span}” is named in the question itself"
    past_event = question.kind is AnswerKind.TIME and question.time_relation is TimeRelation.EVENT
    if past_event and published is not None and any(int(year) > published.year for year in _YEAR.findall(span)):
        return f"“{span}” lies after the report it stands in ({published:%d.%m.%Y}), for a past event"
    return None


def repeats_question(question: str, span: str) -> bool:
    """Whether every word of ``span`` stands in ``question``, which offers no choice between names."""
    terms = matching_terms(span)
    return bool(terms) and terms <= matching_terms(question) and not _CHOICE.search(question)


def office_title(span: str, before: str) -> str | None:
    """The title of office the report gives the name ``span``: the word right before it
    ("Ministerpräsident" in "Israels Ministerpräsident Benjamin Netanyahu") or the span's own
    first word, where it is one."""
    for match in (_FIRST_WORD.match(span), _WORD_BEFORE.search(before)):
        if match and _TITLE.search(match.group(1)):
            return match.group(1)
    return None


def title_fits(question: Question, title: str) -> bool:
    """Whether ``title`` shares a word with ``question``: one of its words' stems, German
    translations or cognate prefixes stands in the title ("chef" in "Armeechef" for "army
    chief"), or the title's stem in one of them ("minist" in "gesundheitsminist")."""
    folded = fold(title)
    stem = fold(document_terms(title).replace(" ", ""))
    terms = {fold(term.rstrip("*")) for group in question.words.groups for term in group}
    terms |= {fold(prefix.rstrip("*")) for prefix in question.stems}
    return any(len(term) >= 4 and (term in folded or (len(stem) >= 4 and stem in term)) for term in terms)


def asked_years(question: Question) -> frozenset[int]:
    """The years of the time ``question`` names, where it names one of a year or two as a time ("in
    2022", "im Oktober 2023", "Ende 2021"); else none. A bare year may be part of a name ("the
    Scotland Act of 1978", "the 2001 ABC logo"), and a month without its year is read in the
    archive's newest year, a guess."""
    when = question.when
    if when is None or when.since is None or when.until is None or when.until.year - when.since.year > 1:
        return frozenset()
    if not (_TIME_PHRASE.match(when.phrase) and _YEAR.search(when.phrase)):
        return frozenset()
    return frozenset(range(when.since.year, when.until.year + 1))


def years_dated(sentence: str) -> frozenset[int]:
    """The years ``sentence`` dates what it says to: a year after a month, a day or "im", "Jahr",
    "Ende" …, not one after "seit", "bis", "nach" (see the module's docstring)."""
    return frozenset(
        int(match.group(1))
        for match in _DATED_YEAR.finditer(sentence)
        if not _LASTING.search(sentence[max(0, match.start() - 30) : match.start(1)])
    )
