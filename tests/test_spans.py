import pytest

from qa.question import AnswerKind
from qa.reading import Passage, Reading
from qa.records import Span
from qa.spans import tidied

BODY = (
    "Präsident Putin hat General Sergej Surowikin zum Oberbefehlshaber ernannt. "
    "Nur zwei Tage nach Surowikins Ernennung beschießt Russland Ziele in der ganzen Ukraine. "
    "Das Friedrich-Löffler-Institut warnt. "
    "Laut Angaben des Friedrich-Löffler-Instituts übertragen Haustiere das Virus nicht. "
    "Am Morgen erreichte die Elite-Einheit das Kampfgebiet am Stützpunkt Sufa. Oberstleutnant Ben Yehuda führte sie. "
    "Verteidigungsminister Boris Pistorius reiste nach Kiew. Die Hamas lehnt ab."
)


def read(span_text: str, occurrence: int = 0, offset: int = 0) -> tuple[Reading, Passage]:
    passage = Passage(BODY[offset:], offset)
    start = passage.text.index(span_text)
    for _ in range(occurrence):
        start = passage.text.index(span_text, start + 1)
    span = Span(offset + start, offset + start + len(span_text))
    return Reading(0, span, span_text, 5.0, 0.9), passage


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("Surowikins", "Surowikin"),
        ("Friedrich-Löffler-Instituts", "Friedrich-Löffler-Institut"),
        ("Boris Pistorius", "Boris Pistorius"),
        ("Hamas", "Hamas"),
        ("Sergej Surowikin", "Sergej Surowikin"),
        ("das Kampfgebiet am Stützpunkt Sufa. Oberstleutnant Ben Yehuda", "Oberstleutnant Ben Yehuda"),
    ],
)
def test_a_span_is_tidied_to_the_answer_as_the_archive_names_it(span, expected):
    reading, passage = read(span)
    tidy = tidied(reading, passage, BODY, AnswerKind.PERSON)
    assert tidy.text == expected
    assert BODY[tidy.span.start : tidy.span.end] == expected


def test_a_genitive_stays_where_the_article_never_names_the_word_without_it():
    body = "Nur zwei Tage nach Gerasimows Ernennung beschießt Russland Ziele."
    passage = Passage(body, 0)
    start = body.index("Gerasimows")
    reading = Reading(0, Span(start, start + 10), "Gerasimows", 5.0, 0.9)
    assert tidied(reading, passage, body, AnswerKind.PERSON).text == "Gerasimows"


def test_offsets_stay_in_the_article_when_the_passage_starts_inside_it():
    offset = BODY.index("Nur zwei Tage")
    reading, passage = read("Surowikins", offset=offset)
    tidy = tidied(reading, passage, BODY, AnswerKind.PERSON)
    assert (tidy.text, BODY[tidy.span.start : tidy.span.end]) == ("Surowikin", "Surowikin")


@pytest.mark.parametrize(
    "text",
    ["26. März 2023", "298,7 Mio. Euro", "Brown v. Board", "Rev. Paul T. Stallsworth", "Jones et al. 1998"],
)
def test_dates_and_abbreviations_are_not_sentence_ends(text):
    body = f"Genannt wurde {text} in dem Bericht."
    start = body.index(text)
    reading = Reading(0, Span(start, start + len(text)), text, 5.0, 0.9)
    assert tidied(reading, Passage(body, 0), body, AnswerKind.PERSON).text == text


@pytest.mark.parametrize(
    ("kind", "span", "expected"),
    [
        (None, "Klimawandels", "Klimawandels"),
        (AnswerKind.NUMBER, "Klimawandels", "Klimawandels"),
        (None, "Beginn. Danach kamen alle", "Beginn. Danach kamen alle"),
        (AnswerKind.NUMBER, "im Jahr. Danach 4000", "Danach 4000"),
    ],
)
def test_only_who_when_and_how_many_answers_are_tidied_and_only_who_answers_lose_a_genitive(kind, span, expected):
    body = f"Die Folgen des Klimawandels sind da. Es war {span} Menschen, sagte er. Der Klimawandel bleibt."
    start = body.index(span)
    reading = Reading(0, Span(start, start + len(span)), span, 5.0, 0.9)
    assert tidied(reading, Passage(body, 0), body, kind).text == expected
